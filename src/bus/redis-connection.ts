/**
 * Connections to Redis from the `redis` option: a single server, Sentinel or Redis Cluster,
 * through ioredis's own support for each.
 *
 * | URL | connects to |
 * |---|---|
 * | `redis://[user:password@]host:port[/db]` | one server (`rediss://` for TLS) |
 * | `redis+sentinel://[user:password@]host:port[,host:port...]/master[/db]` | the master named `master`, found through the sentinels |
 * | `redis+cluster://[user:password@]host:port[,host:port...]` | a Redis Cluster, from its seed nodes |
 *
 * ioredis rather than node-redis: one client gives Sentinel (with failover) and Cluster (with
 * redirections) behind the same command API, its `defineCommand` runs Lua by EVALSHA with an
 * EVAL fallback, and its offline queue can be switched off so a publish fails at once while
 * Redis is away instead of waiting in memory.
 * @module
 */
import { createRequire } from "node:module";
import type { Cluster, Redis, RedisOptions } from "ioredis";
import { SsehubError } from "../errors.js";

/** A connection of either kind: the command API is the same. */
export type RedisConnection = Redis | Cluster;

/** Where to connect, parsed from the `redis` option. */
export type RedisTarget =
  | { readonly kind: "single"; readonly url: string; readonly tls: boolean }
  | {
      readonly kind: "sentinel";
      readonly sentinels: readonly { host: string; port: number }[];
      readonly master: string;
      readonly db: number;
      readonly username: string | undefined;
      readonly password: string | undefined;
    }
  | {
      readonly kind: "cluster";
      readonly nodes: readonly { host: string; port: number }[];
      readonly username: string | undefined;
      readonly password: string | undefined;
    };

function invalid(url: string, why: string): SsehubError {
  return new SsehubError(
    "SSEHUB_ERR_OPTIONS_INVALID",
    `redis must be redis://host:port, rediss://, redis+sentinel://host:port,.../master or redis+cluster://host:port,...: ${why} in ${JSON.stringify(redactPassword(url))}`,
  );
}

/**
 * `url` with its password replaced by `***`, for messages and logs. The credentials run from
 * after `scheme://` to the last `@`, as parseRedisUrl reads them, so a password holding an
 * unencoded `@` or `/` is masked whole; without a scheme they run from the start.
 */
export function redactPassword(url: string): string {
  const start = /^[a-z+]+:\/\//i.exec(url)?.[0].length ?? 0;
  const at = url.lastIndexOf("@");
  const colon = url.indexOf(":", start);
  if (at < start || colon === -1 || colon > at) return url;
  return `${url.slice(0, colon + 1)}***${url.slice(at)}`;
}

/** `part` percent-decoded; a malformed escape is refused without quoting the part. */
function decodePart(url: string, part: string, what: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw invalid(url, `the ${what} has a malformed percent-escape`);
  }
}

function parseHosts(url: string, list: string): { host: string; port: number }[] {
  const hosts = list.split(",").map((entry) => {
    const match = /^(\[[^\]]+\]|[^:[\]]+):(\d{1,5})$/.exec(entry);
    const port = match === null ? Number.NaN : Number(match[2]);
    if (match === null || port < 1 || port > 65_535) {
      throw invalid(url, `${JSON.stringify(entry)} is not host:port`);
    }
    return { host: match[1]!.replace(/^\[|\]$/g, ""), port };
  });
  if (hosts.length === 0) throw invalid(url, "no host");
  return hosts;
}

/** Parses the `redis` option. Throws SSEHUB_ERR_OPTIONS_INVALID with the reason. */
export function parseRedisUrl(url: string): RedisTarget {
  const scheme = /^([a-z+]+):\/\//i.exec(url)?.[1]?.toLowerCase();
  if (scheme === "redis" || scheme === "rediss") {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw invalid(url, "not a URL");
    }
    if (parsed.hostname === "") throw invalid(url, "no host");
    return { kind: "single", url, tls: scheme === "rediss" };
  }
  if (scheme !== "redis+sentinel" && scheme !== "redis+cluster") {
    throw invalid(url, "unknown scheme");
  }
  const rest = url.slice(scheme.length + 3);
  const at = rest.lastIndexOf("@");
  const credentials = at === -1 ? undefined : rest.slice(0, at);
  const afterCredentials = at === -1 ? rest : rest.slice(at + 1);
  const slash = afterCredentials.indexOf("/");
  const hostList = slash === -1 ? afterCredentials : afterCredentials.slice(0, slash);
  const path = slash === -1 ? "" : afterCredentials.slice(slash + 1);
  let username: string | undefined;
  let password: string | undefined;
  if (credentials !== undefined) {
    const colon = credentials.indexOf(":");
    username = decodePart(url, colon === -1 ? credentials : credentials.slice(0, colon), "user");
    password = colon === -1 ? undefined : decodePart(url, credentials.slice(colon + 1), "password");
    if (username === "") username = undefined;
  }
  const hosts = parseHosts(url, hostList);
  if (scheme === "redis+cluster") {
    if (path !== "") throw invalid(url, "a cluster URL has no path (Redis Cluster has no db)");
    return { kind: "cluster", nodes: hosts, username, password };
  }
  const [master, db = "0", ...extra] = path.split("/");
  if (master === undefined || master === "") throw invalid(url, "no master name");
  if (extra.length > 0 || !/^\d+$/.test(db)) throw invalid(url, "the path must be /master[/db]");
  return {
    kind: "sentinel",
    sentinels: hosts,
    master: decodePart(url, master, "master name"),
    db: Number(db),
    username,
    password,
  };
}

