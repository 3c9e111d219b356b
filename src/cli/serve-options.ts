/**
 * The options only `ssehub serve` reads (processes and Redis: the library takes a bus and a
 * history store as plugins instead), and SERVE_COMMAND_OPTIONS, every layer's options composed:
 * the one table behind the command's flags, env vars, config file, `--help` and docs/options.md.
 * @module
 */

import { CREATE_SERVER_OPTIONS, type ResolvedServerOptions } from "../http/server-options.js";
import type { ResolvedHubOptions } from "../hub/hub-options.js";
import {
  type CrossCheck,
  combineGroups,
  LAYER_ENTRY,
  type LayerOptionName,
  type OptionGroup,
  type OptionResolver,
  type OptionSpec,
  optionResolver,
} from "../options.js";

/** The options of `ssehub serve` alone, resolved. */
export interface ResolvedServeOptions {
  /** Processes serving the port; above 1, node:cluster workers on one bus. */
  readonly workers: number;
  /**
   * Redis to join: `redis://host:port`, `rediss://`, `redis+sentinel://` or `redis+cluster://`
   * (docs/redis.md). Empty: everything stays in this process (or cluster).
   */
  readonly redis: string;
  /** Prefix of every Redis key of the hub; nodes with the same prefix form one hub. */
  readonly redisPrefix: string;
  /** Events the shared Redis log keeps (about): how far a node may fall behind and catch up. */
  readonly redisLogMaxEvents: number;
  /**
   * Deadline of every Redis call, in ms: past it a publish answers 503 and the node is not
   * ready until Redis answers again (docs/redis.md, Failures).
   */
  readonly redisTimeoutMs: number;
  /**
   * Replicas that must hold a publish before it is acknowledged (Redis WAIT); 0 waits for none.
   * Fewer within redisTimeoutMs: 503.
   */
  readonly redisWaitReplicas: number;
  /**
   * Directory of the durable history (docs/operations.md, "History on disk"): events, epoch and
   * seq survive a restart. Empty: history in memory only. Not with `redis`.
   */
  readonly dataDir: string;
  /** Bytes the data directory's segment files may take; past it the oldest events leave. */
  readonly dataMaxBytes: number;
  /**
   * Most time an event written to the data directory waits before it is forced to disk, in ms;
   * 0 forces it before each publish is answered. A killed process never loses an answered
   * event either way; this bounds what a power loss may take.
   */
  readonly dataSyncMs: number;
}

/** The defaults of the options of `ssehub serve` alone. */
export const SERVE_DEFAULTS: ResolvedServeOptions = Object.freeze({
  workers: 1, // processes
  redis: "", // off: in-process bus and memory history
  redisPrefix: "ssehub",
  redisLogMaxEvents: 100_000, // events
  redisTimeoutMs: 3000, // 3 seconds
  redisWaitReplicas: 0, // acknowledge once the master has it
  dataDir: "", // off: history in memory
  dataMaxBytes: 1_073_741_824, // 1 GiB
  dataSyncMs: 1000, // 1 second
} satisfies ResolvedServeOptions);

/** The check of every option of `ssehub serve` alone. */
export const SERVE_OPTION_SPECS: { readonly [K in keyof ResolvedServeOptions]: OptionSpec } =
  Object.freeze({
    workers: {
      kind: "integer",
      min: 1,
      max: 64,
      help: "Processes serving the port; above 1, node:cluster workers kept consistent by the cluster bus",
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
    redisTimeoutMs: {
      kind: "integer",
      min: 100,
      max: 60_000,
      help: "Deadline of every Redis call, in ms: past it a publish answers 503 and the node is not ready until Redis answers again",
    },
    redisWaitReplicas: {
      kind: "integer",
      min: 0,
      max: 16,
      help: "Replicas that must hold a publish before it is acknowledged (Redis WAIT); fewer within redisTimeoutMs answers 503. Not with a Redis Cluster",
    },
    dataDir: {
      kind: "string",
      allowEmpty: true,
      help: "Directory where history survives restarts (epoch, seq and events, see docs/operations.md); empty keeps history in memory. Not with redis",
    },
    dataMaxBytes: {
      kind: "integer",
      min: 4_194_304,
      max: 1_099_511_627_776,
      help: "Bytes the data directory's files may take; past it the oldest events leave (readers from before them get a reset)",
    },
    dataSyncMs: {
      kind: "integer",
      min: 0,
      max: 60_000,
      help: "Most time written events wait before they are forced to disk, in ms; 0 forces each publish before it is answered. A killed process loses no answered event either way",
    },
  } satisfies { readonly [K in LayerOptionName<"serve">]: OptionSpec });

/** History lives in one place: Redis, shared by the nodes, or this machine's data directory. */
const dataDirWithoutRedis: CrossCheck = {
  fields: ["dataDir", "redis"],
  check({ dataDir, redis }) {
    if (typeof dataDir !== "string" || typeof redis !== "string") return undefined;
    if (dataDir === "" || redis === "") return undefined;
    return "dataDir and redis cannot both be set: with redis, history lives in Redis (it survives a restart of any node); drop dataDir";
  },
};

/** Everything `ssehub serve` reads: the hub's options, the server's and its own. */
export type ResolvedServeCommandOptions = ResolvedHubOptions &
  ResolvedServerOptions &
  ResolvedServeOptions;

/** Every option of every layer, hub first, then server, then serve: the one table. */
export const SERVE_COMMAND_OPTIONS: OptionGroup<ResolvedServeCommandOptions> = combineGroups(
  CREATE_SERVER_OPTIONS,
  Object.freeze({
    specs: SERVE_OPTION_SPECS,
    defaults: SERVE_DEFAULTS,
    crossChecks: [dataDirWithoutRedis],
  }),
);

/**
 * Resolves the one input that flags, env vars and the config file make (see config.ts), the
 * way createServer resolves its own; `earlierProblems` (unknown flags) join its error.
 */
export const resolveServeCommandOptions: OptionResolver<ResolvedServeCommandOptions> =
  optionResolver(LAYER_ENTRY.serve, SERVE_COMMAND_OPTIONS);
