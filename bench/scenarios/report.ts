/**
 * Generates docs/BENCHMARKS.md from runs: starts each target (ssehub in one process, ssehub
 * with --workers 2, nginx+nchan, better-sse), runs every case of `ssehub bench` against it
 * `--runs` times, and writes the medians side by side with the ratios to the peers, with the
 * machine and the exact commands. Nothing in the page is written by hand.
 *
 *   npm run build && node dist/bench/scenarios/report.js [--runs 3] [--targets a,b] [--cases a,b]
 *       [--out docs/BENCHMARKS.md] [--append]
 *
 * --append keeps the page of an earlier run and replaces only the sections of the cases run now.
 *
 * Needs the peers installed (see bench/README.md). Loopback only; every server it starts is
 * stopped by its PID or its own stop script.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

/** With --append: the page as it was before this run added to it. */
let appendBase: string | undefined;

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const MAIN = `${ROOT}dist/src/cli/main.js`;

interface Target {
  readonly name: string;
  readonly label: string;
  readonly adapter: string;
  readonly port: number;
  start(): Promise<() => Promise<void>>;
}

/** Starts `ssehub serve` and waits for it to listen; returns its stop. */
function ssehubTarget(name: string, label: string, port: number, workers: number): Target {
  return {
    name,
    label,
    adapter: "ssehub",
    port,
    async start() {
      const child = spawn(
        process.execPath,
        [
          MAIN,
          "serve",
          "--port",
          String(port),
          "--log-level",
          "warn",
          "--workers",
          String(workers),
        ],
        { stdio: "ignore" },
      );
      await waitForPort(port, child);
      return async () => {
        child.kill("SIGTERM");
        if (child.exitCode === null) await once(child, "exit");
      };
    },
  };
}

/** A peer started and stopped by its scripts in bench/peers/<dir>. */
function scriptTarget(name: string, label: string, dir: string, port: number): Target {
  return {
    name,
    label,
    adapter: name,
    port,
    async start() {
      execFileSync(`${ROOT}bench/peers/${dir}/start.sh`, [String(port)], { stdio: "ignore" });
      await waitForPort(port);
      return async () => {
        execFileSync(`${ROOT}bench/peers/${dir}/stop.sh`, [String(port)], { stdio: "ignore" });
      };
    },
  };
}

const TARGETS: readonly Target[] = [
  ssehubTarget("ssehub", "ssehub (1 process)", 8090, 1),
  ssehubTarget("ssehub-w2", "ssehub --workers 2", 8091, 2),
  scriptTarget("nchan", "nginx + nchan (2 workers)", "nchan", 8081),
  scriptTarget("better-sse", "better-sse (node:http)", "better-sse", 8082),
];

interface Case {
  readonly name: string;
  readonly title: string;
  readonly args: readonly string[];
  /** Figures to tabulate: label, how to read it from a result, unit, which way is better. */
  readonly figures: readonly Figure[];
}

interface Figure {
  readonly label: string;
  readonly read: (result: BenchJson) => number | null | undefined;
  readonly better: "higher" | "lower";
  readonly digits?: number;
}

/** The parts of an `ssehub-bench/1` result the report reads. */
interface BenchJson {
  connections: { established: number; failed: number; connectRatePerSec: number };
  delivery: {
    deliveriesPerSec: number;
    lost: number;
    duplicated: number;
    reordered: number;
  } | null;
  latency: { p50Us: number; p99Us: number; maxUs: number } | null;
  publish: { ratePerSec: number; latency: { p99Us: number } | null } | null;
  churn: { ratePerSec: number; reconnects: number } | null;
  ladder: { bestCleanRate: number | null; bestCleanDeliveriesPerSec: number | null } | null;
  server: {
    rssPerConnectionBytes: number | null;
    cpuMicrosPerDelivery: number | null;
    rssBytes: number;
  } | null;
  loadgen: { coreShare: number } | null;
}

const ms = (us: number | undefined | null): number | null => (us == null ? null : us / 1000);

/**
 * A fanout ladder: the rate doubles from `startRate` for at most 8 steps of 4 s while each step
 * is clean (no loss, p99 within `p99BoundMs`); the highest clean rate is the figure. A bound of
 * 50 ms is the latency target; a bound of 1 s measures throughput.
 */
