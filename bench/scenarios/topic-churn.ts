/**
 * Topic churn (issue 13, "Memory under topic churn"): a real `ssehub serve` takes one event on
 * each of TOPICS new topics per round, ROUNDS rounds, and its memory is read after each round,
 * once the history of the round has aged out, after a full GC: does what the hub held for the
 * dropped topics come back?
 *
 *   npm run build && node dist/bench/scenarios/topic-churn.js
 *   TOPICS=100000 ROUNDS=3 HISTORY_MAX_AGE_MS=2000 node dist/bench/scenarios/topic-churn.js
 *   MALLOC_ARENA_MAX=2 node dist/bench/scenarios/topic-churn.js
 *
 * It starts `node --expose-gc dist/src/cli/main.js serve` as a child process with a one-line
 * `--import` that, on SIGUSR2, runs a full GC and prints `process.memoryUsage()` as one JSON line
 * on stderr (rss, heapUsed, heapTotal, external, arrayBuffers), publishes over HTTP in batches
 * of BATCH events (POST /publish with a JSON array, topic `churn-<round>-<i>` padded to
 * TOPIC_LENGTH characters), waits until /metrics says history is empty (the age limit dropped
 * every topic), then samples: VmRSS from /proc/<pid>/status and the memoryUsage line. At the end
 * it reads `GET /topics` once (its first page) and prints the size of the body. The environment is passed to
 * the server as it is, so glibc tunables (MALLOC_ARENA_MAX, MALLOC_TRIM_THRESHOLD_) apply to it.
 *
 * Sized by env: TOPICS (default 100000), ROUNDS (default 3), BATCH (default 1000 events per
 * POST; 1 sends single events, not arrays), CONCURRENCY (default 1 POST at a time),
 * HISTORY_MAX_AGE_MS (default 2000; past 60000 rounds are not waited out and pile up), TOPIC_LENGTH
 * (default 0: names as they come; more pads them with `x`), IDLE_MS (default 0; more samples
 * once more after that long without a request, to see what V8 gives back by itself), SERVER_ARGS (extra flags for
 * `serve`, space separated). Loopback only; it stops the server it started, by its PID.
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import http from "node:http";
import { fileURLToPath } from "node:url";
import { freePort, sleep, stopServer, vmRss, waitUntilServing } from "./server-process.js";

const TOPICS = Number(process.env.TOPICS ?? 100_000);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const BATCH = Number(process.env.BATCH ?? 1000);
const HISTORY_MAX_AGE_MS = Number(process.env.HISTORY_MAX_AGE_MS ?? 2000);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 1);
const TOPIC_LENGTH = Number(process.env.TOPIC_LENGTH ?? 0);
const IDLE_MS = Number(process.env.IDLE_MS ?? 0);
const SERVER_ARGS = (process.env.SERVER_ARGS ?? "").split(" ").filter((arg) => arg !== "");
const MAIN = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));
const MIB = 1024 * 1024;
/** Longest history age the scenario waits out after each round; past it, rounds pile up. */
const MAX_AGE_WAITED_MS = 60_000;
/** Time given to the server for the GC and the kernel to settle RSS, in ms. */
const GC_SETTLE_MS = 1000;

/** Preloaded into the server: on SIGUSR2, a full GC, then memoryUsage() as a JSON line. */
const GC_REPORT_ON_SIGUSR2 =
  "data:text/javascript,process.on('SIGUSR2',()=>{globalThis.gc();" +
  "process.stderr.write('MEMORY '+JSON.stringify(process.memoryUsage())+'\\n')})";

/** What process.memoryUsage() said after a full GC, plus VmRSS read from /proc. */
interface Sample {
  readonly label: string;
  readonly vmRss: number;
  readonly heapUsed: number;
  readonly heapTotal: number;
  readonly external: number;
  readonly arrayBuffers: number;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

function request(
  port: number,
  method: string,
  path: string,
  body?: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: "127.0.0.1",
        port,
        method,
        path,
        agent,
        headers: body === undefined ? {} : { "Content-Type": "application/json" },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }),
        );
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

function metric(text: string, name: string): number {
  const match = new RegExp(`^${name} (\\S+)$`, "m").exec(text);
  return match === null ? Number.NaN : Number(match[1]);
}

/** Lines the server prints on stderr after SIGUSR2, waited for one at a time. */
class MemoryReports {
  readonly #waiting: ((line: string) => void)[] = [];
  #buffered = "";

  constructor(child: ChildProcess) {
    child.stderr!.setEncoding("utf8");
    child.stderr!.on("data", (chunk: string) => {
      this.#buffered += chunk;
      let end = this.#buffered.indexOf("\n");
      while (end !== -1) {
        const line = this.#buffered.slice(0, end);
        this.#buffered = this.#buffered.slice(end + 1);
        if (line.startsWith("MEMORY ")) this.#waiting.shift()?.(line.slice(7));
        else process.stderr.write(`${line}\n`);
        end = this.#buffered.indexOf("\n");
      }
    });
  }

