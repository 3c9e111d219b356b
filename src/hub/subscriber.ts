/**
 * One subscribed connection as the hub sees it: its sink, its topics, and where it stands
 * (replaying history, live, closed). Everything on the delivery path is a field read or a
 * counter update: no closure, no string, no allocation per event (DESIGN principle 4).
 *
 * Slow consumers (DESIGN principle 5): before each write the sink's queued bytes are checked
 * against `maxQueueBytes`. Past it, policy `disconnect` destroys the connection (the client
 * resumes from history), policy `drop` stops writing, counts what it skips, and once the
 * queue has drained to half the cap writes a gap notice before the stream goes on, and policy
 * `conflate` keeps only the newest event per key until the queue has drained (see
 * slow-consumer.ts).
 *
 * Stuck consumers (`dispatchTimeoutMs`, like Mercure's `dispatch_timeout`): on each heartbeat
 * visit, a subscriber with bytes waiting whose connection took none of them since a visit at
 * least dispatchTimeoutMs ago is disconnected as a slow consumer is, whatever the policy: the
 * byte policies say what to do with a reader that lags, this one when a reader has stopped.
 * Progress is what left the queue (bytes written minus bytes queued), so a busy reader whose
 * queue never empties is not taken for a stopped one. Checked at heartbeat visits: a stopped
 * reader goes between dispatchTimeoutMs and dispatchTimeoutMs plus two heartbeat intervals.
 * @module
 */
import type { StoredEvent } from "../history/history-store.js";
import { encodeComment, encodeEvent } from "../protocol/encode.js";
import { GAP_EVENT } from "../protocol/hub-events.js";
import type { SlowConsumerPolicy } from "./hub-options.js";
import type { Sink } from "./sink.js";
import { Conflation } from "./slow-consumer.js";
import { type Lane, NORMAL_LANE } from "./topic-index.js";

const HEARTBEAT = Buffer.from(encodeComment());

const REPLAYING = 0;
const LIVE = 1;
const CLOSED = 2;

/** Events of one tick for one subscriber: their frames joined, shared by every receiver. */
export interface Batch {
  /** The joined frames of `events`. */
  readonly bytes: Buffer;
  /** The events, in seq order (at least one). */
  readonly events: readonly StoredEvent[];
  /** True when one of `events` is private (see PrivateAccess). */
  readonly hasPrivate: boolean;
  /** The batch without its private events, built once for all subscribers without access. */
  publicView?: Batch | null;
}

/**
 * Which private events a subscriber may receive: those with a topic its grants match. A
 * subscriber without one receives public events only.
 */
export interface PrivateAccess {
  allows(topics: readonly string[]): boolean;
}

/**
 * A topic selector a subscriber may give besides exact topics (`*`, a URI template): it
 * receives every event with a topic the selector matches. Built by the HTTP layer (auth/).
 */
export interface TopicPattern {
  /** The selector as the client wrote it. */
  readonly source: string;
  matches(topic: string): boolean;
}

/** A batch of `events` (seq order, at least one), their frames joined. */
export function batchOf(events: readonly StoredEvent[]): Batch {
  let hasPrivate = false;
  for (const event of events) if (event.private) hasPrivate = true;
  if (events.length === 1) return { bytes: events[0]!.bytes, events, hasPrivate };
  const frames: Buffer[] = new Array(events.length);
  for (let i = 0; i < events.length; i++) frames[i] = events[i]!.bytes;
  return { bytes: Buffer.concat(frames), events, hasPrivate };
}

/**
 * What of `batch` a subscriber with `access` may receive, or undefined for nothing. Costs
 * nothing for a batch without private events; the public view is built once per batch.
 */
export function visiblePart(batch: Batch, access: PrivateAccess | undefined): Batch | undefined {
  if (!batch.hasPrivate) return batch;
  if (access === undefined) {
    if (batch.publicView === undefined) {
      const open = batch.events.filter((event) => !event.private);
      batch.publicView = open.length === 0 ? null : batchOf(open);
    }
    return batch.publicView ?? undefined;
  }
  const allowed = batch.events.filter((event) => !event.private || access.allows(event.topics));
  if (allowed.length === batch.events.length) return batch;
  return allowed.length === 0 ? undefined : batchOf(allowed);
}

