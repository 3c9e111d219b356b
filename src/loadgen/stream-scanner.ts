/**
 * The subscriber's cheap reader of an SSE response: the HTTP/1.1 response, framed by
 * HttpResponseDecoder (http-response-decoder.ts), then SSE lines, counting events and reading
 * the load tool's payload fields (payload.ts) straight from the bytes.
 *
 * It does per event what an EventSource must do at the least, and nothing more: it finds line
 * ends with `Buffer#indexOf` (native), looks at the first bytes of a line to tell `data` from
 * `id` and comments, and reads the digits of `s=`, `t=` and `k=` of the first data line of an
 * event as numbers. No string is built per event, except the `id` when resuming needs it
 * (`trackIds`). Lines may end in LF or CRLF; a lone CR as a line end is not recognized here (the
 * servers measured never send one; `--verify` runs the full SseParser beside it to prove that).
 *
 * A line cut by a read or by a chunk boundary is copied aside and completed by the next bytes.
 * The scanner reads one response: it stops at a status other than 200, at the end of the body
 * and at bytes that are not HTTP.
 * @module
 */
import {
  HttpResponseDecoder,
  type HttpResponseHandler,
  type ResponseHead,
} from "./http-response-decoder.js";

const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const COLON = 0x3a;
const EQUALS = 0x3d;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;
const CHAR_A = 0x61;
const CHAR_D = 0x64;
const CHAR_E = 0x65;
const CHAR_I = 0x69;
const CHAR_K = 0x6b;
const CHAR_S = 0x73;
const CHAR_T = 0x74;

/** Phases of the response. */
const PHASE_HEAD = 0;
const PHASE_BODY = 1;
const PHASE_DONE = 2;

/** A line longer than this is not an SSE stream worth reading. */
const MAX_LINE_BYTES = 1 << 20;

/** What the scanner reports. Calls are synchronous, from inside `feed()`. */
export interface ScanHandler {
  /** The response head arrived, with its status code (0 when it is not an HTTP/1.x head). */
  onHead(status: number): void;
  /** An event whose first data line is a payload of the load tool. */
  onEvent(stream: number, seq: number, sentUs: number): void;
  /** An event whose data is not a payload of the load tool. */
  onForeignEvent(): void;
  /**
   * With `trackNotices`, after onForeignEvent for an event that had an `event:` type: its type
   * and its first data line (the hub's notices, such as `ssehub-reset`).
   */
  onNotice?(type: string, data: string): void;
}

/** Options of a StreamScanner. */
export interface StreamScannerOptions {
  /** Keep the last event id as a string, for Last-Event-ID on reconnect. @default false */
  readonly trackIds?: boolean;
  /** Gets every byte of the event stream (after chunked decoding): a full parser, to verify. */
  readonly tap?: ((bytes: Uint8Array) => void) | undefined;
  /**
   * Read the `event:` type and the first data line of events that are not payloads, and report
   * them through onNotice. Payload events cost one byte compare more. @default false
   */
  readonly trackNotices?: boolean;
}

/**
 * Reads one SSE response, as bytes arrive, and calls its handler per event. `reset()` makes it
 * ready for the next response of a reconnect; the last event id survives.
 *
 * The `onResponse*` methods are its decoder's callbacks, not for callers.
 */
export class StreamScanner implements HttpResponseHandler {
  readonly #handler: ScanHandler;
  readonly #trackIds: boolean;
  readonly #trackNotices: boolean;
  /** The current event's type and first data line, when it is not a payload (trackNotices). */
  #type = "";
  #noticeData = "";
  readonly #tap: ((bytes: Uint8Array) => void) | undefined;
  readonly #decoder: HttpResponseDecoder;
  #phase = PHASE_HEAD;
  /** Bytes of an unfinished line, copied out of the read buffer. */
  #carry: Buffer | undefined;
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
    this.#trackNotices = options.trackNotices ?? false;
    this.#tap = options.tap;
    this.#decoder = new HttpResponseDecoder(this);
  }

  /** True once the head was read and the body is being scanned. */
  get isStreaming(): boolean {
    return this.#phase === PHASE_BODY;
  }

  /** Forgets the current response, to read a new one; the last event id stays. */
  reset(): void {
    this.#decoder.reset();
    this.#phase = PHASE_HEAD;
    this.#carry = undefined;
    this.#hasData = false;
    this.#valid = false;
    this.#type = "";
    this.#idBuffer = this.lastEventId;
  }

  /** Reads `buf[start..end)`. The bytes may be overwritten once this returns. */
  feed(buf: Buffer, start: number, end: number): void {
    this.#decoder.feed(buf, start, end);
  }

  /** The head: a 200 starts the stream; any other status ends the reading. */
  onResponseHead(head: ResponseHead): void {
    const { status } = head;
    if (status === 200) {
      this.#phase = PHASE_BODY;
    } else {
      this.#phase = PHASE_DONE;
      this.#decoder.stop();
    }
    this.#handler.onHead(status);
  }

  /** Splits event-stream bytes (the body, after chunked decoding) into lines. */
  onResponseBody(buf: Buffer, start: number, end: number): void {
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

  /** The server ended the stream. */
  onResponseEnd(): void {
    this.#stop();
  }

  /** Bytes that are not HTTP end the reading; before the head, they count as status 0. */
  onResponseError(): void {
    const headless = this.#phase === PHASE_HEAD;
    this.#stop();
    if (headless) this.#handler.onHead(0);
  }

  #stop(): void {
    this.#phase = PHASE_DONE;
    this.#carry = undefined;
    this.#decoder.stop();
  }

  /** Copies `buf[start..end)` aside (appending to what is kept), to finish with the next read. */
  #keep(buf: Buffer, start: number, end: number): void {
    const part = Buffer.from(buf.subarray(start, end));
    const carry = this.#carry === undefined ? part : Buffer.concat([this.#carry, part]);
    if (carry.length > MAX_LINE_BYTES) {
      // Not an event stream: stop reading rather than grow without bound.
      this.#stop();
      return;
    }
    this.#carry = carry;
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
        if (!this.#valid && this.#trackNotices) this.#noticeData = buf.toString("utf8", value, end);
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
    } else if (
      first === CHAR_E &&
      this.#trackNotices &&
      end - start >= 5 &&
      buf.toString("latin1", start, start + 5) === "event" &&
      (end - start === 5 || buf[start + 5] === COLON)
    ) {
      let value = start + 6;
      if (value < end && buf[value] === SPACE) value++;
      this.#type = value < end ? buf.toString("utf8", value, end) : "";
    }
  }

  /** A blank line: the end of an event, dispatched when it had data. */
  #dispatch(): void {
    this.lastEventId = this.#idBuffer;
    const type = this.#type;
    this.#type = "";
    if (!this.#hasData) return;
    this.#hasData = false;
    if (this.#valid) this.#handler.onEvent(this.#stream, this.#seq, this.#sentUs);
    else {
      this.#handler.onForeignEvent();
      if (type !== "") this.#handler.onNotice?.(type, this.#noticeData);
    }
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
