/**
 * The options the hub reads: history, queues, heartbeats, topics, batches, shutdown hints and
 * write batching. `createHub` resolves them (resolveHubOptions); createServer and `ssehub serve`
 * take them too and pass them down. An option of another layer handed to `createHub` is an
 * error naming the layer it belongs to.
 * @module
 */
import {
  LAYER_ENTRY,
  type LayerOptionName,
  MAX_MS,
  type OptionGroup,
  type OptionInput,
  type OptionSpec,
  optionResolver,
} from "../options.js";

/** What the hub does when a subscriber's queued bytes would pass `maxQueueBytes`. */
export type SlowConsumerPolicy = "disconnect" | "drop" | "conflate";

/** The hub's options, resolved: every field present, checked and frozen. */
export interface ResolvedHubOptions {
  /** Events kept per topic for resume; 0 keeps none. */
  readonly historyMaxEvents: number;
  /** Age after which an event leaves history, in milliseconds. */
  readonly historyMaxAgeMs: number;
  /**
   * Bytes that the memory history may spend remembering topics whose history aged out (so that
   * their readers still learn of the loss), besides a cap of 100,000 topics. Names count two
   * bytes per character plus 160; past the cap the oldest are forgotten, and their readers may get
   * a reset they did not need (never a silent loss).
   */
  readonly historyMaxDroppedTopicBytes: number;
  /** Bytes a subscriber may have queued before the slow-consumer policy applies. */
  readonly maxQueueBytes: number;
  /**
   * `disconnect` (the client resumes from history), `drop` (gap notice, stream goes on) or
   * `conflate` (only the newest event per key while the subscriber lags).
   */
  readonly slowConsumerPolicy: SlowConsumerPolicy;
  /**
   * How long a subscriber's connection may take none of the bytes waiting for it, in ms (like
   * Mercure's `dispatch_timeout`): past it the subscriber is disconnected as a slow consumer is,
   * whatever `slowConsumerPolicy` says, and counted with them; the client resumes from history
   * when it comes back. Checked at heartbeat visits, so a stopped reader goes within this plus
   * two `heartbeatMs`. 0: no limit (only `maxQueueBytes` bounds a stopped reader).
   */
  readonly dispatchTimeoutMs: number;
  /** Interval of heartbeat comments on an otherwise silent stream, in milliseconds. */
  readonly heartbeatMs: number;
  /** Reconnection delay sent to clients in the first bytes of a stream (`retry:`), in ms. */
  readonly retryMs: number;
  /** Most topics one subscription may name. */
  readonly maxTopicsPerSubscription: number;
  /** Most topics one published event may name. */
  readonly maxTopicsPerPublish: number;
  /** Longest topic name, in characters. */
  readonly maxTopicLength: number;
  /** Most events in one batch publish. */
  readonly maxBatchEvents: number;
  /** Upper bound of the random delay told to clients on shutdown (`retry:`), in ms. */
  readonly shutdownRetryJitterMs: number;
  /** Events handed to the bus and not yet ordered, past which publishes are refused (503). */
  readonly maxPublishBacklog: number;
  /**
   * How long the first event queued for delivery waits for others before the hub writes, in
   * ms: 0 writes at the end of each event-loop turn; more lets the events of several turns
   * leave in one write per subscriber (fewer syscalls, at most this much more latency).
   */
  readonly writeDelayMs: number;
  /**
   * The longest time, in ms, the hub holds events back after a costly fan-out so that they
   * leave together (adaptive coalescing, see docs/principles.md): after a fan-out that kept
   * the event loop busy for d ms (1 ms or more), the next waits up to 2 x d, capped here. A
   * quiet hub is never held. 0 turns it off. Applies besides writeDelayMs: a write waits for
   * the later of the two.
   */
  readonly writeCoalesceMaxMs: number;
  /**
   * Priority topics: topics, or prefixes followed by `*`. A subscriber whose topics are all
   * priority topics is served by an express lane that is never held by coalescing or the
   * write delay and runs before each slice of the normal fan-out (see topic-priority.ts).
   * Empty: one lane for all.
   */
  readonly priorityTopics: readonly string[];
  /**
   * How long the sequencer remembers a publish's idempotency key, in ms: a retry with the
   * same key within it answers the first publish's ids and publishes nothing.
   */
  readonly idempotencyWindowMs: number;
  /**
   * Most idempotency keys a process remembers at once (one process, or the primary of
   * `--workers`); past it the oldest is forgotten early. With Redis, keys live in Redis.
   */
  readonly idempotencyMaxKeys: number;
}

/** The options of createHub: any subset of the hub's. */
export type HubOptions = OptionInput<ResolvedHubOptions>;

/** The hub's defaults. */
export const HUB_DEFAULTS: ResolvedHubOptions = Object.freeze({
  historyMaxEvents: 1000, // events per topic
  historyMaxAgeMs: 3_600_000, // 1 hour
  historyMaxDroppedTopicBytes: 16_777_216, // 16 MiB
  maxQueueBytes: 1_048_576, // 1 MiB per subscriber
  slowConsumerPolicy: "disconnect",
  dispatchTimeoutMs: 0, // no limit
  heartbeatMs: 15_000, // 15 seconds
  retryMs: 3_000, // 3 seconds
  maxTopicsPerSubscription: 64,
  maxTopicsPerPublish: 64,
  maxTopicLength: 256, // characters
  maxBatchEvents: 1000, // events
  shutdownRetryJitterMs: 5_000, // 5 seconds
  maxPublishBacklog: 10_000, // events
  writeDelayMs: 0, // write at the end of each event-loop turn
  writeCoalesceMaxMs: 10, // hold after a costly fan-out, at most 10 ms
  priorityTopics: [], // one lane for all
  idempotencyWindowMs: 300_000, // 5 minutes
  idempotencyMaxKeys: 100_000, // keys
} satisfies ResolvedHubOptions);

