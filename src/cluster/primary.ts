/**
 * `ssehub serve --workers N`: the primary process. It forks N workers that serve the same port
 * (node:cluster hands each new connection to a worker in turn), orders every event for all of
 * them (ClusterSequencer), replaces a worker that dies, and on SIGINT/SIGTERM shuts the workers
 * down gracefully before it exits. A worker that dies never takes the primary with it: sends to
 * it are dropped (see the cluster bus), and its channel's errors are logged, not thrown.
 * @module
 */
import cluster, { type Worker } from "node:cluster";
import { ClusterSequencer, type IpcChannel } from "../bus/cluster-bus.js";
import { SequencerJournal } from "../bus/sequencer-journal.js";
import type { Logger } from "../index.js";
import { newEpoch } from "../protocol/event-id.js";
import { type GatherWorker, SnapshotGatherer } from "./gather.js";

/** What the primary reads of the serve command's options. */
export interface ClusterPrimaryOptions {
  /** Workers to fork. */
  readonly workers: number;
  /** The port they serve, for the log line. */
  readonly port: number;
  /** How long workers get to shut down gracefully before they are killed, in ms. */
  readonly shutdownTimeoutMs: number;
  /** Most idempotency keys the sequencer remembers at once. */
  readonly idempotencyMaxKeys: number;
  /** The workers' history limits: they bound the recent events handed to a joining worker. */
  readonly historyMaxEvents: number;
  readonly historyMaxAgeMs: number;
  /** The data directory the primary writes every ordered event to; empty: none. */
  readonly dataDir: string;
  readonly dataMaxBytes: number;
  readonly dataSyncMs: number;
}

/** Extra time after shutdownTimeoutMs before remaining workers are killed, in ms. */
const KILL_GRACE_MS = 2000;
/**
 * A worker that dies sooner than this after its start died "early": a crash loop in the making,
 * or an operator's kill right after a start; only a run of early deaths stops the cluster.
 */
const EARLY_DEATH_MS = 2000;
/** This many early deaths in a row stop the cluster: its workers cannot stay up. */
const CRASH_LOOP_DEATHS = 5;
/** Wait before replacing the first early death of a run, doubled for each next one, in ms. */
const EARLY_DEATH_BACKOFF_MS = 100;

/** Runs the primary until a signal ends it; resolves with the exit code. */
export async function runClusterPrimary(
  options: ClusterPrimaryOptions,
  logger: Logger,
): Promise<number> {
  // With a data directory, the primary (the one that orders events) is its one writer.
  let journal: SequencerJournal | undefined;
  if (options.dataDir !== "") {
    try {
      journal = SequencerJournal.open(options);
    } catch (error) {
      logger.fatal({ err: (error as Error).message }, "Cannot open the data directory");
      return 1;
    }
    const { epoch, lastSeq, floor, events, repairs } = journal.start;
    logDataDirOpened(logger, options.dataDir, {
      epoch,
      lastSeq,
      floor,
      events: events.length,
      bytes: journal.diskBytes,
      repairs,
    });
  }
  const sequencer = new ClusterSequencer(
    newEpoch(),
    options,
    options.idempotencyMaxKeys,
    Date.now,
    journal,
  );
  sequencer.onWriteError = (error) =>
    logger.error(
      { err: error.message },
      "The data directory refused a write: publishes answer 503",
    );
  // Answers a worker's request for a snapshot of every worker (one /metrics scrape sees all).
  const gatherer = new SnapshotGatherer();
  const started = new Map<Worker, number>();
  let stopping = false;
  let failed = false;
  /** Early deaths in a row; a worker that outlives EARLY_DEATH_MS resets the run. */
  let earlyDeaths = 0;

  const fork = (): Worker => {
    const worker = cluster.fork();
    const channel = worker as unknown as IpcChannel;
    sequencer.add(channel);
    gatherer.add(worker as unknown as GatherWorker);
    started.set(worker, Date.now());
    // A send to a worker that has just died fails on its channel (EPIPE, ERR_IPC_CHANNEL_CLOSED):
    // the cluster bus passes a callback, and this listener takes any other, so that no such
    // error is ever unhandled in the primary.
    worker.on("error", (error: Error) => {
      logger.warn({ pid: worker.process.pid, err: error.message }, "A worker's channel failed");
    });
    worker.on("disconnect", () => {
      sequencer.remove(channel);
      gatherer.remove(worker as unknown as GatherWorker);
    });
    worker.on("exit", (code, signal) => {
      sequencer.remove(channel);
      gatherer.remove(worker as unknown as GatherWorker);
      const lifetime = Date.now() - (started.get(worker) ?? 0);
      started.delete(worker);
      if (stopping) return;
      logger.error({ pid: worker.process.pid, code, signal }, "A worker exited");
      earlyDeaths = lifetime < EARLY_DEATH_MS ? earlyDeaths + 1 : 0;
      if (earlyDeaths >= CRASH_LOOP_DEATHS) {
        failed = true;
        logger.fatal(
          { earlyDeaths },
          `Workers died ${earlyDeaths} times in a row within ${EARLY_DEATH_MS} ms of their start: stopping`,
        );
        process.kill(process.pid, "SIGTERM");
        return;
      }
      const replace = (): void => {
        if (stopping) return;
        const replacement = fork();
        replacement.once("listening", () =>
          logger.info({ pid: replacement.process.pid }, "A replacement worker serves the port"),
        );
      };
      if (earlyDeaths === 0) replace();
      else setTimeout(replace, EARLY_DEATH_BACKOFF_MS * 2 ** (earlyDeaths - 1));
    });
    return worker;
  };

  const listening = new Promise<void>((resolve) => {
    let count = 0;
    cluster.on("listening", () => {
      count++;
      if (count === options.workers) resolve();
    });
  });
  for (let i = 0; i < options.workers; i++) fork();

  const signal = await new Promise<NodeJS.Signals | "failed">((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
    void listening.then(() =>
      logger.info(
        { workers: options.workers, pids: [...started.keys()].map((w) => w.process.pid) },
        `ssehub cluster of ${options.workers} workers serving port ${options.port}`,
      ),
    );
  });
  stopping = true;
  logger.info({ signal }, `Received ${signal}: shutting down the workers`);
  const exits = [...started.keys()].map(
    (worker) => new Promise<void>((resolve) => worker.once("exit", () => resolve())),
  );
  for (const worker of started.keys()) worker.process.kill("SIGTERM");
  const killer = setTimeout(() => {
    for (const worker of started.keys()) worker.process.kill("SIGKILL");
  }, options.shutdownTimeoutMs + KILL_GRACE_MS);
  await Promise.all(exits);
  clearTimeout(killer);
  journal?.close();
  logger.info("ssehub cluster stopped");
  return failed ? 1 : 0;
}

/** What opening a data directory found (DurableHistory.start, or the journal's). */
export interface DataDirFacts {
  readonly epoch: string;
  readonly lastSeq: number;
  readonly floor: number;
  /** Events read back. */
  readonly events: number;
  /** Bytes of its segment files. */
  readonly bytes: number;
  readonly repairs: readonly string[];
}

/** Logs what opening the data directory found, and what it repaired. */
export function logDataDirOpened(logger: Logger, dataDir: string, facts: DataDirFacts): void {
  const { repairs, ...figures } = facts;
  for (const repair of repairs) logger.warn({ dataDir }, `Repaired the data directory: ${repair}`);
  logger.info(
    { dataDir, ...figures },
    facts.lastSeq === 0
      ? "Opened a new data directory"
      : "Opened the data directory: history goes on",
  );
}