function ladderCase(
  name: string,
  subscribers: number,
  startRate: number,
  p99BoundMs: number,
): Case {
  const throughput = p99BoundMs >= 1000;
  const count = subscribers.toLocaleString("en-US");
  const clean = throughput ? "loss-free" : "clean";
  return {
    name,
    title: throughput
      ? `fanout ladder: ${count} subscribers, highest loss-free rate with p99 <= 1 s (throughput, not latency)`
      : `fanout ladder: ${count} subscribers, highest clean rate (p99 <= ${p99BoundMs} ms, no loss)`,
    args: [
      "fanout",
      "--subscribers",
      String(subscribers),
      "--ladder",
      "--rate",
      String(startRate),
      "--ladder-factor",
      "2",
      "--ladder-steps",
      "8",
      ...(p99BoundMs === 50 ? [] : ["--p99-bound-ms", String(p99BoundMs)]),
      "--duration",
      "4",
      "--drain-ms",
      "1500",
    ],
    figures: [
      { label: `${clean} events/s`, read: (r) => r.ladder?.bestCleanRate, better: "higher" },
      {
        label: `${clean} deliveries/s`,
        read: (r) => r.ladder?.bestCleanDeliveriesPerSec,
        better: "higher",
      },
    ],
  };
}

const CASES: readonly Case[] = [
  {
    name: "idle-10k",
    title: "idle: 10,000 subscribers held 5 s",
    args: ["idle", "--subscribers", "10000", "--hold", "5"],
    figures: [
      { label: "established", read: (r) => r.connections.established, better: "higher" },
      { label: "connects/s", read: (r) => r.connections.connectRatePerSec, better: "higher" },
      {
        label: "server RSS per subscriber (KiB)",
        read: (r) => (r.server?.rssPerConnectionBytes ?? NaN) / 1024,
        better: "lower",
        digits: 2,
      },
    ],
  },
  {
    name: "latency-1k-100",
    title: "fanout: 1,000 subscribers, 100 events/s for 10 s",
    args: ["fanout", "--subscribers", "1000", "--rate", "100", "--duration", "10"],
    figures: [
      { label: "deliveries/s", read: (r) => r.delivery?.deliveriesPerSec, better: "higher" },
      { label: "lost", read: (r) => r.delivery?.lost, better: "lower" },
      { label: "p50 ms", read: (r) => ms(r.latency?.p50Us), better: "lower", digits: 2 },
      { label: "p99 ms", read: (r) => ms(r.latency?.p99Us), better: "lower", digits: 2 },
      {
        label: "server CPU µs/delivery",
        read: (r) => r.server?.cpuMicrosPerDelivery,
        better: "lower",
        digits: 2,
      },
    ],
  },
  {
    name: "cpu-10k-50",
    title: "fanout: 10,000 subscribers, 50 events/s for 10 s",
    args: ["fanout", "--subscribers", "10000", "--rate", "50", "--duration", "10"],
    figures: [
      { label: "deliveries/s", read: (r) => r.delivery?.deliveriesPerSec, better: "higher" },
      { label: "lost", read: (r) => r.delivery?.lost, better: "lower" },
      { label: "p99 ms", read: (r) => ms(r.latency?.p99Us), better: "lower", digits: 1 },
      {
        label: "server CPU µs/delivery",
        read: (r) => r.server?.cpuMicrosPerDelivery,
        better: "lower",
        digits: 2,
      },
      { label: "load tool cores", read: (r) => r.loadgen?.coreShare, better: "lower", digits: 2 },
    ],
  },
  ladderCase("ladder-1k", 1000, 25, 50),
  ladderCase("ladder-10k", 10000, 5, 50),
  ladderCase("throughput-1k", 1000, 100, 1000),
  ladderCase("throughput-10k", 10000, 10, 1000),
  {
    name: "topics-100",
    title: "topics: 1,000 subscribers over 100 topics (one each), 1,000 events/s spread, 10 s",
    args: [
      "topics",
      "--subscribers",
      "1000",
      "--topics",
      "100",
      "--topics-per-subscriber",
      "1",
      "--rate",
      "1000",
      "--duration",
      "10",
    ],
    figures: [
      { label: "deliveries/s", read: (r) => r.delivery?.deliveriesPerSec, better: "higher" },
      { label: "lost", read: (r) => r.delivery?.lost, better: "lower" },
      { label: "p99 ms", read: (r) => ms(r.latency?.p99Us), better: "lower", digits: 2 },
      {
        label: "server CPU µs/delivery",
        read: (r) => r.server?.cpuMicrosPerDelivery,
        better: "lower",
        digits: 2,
      },
    ],
  },
  {
    name: "publish-10",
    title: "publish: 16 keep-alive connections, 10 subscribers attached, 10 s",
    args: ["publish", "--subscribers", "10", "--duration", "10"],
    figures: [
      { label: "publishes/s", read: (r) => r.publish?.ratePerSec, better: "higher" },
      { label: "p99 ms", read: (r) => ms(r.publish?.latency?.p99Us), better: "lower", digits: 2 },
    ],
  },
  {
    name: "churn-1000",
    title: "churn: 1,000 subscribers, 1,000 reconnects/s with Last-Event-ID, 100 events/s, 10 s",
    args: [
      "churn",
      "--subscribers",
      "1000",
      "--reconnect-rate",
      "1000",
      "--rate",
      "100",
      "--duration",
      "10",
      "--max-lost",
      "1000000000",
      "--max-duplicated",
      "1000000000",
    ],
    figures: [
      { label: "reconnects/s", read: (r) => r.churn?.ratePerSec, better: "higher" },
      { label: "lost", read: (r) => r.delivery?.lost, better: "lower" },
      { label: "duplicated", read: (r) => r.delivery?.duplicated, better: "lower" },
    ],
  },
];

