/**
 * The load tool's reader of HTTP/1.1 responses, as bytes arrive off a socket: the status line
 * and headers, then the body framed as RFC 9112 section 6.3 says (chunked, Content-Length, or
 * until the connection closes), then the next response of a keep-alive connection. Subscribers
 * (stream-scanner.ts) read their SSE stream through it; publishers (publish-connection.ts) read
 * their pipelined answers through it.
 *
 * It is on the subscribers' hot path, so it allocates nothing per body byte or chunk: body bytes
 * go to the handler as slices of the read buffer; a chunk's size line and the CRLF after its
 * data are read at once when the read holds them whole (nearly always), and otherwise (a line
 * cut by a read, extensions, trailers) one byte at a time by a state machine that keeps no
 * copy. Only a response head cut by a read is copied aside until its end arrives.
 *
 * ```
 *   HEAD ─┬─ chunked ──────────> CHUNK_SIZE ──> CHUNK_DATA ──> CHUNK_DATA_CR ──> CHUNK_SIZE ...
 *         │                        └─ size 0 ──> TRAILER_START ──(empty line)──> HEAD
 *         ├─ Content-Length ───> BODY_LENGTH ──(all bytes read)──> HEAD
 *         ├─ neither ──────────> BODY_UNTIL_CLOSE ──end()──> HEAD
 *         └─ 1xx (interim, skipped); 204, 304, Content-Length 0 (no body) ──> HEAD
 *   any state ──malformed bytes, stop()──> STOPPED ──reset()──> HEAD
 * ```
 *
 * Lenient where servers differ harmlessly (a bare LF ends a chunk line or a trailer), strict
 * where a wrong guess would misframe the stream: anything else ends the decoder with an error
 * that says what was expected and what came.
 * @module
 */

const LF = 0x0a;
const CR = 0x0d;
const TAB = 0x09;
const SPACE = 0x20;
const SEMICOLON = 0x3b;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;
const CHAR_A = 0x61;
const CHAR_F = 0x66;
const HEAD_END = Buffer.from("\r\n\r\n", "latin1");

/** Decoder states; the chunk framing states come last, so that `>= CHUNK_SIZE` names them all. */
const HEAD = 0;
const STOPPED = 1;
const BODY_LENGTH = 2;
const BODY_UNTIL_CLOSE = 3;
const CHUNK_DATA = 4;
const CHUNK_SIZE = 5;
/** White space after the size digits, before `;` or the line end. */
const CHUNK_SIZE_SPACE = 6;
const CHUNK_EXTENSION = 7;
/** A CR ended the size line; its LF comes next. */
const CHUNK_SIZE_LF = 8;
/** The chunk's data was read; its CRLF comes next. */
const CHUNK_DATA_CR = 9;
const CHUNK_DATA_LF = 10;
/** At the start of a trailer line, after the last chunk. */
const TRAILER_START = 11;
const TRAILER_LINE = 12;
/** A CR began the empty line that ends the trailers; its LF comes next. */
const TRAILER_LF = 13;

/** A response head longer than this is not one the load tool expects. */
const MAX_HEAD_BYTES = 1 << 20;
/** A chunk size above this would lose precision in a double (a server gone wrong, anyway). */
const MAX_CHUNK_BYTES = Number.MAX_SAFE_INTEGER;

const STATUS_LINE = /^HTTP\/1\.[01] (\d{3})(?: |$)/;
/** The codings of Transfer-Encoding end in chunked: the body is chunked (RFC 9112 6.3). */
const CHUNKED_LAST = /(?:^|,)[ \t]*chunked[ \t]*$/i;
const CLOSE_TOKEN = /(?:^|,)[ \t]*close[ \t]*(?:,|$)/i;
const DIGITS = /^\d+$/;

/** What the decoder read of a response head. */
export interface ResponseHead {
  /** The status code (1xx answers are interim: the decoder passes over them). */
  readonly status: number;
  /** The server closes the connection after this response (`Connection: close`). */
  readonly closesConnection: boolean;
  /** The body is chunked. */
  readonly chunked: boolean;
  /** The body's Content-Length, or -1 when the head has none (or the body is chunked). */
  readonly contentLength: number;
}

/** What a decoder reports. Calls are synchronous, from inside `feed()` or `end()`. */
export interface HttpResponseHandler {
  /** The head of a final response arrived. */
  onResponseHead(head: ResponseHead): void;
  /**
   * Body bytes, `buf[start..end)` after chunked decoding, never empty. The bytes may be
   * overwritten once this returns.
   */
  onResponseBody(buf: Buffer, start: number, end: number): void;
  /** The response ended; the next bytes are the head of the next one. */
  onResponseEnd(): void;
  /**
   * The bytes are not a response the decoder can frame (a SyntaxError), a head is too long (a
   * RangeError), or the connection closed before the response ended. The decoder reads nothing
   * more until `reset()`.
   */
  onResponseError(error: Error): void;
}

