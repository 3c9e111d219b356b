/**
 * The default history store: a MemoryRing per topic, in this process's memory.
 * @module
 */
import type { HistoryRead, HistoryStore, StoredEvent, TopicHistoryInfo } from "./history-store.js";
import { mergeBySeq } from "./history-store.js";
import { MemoryRing } from "./memory-ring.js";

/** Publisher-given ids remembered, newest last (about 100 bytes each). */
const PUBLISHER_IDS_KEPT = 100_000;

/** Dropped topics remembered with what they evicted (about 100 bytes each). */
const DROPPED_TOPICS_KEPT = 100_000;

/** Limits of a memory history. */
export interface MemoryHistoryOptions {
  /** Events kept per topic; 0 keeps none. */
  readonly maxEvents: number;
  /** Age after which an event leaves, in ms. */
  readonly maxAgeMs: number;
}

/** Keeps recent events per topic in memory, bounded by count and age. */
export class MemoryHistory implements HistoryStore {
  readonly #options: MemoryHistoryOptions;
  readonly #rings = new Map<string, MemoryRing>();
  #totalEvents = 0;
  /**
   * Topics whose ring was dropped (emptied by age), with the highest seq they evicted, so that
   * a reader of such a topic gets a reset only when that topic lost events after its seq. At
   * most DROPPED_TOPICS_KEPT are remembered; the oldest forgotten ones raise
   * #forgottenEvictedUpTo, which then answers for every topic with no ring: a reader may get a
   * reset it did not need, never a silent loss.
   */
  readonly #dropped = new Map<string, number>();
  #forgottenEvictedUpTo = 0;
  /**
   * Publisher-given id -> seq, so that such an id resumes. It may outlive its event: a resume
   * from an evicted event still finds its seq, and readAfter then reports what was lost.
   */
  readonly #publisherIds = new Map<string, number>();

  constructor(options: MemoryHistoryOptions) {
    this.#options = options;
  }

  get totalEvents(): number {
    return this.#totalEvents;
  }

  append(event: StoredEvent): void {
    if (event.publisherId) this.#rememberId(event.id, event.seq);
    for (const topic of event.topics) {
      let ring = this.#rings.get(topic);
      if (ring === undefined) {
        ring = new MemoryRing(this.#options.maxEvents, this.#dropped.get(topic));
        this.#dropped.delete(topic);
        this.#rings.set(topic, ring);
      }
      const before = ring.size;
      ring.append(event);
      this.#totalEvents += ring.size - before;
    }
  }

  readAfter(topics: readonly string[], afterSeq: number): HistoryRead {
    let complete = true;
    const lists: StoredEvent[][] = [];
    for (const topic of topics) {
      const ring = this.#rings.get(topic);
      if (ring === undefined) {
        const evictedUpTo = this.#dropped.get(topic) ?? this.#forgottenEvictedUpTo;
        if (evictedUpTo > afterSeq) complete = false;
        continue;
      }
      if (ring.evictedUpTo > afterSeq) complete = false;
      const events = ring.after(afterSeq);
      if (events.length > 0) lists.push(events);
    }
    return { events: mergeBySeq(lists), complete };
  }

  expire(now: number): readonly string[] {
    const cutoff = now - this.#options.maxAgeMs;
    const emptied: string[] = [];
    for (const [topic, ring] of this.#rings) {
      const before = ring.size;
      ring.expire(cutoff);
      this.#totalEvents -= before - ring.size;
      if (ring.size === 0) {
        this.#remember(topic, ring.evictedUpTo);
        this.#rings.delete(topic);
        emptied.push(topic);
      }
    }
    return emptied;
  }

  #remember(topic: string, evictedUpTo: number): void {
    this.#dropped.delete(topic);
    this.#dropped.set(topic, evictedUpTo);
    if (this.#dropped.size > DROPPED_TOPICS_KEPT) {
      const [oldest, seq] = this.#dropped.entries().next().value as [string, number];
      this.#dropped.delete(oldest);
      if (seq > this.#forgottenEvictedUpTo) this.#forgottenEvictedUpTo = seq;
    }
  }

  seqOfId(id: string): number | undefined {
    return this.#publisherIds.get(id);
  }

  #rememberId(id: string, seq: number): void {
    this.#publisherIds.delete(id);
    this.#publisherIds.set(id, seq);
    if (this.#publisherIds.size > PUBLISHER_IDS_KEPT) {
      this.#publisherIds.delete(this.#publisherIds.keys().next().value as string);
    }
  }

  topicInfo(topic: string): TopicHistoryInfo | undefined {
    const ring = this.#rings.get(topic);
    if (ring === undefined) return undefined;
    return { size: ring.size, lastSeq: ring.lastSeq, firstSeq: ring.firstSeq };
  }

  topics(): IterableIterator<string> {
    return this.#rings.keys();
  }
}
