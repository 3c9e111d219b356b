/**
 * The durable history's files: an append-only log of events cut into segments, in a data
 * directory that one process owns at a time.
 *
 *   <dir>/lock                        pid of the owner (data-dir-lock.ts)
 *   <dir>/epoch                       the epoch of every id, written once
 *   <dir>/00000000000000000001.seg    magic, then the records of seq 1 .. 1000 (log-record.ts)
 *   <dir>/00000000000000001001.seg    magic, then seq 1001 .. (the segment being written)
 *
 * A segment is named by the seq its first record has (or will have), so the seq goes on across
 * a restart even when every event has left: the newest segment is never deleted, and an empty
 * one still says where the order stands. Writes go to the newest segment only, one `writev`
 * per batch, before the publish that made them is answered: a process killed at any point keeps
 * every answered event (the kernel holds the written bytes). `syncMs` bounds what a power loss
 * may take: written bytes reach the disk (fdatasync) at least that often, or before each answer
 * with 0. On open, the newest segment is cut after its last whole record (a crash mid-write
 * leaves a torn tail that is never served); damage in an older segment drops that segment and
 * every older one, so that readers from before it get a reset instead of a silent gap.
 *
 * Retention deletes whole segments, oldest first: the owner deletes those whose events it no
 * longer keeps (deleteThrough) and, past the byte bound, the oldest ones (dropOldest).
 * @module
 */
import {
  closeSync,
  existsSync,
  fdatasync,
  fdatasyncSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
  writevSync,
} from "node:fs";
import { dirname, join } from "node:path";
import { SsehubError } from "../errors.js";
import { type DataDirLock, lockDataDir } from "./data-dir-lock.js";
import { decodeRecords } from "./log-record.js";
import type { SequencedEvent } from "./stored-event.js";

/** The first bytes of every segment: the format and its version. */
const SEGMENT_MAGIC = Buffer.from("SSEHLOG1");
const SEGMENT_SUFFIX = ".seg";
/** Segment names: the first seq in 20 digits (every safe integer fits), so names sort by seq. */
const SEGMENT_NAME = /^(\d{20})\.seg$/;

/** Where and how a log keeps its files. */
export interface SegmentLogOptions {
  /** The data directory; created when missing. */
  readonly dir: string;
  /** Bytes past which the segment being written is closed and a new one begun. */
  readonly segmentBytes: number;
  /** Most time written records wait before they are forced to disk, in ms; 0: before each answer. */
  readonly syncMs: number;
  /** The epoch of a new directory's ids. */
  readonly newEpoch: () => string;
}

/** What a log held when it was opened. */
export interface RecoveredLog {
  /** The epoch of every id in the directory. */
  readonly epoch: string;
  /** Every event kept, in seq order. */
  readonly events: readonly SequencedEvent[];
  /** The seq of the newest event ever written (0 for a new directory). */
  readonly lastSeq: number;
  /** The seq of the newest event no longer in the files: a reader from before it missed some. */
  readonly floor: number;
  /** What was repaired on open (a torn tail cut, a damaged segment dropped), for the log. */
  readonly repairs: readonly string[];
}

interface Segment {
  readonly path: string;
  readonly firstSeq: number;
  bytes: number;
}

function segmentPath(dir: string, firstSeq: number): string {
  return join(dir, `${String(firstSeq).padStart(20, "0")}${SEGMENT_SUFFIX}`);
}

function dataDirError(dir: string, what: string, cause?: unknown): SsehubError {
  const reason = cause instanceof Error ? `: ${cause.message}` : "";
  return new SsehubError(
    "SSEHUB_ERR_DATA_DIR_INVALID",
    `Cannot use the data directory ${dir}: ${what}${reason}`,
  );
}

/**
 * Creates `dir` and its missing parents. Node's `mkdirSync(dir, { recursive: true })` loops for
 * ever where the system answers ENOENT for a name whose parent exists (under /proc, Node 20 and
 * 24): here that answer is an error.
 */
