/**
 * History that survives a restart: the events kept in a data directory's segment log
 * (segment-log.ts), and read from a MemoryHistory that mirrors them, so that a resume never
 * waits on the disk.
 *
 *   append(e) ... append(e)  -> pending
 *   flush()                  -> one write of the pending records, then the memory index
 *   open                     -> the log read back into the index, its epoch and last seq
 *
 * The hub calls flush() after each batch the bus hands it, before any subscriber is written
 * to and before the publish is answered: an event answered or delivered is in the files, and
 * one the disk refused is neither delivered nor kept (the publish answers 503).
 *
 * Retention: by count and age as the memory history applies them, and by bytes. A segment
 * leaves once the index keeps none of its events (an old event of a quiet topic holds its
 * segment until it ages out); past `maxBytes` the oldest segments leave whatever they hold, and
 * the index drops their events too, so what is served is what a restart would find.
 * @module
 */
import { SsehubError } from "../errors.js";
import type { HistoryRead, HistoryStore, StoredEvent, TopicHistoryInfo } from "./history-store.js";
import { encodeStoredRecord } from "./log-record.js";
import { MemoryHistory } from "./memory-history.js";
import { type RecoveredLog, SegmentLog } from "./segment-log.js";
import { type SequencedEvent, toStoredEvent } from "./stored-event.js";

/** Limits and place of a durable history. */
export interface DurableHistoryOptions {
  /** The data directory (created when missing; one process at a time). */
  readonly dir: string;
  /** Events kept per topic; 0 keeps none. */
  readonly maxEvents: number;
  /** Age after which an event leaves, in ms. */
  readonly maxAgeMs: number;
  /** Bytes the segment files may take; past it the oldest segments leave. */
  readonly maxBytes: number;
  /** Most time written events wait before they are forced to disk, in ms; 0: before each answer. */
  readonly syncMs: number;
  /** Bytes the index spends remembering dropped topics (MemoryHistoryOptions). */
  readonly maxDroppedTopicBytes?: number;
  /** The epoch of a new directory's ids. */
  readonly newEpoch: () => string;
  /** The clock, in ms since the Unix epoch (for tests). @default Date.now */
  readonly now?: () => number;
  /** Bytes per segment file (for tests). @default segmentBytesFor(maxBytes) */
  readonly segmentBytes?: number;
}

/** Where a durable history stands after opening its directory. */
export interface DurableHistoryStart {
  /** The epoch of every id, the same across restarts. */
  readonly epoch: string;
  /** The seq of the newest event ever kept: the order goes on after it. */
  readonly lastSeq: number;
  /** Readers from before this seq get a reset (the files no longer hold its events). */
  readonly floor: number;
  /** Events read back into the index. */
  readonly recovered: number;
  /** What opening repaired (a torn tail cut), for the log. */
  readonly repairs: readonly string[];
}

/**
 * The segment size for a byte bound: small enough that retention frees space in steps of a
 * sixteenth of the bound, large enough that a busy hub rotates rarely (1 to 64 MiB).
 */
export function segmentBytesFor(maxBytes: number): number {
  return Math.min(64 * 1024 * 1024, Math.max(1024 * 1024, Math.floor(maxBytes / 16)));
}

/**
 * For each of `events` (in seq order), whether the count limit evicts it before the last one is
 * appended: each of its topics has `maxEvents` newer events. Opening a directory appends such
 * an event as a placeholder: it takes its place in the order (what its ring evicts, its
 * publisher's id) without the cost of its frame, and leaves before anyone can read it.
 */
function evictedByCount(events: readonly SequencedEvent[], maxEvents: number): boolean[] {
  const evicted = new Array<boolean>(events.length);
  const newer = new Map<string, number>();
  for (let i = events.length - 1; i >= 0; i--) {
    const topics = events[i]!.topics;
    let kept = false;
    for (const topic of topics) {
      const count = newer.get(topic) ?? 0;
      if (count < maxEvents) kept = true;
      newer.set(topic, count + 1);
    }
    evicted[i] = !kept;
  }
  return evicted;
}

const NO_BYTES = Buffer.alloc(0);

/** The stand-in of an event that the count limit evicts while the directory is read back. */
function placeholderOf(event: SequencedEvent): StoredEvent {
  return {
    seq: event.seq,
    id: event.id ?? "",
    publisherId: event.id !== undefined,
    topics: event.topics,
    event: undefined,
    retry: undefined,
    key: undefined,
    private: false,
    data: "",
    publishedAt: event.publishedAt,
    bytes: NO_BYTES,
  };
}

/** A history store kept in a data directory. */
export class DurableHistory implements HistoryStore {
  readonly #log: SegmentLog;
  readonly #index: MemoryHistory;
  readonly #options: DurableHistoryOptions;
  #pending: StoredEvent[] = [];
  #pendingRecords: Buffer[] = [];
  #closed = false;
  /** Where the directory stood when it was opened. */
  readonly start: DurableHistoryStart;

