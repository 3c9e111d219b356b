/**
 * The controller's side of the worker processes: forks them (worker.ts), sends each its
 * config, and turns their messages into promises. A worker that dies fails every pending call.
 * @module
 */

import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { addCounts } from "./counts.js";
import type {
  ConnectReport,
  ControllerMessage,
  PhaseReport,
  WorkerConfig,
  WorkerMessage,
  WorkerStats,
} from "./messages.js";
import type { StreamSeq } from "./seq-tracker.js";

/** How long a worker may take to start, in ms. */
const START_TIMEOUT_MS = 15_000;
/** How long a worker may take to close its sockets and exit, in ms. */
const CLOSE_TIMEOUT_MS = 10_000;

const ZERO_STATS: WorkerStats = {
  open: 0,
  connecting: 0,
  established: 0,
  failed: 0,
  dropped: 0,
  events: 0,
  reconnects: 0,
  failedReconnects: 0,
};
/** Every field of WorkerStats: all of them add up across workers. */
const STAT_FIELDS = Object.keys(ZERO_STATS) as (keyof WorkerStats)[];

interface Waiter {
  readonly type: WorkerMessage["type"];
  readonly resolve: (message: WorkerMessage) => void;
  readonly reject: (error: Error) => void;
}

/** One forked worker. */
class WorkerHandle {
  readonly child: ChildProcess;
  readonly index: number;
  stats: WorkerStats = ZERO_STATS;
  #waiters: Waiter[] = [];
  #exited: Error | undefined;

  constructor(child: ChildProcess, index: number) {
    this.child = child;
    this.index = index;
    child.on("message", (message: WorkerMessage) => this.#onMessage(message));
    child.on("exit", (code, signal) => {
      this.#exited = new Error(
        `Load tool worker ${index} (pid ${child.pid}) exited with ${signal ?? `code ${code}`}`,
      );
      for (const waiter of this.#waiters) waiter.reject(this.#exited);
      this.#waiters = [];
    });
  }

  #onMessage(message: WorkerMessage): void {
    if (message.type === "stats" || message.type === "closed") this.stats = message.stats;
    if (message.type === "fatal") {
      const error = new Error(`Load tool worker ${this.index} failed: ${message.message}`);
      for (const waiter of this.#waiters) waiter.reject(error);
      this.#waiters = [];
      return;
    }
    const at = this.#waiters.findIndex((waiter) => waiter.type === message.type);
    if (at < 0) return;
    const [waiter] = this.#waiters.splice(at, 1);
    waiter!.resolve(message);
  }

  /** The next message of `type`. */
  next<T extends WorkerMessage["type"]>(type: T): Promise<Extract<WorkerMessage, { type: T }>> {
    if (this.#exited !== undefined) return Promise.reject(this.#exited);
    return new Promise((resolve, reject) => {
      this.#waiters.push({
        type,
        resolve: (message) => resolve(message as Extract<WorkerMessage, { type: T }>),
        reject,
      });
    });
  }

  send(message: ControllerMessage): void {
    if (this.child.connected) this.child.send(message);
  }

  get isAlive(): boolean {
    return this.#exited === undefined;
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out after ${ms} ms ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** The worker processes of a run. Create with WorkerGroup.start(). */
export class WorkerGroup {
  readonly #workers: WorkerHandle[];

  private constructor(workers: WorkerHandle[]) {
    this.#workers = workers;
  }

  /** Forks one worker per config and sends it its config. */
  static async start(configs: readonly WorkerConfig[]): Promise<WorkerGroup> {
    const modulePath = fileURLToPath(new URL("./worker.js", import.meta.url));
    const workers = configs.map((_, index) => {
      const child = fork(modulePath, [], {
        // The parent's flags (--test, loaders) are not the worker's business; profiling flags
        // for the workers come from SSEHUB_BENCH_WORKER_ARGS (`--cpu-prof --cpu-prof-dir=/tmp`).
        execArgv: (process.env.SSEHUB_BENCH_WORKER_ARGS ?? "").split(" ").filter((a) => a !== ""),
        stdio: ["ignore", "inherit", "inherit", "ipc"],
      });
      return new WorkerHandle(child, index);
    });
    const group = new WorkerGroup(workers);
    try {
      await withTimeout(
        Promise.all(workers.map((worker) => worker.next("ready"))),
        START_TIMEOUT_MS,
        "waiting for the load tool's workers to start",
      );
    } catch (error) {
      group.kill();
      throw error;
    }
    workers.forEach((worker, index) => {
      worker.send({ type: "init", config: configs[index]! });
    });
    return group;
  }

  /** Pids of the workers. */
  get pids(): number[] {
    return this.#workers.flatMap((worker) =>
      worker.child.pid === undefined ? [] : [worker.child.pid],
    );
  }

  /** How many workers. */
  get size(): number {
    return this.#workers.length;
  }

  /** The latest counters of every worker, added up. */
  stats(): WorkerStats {
    const total = { ...ZERO_STATS };
    for (const { stats } of this.#workers) addCounts(total, stats, STAT_FIELDS);
    return total;
  }

  /** Opens every subscriber; resolves with each worker's report. */
  connect(): Promise<ConnectReport[]> {
    const reports = this.#workers.map((worker) => worker.next("connected"));
    for (const worker of this.#workers) worker.send({ type: "connect" });
    return Promise.all(reports).then((messages) => messages.map((m) => m.report));
  }

  /** Starts a measured phase; resolves once every worker has reset its counters. */
  async startPhase(base: readonly number[]): Promise<void> {
    const acks = this.#workers.map((worker) => worker.next("phase-started"));
    for (const worker of this.#workers) worker.send({ type: "phase-start", base });
    await Promise.all(acks);
  }

  /** Ends a phase: the workers wait for what is still owed (up to drainMs) and report. */
  endPhase(
    final: readonly number[],
    drainMs: number,
    refused: readonly StreamSeq[] = [],
  ): Promise<PhaseReport[]> {
    const results = this.#workers.map((worker) => worker.next("phase-result"));
    for (const worker of this.#workers) {
      worker.send({ type: "phase-end", final, refused, drainMs });
    }
    return Promise.all(results).then((messages) => messages.map((m) => m.report));
  }

  /** Makes the workers reconnect `ratePerSec` subscribers per second in all; 0 stops. */
  churn(ratePerSec: number): void {
    const share = ratePerSec / this.#workers.length;
    for (const worker of this.#workers) worker.send({ type: "churn", ratePerSec: share });
  }

  /** Marks the moment of a fault: the phase report says when events sent after it arrived. */
  mark(atUs: number): void {
    for (const worker of this.#workers) worker.send({ type: "mark", atUs });
  }

  /** Closes every subscriber and waits for the workers to exit; kills those that do not. */
  async close(): Promise<WorkerStats> {
    const live = this.#workers.filter((worker) => worker.isAlive);
    const exits = live.map(
      (worker) => new Promise<void>((resolve) => worker.child.once("exit", () => resolve())),
    );
    for (const worker of live) worker.send({ type: "close" });
    try {
      await withTimeout(Promise.all(exits), CLOSE_TIMEOUT_MS, "waiting for the workers to close");
    } catch {
      this.kill();
    }
    this.#release();
    return this.stats();
  }

  /** Ends every worker at once. */
  kill(): void {
    for (const worker of this.#workers) {
      if (worker.isAlive) worker.child.kill("SIGKILL");
    }
    this.#release();
  }

  /** Lets this process exit whatever state the workers are in: a finished run holds nothing. */
  #release(): void {
    for (const { child } of this.#workers) {
      child.channel?.unref();
      child.unref();
    }
  }
}