async function waitForPort(port: number, child?: ChildProcess): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (child !== undefined && child.exitCode !== null) {
      throw new Error(`The server on port ${port} exited with ${child.exitCode}`);
    }
    try {
      const response = await fetch(`http://127.0.0.1:${port}/`, {
        signal: AbortSignal.timeout(500),
      });
      await response.body?.cancel();
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  throw new Error(`Nothing listens on port ${port} after 15 s`);
}

function benchArgs(target: Target, testCase: Case): string[] {
  return [
    "bench",
    ...testCase.args,
    "--target",
    target.adapter,
    "--url",
    `http://127.0.0.1:${target.port}`,
  ];
}

async function runBench(target: Target, testCase: Case): Promise<BenchJson | null> {
  const child = spawn(process.execPath, [MAIN, ...benchArgs(target, testCase), "--json"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on("data", (chunk: Buffer) => out.push(chunk));
  child.stderr.on("data", (chunk: Buffer) => err.push(chunk));
  await once(child, "exit");
  const text = Buffer.concat(out).toString().trim();
  try {
    return JSON.parse(text.slice(text.indexOf("{"))) as BenchJson;
  } catch {
    console.error(`${target.name} ${testCase.name}: no result (${Buffer.concat(err).toString()})`);
    return null;
  }
}

function median(values: readonly number[]): number | null {
  const finite = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (finite.length === 0) return null;
  const mid = finite.length >> 1;
  return finite.length % 2 === 1 ? finite[mid]! : (finite[mid - 1]! + finite[mid]!) / 2;
}

function format(value: number | null, digits = 0): string {
  if (value === null) return "n/a";
  return value.toLocaleString("en-US", {
    maximumFractionDigits: digits,
    minimumFractionDigits: digits,
  });
}

/** ssehub's figure against a peer's, as "N x better" (or worse). */
function ratio(ours: number | null, theirs: number | null, better: Figure["better"]): string {
  if (ours === null || theirs === null || ours === 0 || theirs === 0) return "";
  const factor = better === "higher" ? ours / theirs : theirs / ours;
  return `${factor.toFixed(2)}x`;
}

function machineSection(): string {
  const run = (cmd: string, args: string[]): string => {
    try {
      // nginx -v prints its version on stderr.
      const output = spawnSync(cmd, args, { encoding: "utf8" });
      if (output.error !== undefined) throw output.error;
      return `${output.stdout}${output.stderr}`.trim().split("\n")[0]!;
    } catch (error) {
      const stderr = (error as { stderr?: string }).stderr?.trim();
      return stderr?.split("\n")[0] ?? "not found";
    }
  };
  const nginx = run("nginx", ["-v"]);
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a dpkg-query format, not a template
  const nchan = run("dpkg-query", ["-W", "-f=${Version}", "libnginx-mod-nchan"]);
  const cpus = os.cpus();
  return [
    `- CPU: ${cpus.length} x ${cpus[0]?.model ?? "unknown"}`,
    `- Memory: ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    `- Kernel: ${os.release()}`,
    `- Node.js: ${process.version}`,
    `- nginx: ${nginx}; libnginx-mod-nchan ${nchan}`,
    "- Every server and the load tool share the machine and talk over loopback.",
  ].join("\n");
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      runs: { type: "string", default: "3" },
      targets: { type: "string" },
      cases: { type: "string" },
      out: { type: "string", default: `${ROOT}docs/BENCHMARKS.md` },
      append: { type: "boolean", default: false },
    },
  });
  const runs = Number(values.runs);
  const targets = TARGETS.filter(
    (t) => values.targets === undefined || values.targets.split(",").includes(t.name),
  );
  const cases = CASES.filter(
    (c) => values.cases === undefined || values.cases.split(",").includes(c.name),
  );
  const results = new Map<string, BenchJson[]>();
  const started = new Date();
  for (const target of targets) {
    for (const testCase of cases) {
      const key = `${target.name} ${testCase.name}`;
      const list: BenchJson[] = [];
      for (let run = 0; run < runs; run++) {
        // A fresh server for every run, so that no run inherits another's memory or topics.
        const stop = await target.start();
        try {
          console.error(`${key} run ${run + 1}/${runs}`);
          const result = await runBench(target, testCase);
          if (result !== null) list.push(result);
        } finally {
          await stop();
        }
      }
      results.set(key, list);
    }
    // Written after every target, so that a long session keeps what it measured so far.
    writeReport(values.out, runs, started, targets, cases, results, values.append);
  }
}

function writeReport(
  out: string,
  runs: number,
  started: Date,
  targets: readonly Target[],
  cases: readonly Case[],
  results: ReadonlyMap<string, BenchJson[]>,
  append: boolean,
): void {
  const header: string[] = [
    "# Benchmarks",
    "",
    "Generated by `node dist/bench/scenarios/report.js` " +
      `(${runs} runs per figure, the median shown) on ${started.toISOString().slice(0, 10)}. ` +
      "Do not edit by hand: run it again.",
    "",
    "## Machine",
    "",
    machineSection(),
    "",
    "## Targets",
    "",
    ...targets.map((t) => `- **${t.label}** on 127.0.0.1:${t.port} (\`--target ${t.adapter}\`)`),
    "",
    "Ratios compare ssehub (1 process) with each peer; above 1x, ssehub is better on that figure.",
    "",
  ];
  const lines: string[] = [];
  for (const testCase of cases) {
    lines.push(`## ${testCase.title}`, "");
    lines.push("```sh", `ssehub ${benchArgs(targets[0]!, testCase).slice(1).join(" ")}`, "```", "");
    const header = ["target", ...testCase.figures.map((f) => f.label)];
    lines.push(`| ${header.join(" | ")} |`, `|${header.map(() => "---").join("|")}|`);
    const medians = new Map<string, (number | null)[]>();
    for (const target of targets) {
      const list = results.get(`${target.name} ${testCase.name}`) ?? [];
      const row = testCase.figures.map((figure) =>
        median(list.map((r) => figure.read(r) ?? Number.NaN)),
      );
      medians.set(target.name, row);
      const cells = row.map((value, i) => format(value, testCase.figures[i]!.digits ?? 0));
      lines.push(`| ${target.label} (${list.length} runs) | ${cells.join(" | ")} |`);
    }
    const ours = medians.get("ssehub");
    for (const peer of ["nchan", "better-sse"]) {
      const theirs = medians.get(peer);
      if (ours === undefined || theirs === undefined) continue;
      const cells = testCase.figures.map((f, i) =>
        ratio(ours[i] ?? null, theirs[i] ?? null, f.better),
      );
      lines.push(`| ssehub vs ${peer} | ${cells.join(" | ")} |`);
    }
    lines.push("");
  }
  // --append adds the cases of this run to a page an earlier run wrote (a run of other cases).
  if (append && appendBase === undefined) {
    // The cases of this run replace their sections of the earlier page.
    let page = readFileSync(out, "utf8");
    for (const testCase of cases) {
      const start = page.indexOf(`## ${testCase.title}\n`);
      if (start === -1) continue;
      const next = page.indexOf("\n## ", start + 1);
      page = page.slice(0, start) + (next === -1 ? "" : page.slice(next + 1));
    }
    appendBase = page;
  }
  const base = append ? appendBase! : `${header.join("\n")}\n`;
  writeFileSync(out, `${base}${lines.join("\n")}\n`);
  console.error(`Wrote ${out}`);
}

await main();
