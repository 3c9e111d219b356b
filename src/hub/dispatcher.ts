/**
 * Fans events out, once per event-loop turn (DESIGN principles 1-3).
 *
 * Publishing only queues the event. On the next `setImmediate` the dispatcher takes every event
 * queued in the turn and, per topic, joins their frames into one Buffer (encode once), then hands
 * that same Buffer to every subscriber of the topic: one write per subscriber per turn, whatever
 * the number of events. Cost is O(subscribers of the topics that had events).
 *
 * A subscriber of several topics must still get each event once and in seq order (its
 * Last-Event-ID would skip events otherwise), so such subscribers are collected during the pass
 * and served afterwards: with its topic's Buffer as it is when only one of its topics had events
 * in the turn (the common case), else with the lists of its topics merged by seq, built once per
 * distinct topic set.
 *
 * With a write delay (option writeDelayMs), the first event queued starts a timer instead, and
 * the events of every turn until it fires leave together: fewer writes per subscriber when
 * events come faster than the delay, for at most that much more latency.
 *
 * An event that carries a trace context gets an `ssehub.dispatch` span over the turn that fans
 * it out (trace-spans.ts); an untraced turn costs one check of a field that stays undefined.
 * @module
 */
import { activity, PHASE_DISPATCH } from "../diagnostics/activity.js";
import { mergeBySeq, type StoredEvent } from "../history/history-store.js";
import type { TraceContext } from "../protocol/trace-context.js";
import { type Batch, batchOf, type Subscriber } from "./subscriber.js";
import type { TopicIndex } from "./topic-index.js";
import { endSpans, startDispatchSpans, type TracedEvent } from "./trace-spans.js";
import { isTracing } from "./tracing.js";

/** Batches published events per turn and delivers them. */
export class Dispatcher {
  readonly #index: TopicIndex<Subscriber>;
  readonly #patternSubscribers: ReadonlySet<Subscriber>;
  readonly #writeDelayMs: number;
  #queued: StoredEvent[] = [];
  /** The queued events that carry a trace context, when there are any. */
  #traced: TracedEvent[] | undefined;
  /** The pending timer when writeDelayMs > 0, else true while a setImmediate is pending. */
  #scheduled: NodeJS.Timeout | boolean = false;
  #tick = 0;
  readonly #flushBound = (): void => this.flush();

  /**
   * @param patternSubscribers subscribers with topic patterns, kept out of `index`: each turn
   *   they are matched against every event of the turn
   * @param writeDelayMs how long the first queued event waits for others; 0: end of the turn
   */
  constructor(
    index: TopicIndex<Subscriber>,
    patternSubscribers: ReadonlySet<Subscriber>,
    writeDelayMs = 0,
  ) {
    this.#index = index;
    this.#patternSubscribers = patternSubscribers;
    this.#writeDelayMs = writeDelayMs;
  }

