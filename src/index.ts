/**
 * ssehub: a Server-Sent Events hub. Create a hub, publish, serve it over HTTP.
 * @module
 */

export type { Bus, BusMetricsSource, BusRestartReason, BusStart } from "./bus/bus.js";
export type { IpcChannel } from "./bus/cluster-bus.js";
export { ClusterBus, ClusterSequencer } from "./bus/cluster-bus.js";
export { LocalBus } from "./bus/local-bus.js";
export type { RedisEngine, RedisEngineOptions } from "./bus/redis-engine.js";
export { connectRedisEngine } from "./bus/redis-engine.js";
export type { ErrorCode } from "./errors.js";
export { ERROR_CATALOGUE, isSsehubError, SsehubError } from "./errors.js";
export type { HistoryStore, StoredEvent } from "./history/history-store.js";
export type { PreparedEvent, SequencedEvent } from "./history/stored-event.js";
export type { RequestHandler, RequestHandlerOptions } from "./http/handler.js";
export { createRequestHandler } from "./http/handler.js";
export { MERCURE_PATH, mercureLink } from "./http/routes/mercure.js";
export type { ListenAddress, ServerOptions } from "./http/server.js";
export { createServer, SsehubServer } from "./http/server.js";
export { createHub, Hub } from "./hub/hub.js";
export type { PublishInput } from "./hub/publish-input.js";
export type { Sink } from "./hub/sink.js";
export { GAP_EVENT } from "./hub/subscriber.js";
export type {
  HubPlugins,
  HubStats,
  HubStatus,
  PublishResult,
  ResetReason,
  SubscribeRequest,
  Subscription,
  TopicInfo,
} from "./hub/types.js";
export { EARLIEST, RESET_EVENT } from "./hub/types.js";
export type { LogLevel, Options, ResolvedOptions, SlowConsumerPolicy } from "./options.js";
export { DEFAULTS, OPTION_SPECS, resolveOptions } from "./options.js";
export type { SseEventFields } from "./protocol/encode.js";
export { encodeComment, encodeEvent, encodeRetry, serializeData } from "./protocol/encode.js";
export { formatEventId, parseEventId } from "./protocol/event-id.js";
