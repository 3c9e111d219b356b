/**
 * Adaptive write coalescing: when the last fan-out was costly, the next events wait a little
 * so that they leave together, in fewer and larger writes (DESIGN principle 2).
 *
 * Fan-out costs about one write system call per subscriber, whatever the number of events
 * in the write. A hub that writes every event-loop turn writes one event per write at
 * moderate rates, and at 1,000 subscribers x 100 events/s that is a core's worth of writes.
 * The signal used here is the measured busy time of the previous fan-out: the CPU time of
 * its slices (not the wall time across them, which counts the turns between slices and, on a
 * shared machine, the time the process was not running). It is the cost that coalescing
 * saves, it is known without guessing a per-write cost, and it is zero on a quiet hub.
 *
 * After a fan-out that kept the loop busy `busyMs` (at least MIN_BUSY_MS, to at least
 * MIN_FAN_OUT subscribers), the next one starts
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

/**
 * A fan-out to fewer subscribers than this holds nothing back, however long it took: with few
 * writes there is little to save, and a hub with a handful of subscribers keeps the latency
 * of writing every turn whatever else the machine is doing (CPU time counts every thread of
 * the process, a compilation or a collection included).
 */
export const MIN_FAN_OUT = 100;

/** The hold after a fan-out, as a multiple of its busy time. */
export const HOLD_FACTOR = 2;

/** When the next fan-out may start, from the cost of the previous one. */
export class WriteCoalescer {
  readonly #maxHoldMs: number;
  readonly #minFanOut: number;
  readonly #hubScale: number;
  #holdUntil = Number.NEGATIVE_INFINITY;

  /**
   * @param maxHoldMs the longest hold, in ms; 0 turns coalescing off
   * @param minFanOut the fewest subscribers served by a fan-out that may hold the next
   * @param fanOutShare the share of the hub's subscribers this process serves: 1 alone, 1/N
   *   for a worker of `--workers N`. A worker's fan-out covers 1/N of the subscribers and so
   *   costs about 1/N of the whole hub's; its hold is reckoned from the whole hub's cost
   *   (busy / share), so that its writes carry as many events as one process's would and a
   *   delivery costs no more than in one process. Both minimums apply to the whole hub too.
   */
  constructor(maxHoldMs: number, minFanOut = MIN_FAN_OUT, fanOutShare = 1) {
    this.#maxHoldMs = maxHoldMs;
    this.#minFanOut = minFanOut;
    this.#hubScale = 1 / fanOutShare;
  }

  /** The clock reading before which the next fan-out should not start (-Infinity: none). */
  get holdUntil(): number {
    return this.#holdUntil;
  }

  /**
   * How long the next fan-out is held after one that kept the loop busy `busyMs` and served
   * `subscribers`, in ms.
   */
  holdAfter(busyMs: number, subscribers: number): number {
    const hubBusyMs = busyMs * this.#hubScale;
    const hubSubscribers = subscribers * this.#hubScale;
    if (this.#maxHoldMs === 0 || hubBusyMs < MIN_BUSY_MS || hubSubscribers < this.#minFanOut) {
      return 0;
    }
    return Math.min(this.#maxHoldMs, HOLD_FACTOR * hubBusyMs);
  }

  /** A fan-out to `subscribers` ended at `endedAt` (clock ms) after keeping the loop busy `busyMs`. */
  fanOutEnded(busyMs: number, subscribers: number, endedAt: number): void {
    const hold = this.holdAfter(busyMs, subscribers);
    this.#holdUntil = hold === 0 ? Number.NEGATIVE_INFINITY : endedAt + hold;
  }
}
