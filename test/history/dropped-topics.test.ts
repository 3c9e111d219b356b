import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { StoredEvent } from "../../src/history/history-store.js";
import { MemoryHistory } from "../../src/history/memory-history.js";

function event(seq: number, topic: string, publishedAt: number): StoredEvent {
  return {
    seq,
    id: `e-${seq}`,
    topics: [topic],
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

/** Publishes one event to each of `count` new topics named `<prefix><i>` and lets them age out. */
function churn(history: MemoryHistory, prefix: string, count: number, firstSeq: number): void {
  for (let i = 0; i < count; i++) history.append(event(firstSeq + i, `${prefix}${i}`, 1000));
  history.expire(10_000);
}

describe("MemoryHistory: the memory of dropped topics", () => {
  it("holds at most maxDroppedTopicBytes however long the names are", () => {
    const maxDroppedTopicBytes = 64 * 1024;
    const history = new MemoryHistory({ maxEvents: 10, maxAgeMs: 100, maxDroppedTopicBytes });
    const long = "x".repeat(4000);
    churn(history, long, 200, 1);
    const { count, bytes } = history.droppedTopics;
    assert.ok(bytes <= maxDroppedTopicBytes, `${bytes} bytes counted`);
    assert.ok(bytes >= count * 2 * long.length, "every name is counted by its length");
    assert.ok(count > 0 && count < 200, `${count} topics remembered`);
  });

  it("keeps short names up to the byte cap and counts what it forgets back out", () => {
    const history = new MemoryHistory({ maxEvents: 10, maxAgeMs: 100 });
    churn(history, "t", 1000, 1);
    assert.equal(history.droppedTopics.count, 1000);
    // Topics that come back leave the dropped list and give their bytes back.
    for (let i = 0; i < 1000; i++) history.append(event(2000 + i, `t${i}`, 20_000));
    assert.deepEqual(history.droppedTopics, { count: 0, bytes: 0 });
  });

  it("a topic forgotten past the cap still reports its loss, when read and when it comes back", () => {
    const long = "y".repeat(1000);
    const history = new MemoryHistory({
      maxEvents: 10,
      maxAgeMs: 100,
      maxDroppedTopicBytes: 8 * 1024,
    });
    churn(history, long, 50, 1);
    // `${long}0` (seq 1) was forgotten first: it is neither kept nor remembered any more.
    assert.equal(history.readAfter([`${long}0`], 0).complete, false);
    history.append(event(100, `${long}0`, 20_000));
    const read = history.readAfter([`${long}0`], 0);
    assert.equal(read.complete, false, "the loss of seq 1 is not silent");
    assert.deepEqual(
      read.events.map((e) => e.seq),
      [100],
    );
  });

  it("a topic forgotten past the count cap (100,000) reports its loss when it comes back", () => {
    const maxDroppedTopicBytes = 1 << 30; // so that the count cap binds first
    const history = new MemoryHistory({ maxEvents: 10, maxAgeMs: 100, maxDroppedTopicBytes });
    churn(history, "t", 100_001, 1);
    assert.equal(history.droppedTopics.count, 100_000);
    history.append(event(200_000, "t0", 20_000));
    assert.equal(history.readAfter(["t0"], 0).complete, false, "the loss of seq 1 is not silent");
  });
});