/**
 * Reads the responses of one HTTP/1.1 connection, as bytes arrive, and reports their heads,
 * bodies and ends to its handler. `stop()` ends the reading (from inside a callback too);
 * `reset()` makes it ready for a new connection.
 */
export class HttpResponseDecoder {
  readonly #handler: HttpResponseHandler;
  #state = HEAD;
  /** The bytes of a head cut by a read, copied out of the read buffer. */
  #carry: Buffer | undefined;
  /** Body bytes (Content-Length) or chunk bytes still to come; the chunk size while read. */
  #remaining = 0;
  /** Hex digits read of the current chunk size. */
  #sizeDigits = 0;

  constructor(handler: HttpResponseHandler) {
    this.#handler = handler;
  }

  /** True between responses: nothing of a response was read yet, and the decoder is not stopped. */
  get isIdle(): boolean {
    return this.#state === HEAD && this.#carry === undefined;
  }

  /** True after `stop()` or an error, until `reset()`. */
  get isStopped(): boolean {
    return this.#state === STOPPED;
  }

  /** Forgets the current connection, to read the responses of a new one. */
  reset(): void {
    this.#state = HEAD;
    this.#carry = undefined;
    this.#remaining = 0;
    this.#sizeDigits = 0;
  }

  /** Reads nothing more until `reset()`; a callback may call it to stop the current `feed()`. */
  stop(): void {
    this.#state = STOPPED;
    this.#carry = undefined;
  }

  /** Reads `buf[start..end)`. The bytes may be overwritten once this returns. */
  feed(buf: Buffer, start: number, end: number): void {
    let pos = start;
    while (pos < end) {
      const state = this.#state;
      if (state >= CHUNK_DATA) {
        pos = this.#readChunked(buf, pos, end);
      } else if (state === BODY_UNTIL_CLOSE) {
        this.#handler.onResponseBody(buf, pos, end);
        return;
      } else if (state === BODY_LENGTH) {
        pos = this.#readLengthBody(buf, pos, end);
      } else if (state === HEAD) {
        pos = this.#readHead(buf, pos, end);
      } else {
        return; // STOPPED
      }
    }
  }

  /**
   * The connection closed: a body that runs until the close ends here, and a response cut
   * short is an error. Nothing is reported between responses or after `stop()`.
   */
  end(): void {
    if (this.#state === BODY_UNTIL_CLOSE) this.#complete();
    else if (this.#state !== STOPPED && !this.isIdle) {
      this.#fail(new SyntaxError("Connection closed before the end of the response"));
    }
  }

  /** Reads the head; returns where its body starts, or `end` when the head is not complete. */
  #readHead(buf: Buffer, start: number, end: number): number {
    let head: string;
    let bodyAt: number;
    const carry = this.#carry;
    if (carry === undefined) {
      // indexOf may look past `end`, into stale bytes of the read buffer: a match there is none.
      const at = buf.indexOf(HEAD_END, start);
      if (at < 0 || at + 4 > end) {
        this.#keepHead(Buffer.from(buf.subarray(start, end)));
        return end;
      }
      head = buf.toString("latin1", start, at);
      bodyAt = at + 4;
    } else {
      const joined = Buffer.concat([carry, buf.subarray(start, end)]);
      this.#carry = undefined;
      // The carry holds no HEAD_END, but its last 3 bytes may begin one.
      const at = joined.indexOf(HEAD_END, Math.max(0, carry.length - 3));
      if (at < 0) {
        this.#keepHead(joined);
        return end;
      }
      head = joined.toString("latin1", 0, at);
      // `joined[i]` is `buf[start + i - carry.length]`.
      bodyAt = start + at + 4 - carry.length;
    }
    let parsed: ResponseHead | undefined;
    try {
      parsed = parseHead(head);
    } catch (error) {
      this.#fail(error as Error);
      return end;
    }
    if (parsed !== undefined) this.#startBody(parsed);
    return bodyAt;
  }

