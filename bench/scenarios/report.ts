/**
 * Generates docs/BENCHMARKS.md from runs: starts each target (ssehub in one process, with
 * --workers 2, with a write delay, with --workers 6 for 100,000 subscribers, nginx+nchan,
 * better-sse, ssehub on Redis with one node and with two), runs every case of `ssehub bench`
 * that applies to it `--runs` times, and writes the medians side by side
 * with the ratios to the peers, with the machine and the exact commands. Nothing in the page is
 * written by hand.
 *
 *   npm run build && node dist/bench/scenarios/report.js [--runs 3] [--targets a,b] [--cases a,b]
 *       [--out docs/BENCHMARKS.md] [--append]
 *
 * --append keeps the page of an earlier run and replaces only what this run measured: the rows
 * of the targets run now in the sections of the cases run now (rows of other targets stay, and
 * the ratios are computed again from the figures in the page), and their lines in the list of
 * targets. `--targets ssehub-redis-1,ssehub-redis-2 --append` adds the Redis targets to a page.
 *
 * Needs the peers installed (see bench/README.md) and, for the Redis targets, Debian's
 * redis-server: the report starts its own on 127.0.0.1:6390, without persistence, in a
 * temporary folder. Loopback only; every server it starts is stopped by its PID or its own stop
 * script.
 */
import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import { parseArgs } from "node:util";
import {
  DELAY_TARGET,
  MAIN,
  PEERS,
  REDIS_TARGETS,
  ROOT,
  TARGETS,
  type Target,
} from "./report-targets.js";

/** With --append: the page as it was before this run added to it. */
let appendBase: string | undefined;