/** Reconnects after 50 ms, then backs off to 1 s between attempts, forever. */
function retryDelay(attempt: number): number {
  return Math.min(attempt * 50, 1000);
}

/**
 * Options of every connection: commands fail at once while Redis is away (no offline queue)
 * and are not retried on another connection, so a publish answers 503 instead of waiting.
 */
const COMMON = {
  lazyConnect: true,
  enableOfflineQueue: false,
  maxRetriesPerRequest: 0,
  retryStrategy: retryDelay,
  connectTimeout: 5000,
  // Blocking reads resume by the bus itself after a reconnect, from where it stopped.
  autoResendUnfulfilledCommands: false,
  connectionName: "ssehub",
} as const;

/** `username` and `password` only when given (ioredis options take no explicit undefined). */
function credentialsOf(target: {
  readonly username: string | undefined;
  readonly password: string | undefined;
}): Pick<RedisOptions, "username" | "password"> {
  const credentials: Pick<RedisOptions, "username" | "password"> = {};
  if (target.username !== undefined) credentials.username = target.username;
  if (target.password !== undefined) credentials.password = target.password;
  return credentials;
}

/**
 * ioredis, loaded by the first connection: a hub without Redis never loads it (it is
 * CommonJS, so it loads synchronously).
 */
let ioredis: typeof import("ioredis") | undefined;
function loadIoredis(): typeof import("ioredis") {
  ioredis ??= createRequire(import.meta.url)("ioredis") as typeof import("ioredis");
  return ioredis;
}

/**
 * A connection to `target`, not yet connected (call `connect()`). Every command on it fails
 * with "Command timed out" when Redis has not answered within `commandTimeoutMs` (a Redis that
 * hangs with its connection open: stopped, swapping, a blocked script); the connection stays
 * open, and replies that come late are matched to their commands and dropped.
 */
export function createRedisConnection(
  target: RedisTarget,
  commandTimeoutMs: number,
): RedisConnection {
  const { Cluster, Redis } = loadIoredis();
  const common = { ...COMMON, commandTimeout: commandTimeoutMs };
  switch (target.kind) {
    case "single":
      return target.tls
        ? new Redis(target.url, { ...common, tls: {} })
        : new Redis(target.url, common);
    case "sentinel":
      return new Redis({
        ...common,
        sentinels: target.sentinels.map((s) => ({ host: s.host, port: s.port })),
        name: target.master,
        db: target.db,
        ...credentialsOf(target),
        sentinelRetryStrategy: retryDelay,
      });
    case "cluster":
      return new Cluster(
        target.nodes.map((n) => ({ host: n.host, port: n.port })),
        {
          lazyConnect: true,
          enableOfflineQueue: false,
          clusterRetryStrategy: retryDelay,
          redisOptions: { ...common, ...credentialsOf(target) },
        },
      );
  }
}

/** Waits until `connection` is ready; rejects with SSEHUB_ERR_BUS_UNAVAILABLE after `timeoutMs`. */
export async function connectRedis(
  connection: RedisConnection,
  description: string,
  timeoutMs: number,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  let lastError: Error | undefined;
  const onError = (error: Error): void => {
    lastError = error;
  };
  connection.on("error", onError);
  try {
    await Promise.race([
      connection.status === "ready" ? Promise.resolve() : readyOf(connection),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new SsehubError(
                "SSEHUB_ERR_BUS_UNAVAILABLE",
                `Cannot connect to Redis at ${description} within ${timeoutMs} ms${lastError === undefined ? "" : `: ${lastError.message}`}`,
              ),
            ),
          timeoutMs,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
    connection.off("error", onError);
  }
}

function readyOf(connection: RedisConnection): Promise<void> {
  const ready = new Promise<void>((resolve) => connection.once("ready", () => resolve()));
  // connect() rejects on the first failed attempt, but ioredis goes on trying: wait for ready.
  if (connection.status === "wait") connection.connect().catch(() => {});
  return ready;
}