/** What a subscriber reports to, shared by all subscribers of one hub. */
export interface SubscriberHost {
  readonly maxQueueBytes: number;
  readonly policy: SlowConsumerPolicy;
  /** How long a connection may take none of the bytes waiting for it, in ms; 0: no limit. */
  readonly dispatchTimeoutMs: number;
  /** The clock of dispatchTimeoutMs, in ms. */
  now(): number;
  readonly counters: DeliveryCounters;
  /** The wire id of a sequence number. */
  idOf(seq: number): string;
  /** The subscriber passed its queue cap under policy `disconnect`; it is already destroyed. */
  slowConsumerDisconnected(subscriber: Subscriber, queuedBytes: number): void;
  /** The subscriber passed its queue cap under policy `drop` and starts skipping events. */
  slowConsumerDropping(subscriber: Subscriber, queuedBytes: number): void;
  /** The subscriber passed its queue cap under policy `conflate` and starts conflating. */
  slowConsumerConflating(subscriber: Subscriber, queuedBytes: number): void;
}

/** Counters the hub exposes in its stats. */
export interface DeliveryCounters {
  deliveries: number;
  bytesWritten: number;
  slowConsumerDisconnects: number;
  slowConsumerDrops: number;
  slowConsumerConflated: number;
}

/** One subscribed connection. */
export class Subscriber {
  readonly sink: Sink;
  readonly topics: readonly string[];
  /** For subscribers of several topics: the set, and a key naming it (topics sorted). */
  readonly topicSet: ReadonlySet<string> | undefined;
  readonly topicSetKey: string;
  /** Which private events it may receive; undefined: none. */
  readonly access: PrivateAccess | undefined;
  /** Which dispatcher serves it (topic-priority.ts); set by the hub before it is indexed. */
  lane: Lane = NORMAL_LANE;
  /**
   * Selectors besides the exact topics: such a subscriber is served by matching every event of
   * a turn (see dispatcher.ts), not through the topic index. Undefined for most.
   */
  readonly patterns: readonly TopicPattern[] | undefined;
  /** Names the exact topics and patterns together, to share batches between equal subscribers. */
  readonly patternKey: string;
  /** The dispatcher turn in which this subscriber was last collected (see dispatcher.ts). */
  lastTick = -1;
  /** In that turn: the first batch of its topics, and how many of its topics had one. */
  tickBatch: Batch | undefined;
  tickBatchCount = 0;
  /** Slot in the heartbeat wheel. */
  wheelSlot = -1;
  /** False until something is written after the previous heartbeat visit. */
  wroteSinceHeartbeat = true;
  /** Events written to this subscriber, replayed and live (for the access log). */
  eventsSent = 0;
  /** Bytes handed to the sink, for dispatchTimeoutMs: those that left are this minus the queue. */
  #bytesWritten = 0;
  /** Bytes that had left the queue at #progressAt. */
  #drainedAtVisit = 0;
  /** When a heartbeat visit last saw the queue empty or shorter than before. */
  #progressAt = -1;

  readonly #host: SubscriberHost;
  /** Events up to this seq reach the subscriber by replay (or not at all), never live. */
  #liveAfterSeq: number;
  #state: number;
  /** Live batches that arrived during the replay, written when it ends. */
  #pending: Batch[] | undefined;
  #pendingBytes = 0;
  #pendingCount = 0;
  /** Events skipped under policy `drop` since the last gap notice. */
  #dropped = 0;
  /** Under policy `conflate`, while the subscriber lags: the newest event per key. */
  #conflation: Conflation | undefined;
  /** Seq of the last event written, for the gap notice. */
  #lastSeq: number;

  constructor(
    host: SubscriberHost,
    sink: Sink,
    topics: readonly string[],
    liveAfterSeq: number,
    replaying: boolean,
    access?: PrivateAccess,
    patterns?: readonly TopicPattern[],
  ) {
    this.#host = host;
    this.access = access;
    this.patterns = patterns !== undefined && patterns.length > 0 ? patterns : undefined;
    this.patternKey =
      this.patterns === undefined
        ? ""
        : `${[...topics].sort().join("\n")}\n#${this.patterns.map((p) => p.source).join("\n")}`;
    this.sink = sink;
    this.topics = topics;
    this.topicSet = topics.length > 1 ? new Set(topics) : undefined;
    this.topicSetKey = topics.length > 1 ? [...topics].sort().join("\n") : topics[0]!;
    this.#liveAfterSeq = liveAfterSeq;
    this.#lastSeq = liveAfterSeq;
    this.#state = replaying ? REPLAYING : LIVE;
    this.#pending = replaying ? [] : undefined;
  }

