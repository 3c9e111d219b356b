/**
 * The subscriber's cheap reader of an SSE response: the HTTP/1.1 response head, chunked
 * transfer decoding when the server uses it, then SSE lines, counting events and reading the
 * load tool's payload fields (payload.ts) straight from the bytes.
 *
 * It does per event what an EventSource must do at the least, and nothing more: it finds line
 * ends with `Buffer#indexOf` (native), looks at the first bytes of a line to tell `data` from
 * `id` and comments, and reads the digits of `s=`, `t=` and `k=` of the first data line of an
 * event as numbers. No string is built per event, except the `id` when resuming needs it
 * (`trackIds`). Lines may end in LF or CRLF; a lone CR as a line end is not recognized here (the
 * servers measured never send one; `--verify` runs the full SseParser beside it to prove that).
 *
 * A line cut by a read or by a chunk boundary is copied aside and completed by the next bytes.
 * @module
 */

const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const COLON = 0x3a;
const EQUALS = 0x3d;
const SEMICOLON = 0x3b;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;
const CHAR_A = 0x61;
const CHAR_D = 0x64;
const CHAR_I = 0x69;
const CHAR_K = 0x6b;
const CHAR_S = 0x73;
const CHAR_T = 0x74;
const HEAD_END = Buffer.from("\r\n\r\n", "latin1");

/** Phases of the response. */
const PHASE_HEAD = 0;
const PHASE_BODY = 1;
const PHASE_DONE = 2;

/** States of the chunked decoder. */
const CHUNK_SIZE = 0;
const CHUNK_EXTENSION = 1;
const CHUNK_DATA = 2;
const CHUNK_DATA_END = 3;

/** A response head or a line longer than this is not an SSE stream worth reading. */
const MAX_CARRY_BYTES = 1 << 20;

/** What the scanner reports. Calls are synchronous, from inside `feed()`. */
export interface ScanHandler {
  /** The response head arrived, with its status code (0 when it is not HTTP). */
  onHead(status: number): void;
  /** An event whose first data line is a payload of the load tool. */
  onEvent(stream: number, seq: number, sentUs: number): void;
  /** An event whose data is not a payload of the load tool. */
  onForeignEvent(): void;
}

/** Options of a StreamScanner. */
export interface StreamScannerOptions {
  /** Keep the last event id as a string, for Last-Event-ID on reconnect. @default false */
  readonly trackIds?: boolean;
  /** Gets every byte of the event stream (after chunked decoding): a full parser, to verify. */
  readonly tap?: ((bytes: Uint8Array) => void) | undefined;
}

/**
 * Reads one SSE response, as bytes arrive, and calls its handler per event. `reset()` makes it
 * ready for the next response of a reconnect; the last event id survives.
 */
export class StreamScanner {
  readonly #handler: ScanHandler;
  readonly #trackIds: boolean;
  readonly #tap: ((bytes: Uint8Array) => void) | undefined;
  #phase = PHASE_HEAD;
  /** Bytes of an unfinished head or line, copied out of the read buffer. */
  #carry: Buffer | undefined;
  #chunked = false;
  #chunkState = CHUNK_SIZE;
  #chunkRemaining = 0;
  /** The current event has data. */
  #hasData = false;
  /** The current event's first data line was a payload. */
  #valid = false;
  #seq = 0;
  #sentUs = 0;
  #stream = 0;
  #idBuffer = "";
  /** The id of the last event dispatched (tracked with `trackIds` only). */
  lastEventId = "";

  constructor(handler: ScanHandler, options: StreamScannerOptions = {}) {
    this.#handler = handler;
    this.#trackIds = options.trackIds ?? false;
    this.#tap = options.tap;
  }

  /** True once the head was read and the body is being scanned. */
  get isStreaming(): boolean {
    return this.#phase === PHASE_BODY;
  }

  /** Forgets the current response, to read a new one; the last event id stays. */
  reset(): void {
    this.#phase = PHASE_HEAD;
    this.#carry = undefined;
    this.#chunked = false;
    this.#chunkState = CHUNK_SIZE;
    this.#chunkRemaining = 0;
    this.#hasData = false;
    this.#valid = false;
    this.#idBuffer = this.lastEventId;
  }

