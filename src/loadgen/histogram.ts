/**
 * A mergeable latency histogram in the manner of HdrHistogram: log-linear buckets over
 * non-negative integers (microseconds here), a fixed layout, so that the histograms of several
 * processes add up bucket by bucket.
 *
 * Layout, with P = 7 precision bits (128 sub-buckets per doubling):
 * ```
 * value        0 1 2 ... 255 | 256..511 (step 2) | 512..1023 (step 4) | ... | 2^40..2^41-1
 * index        0 1 2 ... 255 | 256 ... 383       | 384 ... 511        | ... | last 128
 * ```
 * Values below 256 have a bucket each; above, each power of two [2^m, 2^(m+1)) splits into 128
 * equal buckets of width 2^(m-7). A bucket's width is at most 1/128 of its lower bound, so every
 * reported percentile is within 0.8% of the true value (and never below it: a percentile reports
 * the upper bound of its bucket, capped by the largest value recorded).
 * @module
 */

/** Precision bits: 2^P sub-buckets per doubling. */
const PRECISION_BITS = 7;
const SUB_BUCKETS = 1 << PRECISION_BITS; // 128
/** Values below this have a bucket each. */
const LINEAR_LIMIT = SUB_BUCKETS * 2; // 256
/** log2(LINEAR_LIMIT): the first exponent of the logarithmic part. */
const FIRST_EXPONENT = PRECISION_BITS + 1; // 8
/** The last exponent tracked: values of 2^41 and more land in the last bucket (~25 days in µs). */
const LAST_EXPONENT = 40;
/** Buckets in every histogram. */
const BUCKET_COUNT = LINEAR_LIMIT + (LAST_EXPONENT - FIRST_EXPONENT + 1) * SUB_BUCKETS;
const TWO_POW_32 = 2 ** 32;

/** The bucket of a non-negative integer. */
function indexOf(value: number): number {
  if (value < LINEAR_LIMIT) return value;
  const exponent = value < TWO_POW_32 ? 31 - Math.clz32(value) : Math.floor(Math.log2(value));
  if (exponent > LAST_EXPONENT) return BUCKET_COUNT - 1;
  const shift = exponent - PRECISION_BITS;
  const sub = value < TWO_POW_32 ? value >>> shift : Math.floor(value / 2 ** shift);
  return LINEAR_LIMIT + (exponent - FIRST_EXPONENT) * SUB_BUCKETS + (sub - SUB_BUCKETS);
}

/** The largest value that lands in bucket `index`. */
function upperBoundOf(index: number): number {
  if (index < LINEAR_LIMIT) return index;
  const offset = index - LINEAR_LIMIT;
  const exponent = Math.floor(offset / SUB_BUCKETS) + FIRST_EXPONENT;
  const sub = (offset % SUB_BUCKETS) + SUB_BUCKETS;
  return (sub + 1) * 2 ** (exponent - PRECISION_BITS) - 1;
}

/**
 * The wire form of a histogram, for IPC and JSON: only the buckets in use, as flat
 * `[index, count, index, count, ...]` pairs.
 */
export interface HistogramSnapshot {
  readonly buckets: readonly number[];
  readonly count: number;
  readonly min: number;
  readonly max: number;
  readonly sum: number;
}

/**
 * Counts non-negative integer values (microseconds, by convention) in log-linear buckets.
 * Recording is O(1) and allocation-free; `merge()` adds another histogram (from any process,
 * through `toJSON()` and `Histogram.from()`).
 *
 * @example
 * ```ts
 * const h = new Histogram();
 * h.record(1250);
 * h.merge(Histogram.from(otherProcessSnapshot));
 * h.percentile(99); // µs
 * ```
 */
export class Histogram {
  readonly #counts = new Float64Array(BUCKET_COUNT);
  #count = 0;
  #min = Number.POSITIVE_INFINITY;
  #max = 0;
  #sum = 0;

  /** A histogram from the snapshot of another (`toJSON()`), for instance from a child process. */
  static from(snapshot: HistogramSnapshot): Histogram {
    const histogram = new Histogram();
    histogram.mergeSnapshot(snapshot);
    return histogram;
  }

  /** How many values were recorded. */
  get count(): number {
    return this.#count;
  }

  /** The smallest value recorded, exact; 0 when empty. */
  get min(): number {
    return this.#count === 0 ? 0 : this.#min;
  }

  /** The largest value recorded, exact; 0 when empty. */
  get max(): number {
    return this.#max;
  }

  /** The mean of the values recorded, exact; 0 when empty. */
  get mean(): number {
    return this.#count === 0 ? 0 : this.#sum / this.#count;
  }

  /**
   * Records `value` (rounded down to an integer; negative values count as 0), `times` times.
   */
  record(value: number, times = 1): void {
    const v = value > 0 ? Math.floor(value) : 0;
    this.#counts[indexOf(v)]! += times;
    this.#count += times;
    this.#sum += v * times;
    if (v < this.#min) this.#min = v;
    if (v > this.#max) this.#max = v;
  }

  /**
   * The value below or at which `percent` % of the values lie, as the upper bound of its bucket
   * (within 1/128 above the true value), capped by the largest value recorded. 0 when empty.
   * @param percent 0 to 100
   */
  percentile(percent: number): number {
    if (this.#count === 0) return 0;
    const p = Math.min(100, Math.max(0, percent));
    const rank = Math.max(1, Math.ceil((p / 100) * this.#count));
    let seen = 0;
    for (let index = 0; index < BUCKET_COUNT; index++) {
      seen += this.#counts[index]!;
      if (seen >= rank) return Math.max(this.min, Math.min(upperBoundOf(index), this.#max));
    }
    return this.#max;
  }

  /** Adds every value of `other` to this histogram. */
  merge(other: Histogram): void {
    this.mergeSnapshot(other.toJSON());
  }

  /** Adds every value of a snapshot (`toJSON()` of a histogram, maybe of another process). */
  mergeSnapshot(snapshot: HistogramSnapshot): void {
    const { buckets } = snapshot;
    for (let i = 0; i + 1 < buckets.length; i += 2) {
      const index = buckets[i]!;
      if (index >= 0 && index < BUCKET_COUNT) this.#counts[index]! += buckets[i + 1]!;
    }
    if (snapshot.count === 0) return;
    this.#count += snapshot.count;
    this.#sum += snapshot.sum;
    if (snapshot.min < this.#min) this.#min = snapshot.min;
    if (snapshot.max > this.#max) this.#max = snapshot.max;
  }

  /** Forgets every value. */
  reset(): void {
    this.#counts.fill(0);
    this.#count = 0;
    this.#min = Number.POSITIVE_INFINITY;
    this.#max = 0;
    this.#sum = 0;
  }

  /** The snapshot of this histogram: the buckets in use and the exact count, min, max, sum. */
  toJSON(): HistogramSnapshot {
    const buckets: number[] = [];
    for (let index = 0; index < BUCKET_COUNT; index++) {
      const count = this.#counts[index]!;
      if (count !== 0) buckets.push(index, count);
    }
    return { buckets, count: this.#count, min: this.min, max: this.#max, sum: this.#sum };
  }
}