  get isClosed(): boolean {
    return this.#state === CLOSED;
  }

  /** True when one of `topics` is one of this subscriber's topics or matches a pattern. */
  wants(topics: readonly string[]): boolean {
    for (const topic of topics) {
      if (this.topicSet !== undefined ? this.topicSet.has(topic) : this.topics[0] === topic) {
        return true;
      }
      if (this.patterns !== undefined) {
        for (const pattern of this.patterns) if (pattern.matches(topic)) return true;
      }
    }
    return false;
  }

  get isReplaying(): boolean {
    return this.#state === REPLAYING;
  }

  /** Hands the subscriber this tick's events of its topics. At most one call per tick. */
  deliver(batch: Batch): void {
    if (this.#state === CLOSED) return;
    if (batch.events[0]!.seq <= this.#liveAfterSeq) {
      // Only in the turn in which the subscriber arrived: skip events older than its arrival.
      const newer = skipUpTo(batch, this.#liveAfterSeq);
      if (newer === undefined) return;
      batch = newer;
    }
    if (batch.hasPrivate) {
      const visible = visiblePart(batch, this.access);
      if (visible === undefined) return;
      batch = visible;
    }
    if (this.#state === REPLAYING) this.#hold(batch);
    else this.#write(batch.bytes, batch.events);
  }

  /** Writes bytes that are not live events (replay chunks, reset notices) straight out. */
  writeDirect(bytes: Buffer | string, lastSeq?: number): void {
    if (this.#state === CLOSED) return;
    this.sink.write(bytes);
    this.#bytesWritten += typeof bytes === "string" ? Buffer.byteLength(bytes) : bytes.length;
    this.wroteSinceHeartbeat = true;
    if (lastSeq !== undefined) this.#lastSeq = lastSeq;
  }

  /**
   * Ends the replay: writes what arrived live meanwhile (only events after `afterSeq` when
   * given: the replay or the client already had the others), then the subscriber is live.
   */
  goLive(afterSeq = this.#liveAfterSeq): void {
    if (this.#state !== REPLAYING) return;
    let pending = this.#pending!;
    this.#pending = undefined;
    this.#state = LIVE;
    if (afterSeq > this.#liveAfterSeq) {
      this.#liveAfterSeq = afterSeq;
      pending = pending.flatMap((batch) => skipUpTo(batch, afterSeq) ?? []);
    }
    if (pending.length === 1) {
      this.#write(pending[0]!.bytes, pending[0]!.events);
    } else if (pending.length > 1) {
      const bytes = Buffer.concat(pending.map((b) => b.bytes));
      this.#write(
        bytes,
        pending.flatMap((b) => b.events),
      );
    } else if (this.#conflation !== undefined) {
      this.#flushConflation();
    } else if (this.#dropped > 0) {
      this.writeDirect(this.#gapNotice());
    }
  }

  /** Called by the heartbeat wheel about once per heartbeat interval. */
  heartbeat(): void {
    if (this.#state !== LIVE) return;
    if (this.#host.dispatchTimeoutMs > 0 && this.#hasStopped()) return;
    if (this.#dropped > 0 && this.#hasDrained()) {
      this.writeDirect(this.#gapNotice());
    } else if (this.#conflation !== undefined && this.#hasDrained()) {
      this.#flushConflation();
    } else if (!this.wroteSinceHeartbeat) {
      this.sink.write(HEARTBEAT);
      this.#bytesWritten += HEARTBEAT.length;
    }
    this.wroteSinceHeartbeat = false;
  }

  /** Marks the subscriber closed; the caller unregisters it and ends the sink. */
  markClosed(): void {
    this.#state = CLOSED;
    this.#pending = undefined;
    this.#conflation = undefined;
  }

  #hold(batch: Batch): void {
    this.#pending!.push(batch);
    this.#pendingBytes += batch.bytes.length;
    this.#pendingCount += batch.events.length;
    if (this.#pendingBytes > this.#host.maxQueueBytes) {
      if (this.#host.policy === "disconnect") {
        this.#disconnect(this.#pendingBytes);
      } else if (this.#host.policy === "conflate") {
        const conflation = this.#startConflating();
        for (const held of this.#pending!) {
          this.#host.counters.slowConsumerConflated += conflation.add(held.events);
        }
        this.#pending = [];
        this.#pendingBytes = 0;
        this.#pendingCount = 0;
      } else {
        this.#startDropping(this.#pendingBytes, this.#pendingCount);
        this.#pending = [];
        this.#pendingBytes = 0;
        this.#pendingCount = 0;
      }
    }
  }

  #write(bytes: Buffer, events: readonly StoredEvent[]): void {
    const host = this.#host;
    const count = events.length;
    if (this.#conflation !== undefined) {
      host.counters.slowConsumerConflated += this.#conflation.add(events);
      if (this.#conflation.bytes > host.maxQueueBytes) this.#disconnect(this.#conflation.bytes);
      else if (this.#hasDrained()) this.#flushConflation();
      return;
    }
    if (this.#dropped > 0) {
      if (!this.#hasDrained()) {
        this.#dropped += count;
        host.counters.slowConsumerDrops += count;
        return;
      }
      bytes = Buffer.concat([this.#gapNotice(), bytes]);
    }
    const queued = this.sink.queuedBytes;
    if (queued > 0 && queued + bytes.length > host.maxQueueBytes) {
      if (host.policy === "disconnect") this.#disconnect(queued + bytes.length);
      else if (host.policy === "drop") this.#startDropping(queued, count);
      else host.counters.slowConsumerConflated += this.#startConflating().add(events);
      return;
    }
    this.sink.write(bytes);
    this.#bytesWritten += bytes.length;
    this.wroteSinceHeartbeat = true;
    this.#lastSeq = events[count - 1]!.seq;
    host.counters.deliveries += count;
    host.counters.bytesWritten += bytes.length;
    this.eventsSent += count;
  }

  #startConflating(): Conflation {
    if (this.#conflation === undefined) {
      this.#conflation = new Conflation();
      this.#host.slowConsumerConflating(this, this.sink.queuedBytes);
    }
    return this.#conflation;
  }

  /** Writes the newest event per key held while the subscriber lagged. */
  #flushConflation(): void {
    const { bytes, events } = this.#conflation!.take();
    this.#conflation = undefined;
    if (events.length > 0) this.#write(bytes, events);
  }

  #hasDrained(): boolean {
    return this.sink.queuedBytes * 2 <= this.#host.maxQueueBytes;
  }

  #startDropping(queuedBytes: number, count: number): void {
    const first = this.#dropped === 0;
    this.#dropped += count;
    this.#host.counters.slowConsumerDrops += count;
    if (first) this.#host.slowConsumerDropping(this, queuedBytes);
  }

  /** The gap notice for what was skipped; resets the count. */
  #gapNotice(): Buffer {
    const data = JSON.stringify({
      dropped: this.#dropped,
      lastEventId: this.#lastSeq > 0 ? this.#host.idOf(this.#lastSeq) : null,
    });
    this.#dropped = 0;
    return Buffer.from(encodeEvent({ event: GAP_EVENT, data }));
  }

  /**
   * True when the connection took none of the bytes waiting for it since a visit at least
   * dispatchTimeoutMs ago; the subscriber is then disconnected (see the module comment).
   */
  #hasStopped(): boolean {
    const host = this.#host;
    const queued = this.sink.queuedBytes;
    const drained = this.#bytesWritten - queued;
    const now = host.now();
    if (queued === 0 || drained !== this.#drainedAtVisit || this.#progressAt < 0) {
      this.#drainedAtVisit = drained;
      this.#progressAt = now;
      return false;
    }
    if (now - this.#progressAt < host.dispatchTimeoutMs) return false;
    this.#disconnect(queued);
    return true;
  }

  #disconnect(queuedBytes: number): void {
    this.markClosed();
    this.sink.destroy();
    this.#host.slowConsumerDisconnected(this, queuedBytes);
  }
}

/** The part of `batch` after `afterSeq`, sharing its bytes; undefined when nothing is left. */
function skipUpTo(batch: Batch, afterSeq: number): Batch | undefined {
  const events = batch.events;
  let offset = 0;
  let skip = 0;
  while (skip < events.length && events[skip]!.seq <= afterSeq) {
    offset += events[skip]!.bytes.length;
    skip++;
  }
  if (skip === 0) return batch;
  if (skip === events.length) return undefined;
  const rest = events.slice(skip);
  return {
    bytes: batch.bytes.subarray(offset),
    events: rest,
    hasPrivate: batch.hasPrivate && rest.some((event) => event.private),
  };
}