  /** Reads `buf[start..end)`. The bytes may be overwritten once this returns. */
  feed(buf: Buffer, start: number, end: number): void {
    let pos = start;
    if (this.#phase === PHASE_HEAD) {
      pos = this.#readHead(buf, start, end);
      if (pos < 0) return;
    }
    if (this.#phase !== PHASE_BODY || pos >= end) return;
    if (this.#chunked) this.#dechunk(buf, pos, end);
    else this.#scan(buf, pos, end);
  }

  /** Reads the head; returns where the body starts, or -1 when the head is not complete. */
  #readHead(buf: Buffer, start: number, end: number): number {
    let head: Buffer;
    let bodyAt: number;
    if (this.#carry === undefined) {
      const at = buf.indexOf(HEAD_END, start);
      if (at < 0 || at + 4 > end) {
        this.#keep(buf, start, end);
        return -1;
      }
      head = buf.subarray(start, at);
      bodyAt = at + 4;
    } else {
      const joined = Buffer.concat([this.#carry, buf.subarray(start, end)]);
      this.#carry = undefined;
      const at = joined.indexOf(HEAD_END);
      if (at < 0) {
        this.#keep(joined, 0, joined.length);
        return -1;
      }
      head = joined.subarray(0, at);
      // The body bytes of this read start after the head's end, counted in `buf`.
      bodyAt = start + (at + 4 - (joined.length - (end - start)));
    }
    const text = head.toString("latin1");
    const status = /^HTTP\/1\.[01] (\d{3})/.exec(text);
    this.#chunked = /\r\ntransfer-encoding:[^\r]*chunked/i.test(text);
    this.#phase = PHASE_BODY;
    const code = status === null ? 0 : Number(status[1]);
    if (code !== 200) this.#phase = PHASE_DONE;
    this.#handler.onHead(code);
    return bodyAt;
  }

  /** Copies `buf[start..end)` aside (appending to what is kept), to finish with the next read. */
  #keep(buf: Buffer, start: number, end: number): void {
    const part = Buffer.from(buf.subarray(start, end));
    const carry = this.#carry === undefined ? part : Buffer.concat([this.#carry, part]);
    if (carry.length > MAX_CARRY_BYTES) {
      // Not an event stream: stop reading rather than grow without bound.
      this.#carry = undefined;
      this.#phase = PHASE_DONE;
      return;
    }
    this.#carry = carry;
  }

  /** Chunked transfer decoding: hands every data slice of `buf[start..end)` to #scan. */
  #dechunk(buf: Buffer, start: number, end: number): void {
    let pos = start;
    while (pos < end && this.#phase === PHASE_BODY) {
      switch (this.#chunkState) {
        case CHUNK_DATA: {
          const take = Math.min(this.#chunkRemaining, end - pos);
          this.#scan(buf, pos, pos + take);
          pos += take;
          this.#chunkRemaining -= take;
          if (this.#chunkRemaining === 0) this.#chunkState = CHUNK_DATA_END;
          break;
        }
        case CHUNK_DATA_END: {
          if (buf[pos++] === LF) this.#chunkState = CHUNK_SIZE;
          break;
        }
        case CHUNK_SIZE: {
          const c = buf[pos++]!;
          const digit = hexValue(c);
          if (digit >= 0) {
            this.#chunkRemaining = this.#chunkRemaining * 16 + digit;
          } else if (c === LF) {
            this.#endOfSizeLine();
          } else if (c === SEMICOLON || c === SPACE) {
            this.#chunkState = CHUNK_EXTENSION;
          }
          break;
        }
        default: {
          // CHUNK_EXTENSION: skipped up to the line end.
          if (buf[pos++] === LF) this.#endOfSizeLine();
        }
      }
    }
  }

  #endOfSizeLine(): void {
    if (this.#chunkRemaining === 0) {
      // The last chunk: the server ended the stream.
      this.#phase = PHASE_DONE;
      return;
    }
    this.#chunkState = CHUNK_DATA;
  }

  /** Splits event-stream bytes into lines. */
  #scan(buf: Buffer, start: number, end: number): void {
    this.#tap?.(buf.subarray(start, end));
    let pos = start;
    if (this.#carry !== undefined) {
      const lf = buf.indexOf(LF, pos);
      if (lf < 0 || lf >= end) {
        this.#keep(buf, pos, end);
        return;
      }
      const line = Buffer.concat([this.#carry, buf.subarray(pos, lf)]);
      this.#carry = undefined;
      this.#line(line, 0, line.length);
      pos = lf + 1;
    }
    while (pos < end) {
      const lf = buf.indexOf(LF, pos);
      if (lf < 0 || lf >= end) {
        this.#keep(buf, pos, end);
        return;
      }
      this.#line(buf, pos, lf);
      pos = lf + 1;
    }
  }

  /** One line, `buf[start..end)` without its LF. */
  #line(buf: Buffer, start: number, lineEnd: number): void {
    const end = lineEnd > start && buf[lineEnd - 1] === CR ? lineEnd - 1 : lineEnd;
    if (start === end) {
      this.#dispatch();
      return;
    }
    const first = buf[start];
    if (
      first === CHAR_D &&
      end - start >= 4 &&
      buf[start + 1] === CHAR_A &&
      buf[start + 2] === CHAR_T &&
      buf[start + 3] === CHAR_A &&
      (end - start === 4 || buf[start + 4] === COLON)
    ) {
      if (!this.#hasData) {
        this.#hasData = true;
        let value = start + 5;
        if (value < end && buf[value] === SPACE) value++;
        this.#valid = this.#readPayload(buf, value, end);
      }
    } else if (
      first === CHAR_I &&
      this.#trackIds &&
      end - start >= 2 &&
      buf[start + 1] === CHAR_D &&
      (end - start === 2 || buf[start + 2] === COLON)
    ) {
      let value = start + 3;
      if (value < end && buf[value] === SPACE) value++;
      this.#idBuffer = value < end ? buf.toString("latin1", value, end) : "";
    }
  }

  /** A blank line: the end of an event, dispatched when it had data. */
  #dispatch(): void {
    this.lastEventId = this.#idBuffer;
    if (!this.#hasData) return;
    this.#hasData = false;
    if (this.#valid) this.#handler.onEvent(this.#stream, this.#seq, this.#sentUs);
    else this.#handler.onForeignEvent();
  }

  /** Reads `s=<digits> t=<digits> k=<digits>` at `pos`; false when the data is something else. */
  #readPayload(buf: Buffer, start: number, end: number): boolean {
    let pos = start;
    if (end - pos < 11 || buf[pos] !== CHAR_S || buf[pos + 1] !== EQUALS) return false;
    pos += 2;
    let seq = 0;
    let digits = pos;
    for (let c = buf[pos]!; pos < end && c >= DIGIT_0 && c <= DIGIT_9; c = buf[++pos]!) {
      seq = seq * 10 + (c - DIGIT_0);
    }
    if (pos === digits || pos + 3 > end || buf[pos] !== SPACE) return false;
    if (buf[pos + 1] !== CHAR_T || buf[pos + 2] !== EQUALS) return false;
    pos += 3;
    let sentUs = 0;
    digits = pos;
    for (let c = buf[pos]!; pos < end && c >= DIGIT_0 && c <= DIGIT_9; c = buf[++pos]!) {
      sentUs = sentUs * 10 + (c - DIGIT_0);
    }
    if (pos === digits || pos + 3 > end || buf[pos] !== SPACE) return false;
    if (buf[pos + 1] !== CHAR_K || buf[pos + 2] !== EQUALS) return false;
    pos += 3;
    let stream = 0;
    digits = pos;
    for (let c = buf[pos]!; pos < end && c >= DIGIT_0 && c <= DIGIT_9; c = buf[++pos]!) {
      stream = stream * 10 + (c - DIGIT_0);
    }
    if (pos === digits || (pos < end && buf[pos] !== SPACE)) return false;
    this.#seq = seq;
    this.#sentUs = sentUs;
    this.#stream = stream;
    return true;
  }
}

/** The value of a hex digit, or -1. */
function hexValue(c: number): number {
  if (c >= DIGIT_0 && c <= DIGIT_9) return c - DIGIT_0;
  const lower = c | 0x20;
  if (lower >= CHAR_A && lower <= 0x66) return lower - CHAR_A + 10;
  return -1;
}
