/**
 * The hub: topics, publish, subscribe with exact resume, stats. It knows nothing of HTTP: a
 * subscriber is a Sink (write bytes, read the backlog, close).
 *
 * Publish path: validate -> the bus gives the id (and tells the other hubs) -> encode once ->
 * history -> dispatcher. Every hub on the bus, this one included, takes the second half from
 * the bus, so all of them hold the same history with the same ids.
 * Subscribe path: validate -> `retry:` hint -> register (live events are held from here) ->
 * replay history after Last-Event-ID up to the seq current at registration, in chunks -> write
 * what was held -> live. Everything up to that seq comes from history, everything after it
 * live, so the seam has neither gap nor duplicate.
 * @module
 */
import { EventEmitter } from "node:events";
import type {
  Bus,
  BusMetricsSource,
  BusRestartReason,
  BusStart,
  SequencedEvent,
  UnsequencedEvent,
} from "../bus/bus.js";
import { LocalBus } from "../bus/local-bus.js";
import { SsehubError } from "../errors.js";
import type { HistoryStore, StoredEvent } from "../history/history-store.js";
import { MemoryHistory } from "../history/memory-history.js";
import { toStoredEvent } from "../history/stored-event.js";
import { encodeEvent, encodeRetry, serializeData } from "../protocol/encode.js";
import { type EventId, formatEventId, parseEventId } from "../protocol/event-id.js";
import { assertValidEventType, assertValidId, assertValidRetry } from "../protocol/field-rules.js";
import { Dispatcher } from "./dispatcher.js";
import { HeartbeatWheel } from "./heartbeat-wheel.js";
import { type HubOptions, type ResolvedHubOptions, resolveHubOptions } from "./hub-options.js";
import type { Sink } from "./sink.js";
import {
  type DeliveryCounters,
  type PrivateAccess,
  Subscriber,
  type SubscriberHost,
  type TopicPattern,
} from "./subscriber.js";
import { TopicIndex } from "./topic-index.js";
import { checkTopicList } from "./topic-name.js";

/** Event type of the notice sent when a resume cannot be exact (see docs/protocol.md). */
export const RESET_EVENT = "ssehub-reset";

/**
 * The Last-Event-ID that asks for all the history kept (Mercure's `earliest`): replayed as far
 * back as history goes, with no reset for what it no longer holds.
 */
export const EARLIEST = "earliest";

/** Why a resume could not be exact. */
export type ResetReason = "history-evicted" | "unknown-epoch" | "invalid-id";

/** Bytes of history written per turn during a replay (DESIGN principle 6). */
const REPLAY_CHUNK_BYTES = 64 * 1024;
/** How often a replay waiting for a slow reader checks its backlog again, in ms. */
const REPLAY_BACKLOG_POLL_MS = 10;
/** How often history is trimmed by age, at most, in ms. */
const EXPIRE_INTERVAL_MS = 1000;
/** How long a resume waits for a distributed bus to bring an id this hub has not seen yet. */
const AHEAD_WAIT_MS = 2000;
const AHEAD_POLL_MS = 5;

/** One event to publish. */
export interface PublishInput {
  /** The topic; give `topic` or `topics`. */
  readonly topic?: string;
  /** Several topics: the event gets one id and reaches each subscriber once. */
  readonly topics?: readonly string[];
  /** A string, sent as it is, or any JSON value, serialized. */
  readonly data: unknown;
  /** Event type; the default is `message`. */
  readonly event?: string;
  /** Reconnection delay to set on clients, in ms. */
  readonly retry?: number;
  /**
   * Conflation key: under policy `conflate` a lagging subscriber gets only the newest event per
   * key. Default: the event's topics.
   */
  readonly key?: string;
  /**
   * Private: delivered only to subscribers whose grants match one of its topics (see
   * SubscribeRequest.access). Default false.
   */
  readonly private?: boolean;
  /**
   * The event's id, chosen by the publisher (as Mercure allows), sent instead of
   * `<epoch>-<seq>` and answered back; a client resumes from it like from any id. No CR, LF or
   * NUL. The hub does not check that ids are unique: the newest event with an id wins.
   */
  readonly id?: string;
}

/** What publish answers. */
export interface PublishResult {
  readonly id: string;
  readonly topics: readonly string[];
}

