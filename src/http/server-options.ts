/**
 * The options the HTTP layer reads: the listener (host, port, timeouts, TLS, shutdown), and the
 * request handler's (CORS, body size, authorization, limits, proxies, Mercure's active
 * subscriptions, log level). `createServer` takes them with the hub's, which it passes to the
 * hub it creates (resolveServerOptions); `createRequestHandler` takes the handler's only
 * (resolveHandlerOptions). An option of another layer is an error naming the layer it belongs to.
 * @module
 */
import { parseTrustedIssuers } from "../auth/access-token.js";
import { JWT_ALGORITHMS, type JwtAlgorithm } from "../auth/jwt-algorithms.js";
import { HUB_OPTIONS, type ResolvedHubOptions } from "../hub/hub-options.js";
import {
  type CrossCheck,
  combineGroups,
  LAYER_ENTRY,
  type LayerOptionName,
  MAX_MS,
  type OptionGroup,
  type OptionInput,
  type OptionSpec,
  optionResolver,
  pickGroup,
} from "../options.js";
import { ORIGIN_LIST_CHECKS } from "./access/origin-list.js";

/**
 * The Mercure drafts `/.well-known/mercure` speaks (`mercureProtocol`; mercure/protocol-version.ts
 * says how a request is read as one or the other).
 */
export type MercureProtocol = "draft-08" | "draft-07" | "both";

/** The values of `mercureProtocol`. */
export const MERCURE_PROTOCOLS: readonly MercureProtocol[] = Object.freeze([
  "draft-08",
  "draft-07",
  "both",
]);

/** pino levels. */
export type LogLevel = "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";

