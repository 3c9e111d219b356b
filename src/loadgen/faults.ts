/**
 * The faults of `ssehub bench faults`: what each one does to the target, how the load tool finds
 * the process it acts on, and the checks that keep it from acting on anything else.
 *
 * ```
 * kill-worker    SIGKILL one worker of `ssehub serve --workers N` (a child of the primary;
 *                the primary respawns it)
 * pause-redis    SIGSTOP the redis-server, wait --pause-ms, SIGCONT (a hung Redis)
 * restart-redis  SIGKILL the redis-server, start it again on the same address and port
 *                without persistence (a Redis that lost its data), or run
 *                --redis-restart-command
 * ```
 *
 * Safety: the tool only signals processes it found itself listening on a loopback port (or
 * the wildcard) of the target: the primary of a server URL's port and its direct children,
 * or the redis-server on the loopback port of `--redis-url` (or of the server's own `--redis`).
 * A `--redis-pid` is accepted only when that process is a redis-server listening on loopback.
 * The primary of the target is never signalled, nor the load tool or its workers. Everything
 * is checked before the run starts; a fault that does not apply is refused then.
 * @module
 */
import { spawn } from "node:child_process";
import { readFileSync, readlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { SsehubError } from "../errors.js";
import {
  childPidsOf,
  commandLineOf,
  findListeningPids,
  hasProcfs,
  parentPidOf,
  programNameOf,
} from "./proc-stats.js";

/** The faults, in the order `--help` lists them. */
export const FAULT_NAMES = ["kill-worker", "pause-redis", "restart-redis"] as const;

/** A fault of `ssehub bench faults`. */
export type FaultName = (typeof FAULT_NAMES)[number];

/** How long a killed redis-server may take to go, and a new one to listen, in ms. */
const REDIS_RESTART_TIMEOUT_MS = 15_000;
/** How often the tool looks again while it waits for a process or a port, in ms. */
const POLL_MS = 20;

/** A server of the target: the primary found on its port (never signalled). */
export interface ServerProcess {
  readonly port: number;
  readonly primaryPid: number;
}

/** The target's Redis, found on a loopback port. */
export interface RedisProcess {
  /** The redis-server's pid: replaced after a restart. */
  pid: number;
  readonly host: string;
  readonly port: number;
}

/** What the faults act on, found before the run starts. */
export interface FaultPlan {
  readonly faults: readonly FaultName[];
  /** Servers with at least one worker, for kill-worker. */
  readonly servers: readonly ServerProcess[];
  readonly redis: RedisProcess | null;
  /** Processes never signalled: the load tool, the target's primaries. */
  readonly untouchable: ReadonlySet<number>;
  readonly pauseMs: number;
  readonly redisRestartCommand: string | null;
}

/** What finding the plan needs from the options. */
export interface FaultPlanInput {
  readonly faults: readonly FaultName[];
  /** Ports of the target's URLs (loopback). */
  readonly serverPorts: readonly number[];
  readonly redisPid: number | null;
  readonly redisUrl: string | null;
  readonly pauseMs: number;
  readonly redisRestartCommand: string | null;
  /** The load tool's own processes. */
  readonly selfPids: readonly number[];
}

function refuse(why: string): never {
  throw new SsehubError("SSEHUB_ERR_OPTIONS_INVALID", `Cannot run bench faults: ${why}`);
}

/** The host and port of a `redis://` URL on loopback; refuses anything else. */
export function loopbackRedisEndpoint(url: string): { host: string; port: number } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    refuse(`redis URL ${JSON.stringify(url)} is not a URL`);
  }
  if (parsed.protocol !== "redis:") {
    refuse(`redis URL ${JSON.stringify(url)} must be redis://host:port`);
  }
  const host = parsed.hostname.replace(/^\[|\]$/g, "");
  if (!/^127(\.\d{1,3}){3}$/.test(host) && host !== "::1" && host !== "localhost") {
    refuse(`redis URL ${JSON.stringify(url)} is not on loopback (127.0.0.0/8 or ::1)`);
  }
  return { host: host === "localhost" ? "127.0.0.1" : host, port: Number(parsed.port || 6379) };
}

/** The primaries listening on `port` (those whose parent does not listen there too). */
function primariesOn(port: number, exclude: ReadonlySet<number>): number[] {
  const listening = findListeningPids(port, exclude, true);
  const set = new Set(listening);
  return listening.filter((pid) => !set.has(parentPidOf(pid) ?? 0));
}