  next(): Promise<string> {
    return new Promise((resolve) => this.#waiting.push(resolve));
  }
}

async function sample(label: string, child: ChildProcess, reports: MemoryReports): Promise<Sample> {
  const report = reports.next();
  child.kill("SIGUSR2");
  const usage = JSON.parse(await report) as NodeJS.MemoryUsage;
  await sleep(GC_SETTLE_MS);
  return {
    label,
    vmRss: vmRss(child.pid!),
    heapUsed: usage.heapUsed,
    heapTotal: usage.heapTotal,
    external: usage.external,
    arrayBuffers: usage.arrayBuffers,
  };
}

async function startServer(port: number): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [
      "--expose-gc",
      "--import",
      GC_REPORT_ON_SIGUSR2,
      MAIN,
      "serve",
      "--host",
      "127.0.0.1",
      "--port",
      String(port),
      "--log-level",
      "warn",
      "--history-max-age-ms",
      String(HISTORY_MAX_AGE_MS),
      "--max-batch-events",
      String(Math.max(BATCH, 1000)),
      ...SERVER_ARGS,
    ],
    { stdio: ["ignore", "inherit", "pipe"] },
  );
  return waitUntilServing(
    child,
    async () => (await request(port, "GET", "/healthz")).status === 200,
  );
}

function topicName(round: number, i: number): string {
  const name = `churn-${round}-${i}-`;
  return TOPIC_LENGTH > name.length ? name.padEnd(TOPIC_LENGTH, "x") : name;
}

async function publishRound(port: number, round: number): Promise<void> {
  let next = 0;
  const publisher = async (): Promise<void> => {
    while (next < TOPICS) {
      const first = next;
      next += BATCH;
      const events = [];
      for (let i = first; i < Math.min(first + BATCH, TOPICS); i++) {
        events.push({ topic: topicName(round, i), data: { i } });
      }
      const body = JSON.stringify(BATCH === 1 ? events[0] : events);
      const answer = await request(port, "POST", "/publish", body);
      if (answer.status !== 200) {
        throw new Error(`Publish answered ${answer.status}: ${answer.body.slice(0, 200)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, publisher));
}

/** Waits until the age limit has emptied history (every topic of the round dropped). */
async function waitForEmptyHistory(port: number): Promise<void> {
  for (;;) {
    const { body } = await request(port, "GET", "/metrics");
    if (metric(body, "ssehub_history_events") === 0) return;
    await sleep(250);
  }
}

function mib(bytes: number): string {
  return (bytes / MIB).toFixed(1);
}

function printTable(samples: readonly Sample[]): void {
  console.log(
    "| after | VmRSS MiB | heapUsed MiB | heapTotal MiB | external MiB | arrayBuffers MiB |",
  );
  console.log("|---|---:|---:|---:|---:|---:|");
  for (const s of samples) {
    console.log(
      `| ${s.label} | ${mib(s.vmRss)} | ${mib(s.heapUsed)} | ${mib(s.heapTotal)} | ${mib(s.external)} | ${mib(s.arrayBuffers)} |`,
    );
  }
}

async function main(): Promise<void> {
  const port = await freePort();
  const child = await startServer(port);
  const reports = new MemoryReports(child);
  const samples: Sample[] = [];
  try {
    samples.push(await sample("start", child, reports));
    for (let round = 1; round <= ROUNDS; round++) {
      const started = Date.now();
      await publishRound(port, round);
      const published = Date.now() - started;
      samples.push(await sample(`round ${round} published`, child, reports));
      if (HISTORY_MAX_AGE_MS <= MAX_AGE_WAITED_MS) {
        await waitForEmptyHistory(port);
        samples.push(await sample(`round ${round} dropped`, child, reports));
      }
      console.error(`round ${round}: ${TOPICS} topics published in ${published} ms`);
    }
    if (IDLE_MS > 0) {
      await sleep(IDLE_MS);
      samples.push(await sample(`${IDLE_MS / 1000} s idle`, child, reports));
    }
    const topics = await request(port, "GET", "/topics");
    console.log(
      `GET /topics: ${topics.status}, ${Buffer.byteLength(topics.body)} bytes; ` +
        `env MALLOC_ARENA_MAX=${process.env.MALLOC_ARENA_MAX ?? "-"} ` +
        `MALLOC_TRIM_THRESHOLD_=${process.env.MALLOC_TRIM_THRESHOLD_ ?? "-"}; ` +
        `loadavg ${readFileSync("/proc/loadavg", "utf8").trim()}`,
    );
    printTable(samples);
  } finally {
    agent.destroy();
    await stopServer(child);
  }
}

await main();