/** A subscription to open. */
export interface SubscribeRequest {
  readonly topics: readonly string[];
  /** Resume after this id (from the Last-Event-ID header or the lastEventId query parameter). */
  readonly lastEventId?: string | undefined;
  /**
   * Topic selectors besides `topics` (`*`, URI templates): the subscriber also gets every event
   * with a topic one of them matches. With patterns, `topics` may be empty.
   */
  readonly patterns?: readonly TopicPattern[] | undefined;
  readonly sink: Sink;
  /** Which private events the subscriber may receive; without it, public events only. */
  readonly access?: PrivateAccess | undefined;
}

/** An open subscription. */
export interface Subscription {
  readonly topics: readonly string[];
  readonly isClosed: boolean;
  /** Unregisters the subscriber; the sink is the caller's (it has usually closed already). */
  close(): void;
}

/** What the hub knows of one topic. */
export interface TopicInfo {
  readonly topic: string;
  readonly subscribers: number;
  readonly historySize: number;
  /** Id of the newest event published to the topic that history still knows of. */
  readonly lastEventId: string | null;
}

/** Counters and gauges of the hub. */
export interface HubStats {
  /** Open subscriptions (connections). */
  readonly subscribers: number;
  /** Topic-subscriber pairs. */
  readonly subscriptions: number;
  /** Topics with a subscriber or history. */
  readonly topics: number;
  readonly eventsPublished: number;
  /** Events written to subscribers, one per event per subscriber. */
  readonly deliveries: number;
  readonly bytesWritten: number;
  readonly slowConsumerDisconnects: number;
  /** Events skipped under policy `drop`. */
  readonly slowConsumerDrops: number;
  /** Events kept in history, counted once per topic. */
  readonly historyEvents: number;
  /** Reset notices sent to resuming subscribers. */
  readonly resets: number;
  /** Events replaced under policy `conflate` (a newer event of the same key superseded them). */
  readonly slowConsumerConflated: number;
  /** Publishes refused because the hub was overloaded. */
  readonly publishesRefused: number;
}

/** Background conditions, reported as `status` events of the hub. */
export type HubStatus =
  | {
      /** The bus started over; every stream was ended so that its client resumes. */
      readonly type: "bus-restarted";
      readonly reason: BusRestartReason;
      readonly subscribersEnded: number;
    }
  | {
      /** A resume could not read history (its store is unreachable); the stream was ended. */
      readonly type: "resume-failed";
      readonly topics: readonly string[];
      readonly message: string;
    }
  | {
      readonly type: "slow-consumer-disconnected";
      readonly topics: readonly string[];
      readonly queuedBytes: number;
    }
  | {
      readonly type: "slow-consumer-dropping" | "slow-consumer-conflating";
      readonly topics: readonly string[];
      readonly queuedBytes: number;
    };

/** Implementations a hub plugs in; the defaults keep everything in this process. */
export interface HubPlugins {
  /** How events are ordered and shared with other hubs. Default: a LocalBus. */
  readonly bus?: Bus;
  /**
   * Where history is kept. Default: a MemoryHistory bounded by `historyMaxEvents` and
   * `historyMaxAgeMs`.
   */
  readonly history?: HistoryStore;
}

