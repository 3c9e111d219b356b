import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { activity, PHASE_REPLAY } from "../../src/diagnostics/activity.js";
import { createLogger } from "../../src/http/telemetry/logger.js";
import { StallWatcher } from "../../src/http/telemetry/stall-watcher.js";
import { waitFor } from "../helpers/wait-for.js";

/** Holds the loop for `ms`. */
function busyWait(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // Nothing: the point is to hold the loop.
  }
}

/** A logger whose lines land in `lines`, parsed. */
function capturingLogger(): {
  logger: ReturnType<typeof createLogger>;
  lines: Record<string, unknown>[];
} {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger("info", {
    write(line: string) {
      lines.push(JSON.parse(line) as Record<string, unknown>);
    },
  });
  return { logger, lines };
}

describe("StallWatcher", () => {
  test("a storm of stalls is logged as one line, then one line with the count", (t) => {
    const { logger, lines } = capturingLogger();
    const watcher = new StallWatcher({ thresholdMs: 5, logger });
    t.after(() => watcher.close());
    for (let i = 0; i < 3; i++) {
      activity.begin(PHASE_REPLAY, "storm", 100 + i);
      busyWait(8);
      activity.end();
    }
    const replayLines = (): Record<string, unknown>[] =>
      lines.filter((line) => JSON.stringify(line).includes("storm"));
    assert.equal(replayLines().length, 1);
    assert.match(String(replayLines()[0]!.msg), /^Event loop stalled: A resume on "storm"/);
    assert.equal(watcher.countsByPhase().replay, 3);
    watcher.close();
    const [, summary] = replayLines();
    assert.ok(summary, JSON.stringify(lines));
    assert.equal(summary.stalls, 2);
    assert.match(String(summary.msg), /stalled 2 more time\(s\) in the last 10 s/);
  });

  test("a garbage collection pause past the threshold is reported as gc", async (t) => {
    const { logger } = capturingLogger();
    const watcher = new StallWatcher({ thresholdMs: 1, logger });
    t.after(() => watcher.close());
    // A full collection of a heap holding a million objects takes well over 1 ms.
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    const held = Array.from({ length: 1_000_000 }, (_, i) => ({ i, text: `object ${i}` }));
    const report = await waitFor(() => {
      gc();
      return watcher.reports().find((r) => r.phase === "gc");
    }, "a gc stall report");
    assert.ok(held.length > 0);
    assert.match(report.summary, /garbage collection paused the loop for/);
    assert.ok(report.durationMs >= 1);
    assert.ok(watcher.loopFigures().gcCount >= 1);
  });

  test("the reports kept are bounded, the newest kept", (t) => {
    const { logger } = capturingLogger();
    const watcher = new StallWatcher({ thresholdMs: 1, logger });
    t.after(() => watcher.close());
    for (let i = 0; i < 105; i++) {
      activity.begin(PHASE_REPLAY, `topic-${i}`, i);
      busyWait(1.5);
      activity.end();
    }
    const reports = watcher.reports().filter((report) => report.phase === "replay");
    assert.equal(watcher.reports().length, 100);
    assert.equal(reports.at(-1)!.topic, "topic-104");
    assert.equal(watcher.countsByPhase().replay, 105);
  });
});
