/**
 * The Redis engine of a hub: a RedisBus and a RedisHistory over two connections (one for
 * publishes and history reads, one for the blocking reads of the log), wired so that when the
 * bus starts over the history's cache does too.
 * @module
 */

import { SsehubError } from "../errors.js";
import {
  defineHistoryCommands,
  RedisHistory,
  type RedisHistoryConnection,
} from "../history/redis-history.js";
import { RedisKeys } from "../history/redis-streams.js";
import {
  defineBusCommands,
  joinRedisHub,
  READ_BLOCK_MS,
  RedisBus,
  type RedisBusConnection,
} from "./redis-bus.js";
import {
  connectRedis,
  createRedisConnection,
  parseRedisUrl,
  type RedisConnection,
  redactPassword,
} from "./redis-connection.js";

/** What the engine needs to know. */
export interface RedisEngineOptions {
  /** The `redis` option (see redis-connection.ts for the URL forms). */
  readonly url: string;
  /** Key prefix: every key is `{prefix}:...`. */
  readonly prefix: string;
  readonly historyMaxEvents: number;
  readonly historyMaxAgeMs: number;
  /** The hub option historyMaxDroppedTopicBytes, for each node's cache of history. */
  readonly historyMaxDroppedTopicBytes?: number;
  /** Entries the shared log keeps, about. */
  readonly logMaxEvents: number;
  /** How long to wait for Redis at start, in ms. */
  readonly connectTimeoutMs?: number;
  /**
   * Deadline of every Redis call, in ms (`redisTimeoutMs`): past it a publish answers 503 and
   * the node is not ready until Redis answers again. Default REDIS_TIMEOUT_MS.
   */
  readonly timeoutMs?: number;
  /**
   * Replicas that must hold a publish before it is acknowledged (`redisWaitReplicas`: WAIT
   * after each publish step); default 0. Not with a Redis Cluster.
   */
  readonly waitReplicas?: number;
  /** Told about connection problems and restarts (for the log). */
  readonly onProblem?: (message: string) => void;
}

/** A bus and a history store sharing one Redis, to give to createHub / createServer. */
export interface RedisEngine {
  readonly bus: RedisBus;
  readonly history: RedisHistory;
  /** The Redis URL with its password replaced, fit for a log line. */
  readonly description: string;
  /** Closes the bus and both connections. */
  close(): Promise<void>;
}

/** Default deadline of a Redis call, in ms (see RedisEngineOptions.timeoutMs). */
export const REDIS_TIMEOUT_MS = 3000;

/** Oldest Redis that has what the engine uses (XINFO's max-deleted-entry-id). */
const MIN_REDIS_MAJOR = 7;

/**
 * Connects to Redis and returns the engine. Rejects with SSEHUB_ERR_BUS_UNAVAILABLE when Redis
 * cannot be reached within `connectTimeoutMs`, and with SSEHUB_ERR_OPTIONS_INVALID for a bad
 * URL or a Redis older than 7.
 */
export async function connectRedisEngine(options: RedisEngineOptions): Promise<RedisEngine> {
  const target = parseRedisUrl(options.url);
  const description = redactPassword(options.url);
  const timeoutMs = options.connectTimeoutMs ?? 10_000;
  const callTimeoutMs = options.timeoutMs ?? REDIS_TIMEOUT_MS;
  const waitReplicas = options.waitReplicas ?? 0;
  if (waitReplicas > 0 && target.kind === "cluster") {
    // WAIT must go to the shard that took the write, on the same connection, and ioredis
    // sends a keyless command to any node of a cluster.
    throw new SsehubError(
      "SSEHUB_ERR_OPTIONS_INVALID",
      `Cannot wait for replicas (redisWaitReplicas ${waitReplicas}) on a Redis Cluster: use a single server or Sentinel, or set it to 0`,
    );
  }
  const commands = createRedisConnection(target, callTimeoutMs);
  // The reader's XREAD blocks READ_BLOCK_MS by design: its deadline comes after that.
  const reader = createRedisConnection(target, callTimeoutMs + READ_BLOCK_MS);
  const connections: RedisConnection[] = [commands, reader];
  // ioredis reports every failed attempt as an `error` event; the bus and the log see them
  // through `close` events and failed commands instead.
  for (const connection of connections) connection.on("error", () => {});
  try {
    await Promise.all(connections.map((c) => connectRedis(c, description, timeoutMs)));
    await checkVersion(commands, description);
  } catch (error) {
    for (const connection of connections) connection.disconnect();
    throw error;
  }
  for (const connection of connections) {
    defineBusCommands(connection);
    defineHistoryCommands(connection);
  }
  const keys = new RedisKeys(options.prefix);
  const join = await joinRedisHub(commands as unknown as RedisBusConnection, keys);
  const history = new RedisHistory(
    commands as unknown as RedisHistoryConnection,
    {
      keys,
      maxEvents: options.historyMaxEvents,
      maxAgeMs: options.historyMaxAgeMs,
      ...(options.historyMaxDroppedTopicBytes === undefined
        ? {}
        : { maxDroppedTopicBytes: options.historyMaxDroppedTopicBytes }),
    },
    join.epoch,
    join.seq,
  );
  const bus = new RedisBus(
    commands as unknown as RedisBusConnection,
    reader as unknown as RedisBusConnection,
    {
      keys,
      historyMaxEvents: options.historyMaxEvents,
      historyMaxAgeMs: options.historyMaxAgeMs,
      logMaxEvents: options.logMaxEvents,
      timeoutMs: callTimeoutMs,
      waitReplicas,
      onRestart: (epoch, afterSeq) => history.restart(epoch, afterSeq),
      ...(options.onProblem === undefined ? {} : { onProblem: options.onProblem }),
    },
    join,
  );
  return {
    bus,
    history,
    description,
    async close() {
      bus.close();
      // The reader is blocked in XREAD, so a QUIT would wait behind it: drop it at once.
      reader.disconnect();
      await closeConnection(commands);
    },
  };
}

/** Longest wait for Redis to answer QUIT before the connection is dropped, in ms. */
const QUIT_TIMEOUT_MS = 500;

/** QUIT when Redis is there to answer it (briefly), else just drop the connection. */
async function closeConnection(connection: RedisConnection): Promise<void> {
  if (connection.status !== "ready") {
    connection.disconnect();
    return;
  }
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    connection.quit().catch(() => {}),
    new Promise((resolve) => {
      timer = setTimeout(resolve, QUIT_TIMEOUT_MS);
    }),
  ]);
  clearTimeout(timer);
  connection.disconnect();
}

async function checkVersion(connection: RedisConnection, description: string): Promise<void> {
  const info = await connection.info("server");
  const version = /redis_version:(\d+)\.(\d+)/.exec(String(info));
  if (version !== null && Number(version[1]) < MIN_REDIS_MAJOR) {
    throw new SsehubError(
      "SSEHUB_ERR_OPTIONS_INVALID",
      `Cannot use Redis ${version[1]}.${version[2]} at ${description}: ssehub needs Redis ${MIN_REDIS_MAJOR} or newer`,
    );
  }
}
