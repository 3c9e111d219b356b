/**
 * The request handler of a hub: routing, CORS, method checks and error answers. Mount it on
 * any node:http server (or a framework's raw request/response pair); `createServer` uses it,
 * and also mounts it on node:http2's secure server, whose compat request and response stand in
 * for node:http's (secure-server.ts; routes touch only what both have).
 *
 * | route | methods |
 * |---|---|
 * | `/events?topic=a&topic=b`, `/events/:topic` | GET (the stream) |
 * | `/publish` | POST |
 * | `/topics`, `/topics/:topic` | GET, HEAD |
 * | `/healthz`, `/readyz`, `/metrics` | GET, HEAD |
 * | `/admin/stats` | GET, HEAD: behind the admin gate (access/admin-access.ts) |
 * | `/dashboard`, `/admin/stats/stream` | GET: with the `dashboard` option only (dashboard/dashboard-routes.ts) |
 * | `/admin/stalls`, `/admin/stalls/profile`, `/admin/diagnosis` | GET, HEAD: behind the admin gate |
 * | `/.well-known/mercure` | GET (the stream), POST (publish): the Mercure protocol |
 * | `/.well-known/mercure/subscriptions{/topic}{/subscriber}` | GET: Mercure's subscriptions API (with `subscriptionEvents`) |
 * Every route also answers OPTIONS (CORS preflight). An unknown path answers 404
 * SSEHUB_ERR_ROUTE_NOT_FOUND; a known path with another method 405 with an `Allow` header.
 * @module
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { SsehubError } from "../errors.js";
import type { Hub } from "../hub/hub.js";
import { createMercureRoutes, MERCURE_PATH, type MercureRoutes } from "../mercure/index.js";
import { AdminAccess } from "./access/admin-access.js";
import { Authorizer } from "./access/authorizer.js";
import { CorsPolicy } from "./access/cors.js";
import { OpenPublishGuard } from "./access/open-publish-guard.js";
import { createDashboardRoutes } from "./dashboard/dashboard-routes.js";
import { RequestLimits } from "./limits/request-limits.js";
import { sendError } from "./messages/error-response.js";
import { settleUnreadBody } from "./messages/read-body.js";
import { adminDiagnosisRoute } from "./routes/admin-diagnosis.js";
import { adminStallProfileRoute, adminStallsRoute } from "./routes/admin-stalls.js";
import { adminStatsRoute } from "./routes/admin-stats.js";
import { eventsRoute } from "./routes/events.js";
import { healthRoute, readyRoute } from "./routes/health.js";
import { metricsRoute } from "./routes/metrics.js";
import { publishRoute } from "./routes/publish.js";
import type { Route, RouteContext } from "./routes/route.js";
import { topicsRoute } from "./routes/topics.js";
import { type HandlerOptions, resolveHandlerOptions } from "./server-options.js";
import { AccessLog } from "./telemetry/access-log.js";
import { HubDiagnosis } from "./telemetry/hub-diagnosis.js";
import { createLogger, type Logger } from "./telemetry/logger.js";
import { type GatherSnapshots, HubMetrics } from "./telemetry/metrics.js";
import { createPresenceWebhook, type PresenceWebhook } from "./telemetry/presence-webhook.js";
import { REQUEST_ID_HEADER, RequestIds } from "./telemetry/request-id.js";
import { StallWatcher } from "./telemetry/stall-watcher.js";

/**
 * Options of createRequestHandler: the server options a request handler reads (CORS, body size,
 * authorization, limits, proxies, `subscriptionEvents`, `logLevel`: see server-options.ts), and
 * the parts createServer builds itself.
 */
export interface RequestHandlerOptions extends HandlerOptions {
  /** Where to log; a logger at `logLevel` by default. */
  readonly logger?: Logger | undefined;
  /** The metrics to expose on /metrics; a new registry of this hub by default. */
  readonly metrics?: HubMetrics | undefined;
  /**
   * Makes one answer of /metrics (when `metrics` is not given) and of /admin/diagnosis cover
   * every worker of a cluster (see GatherSnapshots). `ssehub serve --workers N` passes the
   * cluster's.
   */
  readonly gather?: GatherSnapshots | undefined;
  /** Answers /readyz; by default ready until the hub closes. */
  readonly isReady?: (() => boolean) | undefined;
  /** Who may publish and subscribe; by default built from these options. */
  readonly authorizer?: Authorizer | undefined;
  /** Stream and publish limits; by default built from these options. */
  readonly limits?: RequestLimits | undefined;
}

