import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { mergeBySeq, type StoredEvent } from "../../src/history/history-store.js";
import { MemoryHistory } from "../../src/history/memory-history.js";
import { MemoryRing } from "../../src/history/memory-ring.js";

function event(seq: number, topics: string[] = ["a"], publishedAt = 1000): StoredEvent {
  return {
    seq,
    id: `e-${seq}`,
    topics,
    event: undefined,
    retry: undefined,
    key: undefined,
    private: false,
    publisherId: false,
    data: `${seq}`,
    publishedAt,
    bytes: Buffer.from(`id: e-${seq}\ndata: ${seq}\n\n`),
  };
}

const seqs = (events: readonly StoredEvent[]) => events.map((e) => e.seq);

describe("MemoryRing", () => {
  it("keeps the newest maxEvents events and remembers what it evicted", () => {
    const ring = new MemoryRing(3);
    for (let seq = 1; seq <= 5; seq++) ring.append(event(seq));
    assert.equal(ring.size, 3);
    assert.equal(ring.firstSeq, 3);
    assert.equal(ring.lastSeq, 5);
    assert.equal(ring.evictedUpTo, 2);
    assert.deepEqual(seqs(ring.after(0)), [3, 4, 5]);
    assert.deepEqual(seqs(ring.after(3)), [4, 5]);
    assert.deepEqual(seqs(ring.after(5)), []);
  });

  it("after() finds the position by binary search over a long, compacted ring", () => {
    const ring = new MemoryRing(100);
    for (let seq = 1; seq <= 10_000; seq += 2) ring.append(event(seq));
    assert.equal(ring.size, 100);
    assert.deepEqual(seqs(ring.after(9996)), [9997, 9999]);
    assert.deepEqual(seqs(ring.after(9997)), [9999]);
    assert.equal(ring.after(0).length, 100);
  });

  it("expire() evicts events published before the cutoff", () => {
    const ring = new MemoryRing(10);
    ring.append(event(1, ["a"], 100));
    ring.append(event(2, ["a"], 200));
    ring.append(event(3, ["a"], 300));
    ring.expire(250);
    assert.deepEqual(seqs(ring.after(0)), [3]);
    assert.equal(ring.evictedUpTo, 2);
  });

  it("keeps nothing with maxEvents 0 but still knows the last seq", () => {
    const ring = new MemoryRing(0);
    ring.append(event(7));
    assert.equal(ring.size, 0);
    assert.equal(ring.lastSeq, 7);
    assert.equal(ring.evictedUpTo, 7);
  });
});

describe("MemoryHistory", () => {
  it("readAfter() merges topics by seq and keeps a shared event once", () => {
    const history = new MemoryHistory({ maxEvents: 10, maxAgeMs: 60_000 });
    history.append(event(1, ["a"]));
    history.append(event(2, ["b"]));
    history.append(event(3, ["a", "b"]));
    history.append(event(4, ["c"]));
    const read = history.readAfter(["a", "b"], 0);
    assert.deepEqual(seqs(read.events), [1, 2, 3]);
    assert.equal(read.complete, true);
    assert.equal(history.totalEvents, 5);
  });

  it("readAfter() is incomplete when an event after the seq was evicted", () => {
    const history = new MemoryHistory({ maxEvents: 2, maxAgeMs: 60_000 });
    for (let seq = 1; seq <= 4; seq++) history.append(event(seq));
    assert.equal(history.readAfter(["a"], 1).complete, false);
    assert.equal(history.readAfter(["a"], 2).complete, true);
  });

  it("expire() drops emptied topics and later reads of them are incomplete", () => {
    const history = new MemoryHistory({ maxEvents: 10, maxAgeMs: 100 });
    history.append(event(1, ["a"], 1000));
    history.append(event(2, ["b"], 5000));
    assert.deepEqual(history.expire(1200), ["a"]);
    assert.equal(history.topicInfo("a"), undefined);
    assert.deepEqual([...history.topics()], ["b"]);
    assert.equal(history.readAfter(["a"], 0).complete, false);
    assert.equal(history.readAfter(["a"], 1).complete, true);
    assert.equal(history.totalEvents, 1);
  });
});

describe("MemoryHistory dropped topics", () => {
  it("a dropped topic does not make reads of other topics incomplete", () => {
    const history = new MemoryHistory({ maxEvents: 10, maxAgeMs: 100 });
    history.append(event(5, ["a"], 1000));
    history.expire(2000);
    assert.equal(history.readAfter(["quiet"], 0).complete, true);
    assert.equal(history.readAfter(["a"], 4).complete, false);
  });

  it("a topic that comes back after being dropped still reports the earlier loss", () => {
    const history = new MemoryHistory({ maxEvents: 10, maxAgeMs: 100 });
    history.append(event(5, ["a"], 1000));
    history.expire(2000);
    history.append(event(9, ["a"], 3000));
    const read = history.readAfter(["a"], 3);
    assert.equal(read.complete, false);
    assert.deepEqual(seqs(history.readAfter(["a"], 5).events), [9]);
    assert.equal(history.readAfter(["a"], 5).complete, true);
  });
});

describe("mergeBySeq()", () => {
  it("merges sorted lists into one sorted list without duplicates", () => {
    const merged = mergeBySeq([
      [event(1), event(4), event(6)],
      [event(2), event(4), event(5)],
      [event(3)],
    ]);
    assert.deepEqual(seqs(merged), [1, 2, 3, 4, 5, 6]);
  });
});
