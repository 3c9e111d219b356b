/**
 * The bytes of one event in a segment file of the durable history (segment-log.ts):
 *
 *   record := length (u32 LE) | crc32 of payload (u32 LE) | payload (`length` bytes)
 *   payload := JSON {s: seq, a: publishedAt, t: topics, d: data, e?: event, r?: retry,
 *                    k?: key, p?: 1 when private, i?: the publisher's id}
 *
 * A record is whole or it is not there: a crash between two write calls leaves a short tail,
 * a damaged disk a wrong checksum, and the reader stops at the first such record (decodeRecords).
 * JSON keeps the format readable with `strings` and costs about 1 µs per small event to write.
 * @module
 */
import { crc32 } from "./crc32.js";
import type { StoredEvent } from "./history-store.js";
import type { SequencedEvent } from "./stored-event.js";

/** Bytes before each record's payload: its length and its checksum. */
export const RECORD_HEADER_BYTES = 8;

/**
 * The largest payload a reader accepts, in bytes. An event is far smaller (the publish body
 * limit is at most 64 MiB); a larger length read from disk is damage, not an event.
 */
const MAX_PAYLOAD_BYTES = 256 * 1024 * 1024;

/** The payload's fields, short so that the log stays small. */
interface RecordPayload {
  readonly s: number;
  readonly a: number;
  readonly t: readonly string[];
  readonly d: string;
  readonly e?: string;
  readonly r?: number;
  readonly k?: string;
  readonly p?: 1;
  readonly i?: string;
}

/** The record of a kept event, header included. */
export function encodeStoredRecord(event: StoredEvent): Buffer {
  return encodeFields(event, event.publisherId ? event.id : undefined);
}

/** The record of an ordered event (the sequencer of `--workers` writes these), header included. */
export function encodeSequencedRecord(event: SequencedEvent): Buffer {
  return encodeFields(event, event.id);
}

function encodeFields(
  event: Omit<SequencedEvent, "id" | "private"> & { readonly private?: boolean | undefined },
  publisherId: string | undefined,
): Buffer {
  // The payload's JSON by hand, in RecordPayload's order: an object with spread optional
  // fields, then JSON.stringify, costs about twice as much per event.
  let json = `{"s":${event.seq},"a":${event.publishedAt},"t":${JSON.stringify(event.topics)},"d":${JSON.stringify(event.data)}`;
  if (event.event !== undefined) json += `,"e":${JSON.stringify(event.event)}`;
  if (event.retry !== undefined) json += `,"r":${event.retry}`;
  if (event.key !== undefined) json += `,"k":${JSON.stringify(event.key)}`;
  if (event.private === true) json += `,"p":1`;
  if (publisherId !== undefined) json += `,"i":${JSON.stringify(publisherId)}`;
  json += "}";
  const length = Buffer.byteLength(json);
  const record = Buffer.allocUnsafe(RECORD_HEADER_BYTES + length);
  record.write(json, RECORD_HEADER_BYTES, "utf8");
  record.writeUInt32LE(length, 0);
  record.writeUInt32LE(crc32(record.subarray(RECORD_HEADER_BYTES)), 4);
  return record;
}

/** What a run of records read back holds. */
export interface DecodedRecords {
  /** The events of every whole record, in file order. */
  readonly events: SequencedEvent[];
  /** Offset just after the last whole record: where the next write belongs. */
  readonly end: number;
  /**
   * Why reading stopped before the end of the bytes: `torn` (the last record is cut short, as
   * a crash mid-write leaves it) or `damaged` (a checksum or a payload that does not hold).
   */
  readonly stoppedBy: "torn" | "damaged" | undefined;
}

/** Reads the records of `bytes` from `start` until the end or the first record that does not hold. */
export function decodeRecords(bytes: Buffer, start: number): DecodedRecords {
  const events: SequencedEvent[] = [];
  let at = start;
  while (at < bytes.length) {
    if (bytes.length - at < RECORD_HEADER_BYTES) return { events, end: at, stoppedBy: "torn" };
    const length = bytes.readUInt32LE(at);
    if (length > MAX_PAYLOAD_BYTES) return { events, end: at, stoppedBy: "damaged" };
    const payloadStart = at + RECORD_HEADER_BYTES;
    if (bytes.length - payloadStart < length) return { events, end: at, stoppedBy: "torn" };
    const payload = bytes.subarray(payloadStart, payloadStart + length);
    if (crc32(payload) !== bytes.readUInt32LE(at + 4)) {
      return { events, end: at, stoppedBy: "damaged" };
    }
    const event = parsePayload(payload);
    if (event === undefined) return { events, end: at, stoppedBy: "damaged" };
    events.push(event);
    at = payloadStart + length;
  }
  return { events, end: at, stoppedBy: undefined };
}

/** The event of a payload whose checksum held, or undefined when its fields do not. */
function parsePayload(payload: Buffer): SequencedEvent | undefined {
  let fields: RecordPayload;
  try {
    fields = JSON.parse(payload.toString("utf8")) as RecordPayload;
  } catch {
    return undefined;
  }
  if (
    typeof fields !== "object" ||
    fields === null ||
    !Number.isSafeInteger(fields.s) ||
    fields.s < 1 ||
    typeof fields.a !== "number" ||
    !Array.isArray(fields.t) ||
    typeof fields.d !== "string"
  ) {
    return undefined;
  }
  return {
    seq: fields.s,
    publishedAt: fields.a,
    topics: fields.t,
    data: fields.d,
    event: fields.e,
    retry: fields.r,
    key: fields.k,
    private: fields.p === 1,
    id: fields.i,
  };
}
