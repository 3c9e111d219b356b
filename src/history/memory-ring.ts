/**
 * The events kept for one topic, oldest first, bounded by count; age is trimmed from the front.
 *
 *   #items:  [ evicted... | e(start) e(start+1) ... e(length-1) ]
 *                           ^ #start: first kept event
 *
 * Appending pushes at the end; evicting moves #start forward. The dead prefix is cut off once it
 * is longer than the live part, so memory stays within twice the limit and each operation is
 * amortized O(1). Events are in increasing seq order, so lookups by seq are binary searches.
 * @module
 */
import type { StoredEvent } from "./history-store.js";

/** A bounded, seq-ordered list of one topic's events. */
export class MemoryRing {
  readonly #maxEvents: number;
  #items: StoredEvent[] = [];
  #start = 0;
  #evictedUpTo = 0;
  #lastSeq = 0;

  /**
   * @param evictedUpTo what an earlier ring of the same topic evicted (a topic that comes back
   *   after its history was dropped), so readers from before it still learn of the loss
   */
  constructor(maxEvents: number, evictedUpTo = 0) {
    this.#maxEvents = maxEvents;
    this.#evictedUpTo = evictedUpTo;
    this.#lastSeq = evictedUpTo;
  }

  /** Events kept. */
  get size(): number {
    return this.#items.length - this.#start;
  }

  /** Seq of the newest event ever appended (kept or not), 0 before the first. */
  get lastSeq(): number {
    return this.#lastSeq;
  }

  /** Seq of the oldest kept event, 0 when none is kept. */
  get firstSeq(): number {
    return this.#items[this.#start]?.seq ?? 0;
  }

  /** The highest seq that was evicted: a reader after a lower seq has missed events. */
  get evictedUpTo(): number {
    return this.#evictedUpTo;
  }

  /** Adds the newest event; evicts the oldest past the count limit. */
  append(event: StoredEvent): void {
    this.#lastSeq = event.seq;
    if (this.#maxEvents === 0) {
      this.#evictedUpTo = event.seq;
      return;
    }
    this.#items.push(event);
    if (this.size > this.#maxEvents) this.#evictFront(1);
  }

  /** Evicts events published before `cutoff` (ms since the Unix epoch). */
  expire(cutoff: number): void {
    let count = 0;
    const items = this.#items;
    for (let i = this.#start; i < items.length && items[i]!.publishedAt < cutoff; i++) count++;
    if (count > 0) this.#evictFront(count);
  }

  /** Evicts the kept events with seq <= `seq` (their storage is gone). */
  dropThrough(seq: number): void {
    const count = this.#indexAfter(seq) - this.#start;
    if (count > 0) this.#evictFront(count);
  }

  /** Index of the first kept event with seq > `afterSeq` (items.length when none). */
  #indexAfter(afterSeq: number): number {
    const items = this.#items;
    let low = this.#start;
    let high = items.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (items[mid]!.seq <= afterSeq) low = mid + 1;
      else high = mid;
    }
    return low;
  }

  /** Kept events with seq > `afterSeq`, oldest first (a copy). */
  after(afterSeq: number): StoredEvent[] {
    return this.#items.slice(this.#indexAfter(afterSeq));
  }

  #evictFront(count: number): void {
    this.#start += count;
    this.#evictedUpTo = this.#items[this.#start - 1]!.seq;
    if (this.#start === this.#items.length) {
      this.#items = [];
      this.#start = 0;
    } else if (this.#start > 32 && this.#start * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#start);
      this.#start = 0;
    }
  }
}
