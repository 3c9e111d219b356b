/**
 * Every option of ssehub: its default, its unit, its check. The library (`createHub`,
 * `createServer`) and `ssehub serve` (flags, SSEHUB_* env vars, config file) validate through
 * the same `resolveOptions`, so an option means the same thing everywhere.
 * @module
 */
import { JWT_ALGORITHMS, type JwtAlgorithm } from "./auth/jwt-algorithms.js";
import { SsehubError } from "./errors.js";

/** What the hub does when a subscriber's queued bytes would pass `maxQueueBytes`. */
export type SlowConsumerPolicy = "disconnect" | "drop" | "conflate";
/** pino levels. */
export type LogLevel = "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";

/** Resolved options: every field present, checked and frozen. */
export interface ResolvedOptions {
  /** Interface to listen on. */
  readonly host: string;
  /** TCP port; 0 picks a free one. */
  readonly port: number;
  /** Events kept per topic for resume; 0 keeps none. */
  readonly historyMaxEvents: number;
  /** Age after which an event leaves history, in milliseconds. */
  readonly historyMaxAgeMs: number;
  /** Bytes a subscriber may have queued before the slow-consumer policy applies. */
  readonly maxQueueBytes: number;
  /**
   * `disconnect` (the client resumes from history), `drop` (gap notice, stream goes on) or
   * `conflate` (only the newest event per key while the subscriber lags).
   */
  readonly slowConsumerPolicy: SlowConsumerPolicy;
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
  /** Largest publish request body, in bytes. */
  readonly maxBodyBytes: number;
  /** Most events in one batch publish. */
  readonly maxBatchEvents: number;
  /** Origins allowed by CORS; `*` allows any. Empty: no CORS headers. */
  readonly corsOrigins: readonly string[];
  /** Time a client has to send its request headers (slowloris protection), in ms. */
  readonly headersTimeoutMs: number;
  /** Time a client has to send a whole request (headers and body), in ms. */
  readonly requestTimeoutMs: number;
  /** Idle time before a keep-alive connection between requests is closed, in ms. */
  readonly keepAliveTimeoutMs: number;
  /** Longest wait for streams to close on shutdown before the process exits, in ms. */
  readonly shutdownTimeoutMs: number;
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
  /** Log level (pino). */
  readonly logLevel: LogLevel;
  /** Processes serving the port (`ssehub serve`); above 1, node:cluster workers on one bus. */
  readonly workers: number;
  /**
   * Redis to join (`ssehub serve`): `redis://host:port`, `rediss://`, `redis+sentinel://` or
   * `redis+cluster://` (docs/redis.md). Empty: everything stays in this process (or cluster).
   */
  readonly redis: string;
  /** Prefix of every Redis key of the hub; nodes with the same prefix form one hub. */
  readonly redisPrefix: string;
  /** Events the shared Redis log keeps (about): how far a node may fall behind and catch up. */
  readonly redisLogMaxEvents: number;
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
   * Mercure's active subscriptions (its `subscriptions` directive): each Mercure subscription
   * that opens or closes publishes a private update on
   * `/.well-known/mercure/subscriptions/{topic}/{subscriber}`, and the subscriptions API
   * (`GET /.well-known/mercure/subscriptions`) lists the open ones. Off: neither, and nothing is
   * kept per Mercure stream.
   * @see https://mercure.rocks/spec#active-subscriptions
   */
  readonly subscriptionEvents: boolean;
  /** Open streams in total; 0: no limit. */
  readonly maxConnections: number;
  /** Open streams per client address; 0: no limit. */
  readonly maxConnectionsPerIp: number;
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
}

/** Input options: any subset of the resolved ones. */
export type Options = { -readonly [K in keyof ResolvedOptions]?: ResolvedOptions[K] };

