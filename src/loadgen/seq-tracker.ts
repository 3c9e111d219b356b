/**
 * Per-subscriber accounting of sequence numbers: which events of its streams arrived, late or
 * twice, and which never did.
 *
 * Per stream it keeps the highest sequence number seen and the set of holes below it (numbers
 * skipped when a later one arrived). An arrival at `max + 1` is the cheap, common case; one
 * above opens holes; one at or below `max` fills a hole (reordered) or is a duplicate.
 * ```
 * base=0   1 2 3 . . 6        max=6, holes {4,5}
 *          then 5 arrives      reordered=1, holes {4}
 *          then 3 arrives      duplicated=1
 * at the end, final=7          lost = |holes| + (final - max) = 1 + 1 = 2
 * ```
 * The missing numbers of publishes the server refused (non-2xx, connection closed) are told
 * apart by `missing()`: the publisher was told those failed, so they are not lost.
 * @module
 */

/** Holes kept per stream; beyond, missing events are counted lost at once and not tracked. */
const MAX_HOLES = 65_536;

/** A publisher's stream and one of its sequence numbers: the identity of one published event. */
export type StreamSeq = readonly [stream: number, seq: number];

/** The owed deliveries never received, and the refused ones received, as SeqTracker.missing(). */
export interface MissingCounts {
  /** Owed, never received, of publishes not refused. */
  readonly lost: number;
  /** Never received, of publishes refused. */
  readonly refusedNotDelivered: number;
  /** Received although their publish was refused. */
  readonly refusedDelivered: number;
}

/** Sequence accounting of one subscriber over a fixed number of streams. */
export class SeqTracker {
  readonly #max: Float64Array;
  /** The last number before the count started, per stream. */
  readonly #base: Float64Array;
  readonly #holes: (Set<number> | undefined)[];
  /** Events received, duplicates included. */
  received = 0;
  duplicated = 0;
  reordered = 0;
  /** Holes not tracked because a stream had too many. */
  #untracked = 0;

  /** @param streams how many streams the subscriber follows */
  constructor(streams: number) {
    this.#max = new Float64Array(streams);
    this.#base = new Float64Array(streams);
    this.#holes = new Array<Set<number> | undefined>(streams).fill(undefined);
  }

  /** Streams followed. */
  get streams(): number {
    return this.#max.length;
  }

  /** The highest sequence number seen on the stream at `slot`. */
  maxOf(slot: number): number {
    return this.#max[slot] ?? 0;
  }

  /**
   * Starts counting afresh: every stream expects `base(slot) + 1` next. Holes and counters are
   * forgotten.
   */
  reset(base: (slot: number) => number): void {
    for (let slot = 0; slot < this.#max.length; slot++) {
      this.#max[slot] = base(slot);
      this.#base[slot] = this.#max[slot]!;
      this.#holes[slot] = undefined;
    }
    this.received = 0;
    this.duplicated = 0;
    this.reordered = 0;
    this.#untracked = 0;
  }

  /** Records the arrival of `seq` on the stream at `slot`. */
  record(slot: number, seq: number): void {
    this.received++;
    const max = this.#max[slot]!;
    if (seq === max + 1) {
      this.#max[slot] = seq;
      return;
    }
    if (seq > max) {
      let holes = this.#holes[slot];
      if (holes === undefined) {
        holes = new Set();
        this.#holes[slot] = holes;
      }
      for (let missing = max + 1; missing < seq; missing++) {
        if (holes.size < MAX_HOLES) holes.add(missing);
        else this.#untracked++;
      }
      this.#max[slot] = seq;
      return;
    }
    if (this.#holes[slot]?.delete(seq) === true) this.reordered++;
    else this.duplicated++;
  }

  /**
   * Deliveries still owed: the holes, and every number after the highest seen up to the last
   * one published on each stream.
   * @param final the last sequence number published on the stream at `slot`
   */
  lost(final: (slot: number) => number): number {
    let lost = this.#untracked;
    for (let slot = 0; slot < this.#max.length; slot++) {
      lost += (this.#holes[slot]?.size ?? 0) + Math.max(0, final(slot) - this.#max[slot]!);
    }
    return lost;
  }

  /**
   * The deliveries owed and never received, split by whether the publish of the event was
   * acknowledged: `lost` (2xx, or not refused) and `refusedNotDelivered`; and the refused
   * events that arrived anyway (`refusedDelivered`: a refused publish the server applied).
   * `lost + refusedNotDelivered` equals `lost(final)`. A refused number hidden among the holes
   * not tracked (beyond MAX_HOLES) counts as delivered: the tracker no longer knows.
   * @param final the last sequence number published on the stream at `slot`
   * @param refused the numbers of refused publishes on the stream at `slot`, if any
   */
  missing(
    final: (slot: number) => number,
    refused: (slot: number) => Iterable<number> | undefined,
  ): MissingCounts {
    let refusedNotDelivered = 0;
    let refusedDelivered = 0;
    for (let slot = 0; slot < this.#max.length; slot++) {
      const seqs = refused(slot);
      if (seqs === undefined) continue;
      const base = this.#base[slot]!;
      const max = this.#max[slot]!;
      const last = final(slot);
      const holes = this.#holes[slot];
      for (const seq of seqs) {
        if (seq <= base || seq > last) continue;
        if (seq > max || holes?.has(seq) === true) refusedNotDelivered++;
        else refusedDelivered++;
      }
    }
    return { lost: this.lost(final) - refusedNotDelivered, refusedNotDelivered, refusedDelivered };
  }

  /**
   * Deliveries owed since the last reset: on each stream, the numbers after its base up to the
   * last one published.
   * @param final the last sequence number published on the stream at `slot`
   */
  expected(final: (slot: number) => number): number {
    let expected = 0;
    for (let slot = 0; slot < this.#base.length; slot++) {
      expected += Math.max(0, final(slot) - this.#base[slot]!);
    }
    return expected;
  }

  /** Distinct events received: received minus duplicates. */
  get unique(): number {
    return this.received - this.duplicated;
  }
}
