/**
 * What `redisWaitReplicas` costs a publish: the latency of one publish through the Redis bus
 * (one Lua step, then the event handed back by the log reader), acknowledged once the master has
 * it (0) or once a local replica has it too (WAIT 1). Starts its own redis-server master and
 * replica on free loopback ports in temporary folders, publishes sequentially, and prints the
 * median and 99th percentile per case, with the load average.
 *
 *   npm run build && node dist/bench/micro/redis-wait.bench.js
 *
 * Sized by env: PUBLISHES (per case and round, default 2000), ROUNDS (default 3). Not run by
 * the tests.
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { connectRedisEngine } from "../../src/bus/redis-engine.js";

const PUBLISHES = Number(process.env.PUBLISHES ?? 2000);
const ROUNDS = Number(process.env.ROUNDS ?? 3);

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function startRedis(port: number, dir: string, extra: readonly string[]): ChildProcess {
  return spawn(
    "redis-server",
    [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--dir",
      dir,
      "--save",
      "",
      "--appendonly",
      "no",
      "--repl-diskless-sync-delay",
      "0",
      ...extra,
    ],
    { stdio: "ignore" },
  );
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

async function measureCase(url: string, waitReplicas: number, prefix: string): Promise<number[]> {
  const engine = await connectRedisEngine({
    url,
    prefix,
    historyMaxEvents: 1000,
    historyMaxAgeMs: 60_000,
    logMaxEvents: 100_000,
    waitReplicas,
  });
  engine.bus.start(() => {});
  const latencies: number[] = [];
  const event = { topics: ["t"], data: "x".repeat(100), event: undefined, retry: undefined };
  for (let i = 0; i < 200; i++) await engine.bus.publish([event]); // warm-up
  for (let i = 0; i < PUBLISHES; i++) {
    const started = performance.now();
    await engine.bus.publish([event]);
    latencies.push(performance.now() - started);
  }
  await engine.close();
  return latencies;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "ssehub-bench-redis-"));
  const masterPort = await freePort();
  const replicaPort = await freePort();
  const master = startRedis(masterPort, join(dir, "."), []);
  const replica = startRedis(replicaPort, dir, ["--replicaof", "127.0.0.1", String(masterPort)]);
  try {
    await new Promise((resolve) => setTimeout(resolve, 1500)); // both up and the replica synced
    const url = `redis://127.0.0.1:${masterPort}`;
    console.log(
      `node ${process.version}, load average before: ${loadavg()
        .map((l) => l.toFixed(2))
        .join(" ")}`,
    );
    const results = new Map<string, number[]>([
      ["WAIT 0", []],
      ["WAIT 1", []],
    ]);
    for (let round = 0; round < ROUNDS; round++) {
      for (const replicas of [0, 1]) {
        results
          .get(`WAIT ${replicas}`)!
          .push(...(await measureCase(url, replicas, `b${round}${replicas}`)));
      }
    }
    console.log("| case | publishes | median ms | p99 ms |");
    console.log("|---|---|---|---|");
    for (const [name, latencies] of results) {
      const sorted = [...latencies].sort((a, b) => a - b);
      console.log(
        `| ${name} | ${sorted.length} | ${percentile(sorted, 0.5).toFixed(3)} | ${percentile(sorted, 0.99).toFixed(3)} |`,
      );
    }
    console.log(
      `load average after: ${loadavg()
        .map((l) => l.toFixed(2))
        .join(" ")}`,
    );
  } finally {
    master.kill("SIGKILL");
    replica.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
