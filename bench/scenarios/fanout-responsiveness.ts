/**
 * Responsiveness during large fan-outs (DESIGN principle 6): while `ssehub bench fanout` sends
 * events to SUBSCRIBERS subscribers of one topic, this script times `GET /healthz` and a
 * `POST /publish` to another topic, each on its own keep-alive connection, PROBE_RATE times a
 * second, and prints their p50, p99 and max. A fan-out that held the event loop for its whole
 * length would show in these figures as the length of a fan-out.
 *
 *   npm run build && node dist/bench/scenarios/fanout-responsiveness.js
 *   SSEHUB_ROOT=/path/to/other/checkout node dist/bench/scenarios/fanout-responsiveness.js
 *
 * It starts `node $SSEHUB_ROOT/dist/src/cli/main.js serve --workers WORKERS` (one process holds
 * at most ~19,900 sockets, so 40,000 subscribers need several), runs this checkout's
 * `ssehub bench fanout --subscribers SUBSCRIBERS --rate RATE --duration DURATION` against it
 * (the load tool spreads its subscribers over worker processes of its own), probes from the
 * moment every subscriber is connected (read from /metrics) until the load tool is done, and
 * prints the load tool's own report too.
 *
 * Sized by env: SUBSCRIBERS (default 40000), WORKERS (default 3), RATE (events/s, default 5),
 * DURATION (s, default 10), PROBE_RATE (probes/s of each kind, default 20), SERVE_ARGS (more
 * flags for serve, space-separated), SSEHUB_ROOT (the checkout whose build is served; default
 * this one). Loopback only; it stops the processes it started, by their PIDs.
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import http from "node:http";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { freePort, sleep, waitUntilServing } from "./server-process.js";

const HERE = fileURLToPath(new URL(".", import.meta.url));
/** This checkout's root (the script runs from dist/bench/scenarios). */
const ROOT = join(HERE, "..", "..", "..");

const SUBSCRIBERS = Number(process.env.SUBSCRIBERS ?? 40_000);
const WORKERS = Number(process.env.WORKERS ?? 3);
const RATE = Number(process.env.RATE ?? 5);
const DURATION = Number(process.env.DURATION ?? 10);
const PROBE_RATE = Number(process.env.PROBE_RATE ?? 20);
const SERVE_ARGS = (process.env.SERVE_ARGS ?? "").split(" ").filter((arg) => arg !== "");
const SSEHUB_ROOT = process.env.SSEHUB_ROOT ?? ROOT;

/** One request on a keep-alive agent; resolves with its status once the body is read. */
function request(
  agent: http.Agent,
  port: number,
  method: string,
  path: string,
  body?: string,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        agent,
        host: "127.0.0.1",
        port,
        method,
        path,
        headers: body === undefined ? {} : { "content-type": "application/json" },
      },
      (res) => {
        res.resume();
        res.once("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.once("error", reject);
    req.end(body);
  });
}

/** Latencies of one kind of probe, in ms. */
class Probe {
  readonly name: string;
  readonly samples: number[] = [];
  failures = 0;

  constructor(name: string) {
    this.name = name;
  }

  summary(): string {
    const sorted = [...this.samples].sort((a, b) => a - b);
    const at = (p: number): string =>
      sorted.length === 0
        ? "-"
        : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!.toFixed(1);
    return `${this.name.padEnd(14)} p50 ${at(50)} ms  p99 ${at(99)} ms  max ${sorted.at(-1)?.toFixed(1) ?? "-"} ms  (${sorted.length} samples, ${this.failures} failed)`;
  }
}

/** Runs `send` PROBE_RATE times a second (never two at once) until `until()` is true. */
async function probeLoop(probe: Probe, send: () => Promise<number>, until: () => boolean) {
  const intervalMs = 1000 / PROBE_RATE;
  while (!until()) {
    const started = performance.now();
    try {
      const status = await send();
      if (status >= 200 && status < 300) probe.samples.push(performance.now() - started);
      else probe.failures++;
    } catch {
      probe.failures++;
    }
    const left = intervalMs - (performance.now() - started);
    if (left > 0) await sleep(left);
  }
}

async function subscriberCount(port: number): Promise<number> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  const text = await response.text();
  const match = /^ssehub_subscribers(?:\{[^}]*\})? (\d+)/m.exec(text);
  return match === null ? 0 : Number(match[1]);
}

function stop(child: ChildProcess): Promise<unknown> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const exited = once(child, "exit");
  child.kill("SIGTERM");
  return exited;
}

async function main(): Promise<void> {
  const port = await freePort();
  const server = spawn(
    process.execPath,
    [
      join(SSEHUB_ROOT, "dist/src/cli/main.js"),
      "serve",
      "--port",
      String(port),
      "--workers",
      String(WORKERS),
      "--log-level",
      "warn",
      ...SERVE_ARGS,
    ],
    { stdio: ["ignore", "inherit", "inherit"] },
  );
  try {
    await waitUntilServing(server, async () => {
      const response = await fetch(`http://127.0.0.1:${port}/healthz`);
      return response.ok;
    });
    const bench = spawn(
      process.execPath,
      [
        join(ROOT, "dist/src/cli/main.js"),
        "bench",
        "fanout",
        "--url",
        `http://127.0.0.1:${port}`,
        "--subscribers",
        String(SUBSCRIBERS),
        "--rate",
        String(RATE),
        "--duration",
        String(DURATION),
        "--drain-ms",
        "3000",
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    let report = "";
    bench.stdout!.setEncoding("utf8");
    bench.stdout!.on("data", (chunk: string) => {
      report += chunk;
    });
    const benchExited = once(bench, "exit");
    let done = false;
    void benchExited.then(() => {
      done = true;
    });
    while (!done && (await subscriberCount(port)) < SUBSCRIBERS) await sleep(200);
    const health = new Probe("GET /healthz");
    const publish = new Probe("POST /publish");
    const healthAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const publishAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const body = JSON.stringify({ topic: "responsiveness-probe", data: "probe" });
    // The load tool publishes for DURATION seconds once its subscribers are in.
    const deadline = performance.now() + DURATION * 1000;
    const until = (): boolean => done || performance.now() > deadline;
    await Promise.all([
      probeLoop(health, () => request(healthAgent, port, "GET", "/healthz"), until),
      probeLoop(publish, () => request(publishAgent, port, "POST", "/publish", body), until),
    ]);
    healthAgent.destroy();
    publishAgent.destroy();
    await benchExited;
    process.stdout.write(report);
    console.log(
      `Responsiveness during the fan-out (${SUBSCRIBERS} subscribers, ${RATE} events/s, serve --workers ${WORKERS}${SERVE_ARGS.length > 0 ? ` ${SERVE_ARGS.join(" ")}` : ""}, ${SSEHUB_ROOT})`,
    );
    console.log(`  ${health.summary()}`);
    console.log(`  ${publish.summary()}`);
  } finally {
    await stop(server);
  }
}

await main();
