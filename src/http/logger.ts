/**
 * The logger of the HTTP layer: pino, injectable. Info at start and stop, debug per
 * connection, nothing per event at the default level; errors carry their cause.
 * @module
 */
import { type DestinationStream, type Logger, pino } from "pino";
import type { LogLevel } from "./server-options.js";

export type { Logger } from "pino";

/**
 * Creates the default logger: JSON lines, one per log call, with `name: "ssehub"`.
 * @param level pino level; `silent` logs nothing.
 * @param destination where the lines go; stdout by default.
 * @example
 * const logger = createLogger("debug");
 */
export function createLogger(level: LogLevel = "info", destination?: DestinationStream): Logger {
  const options = { name: "ssehub", level };
  return destination === undefined ? pino(options) : pino(options, destination);
}
