/**
 * The shape of a route: the methods it answers and the function that answers them. Routes get
 * everything through their context, so that they hold no state of their own.
 * @module
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Hub } from "../../hub/hub.js";
import type { AdminAccess } from "../access/admin-access.js";
import type { Authorizer } from "../access/authorizer.js";
import type { RequestLimits } from "../limits/request-limits.js";
import type { AccessRecord } from "../telemetry/access-log.js";
import type { HubDiagnosis } from "../telemetry/hub-diagnosis.js";
import type { Logger } from "../telemetry/logger.js";
import type { HubMetrics } from "../telemetry/metrics.js";
import type { PresenceWebhook } from "../telemetry/presence-webhook.js";

/** What a route sees of one request. */
export interface RouteContext {
  readonly hub: Hub;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** The query string of the request target. */
  readonly query: URLSearchParams;
  /**
   * The remainder of the path after the route's prefix: percent-decoded (`/events/:topic`), or
   * as sent for a route that splits it into segments first (Mercure's subscriptions API).
   */
  readonly param: string | undefined;
  readonly logger: Logger;
  readonly metrics: HubMetrics;
  /** False once the server started shutting down. */
  readonly isReady: () => boolean;
  /** Who may publish and subscribe. */
  readonly auth: Authorizer;
  /** Stream and publish limits, and the client's address. */
  readonly limits: RequestLimits;
  /** Who may read the admin endpoints. */
  readonly admin: AdminAccess;
  /** The stall reports and the diagnosis of the admin endpoints. */
  readonly diagnosis: HubDiagnosis;
  /** The request's id, echoed in `X-Request-Id` (telemetry/request-id.ts). */
  readonly requestId: string;
  /** The request's access log record, when the access log is on (telemetry/access-log.ts). */
  readonly access: AccessRecord | undefined;
  /** Told of every stream that opens and ends, when `presenceWebhookUrl` is set. */
  readonly presenceWebhook?: PresenceWebhook | undefined;
}

/** One route. A route answers by writing to `ctx.res`, or throws an error for error-response.ts. */
export interface Route {
  /** Methods answered, without OPTIONS (the handler answers it for every route). */
  readonly methods: readonly string[];
  handle(ctx: RouteContext): void | Promise<void>;
}
