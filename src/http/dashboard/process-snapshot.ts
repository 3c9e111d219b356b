/**
 * One process's figures for the dashboard, sampled about once a second: its connections and
 * subscriptions, the rates of events, deliveries and bytes since the previous sample, its
 * event-loop delay, its memory and its most subscribed topics. Each process of a hub (every
 * worker of `--workers N`, every node on Redis) samples its own, and stats-exchange.ts carries
 * them to every other.
 *
 * The dashboard's own traffic (its internal subscription, and the snapshots it publishes on
 * the reserved stats topic) is taken out of these figures, so that an idle hub reads zero with
 * the page open. /metrics still counts it: see docs/dashboard.md.
 * @module
 */
import cluster from "node:cluster";
import { hostname } from "node:os";
import { type IntervalHistogram, monitorEventLoopDelay } from "node:perf_hooks";
import type { Hub } from "../../hub/hub.js";
import { isReservedTopic } from "../../hub/reserved-topic.js";

/** Topics listed in a snapshot's topTopics, at most. */
export const TOP_TOPICS_SHOWN = 10;
/**
 * Past this many topics, a process does not rank them (topTopics is null): ranking reads every
 * topic once per sample, and the event loop must not pay for a page that someone looks at.
 */
export const TOP_TOPICS_MAX_SCAN = 10_000;
/** Resolution of the event-loop delay histogram, in ms. */
const LOOP_DELAY_RESOLUTION_MS = 20;

/** One topic of a snapshot's topTopics. */
export interface TopicCount {
  readonly topic: string;
  readonly subscribers: number;
}

/** What one process says of itself, once a second. Plain JSON: it travels through the bus. */
export interface ProcessSnapshot {
  /** Host and pid of the process: the key of its row. */
  readonly process: string;
  /**
   * The machine-level instance it belongs to: host and the pid of the `--workers` primary, or
   * its own pid when it runs alone. The rows of one node share it.
   */
  readonly node: string;
  /** Its cluster worker id; null when it runs alone. */
  readonly worker: number | null;
  readonly pid: number;
  /** Counts this process's snapshots: 1, 2, ... */
  readonly seq: number;
  /** When it was sampled, by the process's clock (ms since the epoch). */
  readonly at: number;
  /** Streams open on this process (subscribers). */
  readonly connections: number;
  /** Topic-subscriber pairs on this process. */
  readonly subscriptions: number;
  /** Topics this process knows (with a subscriber or history). */
  readonly topics: number;
  /**
   * Events the hub took per second. Every process of a hub takes every event, so this is the
   * hub's publish rate, the same on each row.
   */
  readonly eventsPerSecond: number;
  /** Events written to this process's subscribers per second (one per event per subscriber). */
  readonly deliveriesPerSecond: number;
  /** Bytes written to this process's subscribers per second. */
  readonly bytesPerSecond: number;
  /** Slow-consumer actions per second: disconnects, dropped and conflated events. */
  readonly slowConsumerActionsPerSecond: number;
  /** Counters since the process started, the dashboard's own traffic taken out. */
  readonly totals: {
    readonly events: number;
    readonly deliveries: number;
    readonly bytesWritten: number;
    readonly slowConsumerDisconnects: number;
    readonly slowConsumerDrops: number;
    readonly slowConsumerConflated: number;
    readonly resets: number;
    readonly publishesRefused: number;
  };
  /** Event-loop delay over the last interval, in ms. */
  readonly loopDelayMs: { readonly p50: number; readonly p99: number; readonly max: number };
  /** Memory of the process, in bytes. */
  readonly memory: { readonly rss: number; readonly heapUsed: number };
  /** The most subscribed topics of this process; null when it has too many to rank. */
  readonly topTopics: readonly TopicCount[] | null;
  /**
   * Event-loop stalls reported by a stall watcher since the process started. Absent until a
   * stall watcher provides it (SnapshotSamplerOptions.stallCount).
   */
  readonly stalls?: number;
}

/** The dashboard's own share of the hub's counters, taken out of the snapshots. */
export interface OwnTraffic {
  /** Events on the reserved stats topic that this process took. */
  readonly events: number;
  /** Bytes the hub wrote to the internal subscription. */
  readonly bytes: number;
  /** 1 while the internal subscription is open, else 0. */
  readonly subscribers: number;
}

/** Options of SnapshotSampler. */
export interface SnapshotSamplerOptions {
  /** The clock, in ms since the epoch. @default Date.now */
  readonly now?: (() => number) | undefined;
  /**
   * The number of event-loop stalls seen so far, from a stall watcher; undefined (or a function
   * answering undefined) leaves `stalls` out of the snapshots.
   */
  readonly stallCount?: (() => number | undefined) | undefined;
}

/** Counters of the previous sample, for the rates. */
interface Previous {
  readonly at: number;
  readonly events: number;
  readonly deliveries: number;
  readonly bytes: number;
  readonly slowConsumerActions: number;
}

