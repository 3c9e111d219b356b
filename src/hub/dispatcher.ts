/**
 * Fans events out, once per event-loop turn or a little later under load (DESIGN principles
 * 1-3 and 6).
 *
 * Publishing only queues the event. When the dispatcher flushes, it takes every event queued
 * so far and, per topic, joins their frames into one Buffer (encode once), then hands that
 * same Buffer to every subscriber of the topic: one write per subscriber per flush, whatever
 * the number of events. Cost is O(subscribers of the topics that had events). fan-out.ts does
 * the walk, in slices of `sliceSubscribers` subscribers with the loop served between them, so
 * that a fan-out to 40,000 subscribers does not hold publishes, new subscribers, heartbeats
 * or `/healthz` for its whole length. No flush starts before the previous fan-out ended, so
 * each subscriber still gets its writes in seq order.
 *
 * A subscriber of several topics must still get each event once and in seq order (its
 * Last-Event-ID would skip events otherwise), so such subscribers are collected during the pass
 * and served afterwards: with its topic's Buffer as it is when only one of its topics had events
 * in the flush (the common case), else with the lists of its topics merged by seq, built once
 * per distinct topic set.
 *
 * When a flush happens:
 * - by default at the end of the turn in which the first event was queued (`setImmediate`);
 * - unless the previous fan-out was costly: then write-coalescer.ts holds the next flush for
 *   up to `coalesceMaxMs` after it ended, so the events of several turns leave together. A
 *   quiet hub is never held (the hold has passed when its next event comes);
 * - with a fixed write delay (option writeDelayMs), no earlier than that long after the first
 *   event was queued. Both apply: a flush waits for the later of the two.
 *
 * Priority topics (topic-priority.ts) get a dispatcher of their own, the express lane: it
 * serves the subscribers indexed in EXPRESS_LANE, with no hold and no write delay, and the
 * normal lane's dispatcher, given it as `ahead`, lets it run its due work before each of its
 * own slices. So within a turn, and while the normal lane is saturated, priority events are
 * written first.
 *
 * An event that carries a trace context gets an `ssehub.dispatch` span over the fan-out that
 * delivers it (trace-spans.ts); an untraced flush costs one check of a field that stays
 * undefined.
 * @module
 */
import { activity, PHASE_DISPATCH } from "../diagnostics/activity.js";
import type { StoredEvent } from "../history/history-store.js";
import type { TraceContext } from "../protocol/trace-context.js";
import { FanOut } from "./fan-out.js";
import type { Subscriber } from "./subscriber.js";
import { type Lane, NORMAL_LANE, type TopicIndex } from "./topic-index.js";
import { endSpans, startDispatchSpans, type TracedEvent } from "./trace-spans.js";
import { isTracing } from "./tracing.js";
import { WriteCoalescer } from "./write-coalescer.js";

/** Subscribers served per slice of a fan-out, by default. */
export const DEFAULT_SLICE_SUBSCRIBERS = 1000;

/** Nothing scheduled; a setImmediate pending; else the pending timer. */
const IDLE = 0;
const IMMEDIATE = 1;

/** How the dispatcher paces its writes. */
export interface DispatcherOptions {
  /** How long the first queued event waits for others, in ms; 0: no fixed delay. */
  readonly writeDelayMs?: number;
  /** The longest hold after a costly fan-out, in ms (see write-coalescer.ts); 0: none. */
  readonly coalesceMaxMs?: number;
  /** Subscribers served per slice of a fan-out before the loop gets a turn. */
  readonly sliceSubscribers?: number;
  /** The fewest subscribers a fan-out must serve to hold the next (see write-coalescer.ts). */
  readonly minFanOut?: number;
  /** The share of the hub's subscribers this process serves (see write-coalescer.ts). */
  readonly fanOutShare?: number;
  /** The lane of the index whose subscribers it serves. Default: NORMAL_LANE. */
  readonly lane?: Lane;
  /** A dispatcher whose due work runs before each slice of this one (the express lane). */
  readonly ahead?: Dispatcher;
  /** The clock, in ms (tests inject one). Default: performance.now. */
  readonly now?: () => number;
  /**
   * The CPU time this process has used, in ms, read around each slice to measure what a
   * fan-out cost (tests inject one). CPU time rather than wall time: on a machine shared with
   * other work, a slice preempted halfway would otherwise look costly. Default: process.cpuUsage.
   */
  readonly cpuMs?: () => number;
}

function processCpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

/** Batches published events per flush and delivers them. */
export class Dispatcher {
  readonly #index: TopicIndex<Subscriber>;
  readonly #lane: Lane;
  readonly #ahead: Dispatcher | undefined;
  readonly #patternSubscribers: ReadonlySet<Subscriber>;
  readonly #writeDelayMs: number;
  readonly #sliceSubscribers: number;
  readonly #now: () => number;
  readonly #cpuMs: () => number;
  readonly #coalescer: WriteCoalescer;
  #queued: StoredEvent[] = [];
  /** Clock reading when the first event of `#queued` came. */
  #firstQueuedAt = 0;
  /** The queued events that carry a trace context, when there are any. */
  #traced: TracedEvent[] | undefined;
  #scheduled: NodeJS.Timeout | typeof IDLE | typeof IMMEDIATE = IDLE;
  /** The fan-out under way between slices, if any. */
  #fanOut: FanOut | undefined;
  #fanOutSpans: ReturnType<typeof startDispatchSpans> | undefined;
  /** CPU time of the fan-out under way so far, in ms. */
  #fanOutBusyMs = 0;
  /** Slices of the fan-out under way run so far. */
  #fanOutSlices = 0;
  #tick = 0;
  /** True while a setImmediate that continues the fan-out is pending. */
  #continuePending = false;
  readonly #flushBound = (): void => this.#startFanOut();
  readonly #continueBound = (): void => {
    this.#continuePending = false;
    this.#continueFanOut();
  };

  /**
   * @param patternSubscribers subscribers with topic patterns, kept out of `index`: each flush
   *   they are matched against every event of the flush
   */
  constructor(
    index: TopicIndex<Subscriber>,
    patternSubscribers: ReadonlySet<Subscriber>,
    options: DispatcherOptions = {},
  ) {
    this.#index = index;
    this.#lane = options.lane ?? NORMAL_LANE;
    this.#ahead = options.ahead;
    this.#patternSubscribers = patternSubscribers;
    this.#writeDelayMs = options.writeDelayMs ?? 0;
    this.#sliceSubscribers = options.sliceSubscribers ?? DEFAULT_SLICE_SUBSCRIBERS;
    this.#now = options.now ?? performance.now.bind(performance);
    this.#cpuMs = options.cpuMs ?? processCpuMs;
    this.#coalescer = new WriteCoalescer(
      options.coalesceMaxMs ?? 0,
      options.minFanOut,
      options.fanOutShare,
    );
  }

  /** True while a fan-out is under way between slices. */
  get isFanningOut(): boolean {
    return this.#fanOut !== undefined;
  }

  /**
   * Queues `event` for delivery at the end of this event-loop turn (or later, see the module
   * comment).
   * @param trace the trace context the event carries, if any: its fan-out gets a span
   */
  enqueue(event: StoredEvent, trace?: TraceContext): void {
    if (this.#queued.length === 0) this.#firstQueuedAt = this.#now();
    this.#queued.push(event);
    if (trace !== undefined) {
      if (this.#traced === undefined) this.#traced = [{ event, trace }];
      else this.#traced.push({ event, trace });
    }
    if (this.#scheduled === IDLE && this.#fanOut === undefined) this.#schedule();
  }

  /**
   * Delivers everything queued now, in this turn: the rest of a fan-out under way, then the
   * queued events. The hub calls it on close and when its bus starts over.
   */
  flush(): void {
    this.#cancelSchedule();
    if (this.#fanOut !== undefined) {
      this.#runSlice(Number.MAX_SAFE_INTEGER);
      this.#cancelSchedule();
    }
    if (this.#queued.length === 0) return;
    this.#begin();
    this.#runSlice(Number.MAX_SAFE_INTEGER);
  }

  /**
   * Runs one slice of what is due now, if anything: the fan-out under way, or the queued
   * events when their flush is due this turn. Called by the dispatcher behind this one before
   * each of its slices; the setImmediate this one scheduled then finds less, or nothing, to do.
   */
  runDue(): void {
    if (this.#fanOut !== undefined) this.#runSlice(this.#sliceSubscribers);
    else if (this.#scheduled === IMMEDIATE) this.#startFanOut();
  }

  /** Schedules the next flush: now-ish, or when the hold or the write delay is over. */
  #schedule(): void {
    const now = this.#now();
    let wait = this.#coalescer.holdUntil - now;
    if (this.#writeDelayMs > 0)
      wait = Math.max(wait, this.#firstQueuedAt + this.#writeDelayMs - now);
    if (wait <= 0) {
      this.#scheduled = IMMEDIATE;
      setImmediate(this.#flushBound);
    } else {
      this.#scheduled = setTimeout(this.#flushBound, Math.ceil(wait));
    }
  }

  #cancelSchedule(): void {
    if (typeof this.#scheduled === "object") clearTimeout(this.#scheduled);
    this.#scheduled = IDLE;
  }

  /** Runs when the scheduled flush is due (a stale setImmediate after flush() finds nothing). */
  #startFanOut(): void {
    if (this.#scheduled === IDLE || this.#fanOut !== undefined) return;
    this.#cancelSchedule();
    if (this.#queued.length === 0) return;
    this.#ahead?.runDue();
    this.#begin();
    this.#runSlice(this.#sliceSubscribers);
  }

  #continueFanOut(): void {
    if (this.#fanOut === undefined) return;
    this.#ahead?.runDue();
    this.#runSlice(this.#sliceSubscribers);
  }

  /** Takes the queued events into a new fan-out. */
  #begin(): void {
    const events = this.#queued;
    this.#queued = [];
    const traced = this.#traced;
    this.#traced = undefined;
    this.#fanOut = new FanOut(
      events,
      ++this.#tick,
      this.#index,
      this.#lane,
      this.#patternSubscribers,
    );
    this.#fanOutBusyMs = 0;
    this.#fanOutSlices = 0;
    this.#fanOutSpans =
      traced !== undefined && isTracing()
        ? startDispatchSpans(traced, (event) => this.#subscriberCountOf(event))
        : undefined;
  }

  /** One slice of the fan-out under way; ends it, or schedules the next slice. */
  #runSlice(budget: number): void {
    const fanOut = this.#fanOut!;
    const started = this.#cpuMs();
    // Timed for the stall watcher: a few field writes per slice, none per event or subscriber.
    activity.begin(PHASE_DISPATCH, "", fanOut.events.length);
    let done: boolean;
    try {
      // Sampled in the first slice: a stall report of a later one may be read (and the hot
      // topics with it) before the fan-out ends.
      if (this.#fanOutSlices++ === 0 && activity.wantsTopicSample) {
        activity.sampleTopics(fanOut.byTopic);
      }
      done = fanOut.run(budget);
    } finally {
      activity.end();
    }
    this.#fanOutBusyMs += this.#cpuMs() - started;
    if (!done) {
      if (!this.#continuePending) {
        this.#continuePending = true;
        setImmediate(this.#continueBound);
      }
      return;
    }
    this.#fanOut = undefined;
    if (this.#fanOutSpans !== undefined) endSpans(this.#fanOutSpans);
    this.#fanOutSpans = undefined;
    this.#coalescer.fanOutEnded(this.#fanOutBusyMs, fanOut.visits, this.#now());
    if (this.#queued.length > 0 && this.#scheduled === IDLE) this.#schedule();
  }

  /**
   * The subscribers the fan-out hands `event` to: those of its topics (one of several of them
   * counted once per topic) and those whose patterns match it. For traced events only.
   */
  #subscriberCountOf(event: StoredEvent): number {
    let count = 0;
    for (const topic of event.topics) {
      count += this.#index.subscribersOf(topic, this.#lane)?.size ?? 0;
    }
    for (const subscriber of this.#patternSubscribers) {
      if (subscriber.wants(event.topics)) count++;
    }
    return count;
  }
}