  /** Keeps the start of a head (a copy the decoder owns) until its end arrives. */
  #keepHead(bytes: Buffer): void {
    if (bytes.length > MAX_HEAD_BYTES) {
      this.#fail(new RangeError(`Cannot read a response head longer than ${MAX_HEAD_BYTES} bytes`));
      return;
    }
    this.#carry = bytes;
  }

  /** Sets the state for the body of `head` and reports the head. */
  #startBody(head: ResponseHead): void {
    const { status } = head;
    let hasBody = true;
    if (status === 204 || status === 304) hasBody = false;
    else if (head.chunked) this.#state = CHUNK_SIZE;
    else if (head.contentLength > 0) this.#state = BODY_LENGTH;
    else if (head.contentLength === 0) hasBody = false;
    else this.#state = BODY_UNTIL_CLOSE;
    this.#remaining = Math.max(0, head.contentLength);
    this.#sizeDigits = 0;
    this.#handler.onResponseHead(head);
    if (!hasBody && this.#state === HEAD) this.#complete();
  }

  #readLengthBody(buf: Buffer, start: number, end: number): number {
    const to = start + Math.min(this.#remaining, end - start);
    this.#remaining -= to - start;
    this.#handler.onResponseBody(buf, start, to);
    if (this.#remaining === 0 && this.#state === BODY_LENGTH) this.#complete();
    return to;
  }

  /**
   * Reads a chunked body up to `end`, its last byte, or a stop. A whole size line of hex digits
   * and CRLF, and the CRLF after a chunk's data, are read at once; anything else (a line cut by
   * the read, an extension, white space, trailers, a bare LF, an error) one byte at a time.
   */
  #readChunked(buf: Buffer, start: number, end: number): number {
    let pos = start;
    while (pos < end) {
      const state = this.#state;
      if (state === CHUNK_DATA) {
        const to = pos + Math.min(this.#remaining, end - pos);
        this.#remaining -= to - pos;
        this.#handler.onResponseBody(buf, pos, to);
        pos = to;
        // The handler may have stopped the decoder.
        if (this.#remaining > 0 || this.#state !== CHUNK_DATA) break;
        if (pos + 1 < end && buf[pos] === CR && buf[pos + 1] === LF) {
          pos += 2;
          this.#state = CHUNK_SIZE;
        } else {
          this.#state = CHUNK_DATA_CR;
        }
      } else if (state === CHUNK_SIZE && this.#sizeDigits === 0) {
        const dataAt = this.#readSizeLine(buf, pos, end);
        if (dataAt < 0) this.#readFramingByte(buf[pos++]!);
        else pos = dataAt;
      } else if (state > CHUNK_DATA) {
        this.#readFramingByte(buf[pos++]!);
      } else {
        break; // The body ended, or an error stopped the decoder.
      }
    }
    return pos;
  }

  /**
   * Reads the size line at `start` when it is plain (hex digits, then CRLF) and whole before
   * `end`; answers where the chunk's data starts, or -1 when the line needs the byte-wise path.
   */
  #readSizeLine(buf: Buffer, start: number, end: number): number {
    // 13 hex digits hold at most 2^52: the byte-wise path checks longer sizes.
    const digitsEnd = Math.min(end, start + 13);
    let size = 0;
    let pos = start;
    for (; pos < digitsEnd; pos++) {
      const digit = hexValue(buf[pos]!);
      if (digit < 0) break;
      size = size * 16 + digit;
    }
    if (pos === start || pos + 1 >= end || buf[pos] !== CR || buf[pos + 1] !== LF) return -1;
    this.#remaining = size;
    this.#state = size === 0 ? TRAILER_START : CHUNK_DATA;
    return pos + 2;
  }

  /** Reads one byte of chunk framing (any state past CHUNK_DATA). */
  #readFramingByte(c: number): void {
    switch (this.#state) {
      case CHUNK_SIZE: {
        const digit = hexValue(c);
        if (digit >= 0) {
          if (this.#remaining > (MAX_CHUNK_BYTES - digit) / 16) {
            this.#fail(new RangeError("Cannot read a chunk size above 2^53 - 1 bytes"));
          } else {
            this.#remaining = this.#remaining * 16 + digit;
            this.#sizeDigits++;
          }
        } else if (this.#sizeDigits === 0) {
          this.#fail(syntaxError("a hex digit of a chunk size", c));
        } else if (c === CR) {
          this.#state = CHUNK_SIZE_LF;
        } else if (c === LF) {
          this.#endSizeLine();
        } else if (c === SEMICOLON) {
          this.#state = CHUNK_EXTENSION;
        } else if (c === SPACE || c === TAB) {
          this.#state = CHUNK_SIZE_SPACE;
        } else {
          this.#fail(syntaxError("a hex digit, `;` or CRLF after a chunk size", c));
        }
        break;
      }
      case CHUNK_DATA_CR: {
        if (c === CR) {
          this.#state = CHUNK_DATA_LF;
        } else if (c === LF) {
          this.#state = CHUNK_SIZE;
        } else {
          this.#fail(syntaxError("CRLF after the chunk's data (a chunk longer than its size)", c));
        }
        break;
      }
      case CHUNK_DATA_LF:
      case CHUNK_SIZE_LF:
      case TRAILER_LF: {
        if (c !== LF) this.#fail(syntaxError("LF after CR", c));
        else if (this.#state === CHUNK_DATA_LF) this.#state = CHUNK_SIZE;
        else if (this.#state === CHUNK_SIZE_LF) this.#endSizeLine();
        else this.#complete();
        break;
      }
      case CHUNK_SIZE_SPACE: {
        if (c === CR) this.#state = CHUNK_SIZE_LF;
        else if (c === LF) this.#endSizeLine();
        else if (c === SEMICOLON) this.#state = CHUNK_EXTENSION;
        else if (c !== SPACE && c !== TAB) {
          this.#fail(syntaxError("`;` or CRLF after a chunk size and white space", c));
        }
        break;
      }
      case CHUNK_EXTENSION: {
        // Extensions are not read: their text, quoted strings included, runs to the LF.
        if (c === LF) this.#endSizeLine();
        break;
      }
      case TRAILER_START: {
        if (c === CR) this.#state = TRAILER_LF;
        else if (c === LF) this.#complete();
        else this.#state = TRAILER_LINE;
        break;
      }
      default: {
        // TRAILER_LINE: trailer fields are not read, only passed over.
        if (c === LF) this.#state = TRAILER_START;
      }
    }
  }

  /** The end of a chunk size line: the chunk's data follows, or the trailers after the last. */
  #endSizeLine(): void {
    this.#state = this.#remaining === 0 ? TRAILER_START : CHUNK_DATA;
    this.#sizeDigits = 0;
  }

  #complete(): void {
    this.#state = HEAD;
    this.#remaining = 0;
    this.#handler.onResponseEnd();
  }

  #fail(error: Error): void {
    this.stop();
    this.#handler.onResponseError(error);
  }
}

