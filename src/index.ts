/**
 * ssehub: a Server-Sent Events hub. Create a hub, publish, serve it over HTTP.
 * @module
 */

export type {
  Bus,
  BusMetricsSource,
  BusRestartReason,
  BusStart,
  SequencedEvent,
  UnsequencedEvent,
} from "./bus/bus.js";
export type { IpcChannel } from "./bus/cluster-bus.js";
export { ClusterBus, ClusterSequencer } from "./bus/cluster-bus.js";
export { LocalBus } from "./bus/local-bus.js";
export type { RedisEngine, RedisEngineOptions } from "./bus/redis-engine.js";
export { connectRedisEngine } from "./bus/redis-engine.js";
export type { ErrorCode } from "./errors.js";
export { ERROR_CATALOGUE, isSsehubError, SsehubError } from "./errors.js";
export type { HistoryStore, StoredEvent } from "./history/history-store.js";
export type { RequestHandler, RequestHandlerOptions } from "./http/handler.js";
export { createRequestHandler } from "./http/handler.js";
export type { CreateServerOptions, ListenAddress } from "./http/server.js";
export { checkServerOptions, createServer, SsehubServer } from "./http/server.js";
export type {
  HandlerOptions,
  LogLevel,
  ResolvedHandlerOptions,
  ResolvedServerOptions,
  ServerOptions,
} from "./http/server-options.js";
export {
  resolveHandlerOptions,
  resolveServerOptions,
  SERVER_DEFAULTS,
  SERVER_OPTION_SPECS,
} from "./http/server-options.js";
export type { Logger } from "./http/telemetry/logger.js";
export { createLogger } from "./http/telemetry/logger.js";
export { SOCKET_TAKEOVER_ENV } from "./http/transport/socket-takeover.js";
export type {
  HubPlugins,
  HubStats,
  HubStatus,
  PublishInput,
  PublishResult,
  ResetReason,
  SubscribeRequest,
  Subscription,
  TopicInfo,
} from "./hub/hub.js";
export { createHub, EARLIEST, Hub, RESET_EVENT } from "./hub/hub.js";
export type { HubOptions, ResolvedHubOptions, SlowConsumerPolicy } from "./hub/hub-options.js";
export { HUB_DEFAULTS, HUB_OPTION_SPECS, resolveHubOptions } from "./hub/hub-options.js";
export type { Sink } from "./hub/sink.js";
export { MERCURE_PATH, mercureLink } from "./mercure/index.js";
export type { OptionLayer, OptionSpec } from "./options.js";
export { OPTION_LAYERS } from "./options.js";
export type { SseEventFields } from "./protocol/encode.js";
export { encodeComment, encodeEvent, encodeRetry, serializeData } from "./protocol/encode.js";
export { formatEventId, parseEventId } from "./protocol/event-id.js";
export { GAP_EVENT } from "./protocol/hub-events.js";