/** The check of every hub option. */
export const HUB_OPTION_SPECS: { readonly [K in keyof ResolvedHubOptions]: OptionSpec } =
  Object.freeze({
    historyMaxEvents: {
      kind: "integer",
      min: 0,
      max: 10_000_000,
      help: "Events kept per topic for resume (0 keeps none)",
    },
    historyMaxAgeMs: {
      kind: "integer",
      min: 1,
      max: MAX_MS,
      help: "Age after which an event leaves history, in ms",
    },
    historyMaxDroppedTopicBytes: {
      kind: "integer",
      min: 0,
      max: 1_073_741_824,
      help: "Bytes the memory history spends remembering topics whose events aged out (at most 100,000 topics)",
    },
    maxQueueBytes: {
      kind: "integer",
      min: 1024,
      max: 1_073_741_824,
      help: "Bytes a subscriber may have queued before the slow-consumer policy applies",
    },
    slowConsumerPolicy: {
      kind: "enum",
      values: ["disconnect", "drop", "conflate"],
      help: "What happens to a subscriber past maxQueueBytes",
    },
    dispatchTimeoutMs: {
      kind: "integer",
      min: 0,
      max: MAX_MS,
      help: "How long a subscriber may take none of the bytes waiting for it, in ms (like Mercure's dispatch_timeout); past it it is disconnected as a slow consumer; 0: no limit",
    },
    heartbeatMs: {
      kind: "integer",
      min: 100,
      max: MAX_MS,
      help: "Heartbeat comment interval on silent streams, in ms",
    },
    retryMs: {
      kind: "integer",
      min: 0,
      max: MAX_MS,
      help: "Reconnection delay sent to clients when a stream opens, in ms",
    },
    maxTopicsPerSubscription: {
      kind: "integer",
      min: 1,
      max: 10_000,
      help: "Most topics one subscription may name",
    },
    maxTopicsPerPublish: {
      kind: "integer",
      min: 1,
      max: 10_000,
      help: "Most topics one published event may name",
    },
    maxTopicLength: {
      kind: "integer",
      min: 1,
      max: 65_536,
      help: "Longest topic name, in characters",
    },
    maxBatchEvents: {
      kind: "integer",
      min: 1,
      max: 1_000_000,
      help: "Most events in one batch publish",
    },
    shutdownRetryJitterMs: {
      kind: "integer",
      min: 0,
      max: MAX_MS,
      help: "Upper bound of the random reconnection delay told to clients on shutdown, in ms",
    },
    maxPublishBacklog: {
      kind: "integer",
      min: 1,
      max: 10_000_000,
      help: "Events waiting to be ordered past which publishes answer 503 with Retry-After",
    },
    writeDelayMs: {
      kind: "integer",
      min: 0,
      max: 1000,
      help: "Time the first queued event waits for others before the hub writes, in ms; 0 writes every event-loop turn",
    },
    writeCoalesceMaxMs: {
      kind: "integer",
      min: 0,
      max: 1000,
      help: "Longest hold, in ms, of the events that follow a costly fan-out (2x its duration), so that they leave in one write; 0: off",
    },
    priorityTopics: {
      kind: "list",
      help: "Priority topics (topics, or prefixes followed by *), comma separated: their subscribers are written first, never held behind other topics' fan-out",
    },
    idempotencyWindowMs: {
      kind: "integer",
      min: 1,
      max: 86_400_000,
      help: "How long a publish's Idempotency-Key is remembered, in ms: a retry within it answers the first ids and publishes nothing",
    },
    idempotencyMaxKeys: {
      kind: "integer",
      min: 1,
      max: 10_000_000,
      help: "Most idempotency keys one process (or the primary of --workers) remembers; past it the oldest is forgotten",
    },
  } satisfies { readonly [K in LayerOptionName<"hub">]: OptionSpec });

/** The hub's options as a group, for the layers that compose them. */
export const HUB_OPTIONS: OptionGroup<ResolvedHubOptions> = Object.freeze({
  specs: HUB_OPTION_SPECS,
  defaults: HUB_DEFAULTS,
  crossChecks: [],
});

/**
 * Merges `input` over HUB_DEFAULTS, checks every field and returns the result deep-frozen.
 * Refuses unknown keys (with a "did you mean" hint) and options of other layers (`port is a
 * server option: pass it to createServer, not createHub`), every problem in one
 * SSEHUB_ERR_OPTIONS_INVALID error whose `details.problems` lists them.
 * @example
 * const options = resolveHubOptions({ heartbeatMs: 10_000 });
 */
export const resolveHubOptions: (input?: unknown) => ResolvedHubOptions = optionResolver(
  LAYER_ENTRY.hub,
  HUB_OPTIONS,
);