/** The Redis URL a server process was started with (`--redis URL` or SSEHUB_REDIS), if any. */
function redisUrlOfServer(pid: number): string | null {
  const args = commandLineOf(pid) ?? [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--redis" && args[i + 1] !== undefined) return args[i + 1]!;
    if (arg.startsWith("--redis=")) return arg.slice("--redis=".length);
  }
  try {
    const env = readFileSync(`/proc/${pid}/environ`, "latin1").split("\0");
    const entry = env.find((line) => line.startsWith("SSEHUB_REDIS="));
    if (entry !== undefined && entry.length > "SSEHUB_REDIS=".length) {
      return entry.slice("SSEHUB_REDIS=".length);
    }
  } catch {
    // Another user's process: its environment is not ours to read.
  }
  return null;
}

/** The redis-server listening on loopback `port`, or undefined. */
function redisServerOn(port: number, exclude: ReadonlySet<number>): number | undefined {
  return findListeningPids(port, exclude, true).find((pid) => isRedisServer(pid));
}

/**
 * True when `pid` is a redis-server: by its program name, or by its command line, which
 * redis-server rewrites to `redis-server <address>:<port>` (the program name of one started
 * through the real file behind Debian's link is `redis-check-rdb`).
 */
export function isRedisServer(pid: number): boolean {
  if (programNameOf(pid)?.startsWith("redis-server") === true) return true;
  return commandLineOf(pid)?.[0]?.startsWith("redis-server") === true;
}

/** The port a process listens on among the loopback `port` given: true when it holds it. */
function listensOn(pid: number, port: number): boolean {
  return findListeningPids(port, new Set(), true).includes(pid);
}

/**
 * Finds what each fault acts on and refuses, with one SSEHUB_ERR_OPTIONS_INVALID naming every
 * problem, the faults that do not apply to the target: no worker under the primary for
 * kill-worker, no redis-server on loopback for the Redis faults, no /proc at all.
 */
export function planFaults(input: FaultPlanInput): FaultPlan {
  if (!hasProcfs()) refuse("the faults need Linux's /proc to find the target's processes");
  const self = new Set(input.selfPids);
  const problems: string[] = [];
  const servers: ServerProcess[] = [];
  const primaries = new Set<number>();
  for (const port of new Set(input.serverPorts)) {
    for (const pid of primariesOn(port, self)) {
      primaries.add(pid);
      if (childPidsOf(pid).length > 0) servers.push({ port, primaryPid: pid });
    }
  }
  if (primaries.size === 0) {
    problems.push(
      `no process of this user listens on port ${input.serverPorts.join(", ")} on loopback`,
    );
  }
  if (input.faults.includes("kill-worker") && servers.length === 0 && primaries.size > 0) {
    problems.push(
      "kill-worker needs a target with workers (ssehub serve --workers N): the server on " +
        `port ${input.serverPorts.join(", ")} has no child process`,
    );
  }
  let redis: RedisProcess | null = null;
  const needsRedis = input.faults.some((fault) => fault !== "kill-worker");
  if (needsRedis) {
    const url =
      input.redisUrl ??
      [...primaries].map((pid) => redisUrlOfServer(pid)).find((found) => found !== null) ??
      null;
    if (input.redisPid !== null) {
      const pid = input.redisPid;
      const endpoint = url === null ? null : loopbackRedisEndpoint(url);
      if (!isRedisServer(pid)) {
        problems.push(`--redis-pid ${pid} is not a redis-server process of this user`);
      } else if (endpoint === null) {
        problems.push(`--redis-pid ${pid} needs --redis-url too: the port to restart it on`);
      } else if (!listensOn(pid, endpoint.port)) {
        problems.push(`--redis-pid ${pid} does not listen on loopback port ${endpoint.port}`);
      } else {
        redis = { pid, ...endpoint };
      }
    } else if (url === null) {
      problems.push(
        `${input.faults.filter((f) => f !== "kill-worker").join(" and ")} need the target's Redis: ` +
          "give --redis-url (or --redis-pid), or start the target with --redis",
      );
    } else {
      const endpoint = loopbackRedisEndpoint(url);
      const pid = redisServerOn(endpoint.port, self);
      if (pid === undefined) {
        problems.push(`no redis-server of this user listens on loopback port ${endpoint.port}`);
      } else {
        redis = { pid, ...endpoint };
      }
    }
  }
  if (problems.length > 0) refuse(problems.join("; "));
  return {
    faults: input.faults,
    servers,
    redis,
    untouchable: new Set([...self, ...primaries]),
    pauseMs: input.pauseMs,
    redisRestartCommand: input.redisRestartCommand,
  };
}