/** The embedded defaults. */
export const DEFAULTS: ResolvedOptions = Object.freeze({
  host: "127.0.0.1",
  port: 8080,
  historyMaxEvents: 1000, // events per topic
  historyMaxAgeMs: 3_600_000, // 1 hour
  maxQueueBytes: 1_048_576, // 1 MiB per subscriber
  slowConsumerPolicy: "disconnect",
  heartbeatMs: 15_000, // 15 seconds
  retryMs: 3_000, // 3 seconds
  maxTopicsPerSubscription: 64,
  maxTopicsPerPublish: 64,
  maxTopicLength: 256, // characters
  maxBodyBytes: 1_048_576, // 1 MiB
  maxBatchEvents: 1000,
  corsOrigins: Object.freeze([]) as readonly string[],
  headersTimeoutMs: 10_000, // 10 seconds
  requestTimeoutMs: 30_000, // 30 seconds
  keepAliveTimeoutMs: 5_000, // 5 seconds
  shutdownTimeoutMs: 10_000, // 10 seconds
  shutdownRetryJitterMs: 5_000, // 5 seconds
  maxPublishBacklog: 10_000, // events
  writeDelayMs: 0, // write at the end of each event-loop turn
  logLevel: "info",
  workers: 1,
  redis: "", // off: in-process bus and memory history
  redisPrefix: "ssehub",
  redisLogMaxEvents: 100_000, // events
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
  subscriptionEvents: false, // off, as in Mercure
  maxConnections: 0, // no limit
  maxConnectionsPerIp: 0, // no limit
  maxPublishesPerSecond: 0, // no limit
  trustedProxies: Object.freeze([]) as readonly string[],
  trustedProxyHeader: "x-forwarded-for", // what nginx and most proxies write
  tlsCertFile: "", // off: plain HTTP
  tlsKeyFile: "", // off: plain HTTP
} satisfies ResolvedOptions);

/** How one option is checked and how a command line or env var spells it. */
export type OptionSpec =
  | { readonly kind: "integer"; readonly min: number; readonly max: number; readonly help: string }
  | {
      readonly kind: "string";
      readonly help: string;
      /** The empty string is allowed (it means "off"). */
      readonly allowEmpty?: boolean;
      /** What the value must match, and how to say it. */
      readonly pattern?: { readonly regex: RegExp; readonly description: string };
      /** Never repeated in an error message (keys, passwords). */
      readonly secret?: boolean;
    }
  | { readonly kind: "enum"; readonly values: readonly string[]; readonly help: string }
  | { readonly kind: "list"; readonly help: string }
  | { readonly kind: "boolean"; readonly help: string };

const MAX_MS = 2_147_483_647; // the largest delay setTimeout accepts

