/**
 * The default history store: a MemoryRing per topic, in this process's memory.
 * @module
 */
import type { HistoryRead, HistoryStore, StoredEvent, TopicHistoryInfo } from "./history-store.js";
import { MemoryRing } from "./memory-ring.js";

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
   * The highest seq evicted from a ring that was since dropped. A reader asking for a topic
   * with no ring cannot tell whether that topic lost events after its seq, so it is told it
   * may have (a reset) whenever this watermark is above its seq: loss is never silent.
   */
  #droppedEvictedUpTo = 0;

  constructor(options: MemoryHistoryOptions) {
    this.#options = options;
  }

  get totalEvents(): number {
    return this.#totalEvents;
  }

  append(event: StoredEvent): void {
    for (const topic of event.topics) {
      let ring = this.#rings.get(topic);
      if (ring === undefined) {
        ring = new MemoryRing(this.#options.maxEvents);
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
        if (this.#droppedEvictedUpTo > afterSeq) complete = false;
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
        if (ring.evictedUpTo > this.#droppedEvictedUpTo) {
          this.#droppedEvictedUpTo = ring.evictedUpTo;
        }
        this.#rings.delete(topic);
        emptied.push(topic);
      }
    }
    return emptied;
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

/**
 * Merges seq-ordered lists into one seq-ordered list, keeping an event that appears in several
 * lists (published to several topics) once.
 */
export function mergeBySeq(lists: readonly (readonly StoredEvent[])[]): StoredEvent[] {
  if (lists.length === 0) return [];
  if (lists.length === 1) return [...lists[0]!];
  const merged: StoredEvent[] = [];
  for (const list of lists) for (const event of list) merged.push(event);
  merged.sort((a, b) => a.seq - b.seq);
  let kept = 0;
  for (let i = 0; i < merged.length; i++) {
    if (kept === 0 || merged[kept - 1]!.seq !== merged[i]!.seq) merged[kept++] = merged[i]!;
  }
  merged.length = kept;
  return merged;
}
