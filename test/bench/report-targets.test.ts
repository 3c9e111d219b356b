/**
 * The report's targets (bench/scenarios/report-targets.ts) name what they run: a target limited
 * to some cases names cases of the report, each on its own port, and ssehub with 1, 2 and 4
 * workers all run the two fanouts whose cost per delivery the cluster section compares
 * (docs/architecture.md, "Where a cluster's CPU goes").
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CASES } from "../../bench/scenarios/report-cases.js";
import { TARGETS } from "../../bench/scenarios/report-targets.js";

const caseNames = new Set(CASES.map((c) => c.name));

/** True when `target` runs `caseName`: listed by the target (or all) and the case (or all). */
function runs(targetName: string, caseName: string): boolean {
  const target = TARGETS.find((t) => t.name === targetName);
  const spec = CASES.find((c) => c.name === caseName);
  if (target === undefined || spec === undefined) return false;
  return (
    (target.cases === undefined || target.cases.includes(caseName)) &&
    (spec.targets === undefined || spec.targets.includes(targetName))
  );
}

describe("report targets", () => {
  it("limit themselves to cases that exist, each target on ports of its own", () => {
    for (const target of TARGETS) {
      for (const name of target.cases ?? []) {
        assert.ok(caseNames.has(name), `${target.name} names the unknown case ${name}`);
      }
    }
    const byPort = new Map<number, string[]>();
    for (const target of TARGETS) {
      for (const port of target.ports) byPort.set(port, [...(byPort.get(port) ?? []), target.name]);
    }
    // The Redis targets share their first node's port (one runs at a time, both start afresh).
    for (const [port, names] of byPort) {
      if (names.every((name) => name.startsWith("ssehub-redis-"))) continue;
      assert.equal(names.length, 1, `port ${port} serves ${names.join(", ")}`);
    }
  });

  it("run ssehub with 1, 2 and 4 workers side by side on both fanouts of the cluster's costs", () => {
    const w4 = TARGETS.find((t) => t.name === "ssehub-w4");
    assert.ok(w4 !== undefined);
    assert.deepEqual(w4.cases, ["latency-1k-100", "cpu-10k-50", "responsiveness-30k"]);
    for (const target of ["ssehub", "ssehub-w2", "ssehub-w4"]) {
      for (const caseName of ["latency-1k-100", "cpu-10k-50"]) {
        assert.ok(runs(target, caseName), `${target} runs ${caseName}`);
      }
    }
    assert.ok(!runs("ssehub-w4", "idle-10k"), "ssehub-w4 runs only the fanouts it is for");
  });

  it("measure a priority topic with and without priority topics, beside the peers", () => {
    for (const target of ["ssehub", "ssehub-priority", "nchan", "better-sse"]) {
      assert.ok(runs(target, "priority-10k"), `${target} runs priority-10k`);
    }
    assert.ok(!runs("ssehub-priority", "latency-1k-100"), "only the case it is for");
    assert.ok(runs("ssehub-w28", "idle-500k") && !runs("ssehub", "idle-500k"));
  });
});
