/**
 * The hub: topics, publish, subscribe with exact resume, stats. It knows nothing of HTTP: a
 * subscriber is a Sink (write bytes, read the backlog, close).
 *
 * Publish path: validate (publish-input.ts) -> the bus gives the id (and tells the other hubs)
 * -> encode once -> history -> dispatcher. Every hub on the bus, this one included, takes the
 * second half from the bus, so all of them hold the same history with the same ids.
 * Subscribe path: validate -> `retry:` hint -> register (live events are held from here) ->
 * resume (resume.ts): replay history after Last-Event-ID up to the seq current at
 * registration, in chunks -> write what was held -> live. Everything up to that seq comes from
 * history, everything after it live, so the seam has neither gap nor duplicate. The types the
 * hub takes and answers are in types.ts.
 * @module
 */
import { EventEmitter } from "node:events";
import type { Bus, BusMetricsSource, BusRestartReason, BusStart } from "../bus/bus.js";
import { claimIdempotency } from "../bus/idempotency.js";
import { LocalBus } from "../bus/local-bus.js";
import { SsehubError } from "../errors.js";
import type { HistoryStore, StoredEvent } from "../history/history-store.js";
import { MemoryHistory } from "../history/memory-history.js";
import { type PreparedEvent, type SequencedEvent, toStoredEvent } from "../history/stored-event.js";
import { encodeRetry } from "../protocol/encode.js";
import { formatEventId } from "../protocol/event-id.js";
import { parseTraceContext, type TraceContext } from "../protocol/trace-context.js";
import { Dispatcher } from "./dispatcher.js";
import { HeartbeatWheel } from "./heartbeat-wheel.js";
import { type HubOptions, type ResolvedHubOptions, resolveHubOptions } from "./hub-options.js";
import { type HubLoadFigures, loadFiguresOf } from "./load-figures.js";
import { PUBLISH_AS_HUB } from "./publish-as-hub.js";
import {
  batchIdempotencyKey,
  type PublishAuthor,
  type PublishBatchOptions,
  type PublishInput,
  type PublishOptions,
  preparePublish,
} from "./publish-input.js";
import { Resumer, type ResumeSource } from "./resume.js";
import {
  type DeliveryCounters,
  type PrivateAccess,
  Subscriber,
  type SubscriberHost,
} from "./subscriber.js";
import { type ActivityWindow, TopicActivity } from "./topic-activity.js";
import { EXPRESS_LANE, TopicIndex } from "./topic-index.js";
import { checkTopicList } from "./topic-name.js";
import { pageOfNames } from "./topic-page.js";
import { TopicPriority } from "./topic-priority.js";
import { traceOrdering } from "./trace-spans.js";
import { activeTraceContext, isTracing } from "./tracing.js";
import {
  EARLIEST,
  type HubPlugins,
  type HubStats,
  type HubStatus,
  type PublishResult,
  type SubscribeRequest,
  type Subscription,
  type TopicInfo,
  type TopicPage,
} from "./types.js";

/** How often history is trimmed by age, at most, in ms. */
const EXPIRE_INTERVAL_MS = 1000;

/**
 * The newest events a hub remembers for newestReadableId: how far back it looks for one a
 * subscriber may read before it answers `earliest` (Mercure's scan limit).
 */
export const READABLE_SCAN_LIMIT = 64;

/** True when a subscriber with `access` may read `event`: public, or private to a topic it is granted. */
function isReadable(event: StoredEvent, access: PrivateAccess | undefined): boolean {
  return !event.private || access?.allows(event.topics) === true;
}

/** The express lane has no pattern subscribers: they are matched in the normal lane. */
const NO_SUBSCRIBERS: ReadonlySet<Subscriber> = new Set();

/**
 * A Server-Sent Events hub in this process. Emits `status` (HubStatus) for background
 * conditions.
 * @example
 * const hub = createHub({ historyMaxEvents: 500 });
 * hub.publish({ topic: "prices", data: { eur: 1.08 } });
 */
