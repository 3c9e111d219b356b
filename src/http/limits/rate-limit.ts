/**
 * A token bucket per key (a client address, a token's subject): each key may spend `burst`
 * requests at once and then `perSecond` per second. A bucket is kept as one number, the time
 * at which it will be full again (`fullAt`; the generic cell rate algorithm): a request costs
 * one interval (`1000 / perSecond` ms), and it fits while `fullAt` stays within `burst`
 * intervals of now. Refill is the clock moving on, so there is no timer per key and no
 * rounding that drifts.
 *
 * ```
 *   tokens left = burst - (fullAt - now) / interval
 *   |<------------- burst * interval ------------->|
 *   now ........................ fullAt            now + burst * interval
 *                                ^ a request moves it one interval right, if it still fits
 * ```
 *
 * Memory is bounded two ways. A bucket that is full again (`fullAt <= now`) is the same as no
 * bucket, so it is dropped; and past `maxKeys` the least recently seen key is dropped to make
 * room. The map keeps keys in the order of their last request (each request, refused or not,
 * moves its key to the end), so the sweep walks from the front, the keys seen longest ago, and
 * stops at the first bucket that is not full yet: it costs O(dropped), and every bucket goes
 * at most `burst / perSecond` seconds plus one sweep interval after its key's last request.
 * One unref'd timer runs the sweep, only while some bucket exists.
 * @module
 */
import { SsehubError } from "../../errors.js";

/** Most keys held by default; past it the least recently seen key is forgotten. */
export const DEFAULT_RATE_LIMIT_MAX_KEYS = 100_000;
/** How often full buckets are dropped by default, in ms. */
export const DEFAULT_RATE_LIMIT_SWEEP_MS = 10_000; // 10 seconds

/** Options of a RateLimiter. */
export interface RateLimitOptions {
  /** Tokens added per second, per key; 0 turns the limiter off (every take succeeds). */
  readonly perSecond: number;
  /** Tokens a key holds at most: the requests it may send at once after a quiet time. */
  readonly burst: number;
  /**
   * Most keys held; past it the least recently seen key is forgotten (it starts over with a
   * full bucket, so the error is on the side of letting a request through).
   * @default 100000
   */
  readonly maxKeys?: number | undefined;
  /**
   * How often buckets that have refilled are dropped, in ms.
   * @default 10000
   */
  readonly sweepIntervalMs?: number | undefined;
  /** The clock, in ms; `performance.now` by default. Tests pass their own. */
  readonly now?: (() => number) | undefined;
}

function invalid(name: string, value: unknown, allowed: string): SsehubError {
  return new SsehubError(
    "SSEHUB_ERR_OPTIONS_INVALID",
    `Cannot rate-limit with ${name} ${JSON.stringify(value)}: ${allowed}`,
    { details: { [name]: value } },
  );
}

/**
 * Token buckets per key.
 * @example
 * const limiter = new RateLimiter({ perSecond: 10, burst: 20 });
 * const verdict = limiter.take(address);
 * if (verdict !== true) throw limiter.error(verdict); // 429 with Retry-After: verdict
 */
