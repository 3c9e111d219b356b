/**
 * How every process of a hub learns the figures of every other, for the dashboard: each
 * process publishes its own snapshot (process-snapshot.ts) about once a second as a private
 * event on a reserved topic, `/.well-known/ssehub/stats`, spoken with the hub's own authority
 * (PUBLISH_AS_HUB), and subscribes to that topic itself. The bus that carries every other
 * event carries these too: to every worker of `--workers N` through the primary, to every node
 * through Redis. So the process that answers the dashboard's stream, whichever it is, holds a
 * row per worker and per node, with no channel of its own beside the bus.
 *
 * Only while someone watches. A process with a dashboard stream open publishes a `watch` event
 * on the same topic every WATCH_ANNOUNCE_MS; every process that takes one samples and
 * publishes for WATCH_TTL_MS after it. With no page open, nothing is sampled or published:
 * the cost of the dashboard option on an unwatched hub is one idle internal subscription per
 * process.
 *
 * Why it is sound:
 * - Ordering: the bus orders these events as any other; each snapshot also carries the
 *   process's own `seq`, and a row is replaced only by a higher one, so a late copy never
 *   overwrites a newer one.
 * - No idempotency is needed: a lost snapshot is replaced a second later; a duplicate changes
 *   nothing (same seq). None is published with an idempotency key.
 * - A process that dies leaves no stale row: a row not refreshed within STALE_AFTER_INTERVALS
 *   intervals (by the receiver's clock, so clock skew between nodes does not matter) goes.
 * - Privacy: the events are private and the internal subscription alone is granted them; no
 *   publisher may write there (hub/reserved-topic.ts). A subscriber whose token grants the
 *   topic (or every topic, `*`) could read them, as it reads every private event it is granted.
 * - Cost: one event per process per second while watched, each about 1 KiB: through Redis, one
 *   ordered publish per node per second. They take ids of the hub's sequence and places in
 *   history (historyMaxEvents per topic, as every topic; on Redis, in the shared log), and
 *   /metrics counts them; the snapshots take them out of their own figures.
 * @module
 */
import type { Hub } from "../../hub/hub.js";
import { PUBLISH_AS_HUB } from "../../hub/publish-as-hub.js";
import { SSEHUB_TOPIC_NAMESPACE } from "../../hub/reserved-topic.js";
import type { Sink } from "../../hub/sink.js";
import type { Subscription } from "../../hub/types.js";
import { type ParsedEvent, SseParser } from "../../protocol/parse.js";
import {
  type ProcessSnapshot,
  SnapshotSampler,
  type SnapshotSamplerOptions,
} from "./process-snapshot.js";

/** The reserved topic of the snapshots and watch requests. */
export const STATS_TOPIC = `${SSEHUB_TOPIC_NAMESPACE}/stats`;
/** How often a watched process samples and publishes its snapshot, in ms. */
export const SNAPSHOT_INTERVAL_MS = 1000; // 1 second
/** How long a process keeps publishing after the last watch request it took, in ms. */
export const WATCH_TTL_MS = 15_000; // 15 seconds
/** How often a process with a dashboard stream open asks the others to keep publishing, in ms. */
export const WATCH_ANNOUNCE_MS = 5_000; // 5 seconds
/** A row not refreshed within this many intervals is dropped: its process is gone. */
const STALE_AFTER_INTERVALS = 3;
/** Event type of a snapshot. */
const STATS_EVENT = "stats";
/** Event type of a watch request. */
const WATCH_EVENT = "watch";

/** What a dashboard stream receives once per interval. */
export interface DashboardStats {
  /** When the answering process sent it (ms since the epoch). */
  readonly at: number;
  /** The `process` key of the answering process's row. */
  readonly self: string;
  readonly intervalMs: number;
  /** The newest snapshot of every live process of the hub, by node, then worker, then pid. */
  readonly processes: readonly ProcessSnapshot[];
}

/** One dashboard stream, as the exchange sees it. */
export interface StatsWatcher {
  /** Called once at once, then once per interval. */
  onStats(stats: DashboardStats): void;
  /** The exchange closed (the hub is shutting down): end the stream. */
  onEnd(): void;
}

