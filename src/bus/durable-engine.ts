/**
 * A hub alone in its process whose history survives a restart (`ssehub serve --data-dir`): a
 * durable history in the data directory, and a local bus that goes on with its epoch and seq,
 * so that clients resume exactly across a restart or a deploy.
 * @module
 */
import { DurableHistory } from "../history/durable-history.js";
import { newEpoch } from "../protocol/event-id.js";
import { LocalBus } from "./local-bus.js";

/** What a durable engine reads of the hub's and the serve command's options. */
export interface DurableEngineOptions {
  /** The data directory (created when missing; one process at a time). */
  readonly dataDir: string;
  /** Bytes the segment files may take. */
  readonly dataMaxBytes: number;
  /** Most time written events wait before they are forced to disk, in ms; 0: before each answer. */
  readonly dataSyncMs: number;
  readonly historyMaxEvents: number;
  readonly historyMaxAgeMs: number;
  readonly historyMaxDroppedTopicBytes?: number;
  /** Most idempotency keys remembered at once (they do not survive a restart). */
  readonly idempotencyMaxKeys?: number;
}

/** The plugins of a hub with a data directory, and what opening it found. */
export interface DurableEngine {
  readonly bus: LocalBus;
  readonly history: DurableHistory;
  /** Forces the files to disk and frees the directory; call it after the hub has closed. */
  close(): void;
}

/**
 * Opens the data directory: reads its events back, and returns the bus and history to give
 * the hub (createServer's plugins). Throws SSEHUB_ERR_DATA_DIR_LOCKED when another process
 * uses the directory, SSEHUB_ERR_DATA_DIR_INVALID when it cannot be used.
 */
export function openDurableEngine(options: DurableEngineOptions): DurableEngine {
  const history = DurableHistory.open({
    dir: options.dataDir,
    maxEvents: options.historyMaxEvents,
    maxAgeMs: options.historyMaxAgeMs,
    maxBytes: options.dataMaxBytes,
    syncMs: options.dataSyncMs,
    newEpoch,
    ...(options.historyMaxDroppedTopicBytes === undefined
      ? {}
      : { maxDroppedTopicBytes: options.historyMaxDroppedTopicBytes }),
  });
  const { epoch, lastSeq, floor } = history.start;
  const bus = new LocalBus(epoch, {
    afterSeq: lastSeq,
    historyFloor: floor,
    ...(options.idempotencyMaxKeys === undefined
      ? {}
      : { idempotencyMaxKeys: options.idempotencyMaxKeys }),
  });
  return { bus, history, close: () => history.close() };
}
