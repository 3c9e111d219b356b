/**
 * `ssehub serve`: reads the configuration (see ../config.ts), starts the server, logs its URL,
 * and shuts down gracefully on SIGINT or SIGTERM.
 * @module
 */
import cluster from "node:cluster";
import { pino } from "pino";
import { ClusterBus, type IpcChannel } from "../../bus/cluster-bus.js";
import { redactPassword } from "../../bus/redis-connection.js";
import { connectRedisEngine, type RedisEngine } from "../../bus/redis-engine.js";
import { isSsehubError } from "../../errors.js";
import { createLogger, type Logger } from "../../http/logger.js";
import { readTlsCredentials } from "../../http/secure-server.js";
import { authorizerFor, createServer } from "../../http/server.js";
import type { HubPlugins } from "../../hub/types.js";
import { runClusterPrimary } from "../cluster.js";
import { loadServeConfig, type ServeConfig, serveHelp } from "../config.js";

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
 * cannot listen.
 */
export async function serveCommand(
  argv: readonly string[],
  io: ServeIo = PROCESS_IO,
): Promise<number> {
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
    authorizerFor(options);
    // Checked here too, so that a bad certificate or key stops the primary of --workers at once.
    readTlsCredentials(options);
  } catch (error) {
    io.stderr.write(errorLine(error));
    return EXIT_CONFIG;
  }
  // Synchronous writes: every line is out before the process exits.
  const logger: Logger =
    io.stdout === process.stdout
      ? createLogger(options.logLevel, pino.destination({ fd: 1, sync: true }))
      : createLogger(options.logLevel, io.stdout);
  if (options.workers > 1 && cluster.isPrimary) return runClusterPrimary(options, logger);
  // A cluster worker joins the primary's bus; its signals come from the primary, which sends
  // SIGTERM to every worker, so a Ctrl-C reaching the whole process group is left to it.
  const isWorker = cluster.isWorker;
  if (isWorker) process.on("SIGINT", () => {});
  // With Redis, every process (each worker too) is a node of the hub on Redis; without it, a
  // worker joins the primary's cluster bus.
  let engine: RedisEngine | undefined;
  let plugins: HubPlugins = {};
  if (options.redis !== "") {
    try {
      engine = await connectRedisEngine({
        url: options.redis,
        prefix: options.redisPrefix,
        historyMaxEvents: options.historyMaxEvents,
        historyMaxAgeMs: options.historyMaxAgeMs,
        logMaxEvents: options.redisLogMaxEvents,
        onProblem: (message) => logger.warn(message),
      });
    } catch (error) {
      io.stderr.write(errorLine(error));
      return 1;
    }
    plugins = { bus: engine.bus, history: engine.history };
    logger.info(
      { redis: redactPassword(options.redis), prefix: options.redisPrefix },
      "Joined Redis",
    );
  } else if (isWorker) {
    plugins = { bus: ClusterBus.fromEnv(process.env, process as unknown as IpcChannel) };
  }
  const server = createServer({ ...options, logger }, plugins);
  // Listened for before the listening line goes out: whoever reads that line may signal at once.
  let onSignal: (signal: NodeJS.Signals) => void = () => {};
  const stopSignal = new Promise<NodeJS.Signals>((resolve) => {
    onSignal = resolve;
  });
  if (!isWorker) process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    await server.listen();
  } catch (error) {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    io.stderr.write(errorLine(error));
    await server.close();
    await engine?.close();
    return 1;
  }
  const signal = await stopSignal;
  logger.info({ signal }, `Received ${signal}: shutting down`);
  // A second signal, or a shutdown that overruns its bound, ends the process at once.
  const force = (): never => process.exit(1);
  if (!isWorker) process.once("SIGINT", force);
  process.once("SIGTERM", force);
  const overrun = setTimeout(force, options.shutdownTimeoutMs + EXIT_GRACE_MS);
  overrun.unref();
  await server.close();
  await engine?.close();
  // A worker's IPC channel to the primary would keep the process alive: leave the cluster.
  if (isWorker) cluster.worker?.disconnect();
  clearTimeout(overrun);
  process.off("SIGINT", force);
  process.off("SIGTERM", force);
  return 0;
}
