/**
 * The data directory of `ssehub serve --workers N --data-dir D`: the primary orders every
 * event, so it is the one writer. It writes each turn's events to the segment log before any
 * worker gets them or any publish is answered, and on a restart it reads them back into its
 * copy of recent events (recent-events.ts), which every worker loads when it joins: clients
 * resume across the restart exactly as they do when one worker dies.
 * @module
 */
import { segmentBytesFor } from "../history/durable-history.js";
import { encodeSequencedRecord } from "../history/log-record.js";
import { type RecoveredLog, SegmentLog } from "../history/segment-log.js";
import type { SequencedEvent } from "../history/stored-event.js";
import { newEpoch } from "../protocol/event-id.js";

/** Where the journal lives and how much it keeps. */
export interface SequencerJournalOptions {
  readonly dataDir: string;
  /** Bytes the segment files may take; past it the oldest leave. */
  readonly dataMaxBytes: number;
  /** Most time written events wait before they are forced to disk, in ms; 0: before each answer. */
  readonly dataSyncMs: number;
}

/** The primary's log of ordered events. */
export class SequencerJournal {
  readonly #log: SegmentLog;
  readonly #maxBytes: number;
  /** What the directory held when it was opened: epoch, last seq, floor, events, repairs. */
  readonly start: RecoveredLog;

  private constructor(log: SegmentLog, start: RecoveredLog, maxBytes: number) {
    this.#log = log;
    this.start = start;
    this.#maxBytes = maxBytes;
  }

  /**
   * Opens the directory and reads it back. Throws SSEHUB_ERR_DATA_DIR_LOCKED or
   * SSEHUB_ERR_DATA_DIR_INVALID.
   */
  static open(options: SequencerJournalOptions): SequencerJournal {
    const { log, recovered } = SegmentLog.open({
      dir: options.dataDir,
      segmentBytes: segmentBytesFor(options.dataMaxBytes),
      syncMs: options.dataSyncMs,
      newEpoch,
    });
    return new SequencerJournal(log, recovered, options.dataMaxBytes);
  }

  /** Bytes of the segment files. */
  get diskBytes(): number {
    return this.#log.totalBytes;
  }

  /** Writes one turn's events. Throws SSEHUB_ERR_HISTORY_WRITE_FAILED when the disk refuses. */
  write(events: readonly SequencedEvent[]): void {
    this.#log.append(events.map(encodeSequencedRecord), events.at(-1)!.seq);
  }

  /**
   * Deletes the segments no worker can be handed any more (every event up to `floor`, the copy's
   * floor), then the oldest ones past the byte bound. Returns the seq through which the bound
   * dropped events the copy still held, or 0.
   */
  retain(floor: number): number {
    this.#log.deleteThrough(floor);
    let dropped = 0;
    while (this.#log.totalBytes > this.#maxBytes) {
      const through = this.#log.dropOldest();
      if (through === undefined) break;
      dropped = through;
    }
    return dropped;
  }

  /** Forces what was written to disk and frees the directory. */
  close(): void {
    this.#log.close();
  }
}