const PUBLISH_KEYS = new Set(["topic", "topics", "data", "event", "retry", "key", "private", "id"]);

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
  readonly #history: HistoryStore;
  readonly #index = new TopicIndex<Subscriber>();
  /** Subscribers with topic patterns: matched against every event, not in the index. */
  readonly #patternSubscribers = new Set<Subscriber>();
  readonly #dispatcher: Dispatcher;
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
  #subscriberCount = 0;
  #eventsPublished = 0;
  #resets = 0;
  #overloads = 0;
  #closed = false;
  /** One function for every subscription's close(), so none carries closures of its own. */
  readonly #unregisterBound = (subscriber: Subscriber): void => this.#unregister(subscriber);

  constructor(options?: HubOptions | ResolvedHubOptions, plugins: HubPlugins = {}) {
    super();
    this.options = resolveHubOptions(options);
    this.#history =
      plugins.history ??
      new MemoryHistory({
        maxEvents: this.options.historyMaxEvents,
        maxAgeMs: this.options.historyMaxAgeMs,
      });
    this.#dispatcher = new Dispatcher(
      this.#index,
      this.#patternSubscribers,
      this.options.writeDelayMs,
    );
    this.#wheel = new HeartbeatWheel(this.options.heartbeatMs);
    this.#expireTimer = setInterval(
      () => this.#history.expire(Date.now()),
      Math.min(EXPIRE_INTERVAL_MS, this.options.historyMaxAgeMs),
    );
    this.#expireTimer.unref();
    this.#retryHint = Buffer.from(encodeRetry(this.options.retryMs));
    this.#host = this.#createHost();
    this.#bus = plugins.bus ?? new LocalBus();
    const start = this.#bus.start(
      (events) => this.#take(events),
      (restart, reason) => this.#startOver(restart, reason),
    );
    this.#epoch = start.epoch;
    this.#current = start.joinedAfterSeq;
    this.#historyFloor = start.historyFloor ?? start.joinedAfterSeq;
  }

  /** The generation of this hub's ids; ids of other epochs get a reset on resume. */
  get epoch(): string {
    return this.#epoch;
  }

  /** Id of the newest event this hub has seen, or null before the first. */
  get lastEventId(): string | null {
    return this.#current === 0 ? null : this.#idOf(this.#current);
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
   * Rejects with SsehubError on bad input, SSEHUB_ERR_HUB_CLOSED after close.
   */
  async publish(input: PublishInput): Promise<PublishResult> {
    this.#assertOpen();
    this.#assertNotOverloaded(1);
    const prepared = this.#prepare(input, "");
    const seq = await this.#bus.publish([prepared]);
    return { id: prepared.id ?? this.#idOf(seq), topics: prepared.topics };
  }

  /**
   * Publishes several events in order. Every input is checked first: if one is bad, none is
   * published. Throws SSEHUB_ERR_PUBLISH_TOO_MANY_EVENTS past `maxBatchEvents`.
   */
  async publishBatch(inputs: readonly PublishInput[]): Promise<PublishResult[]> {
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
    const prepared = inputs.map((input, i) => this.#prepare(input, `event ${i}: `));
    if (prepared.length === 0) return [];
    const first = await this.#bus.publish(prepared);
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
    if (subscriber.patterns === undefined) this.#index.add(subscriber);
    else this.#patternSubscribers.add(subscriber);
    this.#wheel.add(subscriber);
    this.#subscriberCount++;
    if (resume !== undefined) {
      this.#resume(subscriber, resume, head).catch((error: unknown) =>
        this.#endFailedResume(subscriber, error),
      );
    }
    return this.#subscriptionOf(subscriber);
  }

  /** What the hub knows of `topic`, or undefined when it has no subscriber and no history. */
  topic(name: string): TopicInfo | undefined {
    const subscribers = this.#index.subscribersOf(name)?.size ?? 0;
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

  /** Every topic with a subscriber or history, sorted by name. */
  topics(): TopicInfo[] {
    const names = new Set<string>(this.#index.topics());
    for (const name of this.#history.topics()) names.add(name);
    return [...names].sort().map((name) => this.topic(name)!);
  }

  stats(): HubStats {
    const names = new Set<string>(this.#index.topics());
    for (const name of this.#history.topics()) names.add(name);
    return {
      subscribers: this.#subscriberCount,
      subscriptions: this.#index.subscriptionCount,
      topics: names.size,
      eventsPublished: this.#eventsPublished,
      deliveries: this.#counters.deliveries,
      bytesWritten: this.#counters.bytesWritten,
      slowConsumerDisconnects: this.#counters.slowConsumerDisconnects,
      slowConsumerDrops: this.#counters.slowConsumerDrops,
      historyEvents: this.#history.totalEvents,
      resets: this.#resets,
      slowConsumerConflated: this.#counters.slowConsumerConflated,
      publishesRefused: this.#overloads,
    };
  }

  /**
   * Delivers what is queued, tells every subscriber when to come back (`retry:` of retryMs
   * plus a random share of shutdownRetryJitterMs, so reconnects spread out), and closes every
   * stream. Later publish and subscribe calls throw SSEHUB_ERR_HUB_CLOSED.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#dispatcher.flush();
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
    this.#dispatcher.flush();
    this.#epoch = start.epoch;
    this.#current = start.joinedAfterSeq;
    this.#historyFloor = start.historyFloor ?? start.joinedAfterSeq;
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

  #idOf(seq: number): string {
    return formatEventId(this.#epoch, seq);
  }

  /** Checks one input and serializes its data, without taking an id. */
  #prepare(input: PublishInput, where: string): UnsequencedEvent {
    if (typeof input !== "object" || input === null || Array.isArray(input)) {
      throw new SsehubError(
        "SSEHUB_ERR_PUBLISH_MALFORMED",
        `Cannot publish ${where}expected an object with topic or topics and data`,
      );
    }
    for (const key of Object.keys(input)) {
      if (!PUBLISH_KEYS.has(key)) {
        throw new SsehubError(
          "SSEHUB_ERR_PUBLISH_MALFORMED",
          `Cannot publish ${where}unknown field ${JSON.stringify(key)}: allowed fields are topic, topics, data, event, retry, key, private, id`,
        );
      }
    }
    if (input.topic !== undefined && input.topics !== undefined) {
      throw new SsehubError(
        "SSEHUB_ERR_PUBLISH_MALFORMED",
        `Cannot publish ${where}give topic or topics, not both`,
      );
    }
    const topics = checkTopicList(input.topic !== undefined ? [input.topic] : input.topics, {
      action: "publish",
      maxTopics: this.options.maxTopicsPerSubscription,
      maxTopicLength: this.options.maxTopicLength,
    });
    if (input.data === undefined) {
      throw new SsehubError(
        "SSEHUB_ERR_EVENT_INVALID_DATA",
        `Cannot publish ${where}data is required`,
      );
    }
    const data = serializeData(input.data);
    if (input.event !== undefined) {
      if (typeof input.event !== "string") {
        throw new SsehubError(
          "SSEHUB_ERR_EVENT_INVALID_TYPE",
          `Cannot publish ${where}event must be a string`,
        );
      }
      assertValidEventType(input.event);
    }
    if (input.retry !== undefined) assertValidRetry(input.retry);
    if (
      input.key !== undefined &&
      (typeof input.key !== "string" ||
        input.key.length === 0 ||
        input.key.length > this.options.maxTopicLength)
    ) {
      throw new SsehubError(
        "SSEHUB_ERR_PUBLISH_MALFORMED",
        `Cannot publish ${where}key must be a string of 1 to ${this.options.maxTopicLength} characters`,
      );
    }
    if (input.private !== undefined && typeof input.private !== "boolean") {
      throw new SsehubError(
        "SSEHUB_ERR_PUBLISH_MALFORMED",
        `Cannot publish ${where}private must be true or false`,
      );
    }
    if (input.id !== undefined) {
      if (typeof input.id !== "string" || input.id.length === 0 || input.id.length > 1024) {
        throw new SsehubError(
          "SSEHUB_ERR_EVENT_INVALID_ID",
          `Cannot publish ${where}id must be a string of 1 to 1024 characters`,
        );
      }
      assertValidId(input.id);
      if (parseEventId(input.id) !== undefined) {
        // Such an id would be read back as a position in the hub's own order on resume.
        throw new SsehubError(
          "SSEHUB_ERR_EVENT_INVALID_ID",
          `Cannot publish ${where}the id ${JSON.stringify(input.id)} has the form of the hub's own ids (<epoch>-<seq>): choose another, such as a URN`,
        );
      }
    }
    return {
      topics,
      data,
      event: input.event,
      retry: input.retry,
      key: input.key,
      private: input.private === true,
      id: input.id,
    };
  }

  /** Takes ordered events from the bus: encode once, keep in history, dispatch. */
  #take(events: readonly SequencedEvent[]): void {
    const epoch = this.#epoch;
    for (const sequenced of events) {
      const event = toStoredEvent(epoch, sequenced);
      this.#current = sequenced.seq;
      this.#history.append(event);
      this.#dispatcher.enqueue(event);
      this.#eventsPublished++;
    }
  }

  /** Replays history after `lastEventId` up to `head`, then lets the subscriber go live. */
  async #resume(subscriber: Subscriber, lastEventId: string, head: number): Promise<void> {
    if (lastEventId === EARLIEST) {
      const read = await this.#history.readAfter(this.#historyTopicsOf(subscriber), 0);
      if (subscriber.isClosed) return;
      await this.#replay(subscriber, visibleEvents(read.events, subscriber.access), head);
      if (subscriber.isClosed) return;
      subscriber.goLive();
      return;
    }
    const parsed = this.#seqOfLastEventId(lastEventId);
    if (parsed === undefined) {
      this.#sendReset(subscriber, "invalid-id", lastEventId, head);
    } else if (parsed.epoch !== this.#epoch) {
      this.#sendReset(subscriber, "unknown-epoch", lastEventId, head);
    } else if (parsed.seq > head) {
      // On a distributed bus the client may have seen, on another hub, events that have not
      // reached this one yet: wait for them (they are held as live), then skip them.
      if (this.#bus.isDistributed && (await this.#waitForSeq(parsed.seq))) {
        if (subscriber.isClosed) return;
        subscriber.goLive(parsed.seq);
        return;
      }
      if (subscriber.isClosed) return;
      this.#sendReset(subscriber, "invalid-id", lastEventId, head);
    } else if (parsed.seq < this.#historyFloor) {
      this.#sendReset(subscriber, "history-evicted", lastEventId, head);
    } else if (parsed.seq < head) {
      const read = await this.#history.readAfter(this.#historyTopicsOf(subscriber), parsed.seq);
      if (subscriber.isClosed) return;
      if (!read.complete) this.#sendReset(subscriber, "history-evicted", lastEventId, head);
      else await this.#replay(subscriber, visibleEvents(read.events, subscriber.access), head);
      if (subscriber.isClosed) return;
    }
    subscriber.goLive();
  }

  /**
   * Where `lastEventId` points: an id of ours, or one a publisher gave (looked up in history,
   * and taken as this epoch's), or undefined when it is neither.
   */
  #seqOfLastEventId(lastEventId: string): EventId | undefined {
    const parsed = parseEventId(lastEventId);
    if (parsed !== undefined && parsed.epoch === this.#epoch) return parsed;
    const seq = this.#history.seqOfId?.(lastEventId);
    if (seq !== undefined) return { epoch: this.#epoch, seq };
    return parsed;
  }

  /**
   * The topics whose history a resume reads: the subscriber's own, plus, with patterns, every
   * topic this hub's history holds that one of them matches.
   */
  #historyTopicsOf(subscriber: Subscriber): readonly string[] {
    if (subscriber.patterns === undefined) return subscriber.topics;
    const topics = new Set(subscriber.topics);
    for (const topic of this.#history.topics()) {
      if (subscriber.wants([topic])) topics.add(topic);
    }
    return [...topics];
  }

  /** Waits until the bus has brought `seq`; false after AHEAD_WAIT_MS or on close. */
  async #waitForSeq(seq: number): Promise<boolean> {
    const deadline = Date.now() + AHEAD_WAIT_MS;
    while (this.#current < seq) {
      if (this.#closed || Date.now() > deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, AHEAD_POLL_MS));
    }
    return true;
  }

  /** Writes `events` (those up to `head`) in chunks, waiting for a slow reader to catch up. */
  async #replay(
    subscriber: Subscriber,
    events: readonly StoredEvent[],
    head: number,
  ): Promise<void> {
    const { maxQueueBytes } = this.options;
    let i = 0;
    while (i < events.length && events[i]!.seq <= head) {
      const chunk: Buffer[] = [];
      let size = 0;
      let lastSeq = 0;
      while (i < events.length && events[i]!.seq <= head && size < REPLAY_CHUNK_BYTES) {
        const event = events[i++]!;
        chunk.push(event.bytes);
        size += event.bytes.length;
        lastSeq = event.seq;
      }
      subscriber.writeDirect(chunk.length === 1 ? chunk[0]! : Buffer.concat(chunk), lastSeq);
      this.#counters.deliveries += chunk.length;
      this.#counters.bytesWritten += size;
      do {
        await new Promise<void>((resolve) =>
          subscriber.sink.queuedBytes > maxQueueBytes / 2
            ? setTimeout(resolve, REPLAY_BACKLOG_POLL_MS)
            : setImmediate(resolve),
        );
        if (subscriber.isClosed || subscriber.sink.isClosed) return;
      } while (subscriber.sink.queuedBytes > maxQueueBytes / 2);
    }
  }

  #sendReset(subscriber: Subscriber, reason: ResetReason, lastEventId: string, head: number): void {
    this.#resets++;
    const id = this.#idOf(head);
    const data = JSON.stringify({ reason, lastEventId, currentEventId: id });
    subscriber.writeDirect(encodeEvent({ id, event: RESET_EVENT, data }), head);
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

  #createHost(): SubscriberHost {
    const hub = this;
    return {
      maxQueueBytes: this.options.maxQueueBytes,
      policy: this.options.slowConsumerPolicy,
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

  close(): void {
    this.#unregister(this.#subscriber);
  }
}

/** The events of a replay that a subscriber with `access` may receive. */
function visibleEvents(
  events: readonly StoredEvent[],
  access: PrivateAccess | undefined,
): readonly StoredEvent[] {
  if (!events.some((event) => event.private)) return events;
  return events.filter((event) => !event.private || access?.allows(event.topics) === true);
}

/**
 * Creates a hub; its options are checked by resolveHubOptions (all problems in one error, an
 * option of another layer named as such).
 */
export function createHub(options?: HubOptions | ResolvedHubOptions, plugins?: HubPlugins): Hub {
  return new Hub(options, plugins);
}
