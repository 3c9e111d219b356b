/**
 * `ssehub serve`: reads the configuration (see ../config.ts), starts the server, logs its URL,
 * and shuts down gracefully on SIGINT or SIGTERM.
 * @module
 */
import cluster from "node:cluster";
import {
  joinClusterAsWorker,
  joinWorkerSnapshots,
  logDataDirOpened,
  primaryGone,
  runClusterPrimary,
} from "../../cluster/index.js";
import { CREATE_SERVER_OPTIONS } from "../../http/server-options.js";
import {
  checkServerOptions,
  connectRedisEngine,
  createLogger,
  createServer,
  DIAGNOSIS_SNAPSHOT,
  type DurableEngine,
  type HubPlugins,
  isSsehubError,
  type Logger,
  METRICS_SNAPSHOT,
  openDurableEngine,
  type RedisEngine,
} from "../../index.js";
import { pickOptions } from "../../options.js";
import { loadServeConfig, type ServeConfig, unknownEnvWarnings } from "../config.js";
import { EXIT_LISTEN, listenFailureLine, probeListen } from "../listen-failure.js";
import { serveHelp } from "../option-table.js";
import { logStartup, logStartupWhenWorkersListen } from "../startup-line.js";
import { limitYoungGeneration } from "../young-generation.js";

/** Exit code of a configuration error. */
export const EXIT_CONFIG = 2;
/** Extra time after shutdownTimeoutMs before the process is made to exit, in ms. */
const EXIT_GRACE_MS = 1000;

/** Where serve writes; the process's streams by default (tests pass their own). */
export interface ServeIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
}

const PROCESS_IO: ServeIo = { env: process.env, stdout: process.stdout, stderr: process.stderr };

/** One line for stderr: `ssehub: CODE: message`. */
function errorLine(error: unknown): string {
  const code = isSsehubError(error) ? error.code : (error as NodeJS.ErrnoException).code;
  const message = (error instanceof Error ? error.message : String(error)).replace(
    /\s*\n\s*/g,
    " ",
  );
  return code === undefined ? `ssehub: ${message}\n` : `ssehub: ${code}: ${message}\n`;
}

/**
 * Runs `ssehub serve` with `argv` (the arguments after `serve`). Resolves with the exit code:
 * 0 after a graceful shutdown or --help, 2 for an invalid configuration, 1 when the server
 * cannot listen. An SSEHUB_* variable it does not know gets a warning line on stderr.
 */
