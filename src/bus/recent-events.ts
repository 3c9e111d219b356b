/**
 * The primary's copy of the recent ordered events, so that a worker that joins late (a
 * replacement for one that died) starts with the history its siblings hold, instead of a floor
 * that resets every client resuming on it.
 *
 *   #events: [ dropped... | e(floor+1) e(floor+2) ... e(current) ]
 *                           ^ #start
 *
 * The copy is contiguous: every event after `floor` is kept, so a joiner that loads it into its
 * own history (which applies the same per-topic count and age limits) answers exactly for every
 * point from `floor` on. The oldest event leaves when no worker's history can hold it any more:
 * each of its topics has `maxEventsPerTopic` newer events, or it is older than `maxAgeMs`. An
 * old event of a quiet topic holds the front in place while busier topics grow behind it, so
 * `maxTotal` bounds the copy too; past it the front leaves although the siblings may still hold
 * it, and a client resuming on the joiner from before it gets a reset.
 * @module
 */
import type { SequencedEvent } from "../history/stored-event.js";

/** The bounds of the copy: a worker's history limits, and one total. */
export interface RecentEventsLimits {
  /** Events a worker's history keeps per topic (historyMaxEvents). */
  readonly maxEventsPerTopic: number;
  /** Age past which a worker's history drops an event (historyMaxAgeMs), in ms. */
  readonly maxAgeMs: number;
  /** Events kept at most in all. */
  readonly maxTotal: number;
}

/** What a joining worker is handed: everything after `floor`, in seq order. */
export interface RecentEventsSnapshot {
  /** Seq of the newest event no longer kept (0 when none was dropped). */
  readonly floor: number;
  readonly events: readonly SequencedEvent[];
}

/** Events kept in all at least, whatever historyMaxEvents says (about 25 MB of small events). */
export const RECENT_EVENTS_MIN_TOTAL = 100_000;

/** A bounded, contiguous, seq-ordered copy of the newest ordered events. */
export class RecentEvents {
  readonly #limits: RecentEventsLimits;
  #events: SequencedEvent[] = [];
  #start = 0;
  #floor = 0;
  /** Kept events per topic. */
  readonly #perTopic = new Map<string, number>();

  constructor(limits: RecentEventsLimits) {
    this.#limits = limits;
  }

  /** Events kept. */
  get size(): number {
    return this.#events.length - this.#start;
  }

  /** Seq of the newest event no longer kept. */
  get floor(): number {
    return this.#floor;
  }

  /** Keeps `events` (the next ones in seq order) and drops what no worker holds any more. */
  append(events: readonly SequencedEvent[], now: number): void {
    for (const event of events) {
      this.#events.push(event);
      for (const topic of event.topics) {
        this.#perTopic.set(topic, (this.#perTopic.get(topic) ?? 0) + 1);
      }
    }
    this.#trim(now);
  }

  /**
   * Starts the copy from what a data directory held: nothing before `floor` exists any more,
   * and `events` (in seq order) follow it. Call it before the first append.
   */
  restore(floor: number, events: readonly SequencedEvent[], now: number): void {
    this.#floor = floor;
    this.append(events, now);
  }

  /** Drops the kept events with seq <= `seq` (their storage is gone: the data directory's bound). */
  dropThrough(seq: number, now: number): void {
    while (this.#start < this.#events.length && this.#events[this.#start]!.seq <= seq) {
      this.#drop(this.#events[this.#start]!);
    }
    if (seq > this.#floor) this.#floor = seq;
    this.#trim(now);
  }

  /** Everything kept, for a joining worker (the array is a copy). */
  snapshot(now: number): RecentEventsSnapshot {
    this.#trim(now);
    return { floor: this.#floor, events: this.#events.slice(this.#start) };
  }

  #trim(now: number): void {
    const { maxAgeMs, maxTotal } = this.#limits;
    const cutoff = now - maxAgeMs;
    const events = this.#events;
    while (this.#start < events.length) {
      const front = events[this.#start]!;
      const droppable =
        this.size > maxTotal || front.publishedAt < cutoff || this.#evictedEverywhere(front);
      if (!droppable) break;
      this.#drop(front);
    }
    if (this.#start === events.length) {
      this.#events = [];
      this.#start = 0;
    } else if (this.#start > 1024 && this.#start * 2 > events.length) {
      this.#events = events.slice(this.#start);
      this.#start = 0;
    }
  }

  /** True when every topic of the oldest kept `event` has maxEventsPerTopic newer events. */
  #evictedEverywhere(event: SequencedEvent): boolean {
    const max = this.#limits.maxEventsPerTopic;
    for (const topic of event.topics) {
      if ((this.#perTopic.get(topic) ?? 0) - 1 < max) return false;
    }
    return true;
  }

  #drop(event: SequencedEvent): void {
    this.#start++;
    this.#floor = event.seq;
    for (const topic of event.topics) {
      const count = (this.#perTopic.get(topic) ?? 1) - 1;
      if (count === 0) this.#perTopic.delete(topic);
      else this.#perTopic.set(topic, count);
    }
  }
}
