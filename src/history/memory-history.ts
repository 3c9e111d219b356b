/**
 * The default history store: a MemoryRing per topic, in this process's memory.
 * @module
 */
import type { HistoryRead, HistoryStore, StoredEvent, TopicHistoryInfo } from "./history-store.js";
import { mergeBySeq } from "./history-store.js";
import { MemoryRing } from "./memory-ring.js";

/** Publisher-given ids remembered, newest last (about 100 bytes each). */
const PUBLISHER_IDS_KEPT = 100_000;

/** Dropped topics remembered with what they evicted, at most (the byte cap applies too). */
const DROPPED_TOPICS_KEPT = 100_000;

/** Default of MemoryHistoryOptions.maxDroppedTopicBytes: 16 MiB. */
export const DROPPED_TOPIC_BYTES_KEPT = 16_777_216;

/**
 * What remembering one dropped topic costs beyond its name, in bytes, as counted against the
 * byte cap: the string's header, the Map entry and its share of the table, the seq. Measured
 * on Node 20 with 100,000 entries (V8 heap after a full GC): about 150 bytes each beyond one
 * byte per character of an ASCII name, for names of 20 and of 256 characters.
 */
const DROPPED_TOPIC_OVERHEAD_BYTES = 160;

/**
 * The bytes counted for remembering `topic`: 2 per UTF-16 unit (V8 keeps a name with any
 * character past Latin-1 in two bytes per unit, so this never counts less than it holds).
 */
function droppedTopicBytes(topic: string): number {
  return DROPPED_TOPIC_OVERHEAD_BYTES + 2 * topic.length;
}

/** Limits of a memory history. */
export interface MemoryHistoryOptions {
  /** Events kept per topic; 0 keeps none. */
  readonly maxEvents: number;
  /** Age after which an event leaves, in ms. */
  readonly maxAgeMs: number;
  /**
   * Bytes that the names of dropped topics may take (see droppedTopicBytes), besides the cap of
   * 100,000 topics. Default DROPPED_TOPIC_BYTES_KEPT (16 MiB).
   */
  readonly maxDroppedTopicBytes?: number;
  /**
   * The seq of the newest event that history lost before this store began (a durable store's
   * files no longer hold it): a reader of any topic from before it gets a reset. Default 0.
   */
  readonly evictedUpTo?: number;
}

/** Keeps recent events per topic in memory, bounded by count and age. */
export class MemoryHistory implements HistoryStore {
  readonly #options: MemoryHistoryOptions;
  readonly #rings = new Map<string, MemoryRing>();
  #totalEvents = 0;
  /**
   * Topics whose ring was dropped (emptied by age), with the highest seq they evicted, so that
   * a reader of such a topic gets a reset only when that topic lost events after its seq. At
   * most DROPPED_TOPICS_KEPT are remembered, and at most #maxDroppedBytes counted by
   * droppedTopicBytes (names may be maxTopicLength long: 100,000 names of 64 Ki characters
   * would hold 12 GiB). The oldest forgotten ones raise #forgottenEvictedUpTo, which then
   * answers for every topic with no ring: a reader may get a reset it did not need, never a
   * silent loss. V8 shrinks a Map's table as entries leave, so nothing needs rebuilding.
   */
  readonly #dropped = new Map<string, number>();
  #droppedBytes = 0;
  readonly #maxDroppedBytes: number;
  #forgottenEvictedUpTo = 0;
  /**
   * Publisher-given id -> seq of its first use, so that such an id resumes. It may outlive its
   * event: a resume from an evicted event still finds its seq, and readAfter then reports what
   * was lost.
   */
  readonly #publisherIds = new Map<string, number>();

  constructor(options: MemoryHistoryOptions) {
    this.#options = options;
    this.#maxDroppedBytes = options.maxDroppedTopicBytes ?? DROPPED_TOPIC_BYTES_KEPT;
    this.#forgottenEvictedUpTo = options.evictedUpTo ?? 0;
  }

  get totalEvents(): number {
    return this.#totalEvents;
  }

  /** Dropped topics remembered, and the bytes counted for them against maxDroppedTopicBytes. */
  get droppedTopics(): { readonly count: number; readonly bytes: number } {
    return { count: this.#dropped.size, bytes: this.#droppedBytes };
  }

  append(event: StoredEvent): void {
    if (event.publisherId) this.#rememberId(event.id, event.seq);
    for (const topic of event.topics) {
      let ring = this.#rings.get(topic);
      if (ring === undefined) {
        // A topic forgotten past the caps may have lost events up to #forgottenEvictedUpTo.
        const evictedUpTo = this.#forget(topic) ?? this.#forgottenEvictedUpTo;
        ring = new MemoryRing(this.#options.maxEvents, evictedUpTo);
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
    return this.#evictFromEvery((ring) => ring.expire(cutoff));
  }

  /**
   * Runs `evict` on every ring, keeps the count of events right, and drops the rings it
   * emptied (remembering what they evicted); returns their topics.
   */
  #evictFromEvery(evict: (ring: MemoryRing) => void): string[] {
    const emptied: string[] = [];
    for (const [topic, ring] of this.#rings) {
      const before = ring.size;
      evict(ring);
      this.#totalEvents -= before - ring.size;
      if (ring.size === 0) {
        this.#remember(topic, ring.evictedUpTo);
        this.#rings.delete(topic);
        emptied.push(topic);
      }
    }
    return emptied;
  }

  /** The seq of the oldest event kept on any topic, or 0 when none is kept. */
  oldestKeptSeq(): number {
    let oldest = 0;
    for (const ring of this.#rings.values()) {
      const first = ring.firstSeq;
      if (first !== 0 && (oldest === 0 || first < oldest)) oldest = first;
    }
    return oldest;
  }

  /**
   * Evicts every kept event with seq <= `seq` (its storage is gone: a durable store's oldest
   * segment left past the byte bound). Readers from before them then get a reset; a topic that
   * kept none of them loses nothing. Returns the topics left with no event, as expire does.
   */
  dropThrough(seq: number): readonly string[] {
    return this.#evictFromEvery((ring) => ring.dropThrough(seq));
  }

  #remember(topic: string, evictedUpTo: number): void {
    this.#forget(topic);
    this.#dropped.set(topic, evictedUpTo);
    this.#droppedBytes += droppedTopicBytes(topic);
    while (
      this.#dropped.size > DROPPED_TOPICS_KEPT ||
      (this.#droppedBytes > this.#maxDroppedBytes && this.#dropped.size > 0)
    ) {
      const [oldest, seq] = this.#dropped.entries().next().value as [string, number];
      this.#forget(oldest);
      if (seq > this.#forgottenEvictedUpTo) this.#forgottenEvictedUpTo = seq;
    }
  }

  /** Forgets a dropped topic; returns what it had evicted, or undefined when not remembered. */
  #forget(topic: string): number | undefined {
    const evictedUpTo = this.#dropped.get(topic);
    if (evictedUpTo !== undefined) {
      this.#dropped.delete(topic);
      this.#droppedBytes -= droppedTopicBytes(topic);
    }
    return evictedUpTo;
  }

  seqOfId(id: string): number | undefined {
    return this.#publisherIds.get(id);
  }

  #rememberId(id: string, seq: number): void {
    // A reused id resumes from its earliest copy still remembered (Mercure draft-08): the client
    // may have seen either copy, and a replay from the first loses nothing (at worst it repeats).
    if (this.#publisherIds.has(id)) return;
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
