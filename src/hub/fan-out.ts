/**
 * The fan-out of one dispatcher flush, run in bounded slices (DESIGN principle 6).
 *
 * A flush hands the events it took to every subscriber of their topics. To one topic with
 * 40,000 subscribers that is 40,000 writes, 80 ms or more of one core: publishes, new
 * subscribers, heartbeats and `/healthz` would wait that long. So a FanOut runs at most
 * `budget` subscriber visits per call of `run()` and remembers where it stopped; the
 * dispatcher calls it again on the next `setImmediate`, after the loop has served its I/O.
 *
 * Why order and exactly-once hold across slices:
 * - Each subscriber is visited once per fan-out (a Set iterator visits each entry once, even
 *   when entries come and go between slices), and gets at most one write from it.
 * - The dispatcher starts no other fan-out before this one ends: the events published
 *   meanwhile wait in its queue, so a subscriber not yet reached can never get a later batch
 *   before this one.
 * - A subscriber that arrives between slices registered with the newest seq as its start
 *   (hub.subscribe reads it after these events were taken), so `Subscriber.deliver` skips
 *   every event of this fan-out if the iterator happens to reach it: what came before its
 *   arrival reaches it by replay (with Last-Event-ID) or not at all, never live twice.
 * - A subscriber that leaves between slices is closed; `deliver` does nothing for it.
 * - A subscriber of several topics is served after every topic was walked (it must get one
 *   write with its topics' events merged by seq), as before slicing.
 * @module
 */
import { activity } from "../diagnostics/activity.js";
import { mergeBySeq, type StoredEvent } from "../history/history-store.js";
import { type Batch, batchOf, type Subscriber } from "./subscriber.js";
import type { Lane, TopicIndex } from "./topic-index.js";

const TOPICS = 0;
const SEVERAL = 1;
const PATTERNS = 2;
const DONE = 3;

/** One flush's delivery, resumable between event-loop turns. */
export class FanOut {
  /** The events of the flush, in seq order. */
  readonly events: readonly StoredEvent[];
  readonly #tick: number;
  readonly #index: TopicIndex<Subscriber>;
  readonly #lane: Lane;
  readonly #patternSubscribers: ReadonlySet<Subscriber>;
  /** The events of each topic that had a subscriber when the flush began. */
  readonly byTopic = new Map<string, StoredEvent[]>();
  readonly #topics: string[];
  #stage = TOPICS;
  #topicAt = 0;
  /** The topic being walked: its subscribers still to visit and its batch. */
  #walk: Iterator<Subscriber> | undefined;
  #walkTopic = "";
  #walkSize = 0;
  #batch: Batch | undefined;
  /** Subscribers of several topics collected while walking (see dispatcher.ts). */
  #several: Subscriber[] | undefined;
  #severalAt = 0;
  #merged: Map<string, Batch> | undefined;
  #patternWalk: Iterator<Subscriber> | undefined;
  #patternBatches: Map<string, Batch | null> | undefined;
  #visits = 0;

  /**
   * @param tick a number no earlier fan-out used (marks subscribers collected in this one)
   * @param lane the lane whose subscribers of each topic it serves (topic-index.ts)
   */
  constructor(
    events: readonly StoredEvent[],
    tick: number,
    index: TopicIndex<Subscriber>,
    lane: Lane,
    patternSubscribers: ReadonlySet<Subscriber>,
  ) {
    this.events = events;
    this.#tick = tick;
    this.#index = index;
    this.#lane = lane;
    this.#patternSubscribers = patternSubscribers;
    for (const event of events) {
      for (const topic of event.topics) {
        if (index.subscribersOf(topic, lane) === undefined) continue;
        const list = this.byTopic.get(topic);
        if (list === undefined) this.byTopic.set(topic, [event]);
        else list.push(event);
      }
    }
    this.#topics = [...this.byTopic.keys()];
  }

  /** True once every subscriber has been served. */
  get isDone(): boolean {
    return this.#stage === DONE;
  }

