/**
 * Adaptive write coalescing: when the last fan-out was costly, the next events wait a little
 * so that they leave together, in fewer and larger writes (DESIGN principle 2).
 *
 * Fan-out costs about one write system call per subscriber, whatever the number of events
 * in the write. A hub that writes every event-loop turn writes one event per write at
 * moderate rates, and at 1,000 subscribers x 100 events/s that is a core's worth of writes.
 * The signal used here is the measured busy time of the previous fan-out (the sum of its
 * slices, not the wall time across them): it is the cost that coalescing saves, it is known
 * without guessing a per-write cost, and it is zero on a quiet hub.
 *
 * After a fan-out that kept the loop busy `busyMs` (at least MIN_BUSY_MS), the next one starts
 * no earlier than HOLD_FACTOR x busyMs after its end, capped at `maxHoldMs`. So:
 * - a quiet hub adds nothing: an event that comes after the hold has passed (the common case
 *   when events are rarer than fan-outs are long) goes out in the same turn, as it always did;
 * - under load, fan-out takes at most about 1 / (1 + HOLD_FACTOR) of the loop while the hold
 *   is below its cap, events gather meanwhile, and the cost per delivery falls with the
 *   number of events per write;
 * - the latency it adds is at most `maxHoldMs`, and only to events that follow a costly
 *   fan-out closely.
 * The clock is injected, so tests drive it.
 * @module
 */

/** A fan-out shorter than this, in ms, holds nothing back: there is little to save. */
export const MIN_BUSY_MS = 1;

/** The hold after a fan-out, as a multiple of its busy time. */
export const HOLD_FACTOR = 2;

/** When the next fan-out may start, from the cost of the previous one. */
export class WriteCoalescer {
  readonly #maxHoldMs: number;
  #holdUntil = Number.NEGATIVE_INFINITY;

  /** @param maxHoldMs the longest hold, in ms; 0 turns coalescing off */
  constructor(maxHoldMs: number) {
    this.#maxHoldMs = maxHoldMs;
  }

  /** The clock reading before which the next fan-out should not start (-Infinity: none). */
  get holdUntil(): number {
    return this.#holdUntil;
  }

  /** How long the next fan-out is held after the one that just ended, in ms. */
  holdAfter(busyMs: number): number {
    if (this.#maxHoldMs === 0 || busyMs < MIN_BUSY_MS) return 0;
    return Math.min(this.#maxHoldMs, HOLD_FACTOR * busyMs);
  }

  /** A fan-out ended at `endedAt` (clock ms) after keeping the loop busy `busyMs`. */
  fanOutEnded(busyMs: number, endedAt: number): void {
    const hold = this.holdAfter(busyMs);
    this.#holdUntil = hold === 0 ? Number.NEGATIVE_INFINITY : endedAt + hold;
  }
}
