/**
 * The dispatcher's pacing and slicing, driven by an injected clock: each write to a sink costs
 * the fake clock `writeCostMs`, so "a costly fan-out" is a number the test sets, never the
 * speed of the machine. The hold is a setTimeout (mocked); setImmediate (one turn) stays real.
 */
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import type { StoredEvent } from "../../src/history/history-store.js";
import { toStoredEvent } from "../../src/history/stored-event.js";
import { Dispatcher, type DispatcherOptions } from "../../src/hub/dispatcher.js";
import { Subscriber, type SubscriberHost } from "../../src/hub/subscriber.js";
import { TopicIndex } from "../../src/hub/topic-index.js";
import { nextTurn, RecordingSink } from "../helpers/recording-sink.js";

/** A clock that moves only when a sink writes, or when the test moves it. */
class FakeClock {
  ms = 1000;
  readonly now = (): number => this.ms;
}

/** A sink whose every write costs the clock `cost` ms. */
class CostlySink extends RecordingSink {
  readonly #clock: FakeClock;
  cost: number;

  constructor(clock: FakeClock, cost: number) {
    super();
    this.#clock = clock;
    this.cost = cost;
  }

  override write(chunk: Buffer | string): void {
    this.#clock.ms += this.cost;
    super.write(chunk);
  }
}

const host: SubscriberHost = {
  maxQueueBytes: 1 << 20,
  policy: "disconnect",
  dispatchTimeoutMs: 0,
  now: () => 0,
  counters: {
    deliveries: 0,
    bytesWritten: 0,
    slowConsumerDisconnects: 0,
    slowConsumerDrops: 0,
    slowConsumerConflated: 0,
  },
  idOf: (seq) => `e-${seq}`,
  slowConsumerDisconnected() {},
  slowConsumerDropping() {},
  slowConsumerConflating() {},
};

function eventOf(seq: number, topic = "a"): StoredEvent {
  return toStoredEvent("e", {
    seq,
    publishedAt: 0,
    topics: [topic],
    data: `e${seq}`,
    event: undefined,
    retry: undefined,
  });
}

interface Setup {
  readonly clock: FakeClock;
  readonly index: TopicIndex<Subscriber>;
  readonly dispatcher: Dispatcher;
  readonly sinks: CostlySink[];
  /** Adds a subscriber of topic "a" that takes live events after `afterSeq`. */
  add(afterSeq: number, cost?: number): CostlySink;
}

function setUp(
  t: TestContext,
  subscribers: number,
  writeCostMs: number,
  options: DispatcherOptions,
): Setup {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  const clock = new FakeClock();
  const index = new TopicIndex<Subscriber>();
  const dispatcher = new Dispatcher(index, new Set(), {
    minFanOut: 1,
    ...options,
    now: clock.now,
    cpuMs: clock.now,
  });
  const sinks: CostlySink[] = [];
  const add = (afterSeq: number, cost = writeCostMs): CostlySink => {
    const sink = new CostlySink(clock, cost);
    index.add(new Subscriber(host, sink, ["a"], afterSeq, false));
    sinks.push(sink);
    return sink;
  };
  for (let i = 0; i < subscribers; i++) add(0);
  return { clock, index, dispatcher, sinks, add };
}

