/**
 * What the process is doing right now, for the stall watcher (http/telemetry/stall-watcher.ts):
 * a record that the hub's own long pieces of synchronous work set when they begin and clear
 * when they end, and the check, at each end, that the piece did not block the event loop past
 * the watchers' threshold. A piece that did is reported at once with its exact cause: its
 * phase, its topic, the subscribers written, the bytes queued, the batch size, the duration.
 *
 * | phase | begun by | topic | batch size |
 * |---|---|---|---|
 * | dispatch | hub/dispatcher.ts, once per turn | the topic with the most subscribers | events of the turn |
 * | replay | hub/resume.ts, per history read and chunk | the subscriber's first topic | events read or written |
 * | publish | http/routes/publish.ts: parse, check, order | the first topic | events in the body |
 * | bus-catch-up | bus/redis-bus.ts, per batch read from Redis | none | entries handed over |
 *
 * Cost (DESIGN principle 4): a few field writes and two `performance.now()` per piece, nothing
 * per event or per subscriber; with no watcher, one counter and one branch.
 *
 * The record is one per process, not one per hub, on purpose: the event loop is the
 * process's, and a turn that blocks blocks every hub of the process, so every watcher must
 * hear of it. Pieces do not nest: a piece begun inside another counts as the outer one.
 * @module
 */
import { performance } from "node:perf_hooks";

/** The phases a stall report names; `gc` and `unknown` come from the watcher, not from pieces. */
export const STALL_PHASES = [
  "dispatch",
  "replay",
  "publish",
  "bus-catch-up",
  "gc",
  "unknown",
] as const;

/** What the loop was doing when it blocked. */
export type StallPhase = (typeof STALL_PHASES)[number];

/** Phase numbers, so that beginning a piece writes a small integer, not a string. */
export const PHASE_DISPATCH = 0;
export const PHASE_REPLAY = 1;
export const PHASE_PUBLISH = 2;
export const PHASE_BUS_CATCH_UP = 3;
const IDLE = -1;

/** A piece of work that blocked the loop past the threshold. */
export interface PhaseStall {
  readonly phase: StallPhase;
  /** The topic it served; empty when none. */
  readonly topic: string;
  /** Subscribers written to (dispatch: over every topic of the turn). */
  readonly subscribers: number;
  /** Bytes handed to subscribers' sockets (or, for publish, bytes of the body). */
  readonly bytesQueued: number;
  /** Events in the batch it handled. */
  readonly batchSize: number;
  /** How long it blocked the loop, in ms. */
  readonly durationMs: number;
  /** When it ended, as `performance.now()`. */
  readonly endedAt: number;
}

/** Called with every piece that blocked past the listener's threshold. */
export type StallListener = (stall: PhaseStall) => void;

interface Watch {
  readonly listener: StallListener;
  readonly thresholdMs: number;
}

/** How often the topics of a dispatch turn are sampled for the hot-topic figures, at most, in ms. */
const TOPIC_SAMPLE_MS = 50;
/** Length of one window of the topic samples, in ms; the figures cover this one and the last. */
const TOPIC_WINDOW_MS = 30_000;
/** Topics counted per window, at most: past it, new topics wait for the next window. */
const TOPIC_SAMPLE_MAX = 10_000;

/**
 * Events per topic seen in sampled dispatch turns: every turn while they come less often than
 * TOPIC_SAMPLE_MS (exact counts then), else one turn per TOPIC_SAMPLE_MS (a sample whose
 * ranking is what matters). Costs nothing between samples.
 */
class TopicSampler {
  #current = new Map<string, number>();
  #previous = new Map<string, number>();
  #windowStartedAt = 0;
  #lastSampleAt = Number.NEGATIVE_INFINITY;

  isDue(now: number): boolean {
    return now - this.#lastSampleAt >= TOPIC_SAMPLE_MS;
  }

  /** Counts the events of one turn, by topic. */
  take(now: number, byTopic: ReadonlyMap<string, readonly unknown[]>): void {
    this.#lastSampleAt = now;
    this.#rotate(now);
    const counts = this.#current;
    for (const [topic, events] of byTopic) {
      const count = counts.get(topic);
      if (count !== undefined) counts.set(topic, count + events.length);
      else if (counts.size < TOPIC_SAMPLE_MAX) counts.set(topic, events.length);
    }
  }