/** Options of StatsExchange. */
export interface StatsExchangeOptions extends SnapshotSamplerOptions {
  /** How often to sample and publish while watched, in ms. @default SNAPSHOT_INTERVAL_MS */
  readonly intervalMs?: number | undefined;
}

interface Row {
  readonly snapshot: ProcessSnapshot;
  /** When this process took it, by its own clock. */
  readonly receivedAt: number;
}

/** The internal subscription's only grant: the stats topic. */
const STATS_ACCESS = {
  allows: (topics: readonly string[]) => topics.includes(STATS_TOPIC),
};

/** The internal subscriber's end of the stream: it parses what the hub writes, nothing queues. */
class ExchangeSink implements Sink {
  readonly queuedBytes = 0;
  #closed = false;
  readonly #parser: SseParser;
  readonly #onBytes: (bytes: number) => void;
  readonly #onClose: () => void;
  #eventsInChunk = 0;

  constructor(
    onEvent: (event: ParsedEvent) => void,
    onBytes: (bytes: number) => void,
    onClose: () => void,
  ) {
    this.#parser = new SseParser({
      onEvent: (event) => {
        this.#eventsInChunk++;
        onEvent(event);
      },
    });
    this.#onBytes = onBytes;
    this.#onClose = onClose;
  }

  get isClosed(): boolean {
    return this.#closed;
  }

  write(chunk: Buffer | string): void {
    if (this.#closed) return;
    this.#eventsInChunk = 0;
    this.#parser.feed(chunk);
    // Heartbeats and the retry hint carry no event: only event bytes are the exchange's own.
    if (this.#eventsInChunk > 0) this.#onBytes(Buffer.byteLength(chunk));
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#onClose();
  }

  destroy(): void {
    this.close();
  }
}

function compareRows(a: ProcessSnapshot, b: ProcessSnapshot): number {
  if (a.node !== b.node) return a.node < b.node ? -1 : 1;
  return (a.worker ?? 0) - (b.worker ?? 0) || a.pid - b.pid;
}

/**
 * This process's end of the stats exchange: its internal subscription to STATS_TOPIC, its
 * snapshots while watched, and the rows of every process. Closes itself when the hub closes.
 */
export class StatsExchange {
  readonly #hub: Hub;
  readonly #sampler: SnapshotSampler;
  readonly #now: () => number;
  readonly #intervalMs: number;
  readonly #rows = new Map<string, Row>();
  readonly #watchers = new Set<StatsWatcher>();
  readonly #timer: NodeJS.Timeout;
  #subscription: Subscription | undefined;
  /** Events and bytes of STATS_TOPIC this process took: the dashboard's own traffic. */
  #ownEvents = 0;
  #ownBytes = 0;
  #remoteWatchUntil = 0;
  #lastAnnounce = Number.NEGATIVE_INFINITY;
  /** Event types with a publish in flight. */
  readonly #inFlight = new Set<string>();
  #closed = false;

  constructor(hub: Hub, options: StatsExchangeOptions = {}) {
    this.#hub = hub;
    this.#now = options.now ?? Date.now;
    this.#intervalMs = options.intervalMs ?? SNAPSHOT_INTERVAL_MS;
    this.#sampler = new SnapshotSampler(hub, options);
    this.#timer = setInterval(() => this.#tick(), this.#intervalMs);
    this.#timer.unref();
    if (!hub.isClosed) this.#subscribe();
  }

  /** Dashboard streams open on this process. */
  get watcherCount(): number {
    return this.#watchers.size;
  }

  /** True while this process samples and publishes: a stream is open here or elsewhere. */
  get isWatched(): boolean {
    return this.#watchers.size > 0 || this.#now() < this.#remoteWatchUntil;
  }

  /**
   * Adds a dashboard stream: it gets the rows at once, then once per interval; the other
   * processes are asked to publish. Returns the function that removes it.
   */
  watch(watcher: StatsWatcher): () => void {
    if (this.#closed) {
      watcher.onEnd();
      return () => {};
    }
    this.#watchers.add(watcher);
    if (this.#watchers.size === 1) this.#announce();
    this.#sampler.start();
    watcher.onStats(this.#statsNow());
    return () => {
      this.#watchers.delete(watcher);
    };
  }

  /** Stops the timer and the internal subscription, and ends every dashboard stream. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    this.#sampler.stop();
    this.#subscription?.close();
    for (const watcher of this.#watchers) watcher.onEnd();
    this.#watchers.clear();
  }

  #subscribe(): void {
    const sink = new ExchangeSink(
      (event) => this.#take(event),
      (bytes) => {
        this.#ownBytes += bytes;
      },
      () => this.#subscriptionEnded(),
    );
    this.#subscription = this.#hub.subscribe({
      topics: [STATS_TOPIC],
      sink,
      access: STATS_ACCESS,
    });
  }

  /** The hub ended the internal stream: it is closing, or its bus started over. */
  #subscriptionEnded(): void {
    this.#subscription = undefined;
    if (this.#hub.isClosed) {
      this.close();
      return;
    }
    // The bus started over and ended every stream: subscribe again once that has settled.
    setImmediate(() => {
      if (!this.#closed && !this.#hub.isClosed && this.#subscription === undefined) {
        this.#subscribe();
      }
    });
  }

  #take(event: ParsedEvent): void {
    this.#ownEvents++;
    if (event.type === WATCH_EVENT) {
      this.#remoteWatchUntil = this.#now() + WATCH_TTL_MS;
      this.#sampler.start();
      return;
    }
    if (event.type !== STATS_EVENT) return;
    let snapshot: ProcessSnapshot;
    try {
      snapshot = JSON.parse(event.data) as ProcessSnapshot;
    } catch {
      return; // only the hub writes here; a process of another version may write otherwise
    }
    this.#keep(snapshot);
  }

  #keep(snapshot: ProcessSnapshot): void {
    if (typeof snapshot?.process !== "string" || typeof snapshot.seq !== "number") return;
    const row = this.#rows.get(snapshot.process);
    if (row !== undefined && row.snapshot.seq >= snapshot.seq) return;
    this.#rows.set(snapshot.process, { snapshot, receivedAt: this.#now() });
  }

  #tick(): void {
    if (this.#hub.isClosed) {
      this.close();
      return;
    }
    const now = this.#now();
    this.#dropStaleRows(now);
    if (!this.isWatched) {
      this.#sampler.stop();
      return;
    }
    if (this.#watchers.size > 0 && now - this.#lastAnnounce >= WATCH_ANNOUNCE_MS) {
      this.#announce();
    }
    const snapshot = this.#sampler.sample({
      events: this.#ownEvents,
      bytes: this.#ownBytes,
      subscribers: this.#subscription === undefined ? 0 : 1,
    });
    this.#keep(snapshot); // this process's row is fresh at once; its echo changes nothing
    this.#publish(STATS_EVENT, snapshot);
    if (this.#watchers.size === 0) return;
    const stats = this.#statsNow();
    for (const watcher of this.#watchers) watcher.onStats(stats);
  }

  #dropStaleRows(now: number): void {
    const staleBefore = now - STALE_AFTER_INTERVALS * this.#intervalMs;
    for (const [key, row] of this.#rows) {
      if (row.receivedAt < staleBefore) this.#rows.delete(key);
    }
  }

  #announce(): void {
    this.#lastAnnounce = this.#now();
    this.#publish(WATCH_EVENT, { from: this.#sampler.processKey });
  }

  /**
   * Publishes on STATS_TOPIC as the hub. A failure (bus not ready, hub overloaded) is dropped:
   * the next interval publishes again. One publish of each type in flight at most, so that a slow
   * bus does not pile snapshots up.
   */
  #publish(event: string, data: unknown): void {
    if (this.#inFlight.has(event) || this.#closed || !this.#hub.isReady) return;
    this.#inFlight.add(event);
    this.#hub[PUBLISH_AS_HUB]([
      { topic: STATS_TOPIC, event, data: JSON.stringify(data), private: true },
    ])
      .catch(() => {})
      .finally(() => {
        this.#inFlight.delete(event);
      });
  }

  #statsNow(): DashboardStats {
    return {
      at: this.#now(),
      self: this.#sampler.processKey,
      intervalMs: this.#intervalMs,
      processes: [...this.#rows.values()].map((row) => row.snapshot).sort(compareRows),
    };
  }
}
