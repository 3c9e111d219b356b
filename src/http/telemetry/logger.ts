/**
 * The logger of the HTTP layer: pino, injectable. Info at start and stop, debug per
 * connection, nothing per event at the default level; errors carry their cause.
 * @module
 */
import { createRequire } from "node:module";
import type { DestinationStream, Logger } from "pino";
import type { LogLevel } from "../server-options.js";

export type { Logger } from "pino";

/**
 * pino, loaded by the first logger created: `import "ssehub"` costs nothing for a hub that
 * never logs (an embedded hub without a server). pino is CommonJS, so it loads synchronously.
 */
let pinoModule: typeof import("pino") | undefined;
function loadPino(): typeof import("pino") {
  pinoModule ??= createRequire(import.meta.url)("pino") as typeof import("pino");
  return pinoModule;
}

/**
 * Creates the default logger: JSON lines, one per log call, with `name: "ssehub"`.
 * @param level pino level; `silent` logs nothing.
 * @param destination where the lines go; stdout by default.
 * @example
 * const logger = createLogger("debug");
 */
export function createLogger(level: LogLevel = "info", destination?: DestinationStream): Logger {
  const { pino } = loadPino();
  // Synchronous writes to stdout: every line is out before the process exits.
  return pino({ name: "ssehub", level }, destination ?? pino.destination({ fd: 1, sync: true }));
}