  /** Events per topic in the sampled turns of this window and the last, most first. */
  top(now: number, limit: number): { topic: string; events: number }[] {
    this.#rotate(now);
    const sums = new Map(this.#previous);
    for (const [topic, count] of this.#current) sums.set(topic, (sums.get(topic) ?? 0) + count);
    return [...sums]
      .map(([topic, events]) => ({ topic, events }))
      .sort((a, b) => b.events - a.events)
      .slice(0, limit);
  }

  #rotate(now: number): void {
    if (now - this.#windowStartedAt < TOPIC_WINDOW_MS) return;
    // A window with nothing in between: the last one is too old to count.
    this.#previous = now - this.#windowStartedAt < 2 * TOPIC_WINDOW_MS ? this.#current : new Map();
    this.#current = new Map();
    this.#windowStartedAt = now;
  }
}

/** The record of what the process is doing (see the module comment). */
export class Activity {
  /** How many pieces are open: more than one means a piece inside another. */
  #depth = 0;
  #phase = IDLE;
  #startedAt = 0;
  /** The piece's figures, set by the code doing it. */
  topic = "";
  subscribers = 0;
  bytesQueued = 0;
  batchSize = 0;
  /** For dispatch: the subscribers of `topic`, to keep the largest fan-out's name. */
  #topicSubscribers = 0;
  #thresholdMs = Number.POSITIVE_INFINITY;
  #watches: Watch[] = [];
  #phaseMs = 0;
  readonly #topics = new TopicSampler();

  /** True while a watcher listens: pieces are timed only then. */
  get isWatched(): boolean {
    return this.#watches.length > 0;
  }

  /**
   * Time spent in pieces since the process started (while watched), in ms: the loop-level
   * detector subtracts it from a delay it sees, to tell reported blocks from unknown ones.
   */
  get phaseMs(): number {
    return this.#phaseMs;
  }

  /** Starts a piece of `phase` (a PHASE_* number). Call `end()` in a `finally`. */
  begin(phase: number, topic: string, batchSize: number): void {
    if (this.#depth++ > 0 || this.#watches.length === 0) return;
    this.#phase = phase;
    this.topic = topic;
    this.batchSize = batchSize;
    this.subscribers = 0;
    this.bytesQueued = 0;
    this.#topicSubscribers = 0;
    this.#startedAt = performance.now();
  }

  /** For dispatch: `subscribers` of `topic` were handed a batch of `bytes` bytes. */
  fanOut(topic: string, subscribers: number, bytes: number): void {
    this.subscribers += subscribers;
    this.bytesQueued += subscribers * bytes;
    if (subscribers > this.#topicSubscribers) {
      this.#topicSubscribers = subscribers;
      this.topic = topic;
    }
  }

  /** Ends the piece begun last; reports it when it blocked past the threshold. */
  end(): void {
    if (--this.#depth > 0 || this.#phase === IDLE) return;
    const now = performance.now();
    const durationMs = now - this.#startedAt;
    const phase = this.#phase;
    this.#phase = IDLE;
    this.#phaseMs += durationMs;
    if (durationMs >= this.#thresholdMs) this.#report(phase, durationMs, now);
  }

  /**
   * True when the dispatch turn under way should hand its topics to `sampleTopics` (hot
   * topics by recent events).
   */
  get wantsTopicSample(): boolean {
    return this.#phase === PHASE_DISPATCH && this.#topics.isDue(this.#startedAt);
  }

  /** Counts the events of a dispatch turn by topic (see wantsTopicSample). */
  sampleTopics(byTopic: ReadonlyMap<string, readonly unknown[]>): void {
    this.#topics.take(this.#startedAt, byTopic);
  }

  /** The topics with the most events in the sampled dispatch turns of the last 30 to 60 s. */
  hotTopics(limit: number): { topic: string; events: number }[] {
    return this.#topics.top(performance.now(), limit);
  }

  /**
   * Calls `listener` with every piece that blocks for `thresholdMs` or more; returns the
   * function that stops it.
   */
  watch(listener: StallListener, thresholdMs: number): () => void {
    const watch: Watch = { listener, thresholdMs };
    this.#watches = [...this.#watches, watch];
    this.#thresholdMs = Math.min(this.#thresholdMs, thresholdMs);
    return () => {
      this.#watches = this.#watches.filter((other) => other !== watch);
      this.#thresholdMs = Math.min(
        Number.POSITIVE_INFINITY,
        ...this.#watches.map((other) => other.thresholdMs),
      );
    };
  }

  #report(phase: number, durationMs: number, endedAt: number): void {
    const stall: PhaseStall = {
      phase: STALL_PHASES[phase]!,
      topic: this.topic,
      subscribers: this.subscribers,
      bytesQueued: this.bytesQueued,
      batchSize: this.batchSize,
      durationMs,
      endedAt,
    };
    for (const watch of this.#watches) {
      if (durationMs >= watch.thresholdMs) watch.listener(stall);
    }
  }
}

/** The process's record (see the module comment for why there is one per process). */
export const activity = new Activity();