describe("Dispatcher coalescing", () => {
  it("writes an event of a quiet hub at the end of its turn", async (t) => {
    const { dispatcher, sinks } = setUp(t, 3, 0, { coalesceMaxMs: 10 });
    dispatcher.enqueue(eventOf(1));
    assert.equal(sinks[0]!.chunks.length, 0, "not within the turn that queued it");
    await nextTurn();
    for (const sink of sinks) assert.deepEqual(sink.data(), ["e1"]);
  });

  it("holds the events that follow a costly fan-out, then writes them in one write", async (t) => {
    // 4 subscribers x 1.5 ms: the fan-out keeps the loop busy 6 ms; the hold is 2 x 6 = 12,
    // capped at 10.
    const { dispatcher, sinks } = setUp(t, 4, 1.5, { coalesceMaxMs: 10 });
    dispatcher.enqueue(eventOf(1));
    await nextTurn();
    assert.deepEqual(sinks[3]!.data(), ["e1"], "the first event of a quiet hub is not held");
    dispatcher.enqueue(eventOf(2));
    await nextTurn();
    dispatcher.enqueue(eventOf(3));
    await nextTurn();
    for (const sink of sinks) assert.equal(sink.chunks.length, 1, "held");
    t.mock.timers.tick(9);
    assert.equal(sinks[0]!.chunks.length, 1, "still held before the hold ends");
    t.mock.timers.tick(1);
    for (const sink of sinks) {
      assert.equal(sink.chunks.length, 2, "both events in one write");
      assert.deepEqual(sink.data(), ["e1", "e2", "e3"]);
    }
  });

  it("scales the hold with the cost of the fan-out below the cap", async (t) => {
    // 2 subscribers x 1 ms: busy 2 ms, hold 4 ms.
    const { dispatcher, sinks } = setUp(t, 2, 1, { coalesceMaxMs: 10 });
    dispatcher.enqueue(eventOf(1));
    await nextTurn();
    dispatcher.enqueue(eventOf(2));
    await nextTurn();
    t.mock.timers.tick(3);
    assert.equal(sinks[0]!.chunks.length, 1);
    t.mock.timers.tick(1);
    assert.deepEqual(sinks[0]!.data(), ["e1", "e2"]);
  });

  it("does not hold an event that comes after the hold has passed", async (t) => {
    const { clock, dispatcher, sinks } = setUp(t, 4, 1.5, { coalesceMaxMs: 10 });
    dispatcher.enqueue(eventOf(1));
    await nextTurn();
    clock.ms += 10;
    dispatcher.enqueue(eventOf(2));
    await nextTurn();
    for (const sink of sinks) assert.deepEqual(sink.data(), ["e1", "e2"]);
  });

  it("does not hold after a fan-out shorter than a millisecond", async (t) => {
    const { dispatcher, sinks } = setUp(t, 4, 0.2, { coalesceMaxMs: 10 });
    dispatcher.enqueue(eventOf(1));
    await nextTurn();
    dispatcher.enqueue(eventOf(2));
    await nextTurn();
    for (const sink of sinks) assert.deepEqual(sink.data(), ["e1", "e2"]);
  });

  it("does not hold after a fan-out to fewer than minFanOut subscribers", async (t) => {
    const { dispatcher, sinks } = setUp(t, 4, 5, { coalesceMaxMs: 10, minFanOut: 5 });
    dispatcher.enqueue(eventOf(1));
    await nextTurn();
    dispatcher.enqueue(eventOf(2));
    await nextTurn();
    for (const sink of sinks) assert.deepEqual(sink.data(), ["e1", "e2"]);
  });

  it("never holds with coalesceMaxMs 0", async (t) => {
    const { dispatcher, sinks } = setUp(t, 4, 5, { coalesceMaxMs: 0 });
    dispatcher.enqueue(eventOf(1));
    await nextTurn();
    dispatcher.enqueue(eventOf(2));
    await nextTurn();
    for (const sink of sinks) assert.deepEqual(sink.data(), ["e1", "e2"]);
  });

  it("waits for the later of the hold and writeDelayMs", async (t) => {
    // Busy 6 ms, hold 10 ms; the write delay (30 ms from the first queued event) is later.
    const { dispatcher, sinks } = setUp(t, 4, 1.5, { coalesceMaxMs: 10, writeDelayMs: 30 });
    dispatcher.enqueue(eventOf(1));
    t.mock.timers.tick(30);
    assert.deepEqual(sinks[0]!.data(), ["e1"], "a quiet hub waits for the write delay only");
    dispatcher.enqueue(eventOf(2));
    t.mock.timers.tick(29);
    assert.equal(sinks[0]!.chunks.length, 1);
    t.mock.timers.tick(1);
    assert.deepEqual(sinks[0]!.data(), ["e1", "e2"]);
  });

  it("flush() writes held events at once", async (t) => {
    const { dispatcher, sinks } = setUp(t, 4, 1.5, { coalesceMaxMs: 10 });
    dispatcher.enqueue(eventOf(1));
    await nextTurn();
    dispatcher.enqueue(eventOf(2));
    dispatcher.flush();
    for (const sink of sinks) assert.deepEqual(sink.data(), ["e1", "e2"]);
  });
});