/** The identity of this process: host, pid, and its cluster worker id if it has one. */
function processIdentity(): Pick<ProcessSnapshot, "process" | "node" | "worker" | "pid"> {
  const host = hostname();
  // Read only to name the row: a worker of `--workers N` belongs to its primary, its parent.
  const worker = cluster.isWorker ? (cluster.worker?.id ?? null) : null;
  const nodePid = worker === null ? process.pid : process.ppid;
  return {
    process: `${host}:${process.pid}`,
    node: `${host}:${nodePid}`,
    worker,
    pid: process.pid,
  };
}

function rate(delta: number, elapsedMs: number): number {
  if (elapsedMs <= 0) return 0;
  return Math.max(0, (delta * 1000) / elapsedMs);
}

function toMs(nanoseconds: number): number {
  return Number.isFinite(nanoseconds) ? Math.round(nanoseconds / 1e4) / 100 : 0;
}

/**
 * Samples this process. The event-loop delay histogram runs only between `start()` and
 * `stop()`, that is while someone watches the dashboard.
 */
export class SnapshotSampler {
  readonly #hub: Hub;
  readonly #now: () => number;
  readonly #stallCount: () => number | undefined;
  readonly #identity = processIdentity();
  #histogram: IntervalHistogram | undefined;
  #previous: Previous | undefined;
  #seq = 0;

  constructor(hub: Hub, options: SnapshotSamplerOptions = {}) {
    this.#hub = hub;
    this.#now = options.now ?? Date.now;
    this.#stallCount = options.stallCount ?? (() => undefined);
  }

  /** The key of this process's row. */
  get processKey(): string {
    return this.#identity.process;
  }

  /** Starts measuring the event-loop delay; the first sample's rates start from here. */
  start(): void {
    if (this.#histogram !== undefined) return;
    this.#histogram = monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION_MS });
    this.#histogram.enable();
    this.#previous = undefined;
  }

  /** Stops measuring; nothing of this sampler runs until the next start(). */
  stop(): void {
    this.#histogram?.disable();
    this.#histogram = undefined;
  }

  /** The figures of this process now, `own` (the dashboard's traffic) taken out. */
  sample(own: OwnTraffic): ProcessSnapshot {
    const at = this.#now();
    const stats = this.#hub.stats();
    const events = Math.max(0, stats.eventsPublished - own.events);
    // The internal subscription receives each of its own events once.
    const deliveries = Math.max(0, stats.deliveries - own.events);
    const bytes = Math.max(0, stats.bytesWritten - own.bytes);
    const slowConsumerActions =
      stats.slowConsumerDisconnects + stats.slowConsumerDrops + stats.slowConsumerConflated;
    const previous = this.#previous ?? { at, events, deliveries, bytes, slowConsumerActions };
    const elapsedMs = at - previous.at;
    this.#previous = { at, events, deliveries, bytes, slowConsumerActions };
    const histogram = this.#histogram;
    const loopDelayMs =
      histogram === undefined || histogram.count === 0
        ? { p50: 0, p99: 0, max: 0 }
        : {
            p50: toMs(histogram.percentile(50)),
            p99: toMs(histogram.percentile(99)),
            max: toMs(histogram.max),
          };
    histogram?.reset();
    const memory = process.memoryUsage();
    const stalls = this.#stallCount();
    const hasOwnTopic = own.subscribers > 0 ? 1 : 0;
    return {
      ...this.#identity,
      seq: ++this.#seq,
      at,
      connections: Math.max(0, stats.subscribers - own.subscribers),
      subscriptions: Math.max(0, stats.subscriptions - own.subscribers),
      topics: Math.max(0, stats.topics - hasOwnTopic),
      eventsPerSecond: rate(events - previous.events, elapsedMs),
      deliveriesPerSecond: rate(deliveries - previous.deliveries, elapsedMs),
      bytesPerSecond: rate(bytes - previous.bytes, elapsedMs),
      slowConsumerActionsPerSecond: rate(
        slowConsumerActions - previous.slowConsumerActions,
        elapsedMs,
      ),
      totals: {
        events,
        deliveries,
        bytesWritten: bytes,
        slowConsumerDisconnects: stats.slowConsumerDisconnects,
        slowConsumerDrops: stats.slowConsumerDrops,
        slowConsumerConflated: stats.slowConsumerConflated,
        resets: stats.resets,
        publishesRefused: stats.publishesRefused,
      },
      loopDelayMs,
      memory: { rss: memory.rss, heapUsed: memory.heapUsed },
      topTopics: stats.topics > TOP_TOPICS_MAX_SCAN ? null : this.#topTopics(),
      ...(stalls === undefined ? {} : { stalls }),
    };
  }

  /** The most subscribed topics, the reserved ones left out. */
  #topTopics(): TopicCount[] {
    const { topics } = this.#hub.topicsPage(undefined, TOP_TOPICS_MAX_SCAN);
    return topics
      .filter((info) => info.subscribers > 0 && !isReservedTopic(info.topic))
      .sort((a, b) => b.subscribers - a.subscribers || (a.topic < b.topic ? -1 : 1))
      .slice(0, TOP_TOPICS_SHOWN)
      .map((info) => ({ topic: info.topic, subscribers: info.subscribers }));
  }
}