/**
 * Reads a head (without its final CRLFCRLF): the status and what frames the body. Answers
 * undefined for an interim (1xx) answer, which the final one follows.
 * @throws SyntaxError when the status line, a header line or Content-Length is malformed
 */
function parseHead(text: string): ResponseHead | undefined {
  const lines = text.split("\r\n");
  const statusLine = lines[0]!;
  const match = STATUS_LINE.exec(statusLine);
  if (match === null) {
    throw new SyntaxError(
      `Cannot read the status line ${quote(statusLine)}: expected HTTP/1.1 or HTTP/1.0, a space and a 3-digit status`,
    );
  }
  const status = Number(match[1]);
  if (status < 200) return undefined;
  let closesConnection = false;
  let chunked = false;
  let contentLength = -1;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(":");
    if (colon <= 0) {
      throw new SyntaxError(
        `Cannot read the header line ${quote(line)}: expected a name and a colon`,
      );
    }
    const name = line.slice(0, colon).toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === "transfer-encoding") {
      chunked = CHUNKED_LAST.test(value);
    } else if (name === "content-length") {
      if (!DIGITS.test(value)) {
        throw new SyntaxError(`Cannot read Content-Length ${quote(value)}: expected digits`);
      }
      const length = Number(value);
      if (contentLength >= 0 && length !== contentLength) {
        throw new SyntaxError(
          `Cannot frame a body with two Content-Lengths: ${contentLength} and ${length}`,
        );
      }
      contentLength = length;
    } else if (name === "connection") {
      closesConnection = CLOSE_TOKEN.test(value);
    }
  }
  // Chunked decoding wins over Content-Length (RFC 9112 6.3).
  return { status, closesConnection, chunked, contentLength: chunked ? -1 : contentLength };
}

/** The value of a hex digit, or -1. */
function hexValue(c: number): number {
  if (c >= DIGIT_0 && c <= DIGIT_9) return c - DIGIT_0;
  const lower = c | 0x20;
  if (lower >= CHAR_A && lower <= CHAR_F) return lower - CHAR_A + 10;
  return -1;
}

/** A SyntaxError saying what was expected and which byte came instead. */
function syntaxError(expected: string, byte: number): SyntaxError {
  const shown = byte > SPACE && byte < 0x7f ? `"${String.fromCharCode(byte)}"` : "";
  return new SyntaxError(
    `Cannot read the chunked body: expected ${expected}, got ${shown || "byte"} 0x${byte.toString(16).padStart(2, "0")}`,
  );
}

/** `text` in quotes, cut at 80 characters, for an error message. */
function quote(text: string): string {
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}...` : text);
}
