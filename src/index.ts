/**
 * ssehub: a Server-Sent Events hub. Create a hub, publish, serve it over HTTP.
 *
 * The public API, named one by one and listed in docs/api.md (test/docs.test.ts keeps the two
 * in step). What is not here is internal and may change in any release: the cluster primary,
 * the option tables, the Redis key layout.
 * @module
 */

export type { Bus, BusMetricsSource, BusRestartReason, BusStart } from "./bus/bus.js";
export type { DurableEngine, DurableEngineOptions } from "./bus/durable-engine.js";
export { openDurableEngine } from "./bus/durable-engine.js";
export { LocalBus } from "./bus/local-bus.js";
export type { RedisEngine, RedisEngineOptions } from "./bus/redis-engine.js";
export { connectRedisEngine } from "./bus/redis-engine.js";
export type { ErrorCode } from "./errors.js";
export { ERROR_CATALOGUE, isSsehubError, SsehubError } from "./errors.js";
export type { DurableHistoryStart } from "./history/durable-history.js";
export type { HistoryRead, HistoryStore, StoredEvent } from "./history/history-store.js";
export type {
  IdempotencyClaim,
  PreparedEvent,
  SequencedEvent,
} from "./history/stored-event.js";
export type { Authorizer } from "./http/access/authorizer.js";
export type { RequestHandler, RequestHandlerOptions } from "./http/handler.js";
export { createRequestHandler } from "./http/handler.js";
export type { CreateServerOptions, ListenAddress } from "./http/server.js";
export { checkServerOptions, createServer, SsehubServer } from "./http/server.js";
export type {
  HandlerOptions,
  LogLevel,
  ResolvedServerOptions,
  ServerOptions,
} from "./http/server-options.js";
export { resolveServerOptions, SERVER_DEFAULTS } from "./http/server-options.js";
export { DIAGNOSIS_SNAPSHOT } from "./http/telemetry/hub-diagnosis.js";
export type { Logger } from "./http/telemetry/logger.js";
export { createLogger } from "./http/telemetry/logger.js";
export type { GatherSnapshots, HubMetrics } from "./http/telemetry/metrics.js";
export { METRICS_SNAPSHOT } from "./http/telemetry/metrics.js";
export type { InternalsFallback } from "./http/transport/internals-fallback.js";
export { INTERNALS_FALLBACK_CHANNEL } from "./http/transport/internals-fallback.js";
export { SOCKET_TAKEOVER_ENV } from "./http/transport/socket-takeover.js";
export { TCP_HANDLE_STREAM_ENV } from "./http/transport/tcp-handle-stream.js";
export { createHub, Hub } from "./hub/hub.js";
export type { HubOptions, ResolvedHubOptions, SlowConsumerPolicy } from "./hub/hub-options.js";
export { HUB_DEFAULTS, resolveHubOptions } from "./hub/hub-options.js";
export type { PublishBatchOptions, PublishInput, PublishOptions } from "./hub/publish-input.js";
export type { Sink } from "./hub/sink.js";
export type { PrivateAccess, TopicPattern } from "./hub/subscriber.js";
export type {
  HubPlugins,
  HubStats,
  HubStatus,
  PublishResult,
  ResetReason,
  SubscribeRequest,
  Subscription,
  TopicInfo,
  TopicPage,
} from "./hub/types.js";
export { EARLIEST } from "./hub/types.js";
export { MERCURE_PATH, mercureLink } from "./mercure/index.js";
export type { SseEventFields } from "./protocol/encode.js";
export { encodeComment, encodeEvent, encodeRetry, serializeData } from "./protocol/encode.js";
export { formatEventId, parseEventId } from "./protocol/event-id.js";
export { GAP_EVENT, RESET_EVENT } from "./protocol/hub-events.js";
export type { TraceContext } from "./protocol/trace-context.js";
