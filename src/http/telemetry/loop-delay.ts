/**
 * The event loop's real delay and utilisation, read at scrape time.
 *
 * `monitorEventLoopDelay` arms a timer every `resolution` ms and records how long each one
 * took to fire: the resolution itself plus the delay. An idle loop thus reads ~20 ms at a 20 ms
 * resolution. The real delay is the recorded figure minus the resolution, clamped at 0 (a timer
 * that fires a hair early would otherwise read negative).
 * @module
 */
import { type EventLoopUtilization, monitorEventLoopDelay, performance } from "node:perf_hooks";

/** Resolution of the event-loop delay sampler, in ms. */
export const EVENT_LOOP_RESOLUTION_MS = 20;
const NS_PER_MS = 1e6;
const NS_PER_SECOND = 1e9;
/** Quantiles of the event-loop delay exposed; 1 is the maximum. */
export const LOOP_DELAY_QUANTILES = [0.5, 0.9, 0.99, 1] as const;

/** What is read of a delay histogram (node:perf_hooks' IntervalHistogram has it all). */
export interface DelayHistogram {
  readonly count: number;
  /** Largest sample, in ns. */
  readonly max: number;
  /** The sample at `percentile` (0-100), in ns. */
  percentile(percentile: number): number;
}

/**
 * The real delay at `quantile` (1 is the maximum) of `histogram`, in seconds: the recorded
 * figure minus `resolutionMs`, never below 0; 0 when nothing was recorded.
 */
export function realLoopDelaySeconds(
  histogram: DelayHistogram,
  quantile: number,
  resolutionMs: number = EVENT_LOOP_RESOLUTION_MS,
): number {
  if (histogram.count === 0) return 0;
  const recorded = quantile >= 1 ? histogram.max : histogram.percentile(quantile * 100);
  return Math.max(0, recorded - resolutionMs * NS_PER_MS) / NS_PER_SECOND;
}

/** The event loop of this process, sampled from the first read on. */
export class LoopSampler {
  #histogram: ReturnType<typeof monitorEventLoopDelay> | undefined;
  #utilization: EventLoopUtilization | undefined;
  #isClosed = false;

  /**
   * The real delay by quantile since the previous call, then starts a new interval. The first
   * call starts the sampler (a server never scraped pays nothing) and answers zeros.
   */
  takeDelays(): readonly (readonly [quantile: number, seconds: number])[] {
    const histogram = this.#start();
    const delays = LOOP_DELAY_QUANTILES.map(
      (quantile) =>
        [
          quantile,
          histogram === undefined ? 0 : realLoopDelaySeconds(histogram, quantile),
        ] as const,
    );
    histogram?.reset();
    return delays;
  }

  /**
   * Share of the time the loop was busy since the previous call (0 to 1); since the process
   * started on the first call.
   */
  takeUtilization(): number {
    const now = performance.eventLoopUtilization();
    const since = this.#utilization;
    this.#utilization = now;
    return (since === undefined ? now : performance.eventLoopUtilization(now, since)).utilization;
  }

  /** Stops the sampler. */
  close(): void {
    this.#isClosed = true;
    this.#histogram?.disable();
    this.#histogram = undefined;
  }

  #start(): ReturnType<typeof monitorEventLoopDelay> | undefined {
    if (this.#histogram === undefined && !this.#isClosed) {
      this.#histogram = monitorEventLoopDelay({ resolution: EVENT_LOOP_RESOLUTION_MS });
      this.#histogram.enable();
    }
    return this.#histogram;
  }
}