export class Hub extends EventEmitter<{ status: [HubStatus] }> {
  readonly options: ResolvedHubOptions;
  readonly #bus: Bus;
  #epoch: string;
  /** Seq of the newest event handed to this hub by the bus. */
  #current: number;
  /** History cannot answer for events up to this seq (they came before this hub joined). */
  #historyFloor: number;
  #historyWriteFailures = 0;
  readonly #history: HistoryStore;
  readonly #index = new TopicIndex<Subscriber>();
  /** Subscribers with topic patterns: matched against every event, not in the index. */
  readonly #patternSubscribers = new Set<Subscriber>();
  readonly #dispatcher: Dispatcher;
  /** The express lane's dispatcher, when there are priority topics (topic-priority.ts). */
  readonly #expressDispatcher: Dispatcher | undefined;
  readonly #priority: TopicPriority;
  readonly #wheel: HeartbeatWheel<Subscriber>;
  readonly #expireTimer: NodeJS.Timeout;
  readonly #retryHint: Buffer;
  readonly #host: SubscriberHost;
  readonly #counters: DeliveryCounters = {
    deliveries: 0,
    bytesWritten: 0,
    slowConsumerDisconnects: 0,
    slowConsumerDrops: 0,
    slowConsumerConflated: 0,
  };
  readonly #resumer: Resumer;
  /** Events and bytes per topic for the busiest topics (O(1) per event per topic). */
  readonly #activity = new TopicActivity();
  #subscriberCount = 0;
  /** The newest READABLE_SCAN_LIMIT events, a ring: `#recentAt` is where the next one goes. */
  readonly #recent: (StoredEvent | undefined)[] = new Array(READABLE_SCAN_LIMIT);
  #recentAt = 0;
  #eventsPublished = 0;
  #overloads = 0;
  #closed = false;
  /** One function for every subscription's close(), so none carries closures of its own. */
  readonly #unregisterBound = (subscriber: Subscriber): void => this.#unregister(subscriber);

  constructor(options?: HubOptions | ResolvedHubOptions, plugins: HubPlugins = {}) {
    super();
    this.options = resolveHubOptions(options);
    const share = plugins.fanOutShare;
    if (share !== undefined && !(share > 0 && share <= 1)) {
      throw new SsehubError(
        "SSEHUB_ERR_OPTIONS_INVALID",
        `Cannot use fanOutShare ${share}: give the share of the hub's subscribers this process serves, above 0 and at most 1`,
      );
    }
    this.#history =
      plugins.history ??
      new MemoryHistory({
        maxEvents: this.options.historyMaxEvents,
        maxAgeMs: this.options.historyMaxAgeMs,
        maxDroppedTopicBytes: this.options.historyMaxDroppedTopicBytes,
      });
    this.#priority = new TopicPriority(this.options.priorityTopics);
    this.#expressDispatcher = this.#priority.isEnabled
      ? new Dispatcher(this.#index, NO_SUBSCRIBERS, { lane: EXPRESS_LANE })
      : undefined;
    this.#dispatcher = new Dispatcher(this.#index, this.#patternSubscribers, {
      writeDelayMs: this.options.writeDelayMs,
      coalesceMaxMs: this.options.writeCoalesceMaxMs,
      ...(plugins.fanOutShare === undefined ? {} : { fanOutShare: plugins.fanOutShare }),
      ...(this.#expressDispatcher === undefined ? {} : { ahead: this.#expressDispatcher }),
    });
    this.#wheel = new HeartbeatWheel(this.options.heartbeatMs);
    this.#expireTimer = setInterval(
      () => this.#history.expire(Date.now()),
      Math.min(EXPIRE_INTERVAL_MS, this.options.historyMaxAgeMs),
    );
    this.#expireTimer.unref();
    this.#retryHint = Buffer.from(encodeRetry(this.options.retryMs));
    this.#host = this.#createHost();
    this.#resumer = new Resumer(this.#createResumeSource());
    this.#bus =
      plugins.bus ??
      new LocalBus(undefined, { idempotencyMaxKeys: this.options.idempotencyMaxKeys });
    const start = this.#bus.start(
      (events) => this.#take(events),
      (restart, reason) => this.#startOver(restart, reason),
    );
    this.#epoch = start.epoch;
    this.#current = start.joinedAfterSeq;
    this.#historyFloor = start.historyFloor ?? start.joinedAfterSeq;
    if (this.#current > 0) this.#recallRecent();
  }

  /**
   * Fills the ring of the newest events from history, for a hub that starts with events it
   * was not handed (a data directory read back, a worker welcomed with its siblings' events),
   * so that newestReadableId names them. Only the run of events that ends at the newest seq
   * without a gap goes in: the ring must hold the newest events and no older one in their
   * place. A history that answers asynchronously (Redis) is not asked.
   */
  #recallRecent(): void {
    const read = this.#history.readAfter(
      [...this.#history.topics()],
      Math.max(0, this.#current - READABLE_SCAN_LIMIT),
    );
    if (read instanceof Promise) {
      read.catch(() => {});
      return;
    }
    const events = read.events;
    let first = events.length;
    while (first > 0 && events[first - 1]!.seq === this.#current - (events.length - first)) {
      first--;
    }
    for (let i = first; i < events.length; i++) {
      this.#recent[this.#recentAt] = events[i]!;
      this.#recentAt = (this.#recentAt + 1) % READABLE_SCAN_LIMIT;
    }
  }

  /** The generation of this hub's ids; ids of other epochs get a reset on resume. */
  get epoch(): string {
    return this.#epoch;
  }

  /** Id of the newest event this hub has seen, or null before the first. */
  get lastEventId(): string | null {
    return this.#current === 0 ? null : this.#idOf(this.#current);
  }

  /**
   * The wire id of the newest event that a subscriber with `access` may read (public, or
   * private with a topic its grants match), among the newest READABLE_SCAN_LIMIT; `earliest`
   * when there is none. What Mercure names as the point a stream without Last-Event-ID starts
   * from, without disclosing the id of a private event to whom may not read it.
   */
  newestReadableId(access: PrivateAccess | undefined): string {
    return this.#readableFrom(1, access);
  }

  /**
   * The id after which a subscriber resuming from `lastEventId` gets its events, read before
   * it subscribes (Mercure's `Last-Event-ID` response header): `lastEventId` itself when
   * history covers it, else `earliest` (asked for, another epoch, unknown or evicted; see
   * Resumer.covers). When that event is among the newest READABLE_SCAN_LIMIT and is private to
   * topics `access` does not grant, the newest event before it that the subscriber may read
   * (or `earliest`): Mercure names the newest preceding event the subscriber may read.
   */
  resumePointOf(lastEventId: string, access?: PrivateAccess): string {
    if (!this.#resumer.covers(lastEventId)) return EARLIEST;
    for (let back = 1; back <= READABLE_SCAN_LIMIT; back++) {
      const event = this.#recentEvent(back);
      if (event === undefined) break;
      if (event.id !== lastEventId) continue;
      return isReadable(event, access) ? lastEventId : this.#readableFrom(back + 1, access);
    }
    return lastEventId;
  }

  /** The `back`-th newest event this hub remembers (1: the newest), if any. */
  #recentEvent(back: number): StoredEvent | undefined {
    return this.#recent[(this.#recentAt - back + READABLE_SCAN_LIMIT) % READABLE_SCAN_LIMIT];
  }

  /** The id of the newest readable event from the `back`-th newest on, else `earliest`. */
  #readableFrom(back: number, access: PrivateAccess | undefined): string {
    for (let at = back; at <= READABLE_SCAN_LIMIT; at++) {
      const event = this.#recentEvent(at);
      if (event === undefined) break;
      if (isReadable(event, access)) return event.id;
    }
    return EARLIEST;
  }

  get isClosed(): boolean {
    return this.#closed;
  }

  /** True while the hub takes publishes and subscribers: open, and its bus can order events. */
  get isReady(): boolean {
    return !this.#closed && this.#bus.isReady;
  }

  /** Connection figures of the bus, when it talks to a server (Redis). */
  get busMetrics(): BusMetricsSource | undefined {
    return this.#bus.metrics;
  }

  /**
   * The load now: bytes waiting in subscribers' sockets, the publish backlog, the `limit`
   * topics with most subscribers. One pass over every topic and subscriber: for the admin
   * diagnosis, not for a hot path.
   */
  loadFigures(limit: number): HubLoadFigures {
    return loadFiguresOf(
      {
        index: this.#index,
        patternSubscribers: this.#patternSubscribers,
        publishBacklog: this.#bus.backlog,
        maxPublishBacklog: this.options.maxPublishBacklog,
        maxQueueBytes: this.options.maxQueueBytes,
      },
      limit,
    );
  }

  /** Checks a subscription's topics; returns them without duplicates. Throws SsehubError. */
  checkTopics(topics: readonly string[]): readonly string[] {
    return checkTopicList(topics, {
      action: "subscribe",
      maxTopics: this.options.maxTopicsPerSubscription,
      maxTopicLength: this.options.maxTopicLength,
    });
  }

  /**
   * Publishes one event; resolves once the event has its id and is in this hub's history.
   * Rejects with SsehubError on bad input, SSEHUB_ERR_HUB_CLOSED after close. With an
   * `idempotencyKey` already used within `idempotencyWindowMs`, publishes nothing and answers
   * the first publish's id (SSEHUB_ERR_PUBLISH_IDEMPOTENCY_KEY_REUSED if the event differs).
   * `options.trace` joins the publish to a trace (docs/tracing.md).
   */
  async publish(input: PublishInput, options?: PublishOptions): Promise<PublishResult> {
    this.#assertOpen();
    this.#assertNotOverloaded(1);
    const trace = traceOf(options);
    const prepared = preparePublish(input, this.options, undefined, undefined, trace);
    const seq = await this.#order(
      claimIdempotency([prepared], input.idempotencyKey, "event", this.options.idempotencyWindowMs),
      trace,
    );
    return { id: prepared.id ?? this.#idOf(seq), topics: prepared.topics };
  }

  /**
   * Publishes several events in order. Every input is checked first: if one is bad, none is
   * published. Throws SSEHUB_ERR_PUBLISH_TOO_MANY_EVENTS past `maxBatchEvents`. The batch is
   * one unit for `options.idempotencyKey` (a retry answers the same ids, publishing nothing).
   * `options.trace` joins the publish to a trace (docs/tracing.md).
   */
  publishBatch(
    inputs: readonly PublishInput[],
    options?: PublishBatchOptions,
  ): Promise<PublishResult[]> {
    return this.#publishBatch(inputs, "publisher", options);
  }

  /**
   * The hub's own events, such as Mercure's subscription events: as publishBatch, and they may
   * use the hub's reserved topics. Keyed by a symbol that the package does not export (see
   * publish-as-hub.ts).
   */
  [PUBLISH_AS_HUB](inputs: readonly PublishInput[]): Promise<PublishResult[]> {
    return this.#publishBatch(inputs, "hub");
  }

  async #publishBatch(
    inputs: readonly PublishInput[],
    author: PublishAuthor,
    options?: PublishBatchOptions,
  ): Promise<PublishResult[]> {
    this.#assertOpen();
    if (!Array.isArray(inputs)) {
      throw new SsehubError("SSEHUB_ERR_PUBLISH_MALFORMED", "Cannot publish: expected a list");
    }
    if (inputs.length > this.options.maxBatchEvents) {
      throw new SsehubError(
        "SSEHUB_ERR_PUBLISH_TOO_MANY_EVENTS",
        `Cannot publish ${inputs.length} events in one batch: at most ${this.options.maxBatchEvents} are allowed`,
        { details: { limit: this.options.maxBatchEvents } },
      );
    }
    this.#assertNotOverloaded(inputs.length);
    const key = batchIdempotencyKey(inputs, options);
    const trace = traceOf(options);
    const prepared = inputs.map((input, i) =>
      preparePublish(input, this.options, `event ${i}`, author, trace),
    );
    if (prepared.length === 0) return [];
    const first = await this.#order(
      claimIdempotency(prepared, key, "batch", this.options.idempotencyWindowMs),
      trace,
    );
    return prepared.map((event, i) => ({
      id: event.id ?? this.#idOf(first + i),
      topics: event.topics,
    }));
  }

  /**
   * Opens a subscription. Checks the request first (throws before touching the sink), then
   * writes the `retry:` hint at once, replays history after `lastEventId` (or sends a reset
   * notice when it cannot be exact), then streams live events.
   */
  subscribe(request: SubscribeRequest): Subscription {
    this.#assertOpen();
    const patterns = request.patterns ?? [];
    const topics =
      patterns.length > 0 && request.topics.length === 0 ? [] : this.checkTopics(request.topics);
    if (patterns.length + topics.length > this.options.maxTopicsPerSubscription) {
      throw new SsehubError(
        "SSEHUB_ERR_SUBSCRIBE_TOO_MANY_TOPICS",
        `Cannot subscribe to ${patterns.length + topics.length} topics and selectors: at most ${this.options.maxTopicsPerSubscription} are allowed`,
        { details: { limit: this.options.maxTopicsPerSubscription } },
      );
    }
    const head = this.#current;
    const lastEventId = request.lastEventId;
    const resume = lastEventId === undefined || lastEventId === "" ? undefined : lastEventId;
    const subscriber = new Subscriber(
      this.#host,
      request.sink,
      topics,
      head,
      resume !== undefined,
      request.access,
      patterns,
    );
    subscriber.writeDirect(this.#retryHint);
    if (
      this.#expressDispatcher !== undefined &&
      subscriber.patterns === undefined &&
      this.#priority.allPriority(topics)
    ) {
      subscriber.lane = EXPRESS_LANE;
    }
    if (subscriber.patterns === undefined) this.#index.add(subscriber);
    else this.#patternSubscribers.add(subscriber);
    this.#wheel.add(subscriber);
    this.#subscriberCount++;
    if (resume !== undefined) {
      this.#resumer
        .resume(subscriber, resume, head)
        .catch((error: unknown) => this.#endFailedResume(subscriber, error));
    }
    return this.#subscriptionOf(subscriber);
  }

  /** What the hub knows of `topic`, or undefined when it has no subscriber and no history. */
  topic(name: string): TopicInfo | undefined {
    const subscribers = this.#index.subscriberCountOf(name);
    const history = this.#history.topicInfo(name);
    if (subscribers === 0 && history === undefined) return undefined;
    return {
      topic: name,
      subscribers,
      historySize: history?.size ?? 0,
      lastEventId:
        history === undefined || history.lastSeq === 0 ? null : this.#idOf(history.lastSeq),
    };
  }

  /**
   * Up to `limit` topics with a subscriber or history, in name order, after the topic named
   * `after` (from the first when undefined); `next` is set when more follow. Costs one pass
   * over the names, not a sort of them all (topic-page.ts). Topics that come or go between
   * pages are seen or not; none is seen twice.
   */
  topicsPage(after: string | undefined, limit: number): TopicPage {
    const page = pageOfNames(this.#topicNames(), after, limit);
    return {
      topics: page.names.map((name) => this.topic(name)!),
      next: page.more ? page.names.at(-1) : undefined,
    };
  }

  /** Every topic name with a subscriber or history, once each. */
  *#topicNames(): Generator<string> {
    yield* this.#index.topics();
    for (const name of this.#history.topics()) {
      if (!this.#index.has(name)) yield name;
    }
  }

  /** Every topic with a subscriber or history, sorted by name. */
  topics(): TopicInfo[] {
    const names = new Set<string>(this.#index.topics());
    for (const name of this.#history.topics()) names.add(name);
    return [...names].sort().map((name) => this.topic(name)!);
  }

  stats(): HubStats {
    // Counted, not collected: a Set of every name per scrape would hold them all twice.
    let topics = this.#index.topicCount;
    for (const name of this.#history.topics()) {
      if (!this.#index.has(name)) topics++;
    }
    return {
      subscribers: this.#subscriberCount,
      subscriptions: this.#index.subscriptionCount,
      topics,
      eventsPublished: this.#eventsPublished,
      deliveries: this.#counters.deliveries,
      bytesWritten: this.#counters.bytesWritten,
      slowConsumerDisconnects: this.#counters.slowConsumerDisconnects,
      slowConsumerDrops: this.#counters.slowConsumerDrops,
      historyEvents: this.#history.totalEvents,
      historyDiskBytes: this.#history.diskBytes ?? 0,
      historyWriteFailures: this.#historyWriteFailures,
      resets: this.#resumer.resets,
      slowConsumerConflated: this.#counters.slowConsumerConflated,
      publishesRefused: this.#overloads,
    };
  }

  /**
   * Ends the window of per-topic activity begun by the previous call: the `k` topics with the
   * most events in it (their events and encoded bytes), and the other topics summed. For
   * metrics read at scrape time; costs O(tracked topics), at most a few hundred.
   */
  takeTopicActivity(k: number): ActivityWindow {
    return this.#activity.take(k);
  }

  /** Subscribers of `topic` on this hub. O(1). */
  subscriberCountOf(topic: string): number {
    return this.#index.subscriberCountOf(topic);
  }

  /** The bytes each subscriber's connection holds, not yet taken by the kernel (at scrape time). */
  *queuedBytes(): Generator<number> {
    for (const subscriber of this.#wheel.members()) yield subscriber.sink.queuedBytes;
  }

  /**
   * Delivers what is queued, tells every subscriber when to come back (`retry:` of retryMs
   * plus a random share of shutdownRetryJitterMs, so reconnects spread out), and closes every
   * stream. Later publish and subscribe calls throw SSEHUB_ERR_HUB_CLOSED.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#flushDispatchers();
    this.#closed = true;
    this.#wheel.stop();
    this.#bus.close();
    clearInterval(this.#expireTimer);
    this.#endEveryStream();
  }

  /**
   * Tells every subscriber when to come back (`retry:` of retryMs plus a random share of
   * shutdownRetryJitterMs, so reconnects spread out) and ends its stream.
   */
  #endEveryStream(): void {
    const { retryMs, shutdownRetryJitterMs } = this.options;
    for (const subscriber of [...this.#index.subscribers(), ...this.#patternSubscribers]) {
      const delay = retryMs + Math.floor(Math.random() * (shutdownRetryJitterMs + 1));
      subscriber.writeDirect(encodeRetry(delay));
      this.#unregister(subscriber);
      subscriber.sink.close();
    }
  }

  /**
   * The bus lost continuity (`gap`) or its store began a new epoch: live streams can no longer
   * be exact, so they end, and their clients come back with Last-Event-ID to resume from
   * history or get a reset. Events published meanwhile are never skipped silently.
   */
  #startOver(start: BusStart, reason: BusRestartReason): void {
    this.#flushDispatchers();
    this.#epoch = start.epoch;
    this.#current = start.joinedAfterSeq;
    this.#historyFloor = start.historyFloor ?? start.joinedAfterSeq;
    this.#recent.fill(undefined);
    this.emit("status", { type: "bus-restarted", reason, subscribersEnded: this.#subscriberCount });
    this.#endEveryStream();
  }

  /** A resume whose history read failed (its store is unreachable): the client comes back later. */
  #endFailedResume(subscriber: Subscriber, error: unknown): void {
    this.emit("status", {
      type: "resume-failed",
      topics: subscriber.topics,
      message: error instanceof Error ? error.message : String(error),
    });
    if (subscriber.isClosed) return;
    this.#unregister(subscriber);
    subscriber.sink.close();
  }

  #assertOpen(): void {
    if (this.#closed) {
      throw new SsehubError("SSEHUB_ERR_HUB_CLOSED", "Cannot use the hub: it is shutting down");
    }
  }

  /**
   * Refuses a publish while too many events wait for the bus: memory would otherwise grow
   * without bound when publishers outrun the ordering (SSEHUB_ERR_HUB_OVERLOADED, 503).
   */
  #assertNotOverloaded(count: number): void {
    if (this.#bus.backlog + count > this.options.maxPublishBacklog) {
      this.#overloads++;
      throw new SsehubError(
        "SSEHUB_ERR_HUB_OVERLOADED",
        `Cannot publish now: ${this.#bus.backlog} events are waiting to be ordered (maxPublishBacklog ${this.options.maxPublishBacklog}); retry shortly`,
        { details: { retryAfterSeconds: 1 } },
      );
    }
  }

  /** Hands `events` to the bus; a traced publish under an `ssehub.order` span. */
  #order(events: readonly PreparedEvent[], trace: TraceContext | undefined): Promise<number> {
    if (trace === undefined || !isTracing()) return this.#bus.publish(events);
    return traceOrdering(trace, events.length, () => this.#bus.publish(events));
  }

  /** Delivers everything queued now, priority topics first. */
  #flushDispatchers(): void {
    this.#expressDispatcher?.flush();
    this.#dispatcher.flush();
  }

  #idOf(seq: number): string {
    return formatEventId(this.#epoch, seq);
  }

  /** Takes ordered events from the bus: encode once, keep in history, dispatch. */
  #take(events: readonly SequencedEvent[]): void {
    const epoch = this.#epoch;
    const history = this.#history;
    if (history.flush !== undefined) {
      this.#takeDurably(events, history);
      return;
    }
    for (const sequenced of events) {
      const event = toStoredEvent(epoch, sequenced);
      this.#current = sequenced.seq;
      history.append(event);
      this.#deliver(event, sequenced.trace);
    }
  }

  /**
   * #take for a history that writes to disk: the whole batch is kept first, then delivered, so
   * that no subscriber sees an event a restart would not find. A refused write throws to the
   * publisher (503) and delivers nothing.
   */
  #takeDurably(events: readonly SequencedEvent[], history: HistoryStore): void {
    const epoch = this.#epoch;
    const stored: StoredEvent[] = new Array(events.length);
    for (let i = 0; i < events.length; i++) {
      stored[i] = toStoredEvent(epoch, events[i]!);
      history.append(stored[i]!);
    }
    try {
      history.flush!();
    } catch (error) {
      this.#historyWriteFailures++;
      throw error;
    }
    for (let i = 0; i < events.length; i++) {
      this.#current = events[i]!.seq;
      this.#deliver(stored[i]!, events[i]!.trace);
    }
  }

  /** Hands a kept event to the dispatchers and counts it. */
  #deliver(event: StoredEvent, trace: TraceContext | undefined): void {
    this.#recent[this.#recentAt] = event;
    this.#recentAt = (this.#recentAt + 1) % READABLE_SCAN_LIMIT;
    this.#dispatcher.enqueue(event, trace);
    if (this.#expressDispatcher !== undefined && this.#priority.anyPriority(event.topics)) {
      this.#expressDispatcher.enqueue(event, trace);
    }
    this.#eventsPublished++;
    for (const topic of event.topics) this.#activity.count(topic, event.bytes.length);
  }

  #unregister(subscriber: Subscriber): void {
    if (subscriber.wheelSlot === -1) return;
    subscriber.markClosed();
    if (subscriber.patterns === undefined) this.#index.remove(subscriber);
    else this.#patternSubscribers.delete(subscriber);
    this.#wheel.remove(subscriber);
    this.#subscriberCount--;
  }

  #subscriptionOf(subscriber: Subscriber): Subscription {
    return new OpenSubscription(subscriber, this.#unregisterBound);
  }

  /** What the resumer reads of this hub, read at each use (see ResumeSource). */
  #createResumeSource(): ResumeSource {
    const hub = this;
    return {
      get epoch() {
        return hub.#epoch;
      },
      get current() {
        return hub.#current;
      },
      get historyFloor() {
        return hub.#historyFloor;
      },
      get isClosed() {
        return hub.#closed;
      },
      get isDistributed() {
        return hub.#bus.isDistributed;
      },
      history: this.#history,
      maxQueueBytes: this.options.maxQueueBytes,
      counters: this.#counters,
      idOf: (seq) => this.#idOf(seq),
    };
  }

  #createHost(): SubscriberHost {
    const hub = this;
    return {
      maxQueueBytes: this.options.maxQueueBytes,
      policy: this.options.slowConsumerPolicy,
      dispatchTimeoutMs: this.options.dispatchTimeoutMs,
      now: () => performance.now(),
      counters: this.#counters,
      idOf: (seq) => this.#idOf(seq),
      slowConsumerDisconnected(subscriber, queuedBytes) {
        hub.#counters.slowConsumerDisconnects++;
        hub.#unregister(subscriber);
        hub.emit("status", {
          type: "slow-consumer-disconnected",
          topics: subscriber.topics,
          queuedBytes,
        });
      },
      slowConsumerConflating(subscriber, queuedBytes) {
        hub.emit("status", {
          type: "slow-consumer-conflating",
          topics: subscriber.topics,
          queuedBytes,
        });
      },
      slowConsumerDropping(subscriber, queuedBytes) {
        hub.emit("status", {
          type: "slow-consumer-dropping",
          topics: subscriber.topics,
          queuedBytes,
        });
      },
    };
  }
}