describe("Dispatcher slices", () => {
  it("serves the loop between slices of a fan-out", async (t) => {
    const { dispatcher, sinks } = setUp(t, 5, 0, { sliceSubscribers: 2 });
    dispatcher.enqueue(eventOf(1));
    const seen: number[] = [];
    const served = (): number => sinks.filter((sink) => sink.chunks.length > 0).length;
    // Queued after the dispatcher's setImmediate: each runs between two slices.
    setImmediate(() => {
      seen.push(served());
      setImmediate(() => seen.push(served()));
    });
    while (served() < 5) await nextTurn();
    assert.deepEqual(seen, [2, 4]);
    assert.equal(dispatcher.isFanningOut, false);
    for (const sink of sinks) assert.deepEqual(sink.data(), ["e1"]);
  });

  it("starts no fan-out before the one under way ended, so each subscriber keeps seq order", async (t) => {
    const { dispatcher, sinks } = setUp(t, 5, 0, { sliceSubscribers: 2 });
    dispatcher.enqueue(eventOf(1));
    await nextTurn();
    assert.equal(dispatcher.isFanningOut, true);
    dispatcher.enqueue(eventOf(2));
    while (sinks.some((sink) => sink.data().length < 2)) await nextTurn();
    for (const sink of sinks) assert.deepEqual(sink.data(), ["e1", "e2"]);
  });

  it("gives a subscriber added mid-fan-out only the events after its arrival", async (t) => {
    const { dispatcher, sinks, add } = setUp(t, 5, 0, { sliceSubscribers: 2 });
    dispatcher.enqueue(eventOf(1));
    await nextTurn();
    assert.equal(dispatcher.isFanningOut, true);
    // As hub.subscribe registers it: live after the newest seq the hub has taken (1). The
    // topic's Set iterator of the fan-out under way reaches it too.
    const late = add(1);
    dispatcher.enqueue(eventOf(2));
    while (sinks.some((sink) => sink.data().length < (sink === late ? 1 : 2))) await nextTurn();
    await nextTurn();
    assert.deepEqual(late.data(), ["e2"], "e1 neither live nor twice; e2 once");
    for (const sink of sinks.slice(0, 5)) assert.deepEqual(sink.data(), ["e1", "e2"]);
  });

  it("flush() finishes a fan-out under way within the call", async (t) => {
    const { dispatcher, sinks } = setUp(t, 5, 0, { sliceSubscribers: 2 });
    dispatcher.enqueue(eventOf(1));
    await nextTurn();
    assert.equal(dispatcher.isFanningOut, true);
    dispatcher.enqueue(eventOf(2));
    dispatcher.flush();
    assert.equal(dispatcher.isFanningOut, false);
    for (const sink of sinks) assert.deepEqual(sink.data(), ["e1", "e2"]);
  });

  it("counts the busy time of every slice for the hold", async (t) => {
    // 5 subscribers x 1 ms in slices of 2: busy 5 ms across three slices, hold 10 ms.
    const { dispatcher, sinks } = setUp(t, 5, 1, { sliceSubscribers: 2, coalesceMaxMs: 20 });
    dispatcher.enqueue(eventOf(1));
    while (dispatcher.isFanningOut || sinks[4]!.chunks.length === 0) await nextTurn();
    dispatcher.enqueue(eventOf(2));
    await nextTurn();
    t.mock.timers.tick(9);
    assert.equal(sinks[0]!.chunks.length, 1);
    t.mock.timers.tick(1);
    assert.equal(sinks[0]!.chunks.length, 2);
  });
});
