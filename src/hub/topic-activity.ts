/**
 * The busiest topics, counted on the publish path at O(1) per event per topic and nothing per
 * delivery: one Map lookup and two additions. Memory is bounded whatever the number of topics:
 * at most `capacity` topics are tracked at once; events of a topic that finds the table full
 * count under "other" until the next take makes room.
 *
 * Each take() ends a window: it answers the top `k` topics by events in the window (and the
 * rest summed), keeps the busiest half of the table (counts back to zero) and forgets the other
 * topics, so a topic that becomes busy finds room at the next window at the latest.
 * @module
 */

/** How many topics /metrics names, at most; the others count under `other`. */
export const BUSIEST_TOPICS = 10;
/** How many topics are tracked at once, at most. */
export const TRACKED_TOPICS = 256;

/** Events and bytes of one topic in the current window. */
class WindowCounts {
  events = 0;
  bytes = 0;
}

/** One topic's figures in a window. */
export interface TopicWindow {
  readonly topic: string;
  /** Events published to the topic in the window. */
  readonly events: number;
  /** Bytes of those events, encoded once (not once per subscriber). */
  readonly bytes: number;
}

/** What take() answers. */
export interface ActivityWindow {
  /** The busiest topics by events, busiest first, at most `k`. */
  readonly topics: readonly TopicWindow[];
  /** Every other topic's events and bytes, summed. */
  readonly other: { readonly events: number; readonly bytes: number };
}

/** Per-topic events and bytes of the current window, for the busiest topics. */
export class TopicActivity {
  readonly #capacity: number;
  readonly #tracked = new Map<string, WindowCounts>();
  #otherEvents = 0;
  #otherBytes = 0;

  /** @param capacity topics tracked at once, at most */
  constructor(capacity = TRACKED_TOPICS) {
    this.#capacity = capacity;
  }

  /** Counts one event of `topic` of `bytes` bytes. */
  count(topic: string, bytes: number): void {
    let counts = this.#tracked.get(topic);
    if (counts === undefined) {
      if (this.#tracked.size >= this.#capacity) {
        this.#otherEvents++;
        this.#otherBytes += bytes;
        return;
      }
      counts = new WindowCounts();
      this.#tracked.set(topic, counts);
    }
    counts.events++;
    counts.bytes += bytes;
  }

  /** Ends the window: the top `k` topics by events and the rest summed. O(capacity log capacity). */
  take(k: number): ActivityWindow {
    const ranked = [...this.#tracked].sort((a, b) => b[1].events - a[1].events);
    const topics: TopicWindow[] = [];
    let otherEvents = this.#otherEvents;
    let otherBytes = this.#otherBytes;
    for (const [index, [topic, counts]] of ranked.entries()) {
      if (index < k && counts.events > 0) {
        topics.push({ topic, events: counts.events, bytes: counts.bytes });
      } else {
        otherEvents += counts.events;
        otherBytes += counts.bytes;
      }
      // The busiest half stays (counted afresh), the rest makes room for newcomers.
      if (index < this.#capacity / 2 && counts.events > 0) {
        counts.events = 0;
        counts.bytes = 0;
      } else {
        this.#tracked.delete(topic);
      }
    }
    this.#otherEvents = 0;
    this.#otherBytes = 0;
    return { topics, other: { events: otherEvents, bytes: otherBytes } };
  }
}
