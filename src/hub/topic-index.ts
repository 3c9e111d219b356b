/**
 * Topic name -> the subscribers of that topic, O(1) both ways. A topic's entry exists exactly
 * while it has a subscriber.
 * @module
 */

/** What the index needs to know of a subscriber. */
export interface IndexedSubscriber {
  readonly topics: readonly string[];
}

/** Who listens to which topic. */
export class TopicIndex<S extends IndexedSubscriber> {
  readonly #topics = new Map<string, Set<S>>();
  #subscriptionCount = 0;

  /** Topics with at least one subscriber. */
  get topicCount(): number {
    return this.#topics.size;
  }

  /** Topic-subscriber pairs. */
  get subscriptionCount(): number {
    return this.#subscriptionCount;
  }

  /** Registers `subscriber` under each of its topics. */
  add(subscriber: S): void {
    for (const topic of subscriber.topics) {
      let set = this.#topics.get(topic);
      if (set === undefined) {
        set = new Set();
        this.#topics.set(topic, set);
      }
      if (!set.has(subscriber)) {
        set.add(subscriber);
        this.#subscriptionCount++;
      }
    }
  }

  /** Unregisters `subscriber`; a topic left with no subscriber leaves the index. */
  remove(subscriber: S): void {
    for (const topic of subscriber.topics) {
      const set = this.#topics.get(topic);
      if (set?.delete(subscriber)) {
        this.#subscriptionCount--;
        if (set.size === 0) this.#topics.delete(topic);
      }
    }
  }

  /** The subscribers of `topic`, or undefined when it has none. Do not modify the set. */
  subscribersOf(topic: string): ReadonlySet<S> | undefined {
    return this.#topics.get(topic);
  }

  /** Topics with at least one subscriber. */
  topics(): IterableIterator<string> {
    return this.#topics.keys();
  }

  /** Every subscriber, once each. */
  subscribers(): Set<S> {
    const all = new Set<S>();
    for (const set of this.#topics.values()) for (const s of set) all.add(s);
    return all;
  }
}
