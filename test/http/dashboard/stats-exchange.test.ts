/**
 * StatsExchange on a hub of this process: it publishes snapshots only while watched (here or,
 * through a watch request, elsewhere), keeps the newest snapshot of each process by its seq,
 * and drops the row of a process that stopped publishing. Time is the test's (an injected
 * clock); the exchange's timer only gives it turns.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Bus, BusRestartReason, BusStart } from "../../../src/bus/bus.js";
import { LocalBus } from "../../../src/bus/local-bus.js";
import type { PreparedEvent, SequencedEvent } from "../../../src/history/stored-event.js";
import type { ProcessSnapshot } from "../../../src/http/dashboard/process-snapshot.js";
import {
  type DashboardStats,
  STATS_TOPIC,
  StatsExchange,
  WATCH_TTL_MS,
} from "../../../src/http/dashboard/stats-exchange.js";
import { createHub, type Hub } from "../../../src/hub/hub.js";
import { PUBLISH_AS_HUB } from "../../../src/hub/publish-as-hub.js";
import { waitFor } from "../../helpers/wait-for.js";

const INTERVAL_MS = 10;

/** A clock the test moves, which counts how often the exchange read it (one turn or more). */
class TestClock {
  ms = 1_000_000;
  reads = 0;
  readonly now = (): number => {
    this.reads++;
    return this.ms;
  };
}

function setUp(t: { after(fn: () => unknown): void }) {
  const hub = createHub();
  const clock = new TestClock();
  const exchange = new StatsExchange(hub, { intervalMs: INTERVAL_MS, now: clock.now });
  t.after(async () => {
    exchange.close();
    await hub.close();
  });
  return { hub, clock, exchange };
}

/** Waits until the exchange has had `turns` more turns of its timer. */
async function turns(clock: TestClock, count: number): Promise<void> {
  const from = clock.reads;
  await waitFor(() => clock.reads >= from + count, `${count} turns of the exchange`);
}

function watchInto(exchange: StatsExchange, received: DashboardStats[]): () => void {
  return exchange.watch({ onStats: (stats) => received.push(stats), onEnd() {} });
}

function snapshotOf(process: string, seq: number): ProcessSnapshot {
  return {
    process,
    node: process,
    worker: null,
    pid: 1,
    seq,
    at: 0,
    connections: seq,
    subscriptions: 0,
    topics: 0,
    eventsPerSecond: 0,
    deliveriesPerSecond: 0,
    bytesPerSecond: 0,
    slowConsumerActionsPerSecond: 0,
    totals: {
      events: 0,
      deliveries: 0,
      bytesWritten: 0,
      slowConsumerDisconnects: 0,
      slowConsumerDrops: 0,
      slowConsumerConflated: 0,
      resets: 0,
      publishesRefused: 0,
    },
    loopDelayMs: { p50: 0, p99: 0, max: 0 },
    memory: { rss: 0, heapUsed: 0 },
    topTopics: [],
  };
}

function publishAsHub(hub: Hub, event: string, data: unknown): Promise<unknown> {
  return hub[PUBLISH_AS_HUB]([
    { topic: STATS_TOPIC, event, data: JSON.stringify(data), private: true },
  ]);
}

/** A bus of this process whose restart the test calls, as Redis's does after a gap. */
class RestartableBus implements Bus {
  readonly #inner = new LocalBus();
  restart: ((start: BusStart, reason: BusRestartReason) => void) | undefined;
  readonly isDistributed = false;

  start(
    deliver: (events: readonly SequencedEvent[]) => void,
    restart?: (start: BusStart, reason: BusRestartReason) => void,
  ): BusStart {
    this.restart = restart;
    return this.#inner.start(deliver);
  }

  publish(events: readonly PreparedEvent[]): Promise<number> {
    return this.#inner.publish(events);
  }

  get backlog(): number {
    return this.#inner.backlog;
  }

  get isReady(): boolean {
    return this.#inner.isReady;
  }

  close(): void {
    this.#inner.close();
  }
}