/** The server's options, resolved: every field present, checked and frozen. */
export interface ResolvedServerOptions {
  /** Interface to listen on. */
  readonly host: string;
  /** TCP port; 0 picks a free one. */
  readonly port: number;
  /** Largest publish request body, in bytes. */
  readonly maxBodyBytes: number;
  /** Origins allowed by CORS; `*` allows any. Empty: no CORS headers. */
  readonly corsOrigins: readonly string[];
  /**
   * Origins a publish may come from when the cookie authenticates it, or nothing does (Mercure's
   * `publish_origins`): its `Origin`, else its `Referer`'s origin, must be listed (403
   * otherwise); `*` allows any. Empty: the `corsOrigins`. A cookie publish naming no origin is
   * refused; an anonymous one passes. See docs/security.md, "Cross-site request forgery".
   */
  readonly publishOrigins: readonly string[];
  /** Time a client has to send its request headers (slowloris protection), in ms. */
  readonly headersTimeoutMs: number;
  /** Time a client has to send a whole request (headers and body), in ms. */
  readonly requestTimeoutMs: number;
  /** Idle time before a keep-alive connection between requests is closed, in ms. */
  readonly keepAliveTimeoutMs: number;
  /** Longest wait for streams to close on shutdown before the process exits, in ms. */
  readonly shutdownTimeoutMs: number;
  /** Log level (pino). */
  readonly logLevel: LogLevel;
  /**
   * One log line per request (at info), a stream's when it ends: method, path (its query
   * without the token of `authQueryParam`), status, bytes, duration, client address, request
   * id, user agent (docs/operations.md, "Access log").
   */
  readonly accessLog: boolean;
  /**
   * Key that verifies publishers' tokens: the secret of an HS* algorithm, or a PEM public key
   * (or certificate) for RS*, PS*, ES*, EdDSA. Empty: no key (see docs/security.md).
   */
  readonly publisherJwtKey: string;
  /** Algorithm of publishers' tokens. */
  readonly publisherJwtAlgorithm: JwtAlgorithm;
  /** JWKS URL whose keys verify publishers' tokens (instead of publisherJwtKey). */
  readonly publisherJwksUrl: string;
  /** Key that verifies subscribers' tokens (as publisherJwtKey). */
  readonly subscriberJwtKey: string;
  /** Algorithm of subscribers' tokens. */
  readonly subscriberJwtAlgorithm: JwtAlgorithm;
  /** JWKS URL whose keys verify subscribers' tokens (instead of subscriberJwtKey). */
  readonly subscriberJwksUrl: string;
  /** Subscribers without a token are accepted (they receive public events only). */
  readonly anonymousSubscribe: boolean;
  /**
   * Publishers without a token are accepted. Without any publisher key, publishing is open to
   * whoever reaches a loopback listener; a non-loopback listener then needs this set to true.
   */
  readonly anonymousPublish: boolean;
  /** Cookie that may carry the token. */
  readonly authCookieName: string;
  /** Query parameter that may carry the token; empty: not read (tokens in URLs leak into logs). */
  readonly authQueryParam: string;
  /**
   * The issuers whose OAuth 2.0 access tokens authorize Mercure draft-08 requests: a JSON array
   * of `{"issuer": "<iss>", "jwksUrl": "<url>"}` or `{"issuer": "<iss>", "key": "<HS* secret or
   * PEM public key>", "algorithm": "<alg>"}`, each optionally with `"actions": ["subscribe"]`
   * (or `["publish"]`) to narrow what its tokens may grant. A token is checked with the keys of
   * the issuer its `iss` names, never another's. Empty: draft-08 tokens are refused. Needs
   * `mercureResource`. See docs/security.md, "Mercure draft-08".
   */
  readonly mercureIssuers: string;
  /**
   * The hub's OAuth 2.0 resource identifier (RFC 9728): the `aud` every draft-08 access token
   * must carry, and the `resource` of the metadata served at
   * `/.well-known/oauth-protected-resource`. Use the hub's public URL, such as
   * `https://hub.example.com/.well-known/mercure`. No default: a hub cannot guess its public
   * URL safely (the Host header is the client's to choose).
   */
  readonly mercureResource: string;
  /**
   * Mercure's active subscriptions (its `subscriptions` directive): each Mercure subscription
   * that opens or closes publishes a private update on
   * `/.well-known/mercure/subscriptions/{topic}/{subscriber}`, and the subscriptions API
   * (`GET /.well-known/mercure/subscriptions`) lists the open ones. Off: neither, and nothing is
   * kept per Mercure stream.
   * @see https://mercure.rocks/spec#active-subscriptions
   */
  readonly subscriptionEvents: boolean;
  /**
   * The Mercure drafts `/.well-known/mercure` speaks, like the Mercure hub's
   * `protocol_version_compatibility`: `draft-08` (Mercure hub 1.0: `match`, `match_urlpattern`,
   * QUERY, one topic per update), `draft-07` (Mercure hub 0.x: `topic`, URI templates, alternate
   * topics), or `both`, each request read as the draft it speaks (docs/http-api.md, "Mercure
   * protocol versions").
   */
  readonly mercureProtocol: MercureProtocol;
  /** Open streams in total; 0: no limit. */
  readonly maxConnections: number;
  /** Open streams per client address; 0: no limit. */
  readonly maxConnectionsPerIp: number;
  /**
   * How long a stream may stay open, in ms (Mercure's `write_timeout`): past it the hub tells the
   * client when to come back (`retry:` with jitter) and ends the stream, and the client
   * reconnects with Last-Event-ID, losing nothing. Bounds how long a stream outlives what its
   * token allowed when it opened, and spreads long-lived streams over new processes after a
   * deploy. Every stream (`/events` and Mercure); 0: no limit.
   */
  readonly maxConnectionLifetimeMs: number;
  /** Publish requests per second per token (or per client address without one); 0: no limit. */
  readonly maxPublishesPerSecond: number;
  /** Proxies whose X-Forwarded-For / Forwarded headers name the client (IPs and CIDRs). */
  readonly trustedProxies: readonly string[];
  /**
   * Which header the trusted proxies write: `x-forwarded-for`, `forwarded` (RFC 7239), or
   * `auto` (Forwarded when present). Name the one your proxy sets: a proxy that passes the
   * other through lets clients choose their address.
   */
  readonly trustedProxyHeader: "x-forwarded-for" | "forwarded" | "auto";
  /**
   * PEM certificate (chain) of the hub's own TLS listener, with `tlsKeyFile`: the server then
   * speaks HTTP/2 and HTTP/1.1 over TLS. Read when the server is created. Empty: plain HTTP.
   */
  readonly tlsCertFile: string;
  /** PEM private key of `tlsCertFile`. Empty: plain HTTP. */
  readonly tlsKeyFile: string;
  /**
   * Token of the admin endpoints (`/admin/...`, the dashboard), sent as `Authorization: Bearer`.
   * Empty: they are open while publishing and subscribing need no token, refused otherwise
   * (see access/admin-access.ts).
   */
  readonly adminToken: string;
  /**
   * The live dashboard: `GET /dashboard` (a static page) and `GET /admin/stats/stream` (one
   * stats event per second of every worker and node, behind the admin gate). Off: both answer
   * 404 as unknown routes do. See docs/dashboard.md.
   */
  readonly dashboard: boolean;
  /**
   * A turn of the event loop blocked this long or longer leaves a stall report naming what the
   * hub was doing (GET /admin/stalls, `ssehub_stalls_total`, one log line), in ms; 0: off.
   */
  readonly stallThresholdMs: number;
  /**
   * After a stall, a CPU profile of the next this many ms is taken in the process
   * (node:inspector) and kept for GET /admin/stalls/profile: at most one a minute, the latest
   * kept; 0: none.
   */
  readonly stallProfileMs: number;
  /**
   * Where to POST presence events (a stream's `subscribe` and `unsubscribe`), batched, signed
   * and retried (docs/operations.md, "Presence webhooks"); empty: off.
   */
  readonly presenceWebhookUrl: string;
  /** Secret of the HMAC-SHA256 signature of each webhook body (`X-Ssehub-Signature`); empty: unsigned. */
  readonly presenceWebhookSecret: string;
  /** How long presence events gather before one POST carries them, in ms. */
  readonly presenceWebhookDebounceMs: number;
  /** Time the backend has to answer a webhook POST, in ms; past it the POST is retried. */
  readonly presenceWebhookTimeoutMs: number;
  /** Most presence events held while the backend fails; past it the oldest are dropped (counted). */
  readonly presenceWebhookQueueEvents: number;
  /**
   * URL the hub POSTs to before a stream opens (GET /events, Mercure's GET): the backend answers
   * whether it may open, for which topics, with which private events. Empty: no hook. See
   * docs/security.md, "Your backend in the loop".
   */
  readonly subscribeHookUrl: string;
  /** URL the hub POSTs to before a publish is accepted: allow, deny or rewrite. Empty: no hook. */
  readonly publishHookUrl: string;
  /** Headers of the client's request the hooks forward to the backend (lower case). */
  readonly hookForwardHeaders: readonly string[];
  /** Longest wait for a hook's answer, in ms: past it, the backend counts as failing. */
  readonly hookTimeoutMs: number;
  /** Most subscribe answers a hook keeps; 0: none. */
  readonly hookCacheSize: number;
  /** How long a subscribe answer is reused when it gives no `cacheSeconds`, in ms; 0: not reused. */
  readonly hookCacheTtlMs: number;
  /** Consecutive failures of a hook's backend that open its breaker. */
  readonly hookFailureThreshold: number;
  /** How long an open breaker stops calling the backend, in ms, before one probing call. */
  readonly hookCooldownMs: number;
  /** While a hook's backend fails, let requests through unchanged instead of answering 503. */
  readonly hookFailOpen: boolean;
}