/**
 * The trace context of a publish: the one given, checked as a request's headers are (an
 * invalid one is ignored), else the caller's active span when tracing is on (a library caller
 * inside a span of its own), else none.
 */
function traceOf(options: PublishOptions | undefined): TraceContext | undefined {
  const given = options?.trace;
  if (given !== undefined) return parseTraceContext(given.traceparent, given.tracestate);
  return isTracing() ? activeTraceContext() : undefined;
}

/**
 * A subscription as the caller holds it: two fields, a class with a fixed shape (an object
 * literal with a getter and closures cost ~0.4 KiB more per idle subscriber).
 */
class OpenSubscription implements Subscription {
  readonly #subscriber: Subscriber;
  readonly #unregister: (subscriber: Subscriber) => void;

  constructor(subscriber: Subscriber, unregister: (subscriber: Subscriber) => void) {
    this.#subscriber = subscriber;
    this.#unregister = unregister;
  }

  get topics(): readonly string[] {
    return this.#subscriber.topics;
  }

  get isClosed(): boolean {
    return this.#subscriber.isClosed;
  }

  get eventsSent(): number {
    return this.#subscriber.eventsSent;
  }

  close(): void {
    this.#unregister(this.#subscriber);
  }
}

/**
 * Creates a hub; its options are checked by resolveHubOptions (all problems in one error, an
 * option of another layer named as such).
 */
export function createHub(options?: HubOptions | ResolvedHubOptions, plugins?: HubPlugins): Hub {
  return new Hub(options, plugins);
}