/** The check of every option; `ssehub serve --help` is generated from it. */
export const OPTION_SPECS: { readonly [K in keyof ResolvedOptions]: OptionSpec } = Object.freeze({
  host: { kind: "string", help: "Interface to listen on" },
  port: { kind: "integer", min: 0, max: 65_535, help: "TCP port (0 picks a free one)" },
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
  maxBodyBytes: {
    kind: "integer",
    min: 1,
    max: 1_073_741_824,
    help: "Largest publish request body, in bytes",
  },
  maxBatchEvents: {
    kind: "integer",
    min: 1,
    max: 1_000_000,
    help: "Most events in one batch publish",
  },
  corsOrigins: { kind: "list", help: "Origins allowed by CORS, comma separated; * allows any" },
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
  logLevel: {
    kind: "enum",
    values: ["fatal", "error", "warn", "info", "debug", "trace", "silent"],
    help: "Log level",
  },
  workers: {
    kind: "integer",
    min: 1,
    max: 64,
    help: "Processes serving the port (ssehub serve); above 1, node:cluster workers kept consistent by the cluster bus",
  },
  redis: {
    kind: "string",
    allowEmpty: true,
    pattern: {
      regex: /^$|^(rediss?|redis\+sentinel|redis\+cluster):\/\/./,
      description: "a redis://, rediss://, redis+sentinel:// or redis+cluster:// URL",
    },
    help: "Redis to join, e.g. redis://127.0.0.1:6379 (see docs/redis.md); empty keeps everything in this process",
  },
  redisPrefix: {
    kind: "string",
    pattern: {
      regex: /^[A-Za-z0-9_.:-]{1,64}$/,
      description: "1 to 64 letters, digits or _ . : -",
    },
    help: "Prefix of every Redis key; nodes with the same prefix form one hub",
  },
  redisLogMaxEvents: {
    kind: "integer",
    min: 1000,
    max: 100_000_000,
    help: "Events the shared Redis log keeps (about): how far behind a node may fall and still catch up",
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
  subscriptionEvents: {
    kind: "boolean",
    help: "Mercure's active subscriptions: publish a private update when a Mercure subscription opens or closes, and serve /.well-known/mercure/subscriptions",
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
});

/** Old or commonly guessed names, with the option they mean. */
const RENAMED: Readonly<Record<string, keyof ResolvedOptions>> = {
  heartbeat: "heartbeatMs",
  heartbeatInterval: "heartbeatMs",
  retry: "retryMs",
  historySize: "historyMaxEvents",
  historyTtlMs: "historyMaxAgeMs",
  maxQueueSize: "maxQueueBytes",
  slowConsumer: "slowConsumerPolicy",
  bodyLimit: "maxBodyBytes",
  cors: "corsOrigins",
  corsOrigin: "corsOrigins",
};

function describe(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value) : String(value);
}

function checkOne(key: string, spec: OptionSpec, value: unknown): string | undefined {
  switch (spec.kind) {
    case "integer":
      if (typeof value !== "number" || !Number.isInteger(value)) {
        return `${key} must be an integer: got ${describe(value)}`;
      }
      if (value < spec.min || value > spec.max) {
        return `${key} must be between ${spec.min} and ${spec.max}: got ${value}`;
      }
      return undefined;
    case "string":
      if (typeof value !== "string" || (value.length === 0 && spec.allowEmpty !== true)) {
        return `${key} must be a non-empty string: got ${describe(value)}`;
      }
      if (spec.pattern !== undefined && !spec.pattern.regex.test(value)) {
        return `${key} must be ${spec.pattern.description}: got ${spec.secret === true ? "another value" : describe(value)}`;
      }
      return undefined;
    case "boolean":
      return typeof value === "boolean"
        ? undefined
        : `${key} must be true or false: got ${describe(value)}`;
    case "enum":
      return typeof value === "string" && spec.values.includes(value)
        ? undefined
        : `${key} must be one of ${spec.values.join(", ")}: got ${describe(value)}`;
    case "list":
      return Array.isArray(value) && value.every((v) => typeof v === "string" && v.length > 0)
        ? undefined
        : `${key} must be a list of non-empty strings: got ${describe(value)}`;
  }
}

/**
 * Merges `input` over DEFAULTS, checks every field and returns the result deep-frozen.
 * Unknown keys are rejected (with a hint for renamed ones); every problem is reported in one
 * `SSEHUB_ERR_OPTIONS_INVALID` error whose `details.problems` lists them.
 */
export function resolveOptions(input: unknown = {}): ResolvedOptions {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    throw new SsehubError(
      "SSEHUB_ERR_OPTIONS_INVALID",
      `Cannot read options: expected an object, got ${describe(input)}`,
    );
  }
  const problems: string[] = [];
  const merged: Record<string, unknown> = { ...DEFAULTS };
  for (const [key, value] of Object.entries(input)) {
    if (value === undefined) continue;
    if (!Object.hasOwn(OPTION_SPECS, key)) {
      const hint = RENAMED[key];
      problems.push(
        hint === undefined ? `unknown option ${key}` : `unknown option ${key}: use ${hint} instead`,
      );
      continue;
    }
    merged[key] = value;
  }
  for (const [key, spec] of Object.entries(OPTION_SPECS) as [string, OptionSpec][]) {
    const problem = checkOne(key, spec, merged[key]);
    if (problem !== undefined) problems.push(problem);
  }
  // A certificate is useless without its key and the other way round: no half-on TLS.
  if (
    typeof merged.tlsCertFile === "string" &&
    typeof merged.tlsKeyFile === "string" &&
    (merged.tlsCertFile === "") !== (merged.tlsKeyFile === "")
  ) {
    problems.push(
      merged.tlsCertFile === ""
        ? "tlsKeyFile needs tlsCertFile: set both for TLS, or neither for plain HTTP"
        : "tlsCertFile needs tlsKeyFile: set both for TLS, or neither for plain HTTP",
    );
  }
  if (problems.length > 0) {
    throw new SsehubError(
      "SSEHUB_ERR_OPTIONS_INVALID",
      `Cannot use options: ${problems.join("; ")}`,
      { details: { problems } },
    );
  }
  merged.corsOrigins = Object.freeze([...(merged.corsOrigins as string[])]);
  return Object.freeze(merged) as unknown as ResolvedOptions;
}