  /**
   * Queues `event` for delivery at the end of this event-loop turn (or after the delay).
   * @param trace the trace context the event carries, if any: its fan-out gets a span
   */
  enqueue(event: StoredEvent, trace?: TraceContext): void {
    this.#queued.push(event);
    if (trace !== undefined) {
      if (this.#traced === undefined) this.#traced = [{ event, trace }];
      else this.#traced.push({ event, trace });
    }
    if (this.#scheduled === false) {
      if (this.#writeDelayMs === 0) {
        this.#scheduled = true;
        setImmediate(this.#flushBound);
      } else {
        this.#scheduled = setTimeout(this.#flushBound, this.#writeDelayMs);
      }
    }
  }

  /** Delivers everything queued now. Runs by itself; the hub calls it on close. */
  flush(): void {
    if (typeof this.#scheduled === "object") clearTimeout(this.#scheduled);
    this.#scheduled = false;
    const events = this.#queued;
    if (events.length === 0) return;
    this.#queued = [];
    const traced = this.#traced;
    this.#traced = undefined;
    const spans =
      traced !== undefined && isTracing()
        ? startDispatchSpans(traced, (event) => this.#subscriberCountOf(event))
        : undefined;
    // Timed for the stall watcher: a few field writes per turn, none per event or subscriber.
    activity.begin(PHASE_DISPATCH, "", events.length);
    try {
      this.#deliver(events);
    } finally {
      activity.end();
    }
    if (spans !== undefined) endSpans(spans);
  }

  #deliver(events: StoredEvent[]): void {
    const tick = ++this.#tick;
    const index = this.#index;

    const byTopic = new Map<string, StoredEvent[]>();
    for (const event of events) {
      for (const topic of event.topics) {
        if (index.subscribersOf(topic) === undefined) continue;
        const list = byTopic.get(topic);
        if (list === undefined) byTopic.set(topic, [event]);
        else list.push(event);
      }
    }

    let several: Subscriber[] | undefined;
    for (const [topic, list] of byTopic) {
      const subscribers = index.subscribersOf(topic);
      if (subscribers === undefined) continue;
      const batch = batchOf(list);
      activity.fanOut(topic, subscribers.size, batch.bytes.length);
      for (const subscriber of subscribers) {
        if (subscriber.topicSet === undefined) {
          subscriber.deliver(batch);
        } else if (subscriber.lastTick !== tick) {
          subscriber.lastTick = tick;
          subscriber.tickBatch = batch;
          subscriber.tickBatchCount = 1;
          if (several === undefined) several = [subscriber];
          else several.push(subscriber);
        } else {
          subscriber.tickBatchCount++;
        }
      }
    }
    if (several !== undefined) deliverToSeveral(several, byTopic);
    if (this.#patternSubscribers.size > 0) deliverToPatterns(this.#patternSubscribers, events);
    if (activity.wantsTopicSample) activity.sampleTopics(byTopic);
  }

  /**
   * The subscribers the fan-out hands `event` to: those of its topics (one of several of them
   * counted once per topic) and those whose patterns match it. For traced events only.
   */
  #subscriberCountOf(event: StoredEvent): number {
    let count = 0;
    for (const topic of event.topics) count += this.#index.subscribersOf(topic)?.size ?? 0;
    for (const subscriber of this.#patternSubscribers) {
      if (subscriber.wants(event.topics)) count++;
    }
    return count;
  }
}

/**
 * Serves subscribers with topic patterns: the events of the turn (in seq order) whose topics
 * they want, each once; subscribers with the same topics and patterns share one batch. Cost:
 * O(pattern subscribers x events of the turn), so patterns suit fewer subscribers than exact
 * topics do.
 */
function deliverToPatterns(
  subscribers: ReadonlySet<Subscriber>,
  events: readonly StoredEvent[],
): void {
  const shared = new Map<string, Batch | null>();
  for (const subscriber of subscribers) {
    let batch = shared.get(subscriber.patternKey);
    if (batch === undefined) {
      const wanted = events.filter((event) => subscriber.wants(event.topics));
      batch = wanted.length === 0 ? null : batchOf(wanted);
      shared.set(subscriber.patternKey, batch);
    }
    if (batch !== null) subscriber.deliver(batch);
  }
}

/** Serves subscribers of several topics (see the module comment). */
function deliverToSeveral(
  subscribers: readonly Subscriber[],
  byTopic: ReadonlyMap<string, StoredEvent[]>,
): void {
  let merged: Map<string, Batch> | undefined;
  for (const subscriber of subscribers) {
    const only = subscriber.tickBatch!;
    subscriber.tickBatch = undefined;
    if (subscriber.tickBatchCount === 1) {
      subscriber.deliver(only);
      continue;
    }
    merged ??= new Map();
    let batch = merged.get(subscriber.topicSetKey);
    if (batch === undefined) {
      const lists: StoredEvent[][] = [];
      for (const topic of subscriber.topics) {
        const list = byTopic.get(topic);
        if (list !== undefined) lists.push(list);
      }
      batch = batchOf(mergeBySeq(lists));
      merged.set(subscriber.topicSetKey, batch);
    }
    subscriber.deliver(batch);
  }
}
