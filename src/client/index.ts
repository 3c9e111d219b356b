/**
 * The ssehub client for browsers and Node 20+ (`ssehub/client`): subscribe to topics of a hub,
 * resume after reconnects with Last-Event-ID, and get told when events were missed; in browsers,
 * share one connection among all tabs of an origin (`createSharedClient`).
 * @module
 */

export { GAP_EVENT, RESET_EVENT } from "../protocol/hub-events.js";
export type { ParsedEvent, SseParserHandlers } from "../protocol/parse.js";
export { SseParser } from "../protocol/parse.js";
export { reconnectDelay } from "./backoff.js";
export type {
  ClientState,
  GapNotice,
  ResetNotice,
  ResetReason,
  SsehubClientOptions,
} from "./client.js";
export {
  createClient,
  DEFAULT_BACKOFF_BASE_MS,
  DEFAULT_BACKOFF_MAX_MS,
  SsehubClient,
} from "./client.js";
export type { ClientErrorCode, ClientErrorDetails } from "./client-error.js";
export { SsehubClientError } from "./client-error.js";
export type { SharedClientOptions, SharedTransport } from "./shared-client.js";
export { createSharedClient, SharedSsehubClient } from "./shared-client.js";
