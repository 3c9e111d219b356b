/**
 * docs/BENCHMARKS.md is rendered from bench/results/*.json and from nothing else: the committed
 * page is what the committed results render to, byte for byte (a hand edit of the page fails
 * here: run `node dist/bench/scenarios/report.js --render` instead), and rendering depends on
 * the results alone.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import type { BenchJson } from "../../bench/scenarios/report-cases.js";
import { softwareFacts } from "../../bench/scenarios/report-facts.js";
import { RENDER_COMMAND, renderPage } from "../../bench/scenarios/report-render.js";
import {
  type CaseResults,
  type MeasuredEntry,
  RESULTS_DIR,
  readAllResults,
  readCaseResults,
  resultsPath,
  serializeResults,
  withEntry,
} from "../../bench/scenarios/report-results.js";
import { ROOT, TARGETS } from "../../bench/scenarios/report-targets.js";

const committedPage = (): string => readFileSync(`${ROOT}docs/BENCHMARKS.md`, "utf8");

/** A publish-10 result of `ssehub bench --json`, as far as the report reads it. */
function publishResult(ratePerSec: number, p99Us: number): BenchJson {
  return {
    connections: { established: 10, failed: 0, connectRatePerSec: 1000 },
    delivery: null,
    latency: null,
    publish: { ratePerSec, ok: ratePerSec * 10, latency: { p99Us } },
    churn: null,
    ladder: null,
    server: null,
    loadgen: null,
  };
}

/** An entry measured by the report: three runs of publish-10 on `target`. */
function measuredEntry(target: string, rates: readonly number[]): MeasuredEntry {
  const command = `ssehub bench publish --subscribers 10 --duration 10 --target ${target}`;
  return {
    kind: "measured",
    measuredAt: "2027-01-05T10:00:00.000Z",
    machine: { cpus: 2, cpuModel: "AMD EPYC", memoryGiB: 23.47, kernel: "6.18", node: "v20.21.0" },
    loadAverage: { before: [0.25, 0.4, 0.5], after: [1.5, 0.6, 0.5] },
    software: {
      ssehubCommit: "0123456789abcdef0123456789abcdef01234567",
      ssehubUncommittedChanges: false,
      ...(target === "nchan"
        ? {
            nginx: "1.22.1",
            nginxPackage: "nginx 1.22.1-9+deb12u12",
            nchanPackage: "libnginx-mod-nchan 1:1.3.6+dfsg-2",
          }
        : {}),
    },
    command,
    runs: rates.map((rate) => ({
      command: `${command} --json`,
      result: publishResult(rate, 2000),
    })),
  };
}

/** The lines of `page` that start with `prefix`. */
const linesOf = (page: string, prefix: string): string[] =>
  page.split("\n").filter((line) => line.startsWith(prefix));

describe("docs/BENCHMARKS.md", () => {
  it("is the committed results rendered, byte for byte", () => {
    const rendered = renderPage(readAllResults(RESULTS_DIR));
    assert.equal(
      rendered,
      committedPage(),
      `docs/BENCHMARKS.md differs from bench/results: run \`${RENDER_COMMAND}\`, never edit the page`,
    );
  });

  it("says that it is generated and which command regenerates it", () => {
    const intro = committedPage().split("\n")[2] ?? "";
    assert.match(intro, /^Generated from bench\/results\/\*\.json by /);
    assert.ok(intro.includes(`\`${RENDER_COMMAND}\`; do not edit by hand`), intro);
  });

  it("has a results file for every section, each as its serializer writes it", () => {
    for (const results of readAllResults(RESULTS_DIR)) {
      const file = resultsPath(RESULTS_DIR, results.case);
      assert.equal(serializeResults(results), readFileSync(file, "utf8"), file);
    }
  });
});