/** A node:http request listener, with the metrics it exposes. */
export interface RequestHandler {
  (req: IncomingMessage, res: ServerResponse): void;
  /** The metrics behind /metrics; call `metrics.close()` when you drop the handler. */
  readonly metrics: HubMetrics;
  /**
   * The presence webhook, when `presenceWebhookUrl` is set; call `presenceWebhook.close(deadline)`
   * when you drop the handler, to send what is left.
   */
  readonly presenceWebhook: PresenceWebhook | undefined;
  /** The stall watcher and diagnosis of /admin/; call `diagnosis.close()` when you drop the handler. */
  readonly diagnosis: HubDiagnosis;
}

/** ssehub's own routes: exact paths, and prefixes whose remainder is a percent-decoded topic. */
const EXACT_ROUTES: readonly (readonly [path: string, route: Route])[] = [
  ["/events", eventsRoute],
  ["/publish", publishRoute],
  ["/topics", topicsRoute],
  ["/healthz", healthRoute],
  ["/readyz", readyRoute],
  ["/metrics", metricsRoute],
  ["/admin/stats", adminStatsRoute],
  ["/admin/stalls", adminStallsRoute],
  ["/admin/stalls/profile", adminStallProfileRoute],
  ["/admin/diagnosis", adminDiagnosisRoute],
];
const TOPIC_ROUTES: readonly (readonly [prefix: string, route: Route])[] = [
  ["/events/", eventsRoute],
  ["/topics/", topicsRoute],
];

interface RouteMatch {
  readonly route: Route;
  readonly param: string | undefined;
}

/** The routes of one handler: ssehub's own and Mercure's. */
class RouteTable {
  readonly #exact: ReadonlyMap<string, Route>;
  /** Prefixes whose remainder is the parameter: percent-decoded, or as sent when `raw`. */
  readonly #prefixed: readonly (readonly [prefix: string, route: Route, raw: boolean])[];

  constructor(mercure: MercureRoutes, dashboard: readonly (readonly [string, Route])[]) {
    this.#exact = new Map([...EXACT_ROUTES, ...dashboard, ...mercure.exact]);
    this.#prefixed = [
      ...TOPIC_ROUTES.map(([prefix, route]) => [prefix, route, false] as const),
      ...mercure.prefixed.map(([prefix, route]) => [prefix, route, true] as const),
    ];
  }

  match(pathname: string): RouteMatch | undefined {
    const exact = this.#exact.get(pathname);
    if (exact !== undefined) return { route: exact, param: undefined };
    for (const [prefix, route, raw] of this.#prefixed) {
      if (!pathname.startsWith(prefix)) continue;
      const rest = pathname.slice(prefix.length);
      if (raw) return { route, param: rest };
      try {
        return { route, param: decodeURIComponent(rest) };
      } catch (cause) {
        throw new SsehubError(
          "SSEHUB_ERR_TOPIC_INVALID",
          `Cannot read topic ${JSON.stringify(rest)}: its percent-encoding is broken`,
          { cause },
        );
      }
    }
    return undefined;
  }
}

/** The server options among `options`, without the parts handed in ready-made. */
function serverOptionsOf(options: RequestHandlerOptions): HandlerOptions {
  const { logger, metrics, gather, isReady, authorizer, limits, ...serverOptions } = options;
  return serverOptions;
}

function allowHeader(route: Route): string {
  return [...route.methods, "OPTIONS"].join(", ");
}

/**
 * Creates the request handler of `hub`. Throws SSEHUB_ERR_OPTIONS_INVALID for options it cannot
 * use, naming every problem (an option of the hub or of the listener included: pass those to
 * createHub or createServer). While publishing is open to anyone (no publisher key, no publish
 * hook, `anonymousPublish` not true), publishes from other machines get 403
 * SSEHUB_ERR_AUTH_PUBLISH_LOOPBACK_ONLY, and a server listening beyond loopback gets one warning
 * at its first request (access/open-publish-guard.ts).
 * @example
 * import { createServer } from "node:http";
 * const hub = createHub({ historyMaxEvents: 100 });
 * const handler = createRequestHandler(hub);
 * createServer(handler).listen(8080, "127.0.0.1");
 */