export class RateLimiter {
  readonly perSecond: number;
  readonly burst: number;
  readonly maxKeys: number;
  readonly sweepIntervalMs: number;
  readonly #now: () => number;
  /** Key -> the time its bucket is full again (ms), in the order of the keys' last take. */
  readonly #buckets = new Map<string, number>();
  /** What one request costs, in ms of refill. */
  readonly #intervalMs: number;
  /** How far ahead of now `fullAt` may be after a request: burst intervals, in ms. */
  readonly #windowMs: number;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: RateLimitOptions) {
    const { perSecond, burst } = options;
    if (typeof perSecond !== "number" || !Number.isFinite(perSecond) || perSecond < 0) {
      throw invalid("perSecond", perSecond, "use a number from 0 (no limit) up");
    }
    if (typeof burst !== "number" || !Number.isFinite(burst) || burst < 1) {
      throw invalid("burst", burst, "use a number from 1 up");
    }
    const maxKeys = options.maxKeys ?? DEFAULT_RATE_LIMIT_MAX_KEYS;
    if (!Number.isSafeInteger(maxKeys) || maxKeys < 1) {
      throw invalid("maxKeys", maxKeys, "use a whole number from 1 up");
    }
    const sweepIntervalMs = options.sweepIntervalMs ?? DEFAULT_RATE_LIMIT_SWEEP_MS;
    if (!Number.isFinite(sweepIntervalMs) || sweepIntervalMs < 1) {
      throw invalid("sweepIntervalMs", sweepIntervalMs, "use a number of ms from 1 up");
    }
    this.perSecond = perSecond;
    this.burst = burst;
    this.maxKeys = maxKeys;
    this.sweepIntervalMs = sweepIntervalMs;
    this.#now = options.now ?? (() => performance.now());
    this.#intervalMs = perSecond === 0 ? 0 : 1000 / perSecond;
    this.#windowMs = burst * this.#intervalMs;
  }

  /** Keys holding a bucket (one that may not be full again yet). */
  get size(): number {
    return this.#buckets.size;
  }

  /** True while the sweep timer runs (some bucket exists). */
  get isSweeping(): boolean {
    return this.#timer !== undefined;
  }

  /**
   * Spends one token of `key`. Answers true when there was one, else the whole seconds until
   * there is one again (at least 1), for `Retry-After`. O(1); a refused take spends nothing.
   */
  take(key: string): true | number {
    if (this.perSecond === 0) return true;
    const now = this.#now();
    const buckets = this.#buckets;
    const fullAt = buckets.get(key);
    if (fullAt === undefined) {
      if (buckets.size >= this.maxKeys) {
        const oldest = buckets.keys().next();
        if (oldest.done !== true) buckets.delete(oldest.value);
      }
      buckets.set(key, now + this.#intervalMs);
      this.#startSweeping();
      return true;
    }
    // Delete and set again: the key moves to the end, the map stays in the order of takes.
    buckets.delete(key);
    const next = Math.max(fullAt, now) + this.#intervalMs;
    const excessMs = next - now - this.#windowMs;
    if (excessMs <= 0) {
      buckets.set(key, next);
      return true;
    }
    buckets.set(key, fullAt);
    return Math.max(1, Math.ceil(excessMs / 1000));
  }

  /**
   * The SSEHUB_ERR_RATE_LIMITED error (429) for a refused take, with
   * `details.retryAfterSeconds` (which becomes `Retry-After`).
   * @param action what was refused, for the message: "publish" by default.
   */
  error(retryAfterSeconds: number, action = "publish"): SsehubError {
    return new SsehubError(
      "SSEHUB_ERR_RATE_LIMITED",
      `Cannot ${action} now: this client sent more than ${this.perSecond} per second (bursts of ${this.burst}); retry after ${retryAfterSeconds} s`,
      { details: { perSecond: this.perSecond, burst: this.burst, retryAfterSeconds } },
    );
  }

  /**
   * Drops buckets that are full again, from the key seen longest ago up to the first one that
   * is not, and answers how many it dropped. The timer calls it; tests may call it directly.
   */
  sweep(): number {
    const buckets = this.#buckets;
    const now = this.#now();
    let dropped = 0;
    for (const [key, fullAt] of buckets) {
      if (fullAt > now) break;
      buckets.delete(key);
      dropped++;
    }
    if (buckets.size === 0) this.#stopSweeping();
    return dropped;
  }

  /** Forgets every key and stops the timer. The limiter stays usable. */
  close(): void {
    this.#buckets.clear();
    this.#stopSweeping();
  }

  #startSweeping(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => this.sweep(), this.sweepIntervalMs);
    // The sweep only frees memory: it must never keep the process alive.
    this.#timer.unref();
  }

  #stopSweeping(): void {
    if (this.#timer === undefined) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