/** The server's own options: any subset of ResolvedServerOptions. */
export type ServerOptions = OptionInput<ResolvedServerOptions>;

/** The server's defaults. */
export const SERVER_DEFAULTS: ResolvedServerOptions = Object.freeze({
  host: "127.0.0.1",
  port: 8080,
  maxBodyBytes: 1_048_576, // 1 MiB
  corsOrigins: Object.freeze([]) as readonly string[],
  publishOrigins: Object.freeze([]) as readonly string[], // empty: corsOrigins
  headersTimeoutMs: 10_000, // 10 seconds
  requestTimeoutMs: 30_000, // 30 seconds
  keepAliveTimeoutMs: 5_000, // 5 seconds
  shutdownTimeoutMs: 10_000, // 10 seconds
  logLevel: "info",
  accessLog: false,
  publisherJwtKey: "",
  publisherJwtAlgorithm: "HS256",
  publisherJwksUrl: "",
  subscriberJwtKey: "",
  subscriberJwtAlgorithm: "HS256",
  subscriberJwksUrl: "",
  anonymousSubscribe: true,
  anonymousPublish: false,
  authCookieName: "mercureAuthorization", // Mercure's name
  authQueryParam: "", // off
  mercureIssuers: "", // none: draft-08 tokens are refused
  mercureResource: "", // none: required with mercureIssuers
  subscriptionEvents: false, // off, as in Mercure
  mercureProtocol: "both", // clients of either Mercure hub version work while they move over
  maxConnections: 0, // no limit
  maxConnectionsPerIp: 0, // no limit
  maxConnectionLifetimeMs: 0, // no limit
  maxPublishesPerSecond: 0, // no limit
  trustedProxies: Object.freeze([]) as readonly string[],
  trustedProxyHeader: "x-forwarded-for", // what nginx and most proxies write
  tlsCertFile: "", // off: plain HTTP
  tlsKeyFile: "", // off: plain HTTP
  adminToken: "", // none: admin endpoints open only while auth is off
  dashboard: false, // off: /dashboard answers 404
  stallThresholdMs: 100, // 100 ms
  stallProfileMs: 0, // off: profiling costs CPU while it runs
  presenceWebhookUrl: "", // off
  presenceWebhookSecret: "", // unsigned
  presenceWebhookDebounceMs: 250, // a quarter second
  presenceWebhookTimeoutMs: 5_000, // 5 seconds
  presenceWebhookQueueEvents: 100_000, // about 25 MB at most
  subscribeHookUrl: "", // no hook
  publishHookUrl: "", // no hook
  hookForwardHeaders: Object.freeze(["cookie", "authorization"]) as readonly string[],
  hookTimeoutMs: 3_000, // 3 seconds
  hookCacheSize: 10_000, // answers
  hookCacheTtlMs: 0, // off: a revoked session is refused at its next request
  hookFailureThreshold: 5, // failures in a row
  hookCooldownMs: 10_000, // 10 seconds
  hookFailOpen: false, // fail closed: 503
} satisfies ResolvedServerOptions);

