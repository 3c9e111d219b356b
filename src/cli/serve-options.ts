/**
 * The options only `ssehub serve` reads (processes and Redis: the library takes a bus and a
 * history store as plugins instead), and SERVE_COMMAND_OPTIONS, every layer's options composed:
 * the one table behind the command's flags, env vars, config file, `--help` and docs/options.md.
 * @module
 */

import { CREATE_SERVER_OPTIONS, type ResolvedServerOptions } from "../http/server-options.js";
import type { ResolvedHubOptions } from "../hub/hub-options.js";
import {
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
}

/** The defaults of the options of `ssehub serve` alone. */
export const SERVE_DEFAULTS: ResolvedServeOptions = Object.freeze({
  workers: 1, // processes
  redis: "", // off: in-process bus and memory history
  redisPrefix: "ssehub",
  redisLogMaxEvents: 100_000, // events
  redisTimeoutMs: 3000, // 3 seconds
  redisWaitReplicas: 0, // acknowledge once the master has it
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
  } satisfies { readonly [K in LayerOptionName<"serve">]: OptionSpec });

/** Everything `ssehub serve` reads: the hub's options, the server's and its own. */
export type ResolvedServeCommandOptions = ResolvedHubOptions &
  ResolvedServerOptions &
  ResolvedServeOptions;

/** Every option of every layer, hub first, then server, then serve: the one table. */
export const SERVE_COMMAND_OPTIONS: OptionGroup<ResolvedServeCommandOptions> = combineGroups(
  CREATE_SERVER_OPTIONS,
  Object.freeze({ specs: SERVE_OPTION_SPECS, defaults: SERVE_DEFAULTS, crossChecks: [] }),
);

/**
 * Resolves the one input that flags, env vars and the config file make (see config.ts), the
 * way createServer resolves its own; `earlierProblems` (unknown flags) join its error.
 */
export const resolveServeCommandOptions: OptionResolver<ResolvedServeCommandOptions> =
  optionResolver(LAYER_ENTRY.serve, SERVE_COMMAND_OPTIONS);
