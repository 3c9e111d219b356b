import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RecentEvents } from "../../src/bus/recent-events.js";
import type { SequencedEvent } from "../../src/history/stored-event.js";

function event(seq: number, topics: string[], publishedAt = 1000): SequencedEvent {
  return { seq, topics, data: `${seq}`, event: undefined, retry: undefined, publishedAt };
}

const LIMITS = { maxEventsPerTopic: 2, maxAgeMs: 1000, maxTotal: 100 };

describe("RecentEvents", () => {
  it("keeps every event while a worker's history could still hold it", () => {
    const recent = new RecentEvents(LIMITS);
    recent.append([event(1, ["a"]), event(2, ["b"]), event(3, ["a"])], 1000);
    assert.deepEqual(recent.snapshot(1000), {
      floor: 0,
      events: [event(1, ["a"]), event(2, ["b"]), event(3, ["a"])],
    });
  });

  it("drops the oldest event once each of its topics has maxEventsPerTopic newer ones", () => {
    const recent = new RecentEvents(LIMITS);
    recent.append([event(1, ["a"]), event(2, ["a", "b"]), event(3, ["a"])], 1000);
    // 1 is evicted from every worker's ring of "a"; 2 is still the newest of "b".
    assert.equal(recent.floor, 1);
    recent.append([event(4, ["a"])], 1000);
    assert.equal(recent.floor, 1, "2 stays while a worker still holds it under b");
    recent.append([event(5, ["b"]), event(6, ["b"])], 1000);
    assert.deepEqual(
      recent.snapshot(1000).events.map((e) => e.seq),
      [3, 4, 5, 6],
    );
    assert.equal(recent.floor, 2);
  });

  it("drops events older than maxAgeMs", () => {
    const recent = new RecentEvents(LIMITS);
    recent.append([event(1, ["a"], 1000), event(2, ["b"], 1500)], 1500);
    assert.deepEqual(recent.snapshot(2100), { floor: 1, events: [event(2, ["b"], 1500)] });
    assert.deepEqual(recent.snapshot(2600), { floor: 2, events: [] });
  });

  it("keeps at most maxTotal events, behind an old event of a quiet topic too", () => {
    const recent = new RecentEvents({ ...LIMITS, maxEventsPerTopic: 100, maxTotal: 3 });
    recent.append([event(1, ["quiet"]), event(2, ["a"]), event(3, ["a"]), event(4, ["a"])], 1000);
    assert.deepEqual(
      recent.snapshot(1000).events.map((e) => e.seq),
      [2, 3, 4],
    );
    assert.equal(recent.floor, 1);
  });
});
