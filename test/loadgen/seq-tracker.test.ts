import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { SeqTracker } from "../../src/loadgen/seq-tracker.js";

describe("SeqTracker", () => {
  test("events in order leave nothing lost, duplicated or reordered", () => {
    const tracker = new SeqTracker(1);
    tracker.reset(() => 0);
    for (let seq = 1; seq <= 10; seq++) tracker.record(0, seq);
    assert.equal(tracker.received, 10);
    assert.equal(
      tracker.lost(() => 10),
      0,
    );
    assert.equal(
      tracker.expected(() => 10),
      10,
    );
    assert.equal(tracker.duplicated, 0);
    assert.equal(tracker.reordered, 0);
  });

  test("a gap filled late counts as reordered, a repeat as duplicated, the rest as lost", () => {
    const tracker = new SeqTracker(1);
    tracker.reset(() => 0);
    for (const seq of [1, 2, 3, 6, 5, 3]) tracker.record(0, seq);
    assert.equal(tracker.reordered, 1);
    assert.equal(tracker.duplicated, 1);
    assert.equal(tracker.unique, 5);
    // 4 never came; 7 was published and never came.
    assert.equal(
      tracker.lost(() => 7),
      2,
    );
  });

  test("streams are counted apart and from their own base", () => {
    const tracker = new SeqTracker(2);
    tracker.reset((slot) => (slot === 0 ? 100 : 0));
    tracker.record(0, 101);
    tracker.record(1, 1);
    tracker.record(1, 2);
    assert.equal(
      tracker.expected((slot) => (slot === 0 ? 102 : 2)),
      4,
    );
    assert.equal(
      tracker.lost((slot) => (slot === 0 ? 102 : 2)),
      1,
    );
    assert.equal(tracker.maxOf(0), 101);
  });

  test("an event from before the base counts as duplicated", () => {
    const tracker = new SeqTracker(1);
    tracker.reset(() => 50);
    tracker.record(0, 49);
    assert.equal(tracker.duplicated, 1);
  });
  test("a refused publish that never arrives counts as refusedNotDelivered, not lost", () => {
    const tracker = new SeqTracker(2);
    tracker.reset(() => 10);
    // Stream 0: 13 refused and missing (a hole), 16 acknowledged and missing (after max).
    for (const seq of [11, 12, 14, 15]) tracker.record(0, seq);
    // Stream 1: 12 refused and missing after the last one received.
    tracker.record(1, 11);
    const final = (slot: number): number => (slot === 0 ? 16 : 12);
    const refused = (slot: number): number[] => (slot === 0 ? [13] : [12]);
    assert.deepEqual(tracker.missing(final, refused), {
      lost: 1,
      refusedNotDelivered: 2,
      refusedDelivered: 0,
    });
    // expected = delivered - duplicated + lost + refusedNotDelivered
    assert.equal(tracker.expected(final), tracker.unique + 1 + 2);
  });

  test("a refused publish that arrives anyway counts as refusedDelivered", () => {
    const tracker = new SeqTracker(1);
    tracker.reset(() => 0);
    for (const seq of [1, 2, 3, 5]) tracker.record(0, seq);
    // 2 was refused and arrived; 4 was refused too and late: it fills its hole.
    tracker.record(0, 4);
    assert.deepEqual(
      tracker.missing(
        () => 6,
        () => [2, 4],
      ),
      { lost: 1, refusedNotDelivered: 0, refusedDelivered: 2 },
    );
  });

  test("refused numbers outside the phase are ignored; without any, lost is lost()", () => {
    const tracker = new SeqTracker(1);
    tracker.reset(() => 5);
    tracker.record(0, 7);
    assert.deepEqual(
      tracker.missing(
        () => 8,
        () => [3, 9],
      ),
      { lost: 2, refusedNotDelivered: 0, refusedDelivered: 0 },
    );
    assert.deepEqual(
      tracker.missing(
        () => 8,
        () => undefined,
      ),
      { lost: tracker.lost(() => 8), refusedNotDelivered: 0, refusedDelivered: 0 },
    );
  });
});