/** What one injection did. */
export interface FaultInjection {
  /** The process signalled (the worker, or the redis-server). */
  readonly pid: number;
  /** After restart-redis: the new redis-server's pid; null otherwise. */
  readonly newPid: number | null;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Signals `pid` after checking, once more, that it is not one the tool must never touch. */
function signal(plan: FaultPlan, pid: number, name: NodeJS.Signals): void {
  if (plan.untouchable.has(pid) || pid === process.pid || pid <= 1) {
    throw new Error(`Refusing to send ${name} to pid ${pid}: not a process the faults act on`);
  }
  process.kill(pid, name);
}

/** SIGKILLs one worker (a direct child) of the first server that has one now. */
function killWorker(plan: FaultPlan): FaultInjection {
  for (const server of plan.servers) {
    // The primary respawned its workers since the plan: look again, and check the parent.
    const worker = childPidsOf(server.primaryPid).find(
      (pid) => parentPidOf(pid) === server.primaryPid && !plan.untouchable.has(pid),
    );
    if (worker !== undefined) {
      signal(plan, worker, "SIGKILL");
      return { pid: worker, newPid: null };
    }
  }
  throw new Error("kill-worker: no worker is alive under the target's primary");
}

/** The target's redis-server, checked again: still a redis-server, still on its port. */
function currentRedis(plan: FaultPlan): RedisProcess {
  const redis = plan.redis;
  if (redis === null) throw new Error("no Redis was found for this run");
  if (!isRedisServer(redis.pid) || !listensOn(redis.pid, redis.port)) {
    const found = redisServerOn(redis.port, plan.untouchable);
    if (found === undefined) {
      throw new Error(`no redis-server listens on loopback port ${redis.port} any more`);
    }
    redis.pid = found;
  }
  return redis;
}

/** SIGSTOPs the redis-server for `pauseMs`, then SIGCONTs it, whatever happens meanwhile. */
async function pauseRedis(plan: FaultPlan, signalAbort?: AbortSignal): Promise<FaultInjection> {
  const redis = currentRedis(plan);
  const pid = redis.pid;
  // A load tool that exits while Redis is stopped must not leave it stopped.
  const resume = (): void => {
    try {
      process.kill(pid, "SIGCONT");
    } catch {
      // Gone already.
    }
  };
  process.once("exit", resume);
  signal(plan, pid, "SIGSTOP");
  try {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, plan.pauseMs);
      function done(): void {
        clearTimeout(timer);
        signalAbort?.removeEventListener("abort", done);
        resolve();
      }
      signalAbort?.addEventListener("abort", done, { once: true });
    });
  } finally {
    resume();
    process.off("exit", resume);
  }
  return { pid, newPid: null };
}

/**
 * SIGKILLs the redis-server and starts a new one on the same address and port with no
 * persistence (or runs `redisRestartCommand`), then waits until it listens. redis-server
 * rewrites its own process title, so its original arguments cannot be read back: the new one
 * gets only the address, the port and no persistence.
 */
async function restartRedis(plan: FaultPlan): Promise<FaultInjection> {
  const redis = currentRedis(plan);
  const pid = redis.pid;
  let executable = "redis-server";
  let cwd = tmpdir();
  try {
    executable = readlinkSync(`/proc/${pid}/exe`);
    cwd = readlinkSync(`/proc/${pid}/cwd`);
  } catch {
    // Keep the defaults: redis-server on PATH, in the temporary folder.
  }
  signal(plan, pid, "SIGKILL");
  const deadline = performance.now() + REDIS_RESTART_TIMEOUT_MS;
  while ((isAlive(pid) || listensOn(pid, redis.port)) && performance.now() < deadline) {
    await sleep(POLL_MS);
  }
  const child =
    plan.redisRestartCommand === null
      ? spawn(
          executable,
          ["--bind", redis.host, "--port", String(redis.port), "--save", "", "--appendonly", "no"],
          // Debian's redis-server is a link to redis-check-rdb, which acts by its argv[0].
          { cwd, detached: true, stdio: "ignore", argv0: "redis-server" },
        )
      : spawn("/bin/sh", ["-c", plan.redisRestartCommand], { detached: true, stdio: "ignore" });
  child.on("error", () => {
    // Reported below: nothing comes to listen on the port.
  });
  child.unref();
  while (performance.now() < deadline) {
    const found = redisServerOn(redis.port, plan.untouchable);
    if (found !== undefined && found !== pid) {
      redis.pid = found;
      return { pid, newPid: found };
    }
    await sleep(POLL_MS);
  }
  throw new Error(
    `restart-redis: no redis-server listens on port ${redis.port} ${REDIS_RESTART_TIMEOUT_MS / 1000} s after the restart`,
  );
}

/** Injects `fault` into the target as `plan` says; resolves once the fault is over. */
export function injectFault(
  plan: FaultPlan,
  fault: FaultName,
  signalAbort?: AbortSignal,
): Promise<FaultInjection> {
  switch (fault) {
    case "kill-worker":
      return Promise.resolve().then(() => killWorker(plan));
    case "pause-redis":
      return pauseRedis(plan, signalAbort);
    case "restart-redis":
      return restartRedis(plan);
  }
}