/** The check of every server option. */
export const SERVER_OPTION_SPECS: { readonly [K in keyof ResolvedServerOptions]: OptionSpec } =
  Object.freeze({
    host: { kind: "string", help: "Interface to listen on" },
    port: { kind: "integer", min: 0, max: 65_535, help: "TCP port (0 picks a free one)" },
    maxBodyBytes: {
      kind: "integer",
      min: 1,
      max: 1_073_741_824,
      help: "Largest publish request body, in bytes",
    },
    corsOrigins: { kind: "list", help: "Origins allowed by CORS, comma separated; * allows any" },
    publishOrigins: {
      kind: "list",
      help: "Origins a cookie-authenticated or anonymous publish may come from (Origin, else Referer), comma separated; * allows any; empty: corsOrigins",
    },
    headersTimeoutMs: {
      kind: "integer",
      min: 1,
      max: MAX_MS,
      help: "Time a client has to send its request headers, in ms",
    },
    requestTimeoutMs: {
      kind: "integer",
      min: 1,
      max: MAX_MS,
      help: "Time a client has to send a whole request, in ms",
    },
    keepAliveTimeoutMs: {
      kind: "integer",
      min: 1,
      max: MAX_MS,
      help: "Idle time of a keep-alive connection between requests, in ms",
    },
    shutdownTimeoutMs: {
      kind: "integer",
      min: 0,
      max: MAX_MS,
      help: "Longest wait for streams to close on shutdown, in ms",
    },
    logLevel: {
      kind: "enum",
      values: ["fatal", "error", "warn", "info", "debug", "trace", "silent"],
      help: "Log level",
    },
    accessLog: {
      kind: "boolean",
      help: "Log one line per request (a stream's when it ends), at info",
    },
    publisherJwtKey: {
      kind: "string",
      allowEmpty: true,
      secret: true,
      help: "Key verifying publishers' tokens: HS* secret or PEM public key (alias MERCURE_PUBLISHER_JWT_KEY)",
    },
    publisherJwtAlgorithm: {
      kind: "enum",
      values: JWT_ALGORITHMS,
      help: "Algorithm of publishers' tokens (alias MERCURE_PUBLISHER_JWT_ALG)",
    },
    publisherJwksUrl: {
      kind: "string",
      allowEmpty: true,
      pattern: { regex: /^$|^https?:\/\/./, description: "an http:// or https:// URL" },
      help: "JWKS URL whose keys verify publishers' tokens, instead of publisherJwtKey",
    },
    subscriberJwtKey: {
      kind: "string",
      allowEmpty: true,
      secret: true,
      help: "Key verifying subscribers' tokens: HS* secret or PEM public key (alias MERCURE_SUBSCRIBER_JWT_KEY)",
    },
    subscriberJwtAlgorithm: {
      kind: "enum",
      values: JWT_ALGORITHMS,
      help: "Algorithm of subscribers' tokens (alias MERCURE_SUBSCRIBER_JWT_ALG)",
    },
    subscriberJwksUrl: {
      kind: "string",
      allowEmpty: true,
      pattern: { regex: /^$|^https?:\/\/./, description: "an http:// or https:// URL" },
      help: "JWKS URL whose keys verify subscribers' tokens, instead of subscriberJwtKey",
    },
    anonymousSubscribe: {
      kind: "boolean",
      help: "Accept subscribers without a token (they receive public events only)",
    },
    anonymousPublish: {
      kind: "boolean",
      help: "Accept publishers without a token (needed to publish through a non-loopback listener without a publisher key)",
    },
    authCookieName: { kind: "string", help: "Cookie that may carry the token" },
    authQueryParam: {
      kind: "string",
      allowEmpty: true,
      help: "Query parameter that may carry the token (empty: not read; tokens in URLs leak into logs)",
    },
    mercureIssuers: {
      kind: "string",
      allowEmpty: true,
      secret: true,
      help: 'Issuers of Mercure draft-08 access tokens, a JSON array: [{"issuer":"https://as.example.com","jwksUrl":"https://as.example.com/jwks.json"}, {"issuer":"https://app.example.com","key":"<secret or PEM>","algorithm":"HS256","actions":["subscribe"]}]; empty: none',
    },
    mercureResource: {
      kind: "string",
      allowEmpty: true,
      pattern: {
        regex: /^$|^https?:\/\/[^#]+$/,
        description: "an http:// or https:// URL without a fragment",
      },
      help: "The hub's OAuth 2.0 resource identifier, the aud of draft-08 access tokens, e.g. https://hub.example.com/.well-known/mercure; required with mercureIssuers",
    },
    subscriptionEvents: {
      kind: "boolean",
      help: "Mercure's active subscriptions: publish a private update when a Mercure subscription opens or closes, and serve /.well-known/mercure/subscriptions",
    },
    mercureProtocol: {
      kind: "enum",
      values: MERCURE_PROTOCOLS,
      help: "Mercure drafts /.well-known/mercure speaks: draft-08 (hub 1.0: match, match_urlpattern, QUERY), draft-07 (hub 0.x: topic, URI templates), or both (each request as the draft it uses)",
    },
    maxConnections: {
      kind: "integer",
      min: 0,
      max: 10_000_000,
      help: "Open streams in total (0: no limit); past it, 429 with Retry-After",
    },
    maxConnectionsPerIp: {
      kind: "integer",
      min: 0,
      max: 10_000_000,
      help: "Open streams per client address (0: no limit); past it, 429 with Retry-After",
    },
    maxConnectionLifetimeMs: {
      kind: "integer",
      min: 0,
      max: MAX_MS,
      help: "How long a stream may stay open, in ms (like Mercure's write_timeout); past it the client is told to come back (retry: with jitter) and resumes with Last-Event-ID; 0: no limit",
    },
    maxPublishesPerSecond: {
      kind: "integer",
      min: 0,
      max: 10_000_000,
      help: "Publish requests per second per token, or per client address without one (0: no limit)",
    },
    trustedProxies: {
      kind: "list",
      help: "Proxies (IPs or CIDRs) whose X-Forwarded-For / Forwarded headers name the client",
    },
    trustedProxyHeader: {
      kind: "enum",
      values: ["x-forwarded-for", "forwarded", "auto"],
      help: "The header the trusted proxies write (auto: Forwarded when present)",
    },
    tlsCertFile: {
      kind: "string",
      allowEmpty: true,
      help: "PEM certificate file of the hub's own TLS listener (HTTP/2 and HTTP/1.1 over TLS), with tlsKeyFile; empty: plain HTTP",
    },
    tlsKeyFile: {
      kind: "string",
      allowEmpty: true,
      help: "PEM private key file of tlsCertFile; empty: plain HTTP",
    },
    adminToken: {
      kind: "string",
      allowEmpty: true,
      secret: true,
      help: "Bearer token of the admin endpoints and the dashboard (empty: open while publishing and subscribing need no token, refused otherwise)",
    },
    dashboard: {
      kind: "boolean",
      help: "Serve the live dashboard on /dashboard and its stats stream on /admin/stats/stream (behind adminToken)",
    },
    stallThresholdMs: {
      kind: "integer",
      min: 0,
      max: 60_000,
      help: "Event-loop block, in ms, that leaves a stall report naming its cause (GET /admin/stalls); 0: off",
    },
    stallProfileMs: {
      kind: "integer",
      min: 0,
      max: 60_000,
      help: "After a stall, take a CPU profile of the next this many ms (GET /admin/stalls/profile; at most one a minute); 0: off",
    },
    presenceWebhookUrl: {
      kind: "string",
      allowEmpty: true,
      pattern: { regex: /^$|^https?:\/\/./, description: "an http:// or https:// URL" },
      help: "URL the hub POSTs presence events to (subscribe, unsubscribe), batched, signed, retried; empty: off",
    },
    presenceWebhookSecret: {
      kind: "string",
      allowEmpty: true,
      secret: true,
      help: "Secret of the HMAC-SHA256 signature of each presence webhook body (X-Ssehub-Signature: sha256=<hex>); empty: unsigned",
    },
    presenceWebhookDebounceMs: {
      kind: "integer",
      min: 0,
      max: 60_000,
      help: "How long presence events gather before one POST carries them, in ms",
    },
    presenceWebhookTimeoutMs: {
      kind: "integer",
      min: 1,
      max: MAX_MS,
      help: "Time the presence webhook's backend has to answer, in ms; past it the POST is retried",
    },
    presenceWebhookQueueEvents: {
      kind: "integer",
      min: 1,
      max: 10_000_000,
      help: "Most presence events held while the backend fails; past it the oldest are dropped and counted",
    },
    subscribeHookUrl: {
      kind: "string",
      allowEmpty: true,
      pattern: { regex: /^$|^https?:\/\/./, description: "an http:// or https:// URL" },
      help: "URL the hub POSTs to before a stream opens; it answers allow (maybe narrowed) or deny (empty: no hook)",
    },
    publishHookUrl: {
      kind: "string",
      allowEmpty: true,
      pattern: { regex: /^$|^https?:\/\/./, description: "an http:// or https:// URL" },
      help: "URL the hub POSTs to before a publish is accepted; it answers allow, deny or a rewrite (empty: no hook)",
    },
    hookForwardHeaders: {
      kind: "list",
      help: "Headers of the client's request the hooks forward to the backend, comma separated",
    },
    hookTimeoutMs: {
      kind: "integer",
      min: 1,
      max: MAX_MS,
      help: "Longest wait for a hook's answer, in ms (past it: a failure)",
    },
    hookCacheSize: {
      kind: "integer",
      min: 0,
      max: 10_000_000,
      help: "Most subscribe-hook answers kept (0: no cache)",
    },
    hookCacheTtlMs: {
      kind: "integer",
      min: 0,
      max: MAX_MS,
      help: "How long a subscribe-hook answer is reused when it gives no cacheSeconds, in ms (0: not reused)",
    },
    hookFailureThreshold: {
      kind: "integer",
      min: 1,
      max: 1_000_000,
      help: "Consecutive failures of a hook's backend that open its breaker",
    },
    hookCooldownMs: {
      kind: "integer",
      min: 1,
      max: MAX_MS,
      help: "How long an open breaker stops calling the backend, in ms, before one probe",
    },
    hookFailOpen: {
      kind: "boolean",
      help: "While a hook's backend fails, let requests through unchanged instead of answering 503",
    },
  } satisfies { readonly [K in LayerOptionName<"server">]: OptionSpec });

/** A certificate is useless without its key and the other way round: no half-on TLS. */
const TLS_BOTH_OR_NEITHER: CrossCheck = {
  fields: ["tlsCertFile", "tlsKeyFile"],
  check({ tlsCertFile, tlsKeyFile }) {
    if (typeof tlsCertFile !== "string" || typeof tlsKeyFile !== "string") return undefined;
    if ((tlsCertFile === "") === (tlsKeyFile === "")) return undefined;
    return tlsCertFile === ""
      ? "tlsKeyFile needs tlsCertFile: set both for TLS, or neither for plain HTTP"
      : "tlsCertFile needs tlsKeyFile: set both for TLS, or neither for plain HTTP";
  },
};

/** The issuers must read, and a hub trusting some must know its own resource identifier. */
const MERCURE_ISSUERS_NEED_RESOURCE: CrossCheck = {
  fields: ["mercureIssuers", "mercureResource"],
  check({ mercureIssuers, mercureResource }) {
    if (typeof mercureIssuers !== "string" || typeof mercureResource !== "string") return undefined;
    let issuers: readonly unknown[];
    try {
      issuers = parseTrustedIssuers(mercureIssuers);
    } catch (error) {
      return (error as Error).message;
    }
    if (issuers.length > 0 && mercureResource === "") {
      return "mercureIssuers needs mercureResource: set it to the hub's public URL (the aud of its access tokens), e.g. https://hub.example.com/.well-known/mercure";
    }
    return undefined;
  },
};

/** The server's options as a group, for the entry points that compose them. */
export const SERVER_OPTIONS: OptionGroup<ResolvedServerOptions> = Object.freeze({
  specs: SERVER_OPTION_SPECS,
  defaults: SERVER_DEFAULTS,
  crossChecks: [TLS_BOTH_OR_NEITHER, MERCURE_ISSUERS_NEED_RESOURCE, ...ORIGIN_LIST_CHECKS],
});

/** The options of createServer: the hub's, which it passes on, then its own. */
export const CREATE_SERVER_OPTIONS: OptionGroup<ResolvedHubOptions & ResolvedServerOptions> =
  combineGroups(HUB_OPTIONS, SERVER_OPTIONS);

/**
 * Merges `input` over the hub's and the server's defaults, checks every field and returns the
 * result deep-frozen: what createServer does with its options. Refuses unknown keys (with a
 * "did you mean" hint) and the options of `ssehub serve` (`workers is a serve option: pass it to
 * ssehub serve, not createServer`), every problem in one SSEHUB_ERR_OPTIONS_INVALID error whose
 * `details.problems` lists them.
 */
export const resolveServerOptions: (input?: unknown) => ResolvedHubOptions & ResolvedServerOptions =
  optionResolver(LAYER_ENTRY.server, CREATE_SERVER_OPTIONS);

/**
 * The server options the request handler reads; the others (host, port, timeouts, TLS,
 * shutdown) are the listener's, which createServer owns.
 */
export const HANDLER_OPTION_NAMES = Object.freeze([
  "maxBodyBytes",
  "corsOrigins",
  "publishOrigins",
  "logLevel",
  "accessLog",
  "publisherJwtKey",
  "publisherJwtAlgorithm",
  "publisherJwksUrl",
  "subscriberJwtKey",
  "subscriberJwtAlgorithm",
  "subscriberJwksUrl",
  "anonymousSubscribe",
  "anonymousPublish",
  "authCookieName",
  "authQueryParam",
  "mercureIssuers",
  "mercureResource",
  "subscriptionEvents",
  "mercureProtocol",
  "maxConnections",
  "maxConnectionsPerIp",
  "maxConnectionLifetimeMs",
  "maxPublishesPerSecond",
  "trustedProxies",
  "trustedProxyHeader",
  "adminToken",
  "dashboard",
  "stallThresholdMs",
  "stallProfileMs",
  "presenceWebhookUrl",
  "presenceWebhookSecret",
  "presenceWebhookDebounceMs",
  "presenceWebhookTimeoutMs",
  "presenceWebhookQueueEvents",
  "subscribeHookUrl",
  "publishHookUrl",
  "hookForwardHeaders",
  "hookTimeoutMs",
  "hookCacheSize",
  "hookCacheTtlMs",
  "hookFailureThreshold",
  "hookCooldownMs",
  "hookFailOpen",
] as const);

/** The name of an option the request handler reads. */
export type HandlerOptionName = (typeof HANDLER_OPTION_NAMES)[number];
/** The request handler's options, resolved. */
export type ResolvedHandlerOptions = Pick<ResolvedServerOptions, HandlerOptionName>;
/** The request handler's options: any subset of ResolvedHandlerOptions. */
export type HandlerOptions = OptionInput<ResolvedHandlerOptions>;

/** The request handler's options as a group. */
export const HANDLER_OPTIONS: OptionGroup<ResolvedHandlerOptions> = pickGroup(
  SERVER_OPTIONS,
  HANDLER_OPTION_NAMES,
);

/**
 * Merges `input` over the server's defaults for the options the request handler reads, checks
 * them and returns them deep-frozen; any other option is refused, naming the entry point that
 * takes it (`port is a server option: pass it to createServer, not createRequestHandler`).
 */
export const resolveHandlerOptions: (input?: unknown) => ResolvedHandlerOptions = optionResolver(
  "createRequestHandler",
  HANDLER_OPTIONS,
);
