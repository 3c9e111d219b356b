/**
 * Topic name -> the subscribers of that topic, O(1) both ways. A topic's entry exists exactly
 * while it has a subscriber.
 *
 * Subscribers are kept per lane (topic-priority.ts): the normal lane, and the express lane of
 * subscribers whose topics are all priority topics. Each lane's dispatcher walks only its own
 * subscribers of a topic; the counts and listings cover both.
 * @module
 */

/** The lane of most subscribers. */
export const NORMAL_LANE = 0;
/** The lane of subscribers whose topics are all priority topics. */
export const EXPRESS_LANE = 1;
export type Lane = typeof NORMAL_LANE | typeof EXPRESS_LANE;

/** What the index needs to know of a subscriber. */
export interface IndexedSubscriber {
  readonly topics: readonly string[];
  readonly lane: Lane;
}

/** Who listens to which topic. */
export class TopicIndex<S extends IndexedSubscriber> {
  readonly #normal = new Map<string, Set<S>>();
  readonly #express = new Map<string, Set<S>>();
  #subscriptionCount = 0;

  /** Topics with at least one subscriber. O(topics of the express lane). */
  get topicCount(): number {
    let count = this.#normal.size;
    for (const topic of this.#express.keys()) if (!this.#normal.has(topic)) count++;
    return count;
  }

  /** Topic-subscriber pairs. */
  get subscriptionCount(): number {
    return this.#subscriptionCount;
  }

  /** Registers `subscriber` under each of its topics, in its lane. */
  add(subscriber: S): void {
    const lane = this.#laneOf(subscriber.lane);
    for (const topic of subscriber.topics) {
      let set = lane.get(topic);
      if (set === undefined) {
        set = new Set();
        lane.set(topic, set);
      }
      if (!set.has(subscriber)) {
        set.add(subscriber);
        this.#subscriptionCount++;
      }
    }
  }

  /** Unregisters `subscriber`; a topic left with no subscriber leaves the index. */
  remove(subscriber: S): void {
    const lane = this.#laneOf(subscriber.lane);
    for (const topic of subscriber.topics) {
      const set = lane.get(topic);
      if (set?.delete(subscriber)) {
        this.#subscriptionCount--;
        if (set.size === 0) lane.delete(topic);
      }
    }
  }

  /**
   * The subscribers of `topic` in `lane`, or undefined when it has none there. Do not modify
   * the set.
   */
  subscribersOf(topic: string, lane: Lane = NORMAL_LANE): ReadonlySet<S> | undefined {
    return this.#laneOf(lane).get(topic);
  }

  /** Subscribers of `topic` in every lane. O(1). */
  subscriberCountOf(topic: string): number {
    return (this.#normal.get(topic)?.size ?? 0) + (this.#express.get(topic)?.size ?? 0);
  }

  /** True when `topic` has a subscriber in some lane. */
  has(topic: string): boolean {
    return this.#normal.has(topic) || this.#express.has(topic);
  }

  /** Topics with at least one subscriber, once each. */
  *topics(): Generator<string> {
    yield* this.#normal.keys();
    for (const topic of this.#express.keys()) if (!this.#normal.has(topic)) yield topic;
  }

  /** Every subscriber, once each. */
  subscribers(): Set<S> {
    const all = new Set<S>();
    for (const lane of [this.#normal, this.#express]) {
      for (const set of lane.values()) for (const s of set) all.add(s);
    }
    return all;
  }

  #laneOf(lane: Lane): Map<string, Set<S>> {
    return lane === EXPRESS_LANE ? this.#express : this.#normal;
  }
}
