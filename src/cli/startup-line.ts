/**
 * The start-up line of `ssehub serve`: one log line, once the hub serves its port (from the
 * primary with `--workers`), that tells an operator what runs: the address, the processes, the
 * bus and the history store with its limits, who may publish and subscribe, CORS, the limits,
 * the admin gate and TLS (docs/operations.md, "The start-up line"). Its fields are for
 * machines, its message for people. A Redis URL's password never appears in it.
 * @module
 */
import cluster from "node:cluster";
import type { Logger } from "../index.js";
import type { ResolvedServeCommandOptions } from "./serve-options.js";

/** How a publisher or a subscriber is checked: a JWT key, a JWKS URL, or nothing. */
export type AuthMode = "jwt-key" | "jwks" | "off";

/** What the start-up line says, as its fields. */
export interface StartupFacts {
  readonly url: string;
  readonly workers: number;
  readonly bus: "local" | "cluster" | "redis";
  readonly redis?: { readonly url: string; readonly prefix: string; readonly logMaxEvents: number };
  readonly history: {
    readonly store: "memory" | "redis" | "disk";
    /** The data directory, with store `disk`. */
    readonly dataDir?: string;
    readonly maxEventsPerTopic: number;
    readonly maxAgeMs: number;
  };
  readonly auth: {
    readonly publish: AuthMode;
    readonly anonymousPublish: boolean;
    readonly subscribe: AuthMode;
    readonly anonymousSubscribe: boolean;
  };
  readonly corsOrigins: readonly string[];
  /** Empty: the CORS origins. */
  readonly publishOrigins: readonly string[];
  readonly limits: {
    readonly maxConnections: number;
    readonly maxConnectionsPerIp: number;
    readonly maxPublishesPerSecond: number;
    readonly maxBodyBytes: number;
  };
  /** `token`: behind adminToken; `open`: no token while auth is off; `closed`: refused. */
  readonly admin: "token" | "open" | "closed";
  readonly tls: boolean;
  readonly trustedProxies: readonly string[];
  readonly accessLog: boolean;
}

/** The message of the line starts with this. */
export const STARTUP_MESSAGE_PREFIX = "ssehub serving";

/**
 * `url` with the password of its credentials replaced by `***` (every URL form of the `redis`
 * option: the credentials sit between the scheme and the last `@`).
 */
export function redactUrlPassword(url: string): string {
  const start = /^[a-z+]+:\/\//i.exec(url)?.[0].length ?? 0;
  const at = url.lastIndexOf("@");
  const colon = url.indexOf(":", start);
  if (at < start || colon === -1 || colon > at) return url;
  return `${url.slice(0, colon + 1)}***${url.slice(at)}`;
}

function authMode(key: string, jwksUrl: string): AuthMode {
  if (key !== "") return "jwt-key";
  return jwksUrl !== "" ? "jwks" : "off";
}

/** The facts of a hub started with `options`, serving `url`. */
export function startupFacts(options: ResolvedServeCommandOptions, url: string): StartupFacts {
  const publish = authMode(options.publisherJwtKey, options.publisherJwksUrl);
  const subscribe = authMode(options.subscriberJwtKey, options.subscriberJwksUrl);
  const onRedis = options.redis !== "";
  return {
    url,
    workers: options.workers,
    bus: onRedis ? "redis" : options.workers > 1 ? "cluster" : "local",
    ...(onRedis
      ? {
          redis: {
            url: redactUrlPassword(options.redis),
            prefix: options.redisPrefix,
            logMaxEvents: options.redisLogMaxEvents,
          },
        }
      : {}),
    history: {
      store: onRedis ? "redis" : options.dataDir !== "" ? "disk" : "memory",
      ...(!onRedis && options.dataDir !== "" ? { dataDir: options.dataDir } : {}),
      maxEventsPerTopic: options.historyMaxEvents,
      maxAgeMs: options.historyMaxAgeMs,
    },
    auth: {
      publish,
      anonymousPublish: options.anonymousPublish,
      subscribe,
      anonymousSubscribe: options.anonymousSubscribe,
    },
    corsOrigins: options.corsOrigins,
    publishOrigins: options.publishOrigins,
    limits: {
      maxConnections: options.maxConnections,
      maxConnectionsPerIp: options.maxConnectionsPerIp,
      maxPublishesPerSecond: options.maxPublishesPerSecond,
      maxBodyBytes: options.maxBodyBytes,
    },
    // As http/access/admin-access.ts decides.
    admin:
      options.adminToken !== ""
        ? "token"
        : publish === "off" && subscribe === "off"
          ? "open"
          : "closed",
    tls: options.tlsCertFile !== "" && options.tlsKeyFile !== "",
    trustedProxies: options.trustedProxies,
    accessLog: options.accessLog,
  };
}

function limit(value: number, unit = ""): string {
  return value === 0 ? "none" : `${value}${unit}`;
}

function duration(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

function authText(mode: AuthMode, anonymous: boolean): string {
  if (mode === "off") return "no token needed";
  return `token (${mode === "jwks" ? "JWKS" : "JWT key"})${anonymous ? ", anonymous too" : ""}`;
}

function list(values: readonly string[], empty: string): string {
  return values.length === 0 ? empty : values.join(" ");
}

/** The message of the line: the facts, for people. */
export function startupMessage(facts: StartupFacts): string {
  const processes = facts.workers === 1 ? "1 process" : `${facts.workers} workers`;
  const bus = facts.redis === undefined ? facts.bus : `redis ${facts.redis.url}`;
  const { history, auth, limits } = facts;
  return [
    `${STARTUP_MESSAGE_PREFIX} ${facts.url}: ${processes}`,
    `bus ${bus}`,
    `history ${history.store}${history.dataDir === undefined ? "" : ` ${history.dataDir}`} (${history.maxEventsPerTopic} events per topic, ${duration(history.maxAgeMs)})`,
    `publish: ${authText(auth.publish, auth.anonymousPublish)}`,
    `subscribe: ${authText(auth.subscribe, auth.anonymousSubscribe)}`,
    `CORS: ${list(facts.corsOrigins, "none")}`,
    `publish origins: ${list(facts.publishOrigins, "as CORS")}`,
    `limits: connections ${limit(limits.maxConnections)}, per IP ${limit(limits.maxConnectionsPerIp)}, publishes ${limit(limits.maxPublishesPerSecond, "/s")}, body ${limits.maxBodyBytes} bytes`,
    `admin ${facts.admin}`,
    `TLS ${facts.tls ? "on" : "off"}`,
  ].join("; ");
}

/** Writes the start-up line of a hub serving `url`. */
export function logStartup(
  logger: Logger,
  options: ResolvedServeCommandOptions,
  url: string,
): void {
  const facts = startupFacts(options, url);
  logger.info(facts, startupMessage(facts));
}

/**
 * In the primary of `--workers`: writes the start-up line once every worker listens (a worker
 * that replaces another later does not repeat it).
 */
export function logStartupWhenWorkersListen(
  logger: Logger,
  options: ResolvedServeCommandOptions,
): void {
  let listening = 0;
  const onListening = (_worker: unknown, address: { port: number }): void => {
    listening++;
    if (listening < options.workers) return;
    cluster.off("listening", onListening);
    const scheme = options.tlsCertFile !== "" && options.tlsKeyFile !== "" ? "https" : "http";
    const host = options.host.includes(":") ? `[${options.host}]` : options.host;
    logStartup(logger, options, `${scheme}://${host}:${address.port}`);
  };
  cluster.on("listening", onListening);
}