describe("renderPage()", () => {
  it("gives the same page however often it runs and whatever the order of the files", () => {
    const results = readAllResults(RESULTS_DIR);
    const page = renderPage(results);
    assert.equal(renderPage(results), page);
    assert.equal(renderPage([...results].reverse()), page);
    const reread = results.map((r) => JSON.parse(serializeResults(r)) as CaseResults);
    assert.equal(renderPage(reread), page);
  });

  it("shows the median of a measured target's runs and computes its ratios in full precision", () => {
    const imported = readCaseResults(RESULTS_DIR, "publish-10")!;
    const results = withEntry(imported, "publish-10", "ssehub", measuredEntry("ssehub", [3, 1, 2]));
    const page = renderPage([results]);
    assert.deepEqual(linesOf(page, "| ssehub (1 process) "), [
      "| ssehub (1 process) (3 runs) | 2 | 2.00 |",
    ]);
    // nchan stays imported: its row as the page had it, the ratio from its rounded figure.
    const nchan = imported.targets.nchan!;
    assert.equal(nchan.kind, "imported");
    const nchanRate = nchan.kind === "imported" ? nchan.figures["publishes/s"]! : 0;
    assert.deepEqual(linesOf(page, "| ssehub vs nchan "), [
      `| ssehub vs nchan | ${(2 / nchanRate).toFixed(2)}x | ${(4.35 / 2).toFixed(2)}x |`,
    ]);
    // Between two rows still imported, the ratio line the page printed.
    const delayed = imported.importedRatios?.["ssehub-delay vs nchan"];
    assert.deepEqual(linesOf(page, "| ssehub --write-delay-ms 50 vs nchan "), [
      `| ssehub --write-delay-ms 50 vs nchan | ${delayed!.join(" | ")} |`,
    ]);
    assert.deepEqual(linesOf(page, "Measured on "), [
      "Measured on 2027-01-05 (Node.js v20.21.0): ssehub (1 process); on 2026-12-06 (Node.js v20.20.2, imported): ssehub --workers 2, ssehub --write-delay-ms 50, nginx + nchan (2 workers), better-sse (node:http), ssehub + Redis (1 node), ssehub + Redis (2 nodes).",
    ]);
  });

  it("drops the imported ratio lines of a target once it is measured", () => {
    const imported = readCaseResults(RESULTS_DIR, "publish-10")!;
    const results = withEntry(imported, "publish-10", "nchan", measuredEntry("nchan", [10]));
    const keys = Object.keys(results.importedRatios ?? {});
    assert.ok(keys.length > 0);
    assert.deepEqual(
      keys.filter((key) => key.includes("nchan")),
      [],
    );
    assert.deepEqual(
      Object.keys(results.targets),
      TARGETS.map((t) => t.name).filter((name) => name in results.targets),
    );
  });

  it("writes the machine section from the recorded facts, with each peer's version", () => {
    const results = withEntry(undefined, "publish-10", "nchan", measuredEntry("nchan", [10]));
    const page = renderPage([
      withEntry(results, "publish-10", "ssehub", measuredEntry("ssehub", [20])),
    ]);
    const machine = page.slice(page.indexOf("## Machine"), page.indexOf("## Targets"));
    assert.equal(
      machine,
      [
        "## Machine",
        "",
        "- CPU: 2 x AMD EPYC",
        "- Memory: 23.5 GiB",
        "- Kernel: 6.18",
        "- Node.js: v20.21.0",
        "- Load average (1 minute) before and after each target's runs of a case: 0.25 to 1.50",
        "- ssehub: commit 0123456789ab",
        "- nginx: 1.22.1 (Debian nginx 1.22.1-9+deb12u12)",
        "- nchan module: libnginx-mod-nchan 1:1.3.6+dfsg-2",
        "- Every server and the load tool share the machine and talk over loopback.",
        "",
        "",
      ].join("\n"),
    );
  });
});

describe("softwareFacts()", () => {
  it("records every version of the nchan peer as text or null, never empty", () => {
    const nchan = TARGETS.find((t) => t.name === "nchan")!;
    const facts = softwareFacts(nchan);
    assert.deepEqual(Object.keys(facts).sort(), [
      "nchanPackage",
      "nginx",
      "nginxPackage",
      "ssehubCommit",
      "ssehubUncommittedChanges",
    ]);
    for (const [name, value] of Object.entries(facts)) {
      assert.ok(value === null || (value !== "" && value !== undefined), `${name}: ${value}`);
    }
  });
});