interface Case {
  readonly name: string;
  /** The only targets that run it; all (but those limited to other cases) when not given. */
  readonly targets?: readonly string[];
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

/** Server CPU seconds per delivery, in µs: the fanout cases' measure of cost. */
const SERVER_CPU_PER_DELIVERY: Figure = {
  label: "server CPU µs/delivery",
  read: (r) => r.server?.cpuMicrosPerDelivery,
  better: "lower",
  digits: 2,
};

/** Server RSS above the empty baseline per connection: the idle cases' measure. */
const SERVER_RSS_PER_SUBSCRIBER: Figure = {
  label: "server RSS per subscriber (KiB)",
  read: (r) => (r.server?.rssPerConnectionBytes ?? NaN) / 1024,
  better: "lower",
  digits: 2,
};

/** A fanout of `rate` events/s to `subscribers` for 10 s: delivery, latency and server CPU. */
function fanoutCase(name: string, subscribers: number, rate: number): Case {
  const count = subscribers.toLocaleString("en-US");
  return {
    name,
    title: `fanout: ${count} subscribers, ${rate} events/s for 10 s`,
    args: [
      "fanout",
      "--subscribers",
      String(subscribers),
      "--rate",
      String(rate),
      "--duration",
      "10",
    ],
    figures: [
      { label: "deliveries/s", read: (r) => r.delivery?.deliveriesPerSec, better: "higher" },
      { label: "lost", read: (r) => r.delivery?.lost, better: "lower" },
      { label: "p50 ms", read: (r) => ms(r.latency?.p50Us), better: "lower", digits: 2 },
      { label: "p99 ms", read: (r) => ms(r.latency?.p99Us), better: "lower", digits: 2 },
      SERVER_CPU_PER_DELIVERY,
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
      SERVER_RSS_PER_SUBSCRIBER,
    ],
  },
  {
    name: "idle-100k",
    targets: ["ssehub-w6", "ssehub-w6-young2"],
    title: "idle: 100,000 subscribers held 5 s",
    args: ["idle", "--subscribers", "100000", "--hold", "5"],
    figures: [
      { label: "established", read: (r) => r.connections.established, better: "higher" },
      { label: "failed", read: (r) => r.connections.failed, better: "lower" },
      { label: "connects/s", read: (r) => r.connections.connectRatePerSec, better: "higher" },
      SERVER_RSS_PER_SUBSCRIBER,
    ],
  },
  fanoutCase("latency-1k-100", 1000, 100),
  fanoutCase("cpu-1k-50", 1000, 50),
  {
    name: "cpu-10k-50",
    title: "fanout: 10,000 subscribers, 50 events/s for 10 s",
    args: ["fanout", "--subscribers", "10000", "--rate", "50", "--duration", "10"],
    figures: [
      { label: "deliveries/s", read: (r) => r.delivery?.deliveriesPerSec, better: "higher" },
      { label: "lost", read: (r) => r.delivery?.lost, better: "lower" },
      { label: "p99 ms", read: (r) => ms(r.latency?.p99Us), better: "lower", digits: 1 },
      SERVER_CPU_PER_DELIVERY,
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
      SERVER_CPU_PER_DELIVERY,
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

/** True when `target` runs `testCase` (see Case.targets and Target.cases). */
function applies(target: Target, testCase: Case): boolean {
  return (
    (testCase.targets === undefined || testCase.targets.includes(target.name)) &&
    (target.cases === undefined || target.cases.includes(testCase.name))
  );
}

/** The arguments of `ssehub bench` for a case against a target, as the page shows them. */
function benchArgs(target: Target, testCase: Case): string[] {
  return [
    "bench",
    ...testCase.args,
    "--target",
    target.adapter,
    ...target.ports.flatMap((port) => ["--url", `http://127.0.0.1:${port}`]),
  ];
}

async function runBench(
  target: Target,
  testCase: Case,
  serverPids: readonly number[] | undefined,
): Promise<BenchJson | null> {
  const pidArgs = (serverPids ?? []).flatMap((pid) => ["--server-pid", String(pid)]);
  const child = spawn(
    process.execPath,
    [MAIN, ...benchArgs(target, testCase), ...pidArgs, "--json"],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
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
      if (!applies(target, testCase)) continue;
      const key = `${target.name} ${testCase.name}`;
      const list: BenchJson[] = [];
      for (let run = 0; run < runs; run++) {
        // A fresh server for every run, so that no run inherits another's memory or topics.
        const running = await target.start();
        try {
          console.error(`${key} run ${run + 1}/${runs}`);
          const result = await runBench(target, testCase, running.serverPids);
          if (result !== null) list.push(result);
        } finally {
          await running.stop();
        }
      }
      results.set(key, list);
    }
    // Written after every target, so that a long session keeps what it measured so far.
    writeReport(values.out, runs, started, targets, cases, results, values.append);
  }
}

/** One row of a case's table: a target's medians, measured now or kept from the page. */
interface Row {
  readonly label: string;
  readonly runs: number;
  /** The medians (read back from the page for a kept row: as rounded as it shows them). */
  readonly values: readonly (number | null)[];
  readonly cells: readonly string[];
  /** Measured by this run (else kept from the page). */
  readonly measured: boolean;
}

/** A cell of the page back to a number: `1,234.5` -> 1234.5; `n/a` and empty -> null. */
function parseCell(cell: string): number | null {
  const value = Number(cell.replaceAll(",", ""));
  return cell === "" || cell === "n/a" || !Number.isFinite(value) ? null : value;
}

/**
 * The table of a case section of the page: the target rows by label, and the ratio lines
 * whole by their first cell (`ssehub vs nchan`).
 */
function tableOfSection(section: string): { rows: Map<string, Row>; ratios: Map<string, string> } {
  const rows = new Map<string, Row>();
  const ratios = new Map<string, string>();
  for (const line of section.split("\n")) {
    if (!line.startsWith("| ") || !line.endsWith(" |")) continue;
    const [first = "", ...cells] = line.slice(2, -2).split(" | ");
    const match = /^(.*) \((\d+) runs\)$/.exec(first);
    if (match === null) {
      ratios.set(first, line);
      continue;
    }
    rows.set(match[1]!, {
      label: match[1]!,
      runs: Number(match[2]),
      values: cells.map(parseCell),
      cells,
      measured: false,
    });
  }
  return { rows, ratios };
}

/** Where the section under `heading` (`## ...`) of `page` starts and ends, or undefined. */
function sectionOf(page: string, heading: string): { start: number; end: number } | undefined {
  let start = 0;
  if (!page.startsWith(`${heading}\n`)) {
    const at = page.indexOf(`\n${heading}\n`);
    if (at === -1) return undefined;
    start = at + 1;
  }
  const next = page.indexOf("\n## ", start + 1);
  return { start, end: next === -1 ? page.length : next + 1 };
}

/**
 * The section of one case: the command, then a row per target (those run now from `results`,
 * the others kept from `old`, the same section of an earlier page), then the ratios.
 */
function caseSection(
  testCase: Case,
  ranTargets: readonly Target[],
  results: ReadonlyMap<string, BenchJson[]>,
  old: string | undefined,
  measuredOn: string,
): string {
  const { rows: kept, ratios: keptRatios } =
    old === undefined
      ? { rows: new Map<string, Row>(), ratios: new Map<string, string>() }
      : tableOfSection(old);
  const ran = new Set(ranTargets.map((t) => t.name));
  const rows = new Map<string, Row>();
  for (const target of TARGETS) {
    if (ran.has(target.name) && applies(target, testCase)) {
      const list = results.get(`${target.name} ${testCase.name}`) ?? [];
      const values = testCase.figures.map((figure) =>
        median(list.map((r) => figure.read(r) ?? Number.NaN)),
      );
      const cells = values.map((value, i) => format(value, testCase.figures[i]!.digits ?? 0));
      rows.set(target.name, {
        label: target.label,
        runs: list.length,
        values,
        cells,
        measured: true,
      });
    } else {
      const row = kept.get(target.label);
      if (row !== undefined) rows.set(target.name, row);
    }
  }
  const known = new Set(TARGETS.map((t) => t.label));
  // Rows of targets this version no longer has stay, without ratios.
  for (const row of kept.values()) if (!known.has(row.label)) rows.set(row.label, row);

  const shown = TARGETS.find((t) => rows.has(t.name)) ?? ranTargets[0]!;
  const lines: string[] = [`## ${testCase.title}`, ""];
  lines.push("```sh", `ssehub ${benchArgs(shown, testCase).join(" ")}`, "```", "");
  lines.push(...whenMeasured([...rows.values()], old, measuredOn));
  const header = ["target", ...testCase.figures.map((f) => f.label)];
  lines.push(`| ${header.join(" | ")} |`, `|${header.map(() => "---").join("|")}|`);
  for (const row of rows.values()) {
    lines.push(`| ${row.label} (${row.runs} runs) | ${row.cells.join(" | ")} |`);
  }
  const ratioLine = (first: Row, second: Row, name: string): string => {
    // Between two rows kept from the page, the line it had: its figures were not rounded.
    const keptLine = keptRatios.get(name);
    if (!first.measured && !second.measured && keptLine !== undefined) return keptLine;
    const cells = testCase.figures.map((f, i) =>
      ratio(first.values[i] ?? null, second.values[i] ?? null, f.better),
    );
    return `| ${name} | ${cells.join(" | ")} |`;
  };
  // Each of these rows against each peer: ssehub as it ships, and with a write delay.
  const againstPeers = (row: Row | undefined, name: string): void => {
    if (row === undefined) return;
    for (const peer of PEERS) {
      const theirs = rows.get(peer);
      if (theirs !== undefined) lines.push(ratioLine(row, theirs, `${name} vs ${peer}`));
    }
  };
  const ours = rows.get("ssehub");
  againstPeers(ours, "ssehub");
  const delayed = rows.get(DELAY_TARGET);
  againstPeers(delayed, delayed?.label ?? "");
  if (ours !== undefined) {
    for (const name of REDIS_TARGETS) {
      const redis = rows.get(name);
      if (redis !== undefined) {
        lines.push(ratioLine(redis, ours, `${redis.label} vs ${ours.label}`));
      }
    }
  }
  lines.push("");
  return lines.join("\n");
}

/** Starts the line of a section that says when its rows were measured. */
const MEASURED = "Measured on ";

/**
 * The line that says when the rows of a section were measured: `measuredOn` for the rows run
 * now; a section run earlier keeps its line (none: the date at the top of the page).
 */
function whenMeasured(rows: readonly Row[], old: string | undefined, measuredOn: string): string[] {
  const now = rows.filter((row) => row.measured);
  const before = old?.split("\n").find((line) => line.startsWith(MEASURED));
  if (now.length === 0) return before === undefined ? [] : [before, ""];
  if (now.length === rows.length) return [`${MEASURED}${measuredOn}.`, ""];
  const labels = now.map((row) => row.label).join(", ");
  return [`${MEASURED}${measuredOn}: ${labels}; the other rows earlier.`, ""];
}

/** The `## Targets` section: the targets listed, and how to read the ratios. */
function targetsSection(listed: readonly Target[]): string {
  const where = (t: Target): string => t.ports.map((port) => `127.0.0.1:${port}`).join(" and ");
  const lines = [
    "## Targets",
    "",
    ...listed.map(
      (t) =>
        `- **${t.label}** on ${where(t)} (\`--target ${t.adapter}\`${t.ports.length > 1 ? `, one \`--url\` per node` : ""})` +
        (t.note === undefined ? "" : `: ${t.note}`),
    ),
    "",
    "Ratios compare ssehub (1 process) with each peer; above 1x, ssehub is better on that figure.",
  ];
  const delayed = listed.find((t) => t.name === DELAY_TARGET);
  if (delayed !== undefined) {
    lines.push(
      "",
      `${delayed.label} is compared with each peer too: what its added latency buys in CPU ` +
        "per delivery at the same offered load.",
    );
  }
  if (listed.some((t) => REDIS_TARGETS.includes(t.name))) {
    lines.push(
      "",
      "The Redis rows compare ssehub on Redis with ssehub (1 process), which orders and keeps " +
        "its events in memory: above 1x the Redis target is better on that figure, below 1x the " +
        "difference is what Redis costs (every publish goes through Redis, which gives the event " +
        "its hub-wide id and keeps the history). With two nodes, the subscribers are spread " +
        "over both (subscriber i on node i mod 2), events are published to the first node only " +
        "and reach the second through Redis, and every churn reconnect resumes on the other " +
        "node than the one it left.",
    );
  }
  lines.push("");
  return lines.join("\n");
}

/**
 * The page with its case sections in the order of CASES (a section added by --append lands at
 * the end at first); sections of cases this version no longer has stay after them, in order.
 */
function inCaseOrder(page: string): string {
  const first = page.indexOf("\n## ", page.indexOf("\n## Targets\n") + 1);
  if (first === -1) return page;
  const head = page.slice(0, first + 1);
  const sections = page
    .slice(first + 1)
    .split(/\n(?=## )/)
    .map((section) => section.replace(/\n*$/, "\n"));
  const rank = (section: string): number => {
    const title = section.slice(3, section.indexOf("\n"));
    const at = CASES.findIndex((c) => c.title === title);
    return at === -1 ? CASES.length : at;
  };
  // Array#sort is stable: sections of equal rank keep their order.
  const ordered = [...sections].sort((a, b) => rank(a) - rank(b));
  return `${head}${ordered.join("\n")}`;
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
  // --append builds on the page as it was before this run (read once, at the first write).
  if (append && appendBase === undefined) appendBase = readFileSync(out, "utf8");
  const measuredOn = `${started.toISOString().slice(0, 10)} (Node.js ${process.version})`;
  let page: string;
  if (!append) {
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
      targetsSection(targets),
    ];
    const sections = cases.map((c) => caseSection(c, targets, results, undefined, measuredOn));
    page = `${header.join("\n")}\n${sections.join("\n")}\n`;
  } else {
    page = appendBase!;
    const later = "Sections measured later say when. ";
    if (!page.includes(later)) {
      page = page.replace(
        "Do not edit by hand: run it again.",
        `${later}Do not edit by hand: run it again.`,
      );
    }
    // The list of targets: those of the page, and those run now.
    const targetsAt = sectionOf(page, "## Targets");
    const listedBefore = targetsAt === undefined ? "" : page.slice(targetsAt.start, targetsAt.end);
    const listed = TARGETS.filter(
      (t) => targets.includes(t) || listedBefore.includes(`- **${t.label}**`),
    );
    if (targetsAt !== undefined) {
      page = `${page.slice(0, targetsAt.start)}${targetsSection(listed)}\n${page.slice(targetsAt.end)}`;
    }
    for (const testCase of cases) {
      const at = sectionOf(appendBase!, `## ${testCase.title}`);
      const old = at === undefined ? undefined : appendBase!.slice(at.start, at.end);
      const section = `${caseSection(testCase, targets, results, old, measuredOn)}\n`;
      const now = sectionOf(page, `## ${testCase.title}`);
      page =
        now === undefined
          ? `${page.replace(/\n*$/, "\n\n")}${section}`
          : `${page.slice(0, now.start)}${section}${page.slice(now.end)}`;
    }
    page = inCaseOrder(page);
    // As a page written whole: a blank line after the last table.
    page = page.replace(/\n*$/, "\n\n");
  }
  writeFileSync(out, page);
  console.error(`Wrote ${out}`);
}

await main();