export function createRequestHandler(
  hub: Hub,
  options: RequestHandlerOptions = {},
): RequestHandler {
  const resolved = resolveHandlerOptions(serverOptionsOf(options));
  const logger = options.logger ?? createLogger(resolved.logLevel);
  const metrics = options.metrics ?? new HubMetrics(hub, { gather: options.gather });
  const isReady = options.isReady ?? (() => hub.isReady);
  const cors = new CorsPolicy(resolved.corsOrigins);
  const auth = options.authorizer ?? new Authorizer(resolved);
  const limits = options.limits ?? new RequestLimits(resolved);
  // Undefined unless publishing is open to anyone: then publishes from other machines are
  // refused, as createServer refuses to listen beyond loopback (access/open-publish-guard.ts).
  const openPublishing = OpenPublishGuard.of(
    {
      publishingIsOpen: auth.publishingIsOpen,
      publishHookUrl: resolved.publishHookUrl,
      anonymousPublish: resolved.anonymousPublish,
    },
    logger,
  );
  const admin = new AdminAccess({
    adminToken: resolved.adminToken,
    authIsOn: [
      resolved.publisherJwtKey,
      resolved.publisherJwksUrl,
      resolved.subscriberJwtKey,
      resolved.subscriberJwksUrl,
      resolved.mercureIssuers,
    ].some((setting) => setting !== ""),
  });
  const watcher = new StallWatcher({
    thresholdMs: resolved.stallThresholdMs,
    profileMs: resolved.stallProfileMs,
    logger,
  });
  const routes = new RouteTable(
    createMercureRoutes(hub, logger, resolved.subscriptionEvents, {
      protocol: resolved.mercureProtocol,
      authCookieName: resolved.authCookieName,
      authQueryParam: resolved.authQueryParam,
    }),
    resolved.dashboard
      ? createDashboardRoutes(hub, {
          stallCount: () => (resolved.stallThresholdMs === 0 ? undefined : watcher.total),
        })
      : [],
  );
  watcher.registerMetrics(metrics.registry);
  const diagnosis = new HubDiagnosis(hub, watcher, options.gather);
  const presenceWebhook = createPresenceWebhook(resolved, logger);
  presenceWebhook?.registerMetrics(metrics.registry);
  const requestIds = new RequestIds();
  const accessLog = resolved.accessLog
    ? new AccessLog(logger, resolved.authQueryParam, limits)
    : undefined;

  const fail = (
    req: IncomingMessage,
    res: ServerResponse,
    requestId: string,
    error: unknown,
    route?: Route,
  ): void => {
    settleUnreadBody(req, res);
    const isMethodError =
      error instanceof SsehubError && error.code === "SSEHUB_ERR_METHOD_NOT_ALLOWED";
    sendError(
      res,
      error,
      logger.child({ requestId }),
      isMethodError && route !== undefined ? { Allow: allowHeader(route) } : undefined,
      metrics,
    );
  };

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const requestId = requestIds.of(req);
    res.setHeader(REQUEST_ID_HEADER, requestId);
    const access = accessLog?.begin(req, res, requestId);
    const target = req.url ?? "/";
    const queryStart = target.indexOf("?");
    const pathname = queryStart === -1 ? target : target.slice(0, queryStart);
    let match: RouteMatch | undefined;
    try {
      cors.applyHeaders(req, res);
      match = routes.match(pathname);
      if (match === undefined) {
        throw new SsehubError(
          "SSEHUB_ERR_ROUTE_NOT_FOUND",
          `Cannot find ${JSON.stringify(pathname)}: try /events, /publish, /topics, /healthz, /readyz, /metrics or ${MERCURE_PATH}`,
        );
      }
      const { route } = match;
      const method = req.method ?? "GET";
      openPublishing?.check(req, method, pathname);
      if (method === "OPTIONS") {
        answerOptions(req, res, route, cors);
        return;
      }
      if (!route.methods.includes(method)) {
        throw new SsehubError(
          "SSEHUB_ERR_METHOD_NOT_ALLOWED",
          `Cannot ${method} ${pathname}: use ${route.methods.join(" or ")}`,
          { details: { allowed: route.methods } },
        );
      }
      const ctx: RouteContext = {
        hub,
        req,
        res,
        query: new URLSearchParams(queryStart === -1 ? "" : target.slice(queryStart + 1)),
        param: match.param,
        logger,
        metrics,
        isReady,
        auth,
        limits,
        admin,
        diagnosis,
        requestId,
        access,
        presenceWebhook,
      };
      const done = route.handle(ctx);
      if (done !== undefined) {
        done.catch((error: unknown) => fail(req, res, requestId, error, route));
      }
    } catch (error) {
      fail(req, res, requestId, error, match?.route);
    }
  };
  return Object.assign(handler, { metrics, diagnosis, presenceWebhook });
}

function answerOptions(
  req: IncomingMessage,
  res: ServerResponse,
  route: Route,
  cors: CorsPolicy,
): void {
  if (CorsPolicy.isPreflight(req)) {
    cors.answerPreflight(req, res);
    return;
  }
  res.writeHead(204, { Allow: allowHeader(route), "Content-Length": "0" });
  res.end();
}