function makeDirectory(dir: string): void {
  try {
    mkdirSync(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EEXIST" && statSync(dir).isDirectory()) return;
    const parent = dirname(dir);
    if (code !== "ENOENT" || parent === dir || existsSync(parent)) throw error;
    makeDirectory(parent);
    mkdirSync(dir);
  }
}

/** Forces a directory's entries (a file created, renamed or deleted) to disk. */
function syncDirectory(dir: string): void {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** An append-only, segmented event log in a data directory owned by this process. */
export class SegmentLog {
  readonly #options: SegmentLogOptions;
  readonly #lock: DataDirLock;
  /** Oldest first; the last one is being written. */
  readonly #segments: Segment[];
  #fd: number;
  #lastSeq: number;
  #totalBytes: number;
  /** Bytes written since the last fdatasync began. */
  #dirty = false;
  #syncing = false;
  /** Set when a failed write could not be undone: every later append throws it. */
  #broken: SsehubError | undefined;
  readonly #syncTimer: NodeJS.Timeout | undefined;
  #closed = false;

  private constructor(
    options: SegmentLogOptions,
    lock: DataDirLock,
    segments: Segment[],
    lastSeq: number,
  ) {
    this.#options = options;
    this.#lock = lock;
    this.#segments = segments;
    this.#lastSeq = lastSeq;
    this.#totalBytes = segments.reduce((sum, segment) => sum + segment.bytes, 0);
    this.#fd = openSync(segments.at(-1)!.path, "a");
    if (options.syncMs > 0) {
      this.#syncTimer = setInterval(() => this.#syncInBackground(), options.syncMs);
      this.#syncTimer.unref();
    }
  }

  /**
   * Opens (or creates) the log in `options.dir`, reads back what it holds and repairs a torn
   * tail. Throws SSEHUB_ERR_DATA_DIR_LOCKED when another live process owns the directory, and
   * SSEHUB_ERR_DATA_DIR_INVALID when it cannot be used.
   */
  static open(options: SegmentLogOptions): { log: SegmentLog; recovered: RecoveredLog } {
    const { dir } = options;
    try {
      makeDirectory(dir);
    } catch (error) {
      throw dataDirError(dir, "it cannot be created", error);
    }
    const lock = lockDataDir(dir);
    try {
      const epoch = readOrWriteEpoch(dir, options.newEpoch);
      const { segments, events, floor, repairs } = readSegments(dir);
      const lastSeq =
        events.at(-1)?.seq ?? (segments.length > 0 ? segments.at(-1)!.firstSeq - 1 : 0);
      if (segments.length === 0) {
        segments.push(createSegment(dir, lastSeq + 1));
        syncDirectory(dir);
      }
      const log = new SegmentLog(options, lock, segments, lastSeq);
      return { log, recovered: { epoch, events, lastSeq, floor, repairs } };
    } catch (error) {
      lock.release();
      if (error instanceof SsehubError) throw error;
      throw dataDirError(dir, "its files cannot be read or written", error);
    }
  }

  /** Bytes of every segment, the one being written included. */
  get totalBytes(): number {
    return this.#totalBytes;
  }

  /** Segments in the directory, the one being written included. */
  get segmentCount(): number {
    return this.#segments.length;
  }

  /**
   * Appends `records` (log-record.ts), whose last event has seq `lastSeq`, in one write; with
   * `syncMs` 0 they are on disk when it returns. Throws SSEHUB_ERR_HISTORY_WRITE_FAILED when
   * the disk refuses (full, read-only): what part of them was written is cut off again (or,
   * when even that fails, the log takes nothing more and the next open cuts it).
   */
  append(records: readonly Buffer[], lastSeq: number): void {
    if (records.length === 0) return;
    const current = this.#segments.at(-1)!;
    let bytes = 0;
    for (const record of records) bytes += record.length;
    if (this.#broken !== undefined) throw this.#broken;
    try {
      let written = writevSync(this.#fd, records as Buffer[]);
      // A short write (rare: a signal, a nearly full disk) goes on from where it stopped.
      while (written < bytes) {
        const rest = Buffer.concat(records as Buffer[]).subarray(written);
        written += writevSync(this.#fd, [rest]);
      }
      if (this.#options.syncMs === 0) fdatasyncSync(this.#fd);
      else this.#dirty = true;
    } catch (error) {
      const refused = new SsehubError(
        "SSEHUB_ERR_HISTORY_WRITE_FAILED",
        `Cannot keep the event in the data directory ${this.#options.dir}: ${(error as Error).message}`,
      );
      // Whatever part was written goes, so that the next record follows the last whole one;
      // when even that fails, the log takes nothing more until a restart repairs it.
      try {
        ftruncateSync(this.#fd, current.bytes);
      } catch {
        this.#broken = refused;
      }
      throw refused;
    }
    current.bytes += bytes;
    this.#totalBytes += bytes;
    this.#lastSeq = lastSeq;
    if (current.bytes >= this.#options.segmentBytes) this.#rotate();
  }

  /**
   * Deletes the oldest segments whose events all have seq <= `seq` (the owner keeps none of
   * them); never the one being written.
   */
  deleteThrough(seq: number): void {
    let deleted = 0;
    while (this.#segments.length > 1 && this.#segments[1]!.firstSeq - 1 <= seq) {
      this.#deleteOldest();
      deleted++;
    }
    if (deleted > 0) syncDirectory(this.#options.dir);
  }

  /**
   * Deletes the oldest segment, whatever the owner keeps of it (the byte bound); never the one
   * being written. Returns the seq of its last event, or undefined when only one segment is left.
   */
  dropOldest(): number | undefined {
    if (this.#segments.length <= 1) return undefined;
    const through = this.#segments[1]!.firstSeq - 1;
    this.#deleteOldest();
    syncDirectory(this.#options.dir);
    return through;
  }

  /** Forces what was written to disk, stops the timer, closes the file and frees the directory. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#syncTimer !== undefined) clearInterval(this.#syncTimer);
    try {
      fsyncSync(this.#fd);
    } finally {
      closeSync(this.#fd);
      this.#lock.release();
    }
  }

  #deleteOldest(): void {
    const oldest = this.#segments.shift()!;
    unlinkSync(oldest.path);
    this.#totalBytes -= oldest.bytes;
  }

  /**
   * Begins the next segment and closes the full one (forced to disk first). The records are
   * already written: a failure here (a full disk) keeps the full segment in use, tried again
   * after the next append, and never fails the append.
   */
  #rotate(): void {
    let next: Segment;
    let fd: number;
    try {
      next = createSegment(this.#options.dir, this.#lastSeq + 1);
      fd = openSync(next.path, "a");
    } catch {
      try {
        unlinkSync(segmentPath(this.#options.dir, this.#lastSeq + 1));
      } catch {
        // Never created.
      }
      return;
    }
    try {
      fsyncSync(this.#fd);
      syncDirectory(this.#options.dir);
    } catch {
      // The records are written; forcing them is retried by the next rotation or close.
    }
    closeSync(this.#fd);
    this.#segments.push(next);
    this.#totalBytes += next.bytes;
    this.#fd = fd;
    this.#dirty = false;
  }

  /** Forces written bytes to disk off the event loop, one call at a time. */
  #syncInBackground(): void {
    if (!this.#dirty || this.#syncing || this.#closed) return;
    this.#dirty = false;
    this.#syncing = true;
    // A rotation in between closes this fd after forcing it to disk itself: an EBADF is harmless.
    fdatasync(this.#fd, () => {
      this.#syncing = false;
    });
  }
}

/** The directory's epoch; a new directory gets one, written atomically. */
function readOrWriteEpoch(dir: string, newEpoch: () => string): string {
  const path = join(dir, "epoch");
  let text: string | undefined;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  if (text !== undefined) {
    const epoch = text.trim();
    if (!/^[A-Za-z0-9]{1,32}$/.test(epoch)) {
      throw dataDirError(dir, `its epoch file holds ${JSON.stringify(text.slice(0, 40))}`);
    }
    return epoch;
  }
  const epoch = newEpoch();
  const temporary = `${path}.tmp`;
  writeFileSync(temporary, `${epoch}\n`, { flush: true });
  renameSync(temporary, path);
  syncDirectory(dir);
  return epoch;
}

function createSegment(dir: string, firstSeq: number): Segment {
  const path = segmentPath(dir, firstSeq);
  writeFileSync(path, SEGMENT_MAGIC, { flush: true });
  return { path, firstSeq, bytes: SEGMENT_MAGIC.length };
}

/** Reads every segment, oldest first, repairing what a crash or damage left. */
function readSegments(dir: string): {
  segments: Segment[];
  events: SequencedEvent[];
  floor: number;
  repairs: string[];
} {
  const names = readdirSync(dir)
    .filter((name) => SEGMENT_NAME.test(name))
    .sort();
  let segments: Segment[] = [];
  let events: SequencedEvent[] = [];
  const repairs: string[] = [];
  for (let i = 0; i < names.length; i++) {
    const path = join(dir, names[i]!);
    const firstSeq = Number(SEGMENT_NAME.exec(names[i]!)![1]);
    const isNewest = i === names.length - 1;
    const bytes = readFileSync(path);
    const magicHolds =
      bytes.length >= SEGMENT_MAGIC.length &&
      bytes.subarray(0, SEGMENT_MAGIC.length).equals(SEGMENT_MAGIC);
    if (!magicHolds && !(isNewest && SEGMENT_MAGIC.subarray(0, bytes.length).equals(bytes))) {
      throw dataDirError(dir, `${names[i]} is not a segment of this version`);
    }
    const decoded = decodeRecords(bytes, Math.min(bytes.length, SEGMENT_MAGIC.length));
    const inOrder = decoded.events.every((event, at) => event.seq === firstSeq + at);
    if (decoded.stoppedBy === undefined && inOrder && magicHolds) {
      segments.push({ path, firstSeq, bytes: bytes.length });
      for (const event of decoded.events) events.push(event);
      continue;
    }
    if (isNewest && inOrder) {
      // A crash mid-write (or a power loss, whose tail may hold zeros): keep every whole
      // record, cut the rest. Nobody saw a record cut here: the hub writes before it answers
      // or delivers (unless a power loss took bytes that dataSyncMs had not yet forced).
      const fd = openSync(path, "r+");
      try {
        if (!magicHolds) writevSync(fd, [SEGMENT_MAGIC], 0);
        ftruncateSync(fd, Math.max(decoded.end, SEGMENT_MAGIC.length));
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      repairs.push(
        `${names[i]}: cut ${bytes.length - decoded.end} bytes after its last whole record (${decoded.stoppedBy ?? "torn"})`,
      );
      segments.push({ path, firstSeq, bytes: Math.max(decoded.end, SEGMENT_MAGIC.length) });
      for (const event of decoded.events) events.push(event);
      continue;
    }
    // Damage: this segment and every older one leave; readers from before them get a reset.
    for (const older of segments) unlinkSync(older.path);
    // (The newest segment always comes out above, unless its records are out of order; then
    // the order goes on after its name's seq, which no kept record reaches.)
    const lastOfDamaged = isNewest
      ? firstSeq - 1
      : Number(SEGMENT_NAME.exec(names[i + 1]!)![1]) - 1;
    unlinkSync(path);
    segments = isNewest ? [createSegment(dir, lastOfDamaged + 1)] : [];
    events = [];
    repairs.push(
      `${names[i]} is damaged: it and every older segment were dropped (events up to seq ${lastOfDamaged})`,
    );
  }
  if (repairs.length > 0) syncDirectory(dir);
  const floor = segments.length > 0 ? segments[0]!.firstSeq - 1 : 0;
  return { segments, events, floor, repairs };
}
