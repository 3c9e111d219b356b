/**
 * Measures the benchmark report and renders docs/BENCHMARKS.md from its results: starts each
 * target (ssehub in one process, with --workers 2 and 4, with a write delay, with --workers 6 for
 * 100,000 subscribers, nginx+nchan, better-sse, ssehub on Redis with one node and with two),
 * runs every case of `ssehub bench` that applies to it `--runs` times, and after each target's
 * runs of a case writes bench/results/<case>.json (report-results.ts: that target's entry
 * replaced, every run's JSON result in full, the machine, load average and software versions)
 * and renders the page again from every results file (report-render.ts). Nothing is read back
 * from the page, and nothing in it is written by hand.
 *
 *   npm run build && node dist/bench/scenarios/report.js [--runs 3] [--targets a,b] [--cases a,b]
 *       [--results bench/results] [--out docs/BENCHMARKS.md]
 *   node dist/bench/scenarios/report.js --render      # the page from the results, no measuring
 *
 * Needs the peers installed (see bench/README.md) and, for the Redis targets, Debian's
 * redis-server: the report starts its own on 127.0.0.1:6390, without persistence, in a
 * temporary folder. Loopback only; every server it starts is stopped by its PID or its own stop
 * script.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { writeFileSync } from "node:fs";
import os from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { applies, type BenchJson, benchArgs, CASES, type Case } from "./report-cases.js";
import { machineFacts, softwareFacts } from "./report-facts.js";
import { renderPage } from "./report-render.js";
import {
  type MeasuredEntry,
  type MeasuredRun,
  RESULTS_DIR,
  readAllResults,
  readCaseResults,
  withEntry,
  writeCaseResults,
} from "./report-results.js";
import { MAIN, ROOT, TARGETS, type Target } from "./report-targets.js";

/** One run of `ssehub bench` for a case against a target: its exact command and JSON result. */
async function runBench(
  target: Target,
  testCase: Case,
  serverPids: readonly number[] | undefined,
): Promise<MeasuredRun | null> {
  const pidArgs = (serverPids ?? []).flatMap((pid) => ["--server-pid", String(pid)]);
  const args = [...benchArgs(target, testCase), ...pidArgs, "--json"];
  const child = spawn(process.execPath, [MAIN, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on("data", (chunk: Buffer) => out.push(chunk));
  child.stderr.on("data", (chunk: Buffer) => err.push(chunk));
  await once(child, "exit");
  const text = Buffer.concat(out).toString().trim();
  try {
    const result = JSON.parse(text.slice(text.indexOf("{"))) as BenchJson;
    return { command: ["ssehub", ...args].join(" "), result };
  } catch {
    console.error(`${target.name} ${testCase.name}: no result (${Buffer.concat(err).toString()})`);
    return null;
  }
}

/** How long the background load of a case runs before the measured run starts, by default, in ms. */
const BACKGROUND_SETTLE_MS = 8000;

/** Starts the background load of `testCase`, if it has one; resolves when it has ended. */
function startBackground(target: Target, testCase: Case): Promise<void> | undefined {
  if (testCase.background === undefined) return undefined;
  const args = [...benchArgs(target, testCase, testCase.background), "--json"];
  const child = spawn(process.execPath, [MAIN, ...args], { stdio: "ignore" });
  return once(child, "exit").then(() => undefined);
}

/** Runs `testCase` against `target` `runs` times, each on a fresh server: the entry to keep. */
async function measure(
  target: Target,
  testCase: Case,
  runs: number,
  software: MeasuredEntry["software"],
): Promise<MeasuredEntry> {
  const measuredAt = new Date().toISOString();
  const before = os.loadavg();
  const list: MeasuredRun[] = [];
  for (let run = 0; run < runs; run++) {
    // A fresh server for every run, so that no run inherits another's memory or topics.
    const running = await target.start();
    try {
      console.error(`${target.name} ${testCase.name} run ${run + 1}/${runs}`);
      const background = startBackground(target, testCase);
      if (background !== undefined) {
        await sleep(testCase.backgroundSettleMs ?? BACKGROUND_SETTLE_MS);
      }
      const result = await runBench(target, testCase, running.serverPids);
      if (result !== null) list.push(result);
      await background;
    } finally {
      await running.stop();
    }
  }
  return {
    kind: "measured",
    measuredAt,
    machine: machineFacts(),
    loadAverage: { before, after: os.loadavg() },
    software,
    command:
      testCase.background === undefined
        ? `ssehub ${benchArgs(target, testCase).join(" ")}`
        : `ssehub ${benchArgs(target, testCase).join(" ")}, during ssehub ${benchArgs(target, testCase, testCase.background).join(" ")}`,
    runs: list,
  };
}

/** Writes the page rendered from every results file of `resultsDir`. */
function render(resultsDir: string, out: string): void {
  writeFileSync(out, renderPage(readAllResults(resultsDir)));
  console.error(`Wrote ${out}`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      runs: { type: "string", default: "3" },
      targets: { type: "string" },
      cases: { type: "string" },
      results: { type: "string", default: RESULTS_DIR },
      out: { type: "string", default: `${ROOT}docs/BENCHMARKS.md` },
      render: { type: "boolean", default: false },
    },
  });
  if (values.render) {
    render(values.results, values.out);
    return;
  }
  const runs = Number(values.runs);
  const targets = TARGETS.filter(
    (t) => values.targets === undefined || values.targets.split(",").includes(t.name),
  );
  const cases = CASES.filter(
    (c) => values.cases === undefined || values.cases.split(",").includes(c.name),
  );
  for (const target of targets) {
    const software = softwareFacts(target);
    for (const testCase of cases) {
      if (!applies(target, testCase)) continue;
      const entry = await measure(target, testCase, runs, software);
      const previous = readCaseResults(values.results, testCase.name);
      writeCaseResults(values.results, withEntry(previous, testCase.name, target.name, entry));
      // After every case of every target, so that a long session keeps what it measured so far.
      render(values.results, values.out);
    }
  }
}

await main();