export async function serveCommand(
  argv: readonly string[],
  io: ServeIo = PROCESS_IO,
): Promise<number> {
  // Once per command: a cluster worker sees the primary's environment, already warned about.
  if (!cluster.isWorker) {
    for (const warning of unknownEnvWarnings(io.env))
      io.stderr.write(`ssehub: warning: ${warning}\n`);
  }
  let config: ServeConfig;
  try {
    config = loadServeConfig(argv, io.env);
  } catch (error) {
    io.stderr.write(errorLine(error));
    return EXIT_CONFIG;
  }
  if (config.help) {
    io.stdout.write(`${serveHelp()}\n`);
    return 0;
  }
  const { options } = config;
  try {
    // Checked here too, so that a bad key or certificate stops the primary of --workers at once.
    checkServerOptions(pickOptions(CREATE_SERVER_OPTIONS, options));
  } catch (error) {
    io.stderr.write(errorLine(error));
    return EXIT_CONFIG;
  }
  // Synchronous writes to stdout by default: every line is out before the process exits.
  const logger: Logger =
    io.stdout === process.stdout
      ? createLogger(options.logLevel)
      : createLogger(options.logLevel, io.stdout);
  if (options.workers > 1 && cluster.isPrimary) {
    const failure = await probeListen(options.host, options.port);
    if (failure !== undefined) {
      io.stderr.write(listenFailureLine(failure, options.host, options.port) ?? errorLine(failure));
      return EXIT_LISTEN;
    }
    logStartupWhenWorkersListen(logger, options);
    return runClusterPrimary(options, logger);
  }
  // Before the first connection: a connect burst would grow the young generation for good.
  limitYoungGeneration(process.execArgv, io.env.NODE_OPTIONS);
  // A cluster worker joins the primary's bus; its signals come from the primary, which sends
  // SIGTERM to every worker, so a Ctrl-C reaching the whole process group is left to it.
  const isWorker = cluster.isWorker;
  if (isWorker) process.on("SIGINT", () => {});
  // A worker whose primary dies shuts down as on SIGTERM: streams end with the retry hint.
  const orphaned = isWorker ? primaryGone() : undefined;
  // With Redis, every process (each worker too) is a node of the hub on Redis; without it, a
  // worker joins the primary's cluster bus.
  let engine: RedisEngine | undefined;
  // Without Redis, one process alone keeps history in the data directory when one is given
  // (with --workers, the primary does: the one that orders events writes them).
  let durable: DurableEngine | undefined;
  let plugins: HubPlugins = {};
  if (options.redis !== "") {
    try {
      engine = await connectRedisEngine({
        url: options.redis,
        prefix: options.redisPrefix,
        historyMaxEvents: options.historyMaxEvents,
        historyMaxAgeMs: options.historyMaxAgeMs,
        historyMaxDroppedTopicBytes: options.historyMaxDroppedTopicBytes,
        logMaxEvents: options.redisLogMaxEvents,
        timeoutMs: options.redisTimeoutMs,
        waitReplicas: options.redisWaitReplicas,
        onProblem: (message) => logger.warn(message),
      });
    } catch (error) {
      io.stderr.write(errorLine(error));
      return 1;
    }
    plugins = { bus: engine.bus, history: engine.history };
    logger.info({ redis: engine.description, prefix: options.redisPrefix }, "Joined Redis");
  } else if (isWorker) {
    try {
      // Before the server listens: the worker starts with the history its siblings hold.
      plugins = await joinClusterAsWorker(options);
    } catch (error) {
      io.stderr.write(errorLine(error));
      return 1;
    }
  } else if (options.dataDir !== "") {
    try {
      durable = openDurableEngine(options);
    } catch (error) {
      io.stderr.write(errorLine(error));
      return 1;
    }
    plugins = { bus: durable.bus, history: durable.history };
    const { epoch, lastSeq, floor, recovered, repairs } = durable.history.start;
    logDataDirOpened(logger, options.dataDir, {
      epoch,
      lastSeq,
      floor,
      events: recovered,
      bytes: durable.history.diskBytes,
      repairs,
    });
  }
  // A cluster worker's /metrics and /admin/diagnosis answer for every worker: they gather.
  const snapshots = isWorker ? joinWorkerSnapshots() : undefined;
  const server = createServer(
    {
      ...pickOptions(CREATE_SERVER_OPTIONS, options),
      logger,
      gather: snapshots === undefined ? undefined : (name) => snapshots.gather(name),
    },
    plugins,
  );
  snapshots?.provide(METRICS_SNAPSHOT, () => server.metrics.snapshot());
  snapshots?.provide(DIAGNOSIS_SNAPSHOT, () => server.diagnosis.build());
  // Listened for before the listening line goes out: whoever reads that line may signal at once.
  const signals = new ShutdownSignals(isWorker ? ["SIGTERM"] : ["SIGINT", "SIGTERM"]);
  try {
    const { url } = await server.listen();
    if (!isWorker) logStartup(logger, options, url);
  } catch (error) {
    signals.stop();
    snapshots?.close();
    io.stderr.write(listenFailureLine(error, options.host, options.port) ?? errorLine(error));
    // A server that never listened closes without a word: there is no shutdown to tell of.
    await server.close();
    await engine?.close();
    durable?.close();
    // A worker's IPC channel to the primary would keep it alive: leave, so the primary sees it die.
    if (isWorker && process.connected) cluster.worker?.disconnect();
    return EXIT_LISTEN;
  }
  const signal = await (orphaned === undefined
    ? signals.first
    : Promise.race([signals.first, orphaned.then(() => "primary-gone" as const)]));
  if (signal === "primary-gone") {
    logger.error("The primary process is gone: shutting down this worker");
  } else {
    logger.info({ signal }, `Received ${signal}: shutting down`);
  }
  // A shutdown that overruns its bound ends the process at once, as a second signal does.
  const overrun = setTimeout(() => process.exit(1), options.shutdownTimeoutMs + EXIT_GRACE_MS);
  overrun.unref();
  await server.close();
  await engine?.close();
  durable?.close();
  snapshots?.close();
  // A worker's IPC channel to the primary would keep the process alive: leave the cluster.
  if (isWorker && process.connected) cluster.worker?.disconnect();
  if (signal === "primary-gone") logger.info("Worker stopped");
  clearTimeout(overrun);
  signals.stop();
  return 0;
}

/** A repeat of the first signal within this time is the same request, not a second one, in ms. */
const REPEAT_WINDOW_MS = 1000;

/**
 * The signals that stop the hub, listened for with one listener each for the whole life of the
 * command, so that no signal ever meets Node's default action (exit at once) between two
 * listeners. The first starts the graceful shutdown; a repeat of it at once is ignored (a
 * Ctrl-C reaches both `npm start` and the hub, and npm forwards it too); any later signal ends
 * the process at once.
 */
class ShutdownSignals {
  /** Resolves with the first signal. */
  readonly first: Promise<NodeJS.Signals>;
  readonly #names: readonly NodeJS.Signals[];
  readonly #listener: (signal: NodeJS.Signals) => void;

  constructor(names: readonly NodeJS.Signals[]) {
    this.#names = names;
    let resolveFirst: (signal: NodeJS.Signals) => void = () => {};
    this.first = new Promise((resolve) => {
      resolveFirst = resolve;
    });
    let first: { signal: NodeJS.Signals; at: number } | undefined;
    this.#listener = (signal) => {
      if (first === undefined) {
        first = { signal, at: Date.now() };
        resolveFirst(signal);
      } else if (signal !== first.signal || Date.now() - first.at > REPEAT_WINDOW_MS) {
        process.exit(1);
      }
    };
    for (const name of names) process.on(name, this.#listener);
  }

  stop(): void {
    for (const name of this.#names) process.off(name, this.#listener);
  }
}