describe("StatsExchange", () => {
  it("publishes nothing until watched, and stops once the last watch has expired", async (t) => {
    const { hub, clock, exchange } = setUp(t);
    await turns(clock, 3);
    assert.equal(hub.stats().eventsPublished, 0, "unwatched: nothing published");
    assert.equal(exchange.isWatched, false);

    const received: DashboardStats[] = [];
    const unwatch = watchInto(exchange, received);
    assert.equal(received.length, 1, "a watcher gets the rows at once");
    await waitFor(() => hub.stats().eventsPublished >= 3, "the watch request and snapshots");
    await waitFor(
      () => received.some((stats) => stats.processes.some((row) => row.process === stats.self)),
      "this process's row",
    );

    unwatch();
    // This process asked itself to watch: it keeps publishing until that request expires.
    assert.equal(exchange.isWatched, true);
    clock.ms += WATCH_TTL_MS + 1;
    assert.equal(exchange.isWatched, false);
    await turns(clock, 2);
    const published = hub.stats().eventsPublished;
    await turns(clock, 5);
    assert.equal(hub.stats().eventsPublished, published, "nothing more once unwatched");
  });

  it("publishes while another process asks, for WATCH_TTL_MS after its last request", async (t) => {
    const { hub, clock, exchange } = setUp(t);
    await publishAsHub(hub, "watch", { from: "elsewhere:1" });
    await waitFor(() => hub.stats().eventsPublished >= 3, "snapshots after the request");
    assert.equal(exchange.watcherCount, 0);
    clock.ms += WATCH_TTL_MS + 1;
    await turns(clock, 2);
    const published = hub.stats().eventsPublished;
    await turns(clock, 5);
    assert.equal(hub.stats().eventsPublished, published);
  });

  it("keeps the newest snapshot of each process by seq, and drops a process gone quiet", async (t) => {
    const { hub, clock, exchange } = setUp(t);
    const received: DashboardStats[] = [];
    watchInto(exchange, received);
    await publishAsHub(hub, "stats", snapshotOf("other:1", 5));
    await publishAsHub(hub, "stats", snapshotOf("other:1", 3)); // late: older than the row
    await publishAsHub(hub, "stats", { not: "a snapshot" });
    await turns(clock, 2);
    const latest = () => received.at(-1)!.processes.find((row) => row.process === "other:1");
    await waitFor(() => latest() !== undefined, "the other process's row");
    assert.equal(latest()!.seq, 5);
    assert.equal(received.at(-1)!.processes.length, 2, "this process and the other, nothing else");

    await publishAsHub(hub, "stats", snapshotOf("other:1", 6));
    await waitFor(() => latest()?.seq === 6, "the newer snapshot");
    // This process keeps publishing its own; the other has stopped.
    clock.ms += 3 * INTERVAL_MS + 1;
    await waitFor(() => latest() === undefined, "the quiet process's row to go");
    assert.ok(received.at(-1)!.processes.some((row) => row.process === received.at(-1)!.self));
  });

  it("subscribes again when the bus starts over and ends every stream", async (t) => {
    const bus = new RestartableBus();
    const hub = createHub({}, { bus });
    const clock = new TestClock();
    const exchange = new StatsExchange(hub, { intervalMs: INTERVAL_MS, now: clock.now });
    t.after(async () => {
      exchange.close();
      await hub.close();
    });
    const received: DashboardStats[] = [];
    watchInto(exchange, received);
    assert.equal(hub.stats().subscribers, 1);
    // The local bus counts on from the events it has ordered: the hub starts over from there.
    bus.restart!({ epoch: "second", joinedAfterSeq: hub.stats().eventsPublished }, "gap");
    await waitFor(() => hub.stats().subscribers === 1, "the internal subscription to come back");
    await publishAsHub(hub, "stats", snapshotOf("other:1", 1));
    await waitFor(
      () => received.at(-1)?.processes.some((row) => row.process === "other:1"),
      "a snapshot taken after the restart",
    );
  });

  it("ends every stream and stops when the hub closes", async () => {
    const hub = createHub();
    const clock = new TestClock();
    const exchange = new StatsExchange(hub, { intervalMs: INTERVAL_MS, now: clock.now });
    let ended = 0;
    exchange.watch({ onStats() {}, onEnd: () => ended++ });
    await hub.close();
    assert.equal(ended, 1);
    assert.equal(exchange.watcherCount, 0);
    let lateEnded = 0;
    exchange.watch({ onStats() {}, onEnd: () => lateEnded++ });
    assert.equal(lateEnded, 1, "a stream opened after the close ends at once");
  });
});