  /**
   * Serves up to `budget` subscribers (a finite number: Number.MAX_SAFE_INTEGER for all that
   * are left); returns true when the fan-out is complete.
   */
  run(budget: number): boolean {
    let left = budget;
    if (this.#stage === TOPICS) left = this.#walkTopics(left);
    if (this.#stage === SEVERAL) left = this.#serveSeveral(left);
    if (this.#stage === PATTERNS) left = this.#servePatterns(left);
    this.#visits += budget - left;
    return this.#stage === DONE;
  }

  /** Subscribers visited so far (the size of the fan-out once it is done). */
  get visits(): number {
    return this.#visits;
  }

  #walkTopics(budget: number): number {
    let left = budget;
    const tick = this.#tick;
    // A slice that resumes a topic names it again for the stall watcher (activity.begin of
    // the slice forgot it).
    if (this.#walk !== undefined) {
      activity.fanOut(this.#walkTopic, this.#walkSize, this.#batch!.bytes.length);
    }
    while (left > 0) {
      if (this.#walk === undefined) {
        const topic = this.#topics[this.#topicAt++];
        if (topic === undefined) {
          this.#stage = this.#several === undefined ? PATTERNS : SEVERAL;
          return left;
        }
        const subscribers = this.#index.subscribersOf(topic, this.#lane);
        if (subscribers === undefined) continue;
        const batch = batchOf(this.byTopic.get(topic)!);
        activity.fanOut(topic, subscribers.size, batch.bytes.length);
        this.#walk = subscribers.values();
        this.#walkTopic = topic;
        this.#walkSize = subscribers.size;
        this.#batch = batch;
      }
      const walk = this.#walk;
      const batch = this.#batch!;
      for (; left > 0; left--) {
        const next = walk.next();
        if (next.done === true) {
          this.#walk = undefined;
          this.#batch = undefined;
          break;
        }
        const subscriber = next.value;
        if (subscriber.topicSet === undefined) {
          subscriber.deliver(batch);
        } else if (subscriber.lastTick !== tick) {
          subscriber.lastTick = tick;
          subscriber.tickBatch = batch;
          subscriber.tickBatchCount = 1;
          if (this.#several === undefined) this.#several = [subscriber];
          else this.#several.push(subscriber);
        } else {
          subscriber.tickBatchCount++;
        }
      }
    }
    return left;
  }

  /** Serves subscribers of several topics: one write each, their topics merged by seq. */
  #serveSeveral(budget: number): number {
    let left = budget;
    const several = this.#several!;
    while (left > 0 && this.#severalAt < several.length) {
      left--;
      const subscriber = several[this.#severalAt++]!;
      const only = subscriber.tickBatch!;
      subscriber.tickBatch = undefined;
      if (subscriber.tickBatchCount === 1) {
        subscriber.deliver(only);
        continue;
      }
      this.#merged ??= new Map();
      let batch = this.#merged.get(subscriber.topicSetKey);
      if (batch === undefined) {
        const lists: StoredEvent[][] = [];
        for (const topic of subscriber.topics) {
          const list = this.byTopic.get(topic);
          if (list !== undefined) lists.push(list);
        }
        batch = batchOf(mergeBySeq(lists));
        this.#merged.set(subscriber.topicSetKey, batch);
      }
      subscriber.deliver(batch);
    }
    if (this.#severalAt === several.length) this.#stage = PATTERNS;
    return left;
  }

  /**
   * Serves subscribers with topic patterns: the events (in seq order) whose topics they want,
   * each once; subscribers with the same topics and patterns share one batch. Cost:
   * O(pattern subscribers x events), so patterns suit fewer subscribers than exact topics do.
   */
  #servePatterns(budget: number): number {
    if (this.#patternSubscribers.size === 0 && this.#patternWalk === undefined) {
      this.#stage = DONE;
      return budget;
    }
    this.#patternWalk ??= this.#patternSubscribers.values();
    this.#patternBatches ??= new Map();
    const shared = this.#patternBatches;
    let left = budget;
    for (; left > 0; left--) {
      const next = this.#patternWalk.next();
      if (next.done === true) {
        this.#stage = DONE;
        return left;
      }
      const subscriber = next.value;
      let batch = shared.get(subscriber.patternKey);
      if (batch === undefined) {
        const wanted = this.events.filter((event) => subscriber.wants(event.topics));
        batch = wanted.length === 0 ? null : batchOf(wanted);
        shared.set(subscriber.patternKey, batch);
      }
      if (batch !== null) subscriber.deliver(batch);
    }
    return left;
  }
}
