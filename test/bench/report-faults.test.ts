/**
 * The fault tables of docs/BENCHMARKS.md: lost (acknowledged), refused and refused but
 * delivered from a result that has the split, and from results recorded before it (n/a where
 * a publish was refused, since their `lost` included the refused publishes' events).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { BenchJson } from "../../bench/scenarios/report-cases.js";
import { renderPage } from "../../bench/scenarios/report-render.js";
import {
  type MeasuredEntry,
  RESULTS_DIR,
  readAllResults,
  readCaseResults,
  withEntry,
} from "../../bench/scenarios/report-results.js";

type FaultJson = NonNullable<BenchJson["faults"]>["faults"][number];

/** A faults result with one kill-worker report made of `fields`. */
function faultsResult(fields: Partial<FaultJson>): BenchJson {
  return {
    connections: { established: 200, failed: 0, connectRatePerSec: 1000 },
    delivery: null,
    latency: null,
    publish: null,
    churn: null,
    ladder: null,
    server: null,
    loadgen: null,
    faults: {
      faults: [
        {
          fault: "kill-worker",
          published: 1596,
          publishErrors: 4,
          lost: 10,
          duplicated: 0,
          resets: 1,
          recovery: { allSubscribersSeconds: 1.5 },
          ...fields,
        },
      ],
    },
  };
}

/** One measured run of faults-workers on ssehub-w2. */
function entryOf(result: BenchJson): MeasuredEntry {
  const command =
    "ssehub bench faults --faults kill-worker --target ssehub --url http://127.0.0.1:8091";
  return {
    kind: "measured",
    measuredAt: "2027-01-05T10:00:00.000Z",
    machine: { cpus: 2, cpuModel: "AMD EPYC", memoryGiB: 23.47, kernel: "6.18", node: "v20.21.0" },
    loadAverage: { before: [0.25, 0.4, 0.5], after: [1.5, 0.6, 0.5] },
    software: {
      ssehubCommit: "0123456789abcdef0123456789abcdef01234567",
      ssehubUncommittedChanges: false,
    },
    command,
    runs: [{ command: `${command} --json`, result }],
  };
}

/** The kill-worker table's header and the ssehub-w2 row, as rendered with `result`. */
function renderedTable(result: BenchJson): { header: string; row: string } {
  const all = readAllResults(RESULTS_DIR);
  const current = readCaseResults(RESULTS_DIR, "faults-workers");
  assert.ok(current !== undefined);
  const changed = withEntry(current, "faults-workers", "ssehub-w2", entryOf(result));
  const page = renderPage(
    all.map((results) => (results.case === "faults-workers" ? changed : results)),
  );
  const lines = page.split("\n");
  const header = lines.find((line) => line.startsWith("| target | kill-worker"));
  const row = lines.find((line) => line.startsWith("| ssehub --workers 2 (1 runs) |"));
  assert.ok(header !== undefined && row !== undefined);
  return { header, row };
}

describe("the fault tables of docs/BENCHMARKS.md", () => {
  it("show lost (acknowledged), refused and refused but delivered from a result with the split", () => {
    const { header, row } = renderedTable(
      faultsResult({ lost: 10, refusedNotDelivered: 600, refusedDelivered: 200 }),
    );
    assert.match(
      header,
      /^\| target \| kill-worker lost \(acknowledged\) \| kill-worker refused \| kill-worker refused but delivered \| kill-worker duplicated \|/,
    );
    assert.match(row, /^\| ssehub --workers 2 \(1 runs\) \| 10 \| 600 \| 200 \| 0 \|/);
  });

  it("show a result recorded before the split as n/a where a publish was refused", () => {
    const { row } = renderedTable(faultsResult({ lost: 995, publishErrors: 4 }));
    assert.match(row, /^\| ssehub --workers 2 \(1 runs\) \| n\/a \| n\/a \| n\/a \| 0 \|/);
  });

  it("show a result recorded before the split in full when no publish was refused", () => {
    const { row } = renderedTable(faultsResult({ lost: 995, publishErrors: 0 }));
    assert.match(row, /^\| ssehub --workers 2 \(1 runs\) \| 995 \| 0 \| 0 \| 0 \|/);
  });
});