  private constructor(options: DurableHistoryOptions, log: SegmentLog, recovered: RecoveredLog) {
    this.#options = options;
    this.#log = log;
    this.#index = new MemoryHistory({
      maxEvents: options.maxEvents,
      maxAgeMs: options.maxAgeMs,
      evictedUpTo: recovered.floor,
      ...(options.maxDroppedTopicBytes === undefined
        ? {}
        : { maxDroppedTopicBytes: options.maxDroppedTopicBytes }),
    });
    const doomed = evictedByCount(recovered.events, options.maxEvents);
    const events = recovered.events;
    for (let i = 0; i < events.length; i++) {
      const event = events[i]!;
      this.#index.append(doomed[i] ? placeholderOf(event) : toStoredEvent(recovered.epoch, event));
    }
    this.start = {
      epoch: recovered.epoch,
      lastSeq: recovered.lastSeq,
      floor: recovered.floor,
      recovered: recovered.events.length,
      repairs: recovered.repairs,
    };
    this.#index.expire((options.now ?? Date.now)());
    this.#retain();
  }

  /**
   * Opens the history in `options.dir`: reads back what the directory holds (cutting a tail
   * that a crash tore), ready to append after its last seq. Throws SSEHUB_ERR_DATA_DIR_LOCKED
   * or SSEHUB_ERR_DATA_DIR_INVALID.
   */
  static open(options: DurableHistoryOptions): DurableHistory {
    const { log, recovered } = SegmentLog.open({
      dir: options.dir,
      segmentBytes: options.segmentBytes ?? segmentBytesFor(options.maxBytes),
      syncMs: options.syncMs,
      newEpoch: options.newEpoch,
    });
    try {
      return new DurableHistory(options, log, recovered);
    } catch (error) {
      log.close();
      throw error;
    }
  }

  get totalEvents(): number {
    return this.#index.totalEvents;
  }

  /** Bytes of the segment files. */
  get diskBytes(): number {
    return this.#log.totalBytes;
  }

  /** Segment files in the directory. */
  get segmentCount(): number {
    return this.#log.segmentCount;
  }

  /** Takes `event` for the next flush(); it is neither kept nor readable before. */
  append(event: StoredEvent): void {
    this.#pending.push(event);
    this.#pendingRecords.push(encodeStoredRecord(event));
  }

  /**
   * Writes the appended events in one write and makes them readable. Throws
   * SSEHUB_ERR_HISTORY_WRITE_FAILED when the disk refuses: those events are then dropped.
   */
  flush(): void {
    const pending = this.#pending;
    if (pending.length === 0) return;
    if (this.#closed) {
      this.#pending = [];
      this.#pendingRecords = [];
      throw new SsehubError("SSEHUB_ERR_HUB_CLOSED", "Cannot keep events: the history is closed");
    }
    const records = this.#pendingRecords;
    this.#pending = [];
    this.#pendingRecords = [];
    const segmentsBefore = this.#log.segmentCount;
    this.#log.append(records, pending.at(-1)!.seq);
    for (const event of pending) this.#index.append(event);
    if (
      this.#log.segmentCount !== segmentsBefore ||
      this.#log.totalBytes > this.#options.maxBytes
    ) {
      this.#retain();
    }
  }

  readAfter(topics: readonly string[], afterSeq: number): HistoryRead {
    return this.#index.readAfter(topics, afterSeq);
  }

  seqOfId(id: string): number | undefined {
    return this.#index.seqOfId(id);
  }

  expire(now: number): readonly string[] {
    const emptied = this.#index.expire(now);
    const dropped = this.#retain();
    return dropped.length === 0 ? emptied : [...emptied, ...dropped];
  }

  topicInfo(topic: string): TopicHistoryInfo | undefined {
    return this.#index.topicInfo(topic);
  }

  topics(): IterableIterator<string> {
    return this.#index.topics();
  }

  /** Forces what was written to disk and frees the directory. */
  close(): void {
    this.#closed = true;
    this.#log.close();
  }

  /**
   * Deletes the segments the index keeps nothing of, then the oldest ones past the byte bound
   * (dropping their events from the index too). Returns the topics the bound emptied.
   */
  #retain(): readonly string[] {
    if (this.#closed || this.#log.segmentCount <= 1) return [];
    const oldestKept = this.#index.oldestKeptSeq();
    // No event kept at all: every closed segment can go.
    this.#log.deleteThrough(oldestKept === 0 ? Number.MAX_SAFE_INTEGER : oldestKept - 1);
    const emptied: string[] = [];
    while (this.#log.totalBytes > this.#options.maxBytes) {
      const through = this.#log.dropOldest();
      if (through === undefined) break;
      for (const topic of this.#index.dropThrough(through)) emptied.push(topic);
    }
    return emptied;
  }
}
