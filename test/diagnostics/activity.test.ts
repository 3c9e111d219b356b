import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  Activity,
  PHASE_DISPATCH,
  PHASE_PUBLISH,
  PHASE_REPLAY,
  type PhaseStall,
} from "../../src/diagnostics/activity.js";

/** Holds the loop for `ms`. */
function busyWait(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // Nothing: the point is to hold the loop.
  }
}

describe("Activity", () => {
  test("a piece that blocks past the threshold is reported with its figures", () => {
    const activity = new Activity();
    const stalls: PhaseStall[] = [];
    activity.watch((stall) => stalls.push(stall), 5);
    activity.begin(PHASE_DISPATCH, "", 3);
    activity.fanOut("small", 10, 100);
    activity.fanOut("large", 500, 100);
    busyWait(10);
    activity.end();
    assert.equal(stalls.length, 1);
    const [stall] = stalls;
    assert.equal(stall!.phase, "dispatch");
    assert.equal(stall!.topic, "large");
    assert.equal(stall!.subscribers, 510);
    assert.equal(stall!.bytesQueued, 51_000);
    assert.equal(stall!.batchSize, 3);
    assert.ok(stall!.durationMs >= 10);
    assert.ok(activity.phaseMs >= 10);
  });

  test("a piece shorter than the threshold is not reported", () => {
    const activity = new Activity();
    const stalls: PhaseStall[] = [];
    activity.watch((stall) => stalls.push(stall), 60_000);
    activity.begin(PHASE_REPLAY, "a", 1);
    activity.end();
    assert.deepEqual(stalls, []);
  });

  test("a piece begun inside another counts as the outer one", () => {
    const activity = new Activity();
    const stalls: PhaseStall[] = [];
    activity.watch((stall) => stalls.push(stall), 5);
    activity.begin(PHASE_PUBLISH, "outer", 7);
    activity.begin(PHASE_DISPATCH, "inner", 1);
    busyWait(10);
    activity.end();
    assert.equal(stalls.length, 0, "the inner end reports nothing");
    activity.end();
    assert.equal(stalls.length, 1);
    assert.equal(stalls[0]!.phase, "publish");
    assert.equal(stalls[0]!.topic, "outer");
    assert.equal(stalls[0]!.batchSize, 7);
  });

  test("nothing is timed while no watcher listens, and a stopped watcher hears nothing", () => {
    const activity = new Activity();
    activity.begin(PHASE_DISPATCH, "", 1);
    busyWait(5);
    activity.end();
    assert.equal(activity.phaseMs, 0);
    const stalls: PhaseStall[] = [];
    const stop = activity.watch((stall) => stalls.push(stall), 1);
    stop();
    assert.equal(activity.isWatched, false);
    activity.begin(PHASE_DISPATCH, "", 1);
    busyWait(5);
    activity.end();
    assert.deepEqual(stalls, []);
  });

  test("each watcher hears the stalls past its own threshold", () => {
    const activity = new Activity();
    const low: PhaseStall[] = [];
    const high: PhaseStall[] = [];
    activity.watch((stall) => low.push(stall), 1);
    activity.watch((stall) => high.push(stall), 60_000);
    activity.begin(PHASE_DISPATCH, "", 1);
    busyWait(5);
    activity.end();
    assert.equal(low.length, 1);
    assert.equal(high.length, 0);
  });

  test("hot topics count the events of sampled dispatch turns", () => {
    const activity = new Activity();
    activity.watch(() => {}, 60_000);
    activity.begin(PHASE_DISPATCH, "", 5);
    assert.equal(activity.wantsTopicSample, true);
    activity.sampleTopics(
      new Map([
        ["quiet", [1]],
        ["busy", [1, 2, 3, 4]],
      ]),
    );
    activity.end();
    assert.deepEqual(activity.hotTopics(5), [
      { topic: "busy", events: 4 },
      { topic: "quiet", events: 1 },
    ]);
  });
});
