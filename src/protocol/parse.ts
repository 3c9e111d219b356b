/**
 * An incremental parser for `text/event-stream`, following the WHATWG algorithm "Interpreting an
 * event stream" step by step. Feed it chunks of bytes or text, in any sizes; it calls back once
 * per dispatched event, `retry:` field and comment line.
 *
 * It sits on the hot path of the client and of the load generator, so it works on whole chunks
 * with `indexOf` and `charCodeAt`, never with a regular expression per line, and slices field
 * values out of the chunk instead of building strings character by character.
 *
 * @see https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
 * @module
 */

const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const COLON = 0x3a;
const BOM = 0xfeff;
const CHAR_A = 0x61;
const CHAR_D = 0x64;
const CHAR_E = 0x65;
const CHAR_I = 0x69;
const CHAR_N = 0x6e;
const CHAR_R = 0x72;
const CHAR_T = 0x74;
const CHAR_V = 0x76;
const CHAR_Y = 0x79;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;

/** `#colonAt` before the current text has been searched for a colon. */
const COLON_UNKNOWN = -2;
/** Options of every streaming decode call, allocated once. */
const STREAM = { stream: true } as const;

/**
 * True when a streaming UTF-8 decoder would hold nothing back after `bytes` (not empty): they
 * end in ASCII, in a whole multi-byte sequence, or in bytes that no later byte can complete.
 * False also when it cannot tell (a short chunk of continuation bytes ending a sequence begun
 * in an earlier chunk).
 *
 *   ... 0xxxxxxx |            ends in ASCII: nothing held back
 *   ... 1110xxxx 10xxxxxx |   lead of 3 bytes, 2 present: held back
 *   ... 1110xxxx 10xxxxxx 10xxxxxx |   complete
 */
function endsOnCharBoundary(bytes: Uint8Array): boolean {
  const length = bytes.length;
  let i = length - 1;
  if (bytes[i]! < 0x80) return true;
  // Walk back over the continuation bytes (10xxxxxx) to the lead byte.
  while (i >= 0 && length - i <= 4 && (bytes[i]! & 0xc0) === 0x80) i--;
  // Four continuation bytes end any sequence; fewer, with no lead byte in sight, cannot tell.
  if (length - i > 4) return true;
  if (i < 0) return false;
  const lead = bytes[i]!;
  // WHATWG UTF-8: C2-DF lead 2 bytes, E0-EF 3, F0-F4 4; any other lead is an error at once.
  const needed =
    lead >= 0xc2 && lead <= 0xdf
      ? 2
      : lead >= 0xe0 && lead <= 0xef
        ? 3
        : lead >= 0xf0 && lead <= 0xf4
          ? 4
          : 1;
  return length - i >= needed;
}

/** The value of a field whose colon ends at `from`: one leading space is dropped. */
function fieldValue(text: string, from: number, end: number): string {
  return text.slice(from < end && text.charCodeAt(from) === SPACE ? from + 1 : from, end);
}

/** `data` at `start`. */
function isData(text: string, start: number): boolean {
  return (
    text.charCodeAt(start) === CHAR_D &&
    text.charCodeAt(start + 1) === CHAR_A &&
    text.charCodeAt(start + 2) === CHAR_T &&
    text.charCodeAt(start + 3) === CHAR_A
  );
}

/** `event` at `start`. */
function isEvent(text: string, start: number): boolean {
  return (
    text.charCodeAt(start) === CHAR_E &&
    text.charCodeAt(start + 1) === CHAR_V &&
    text.charCodeAt(start + 2) === CHAR_E &&
    text.charCodeAt(start + 3) === CHAR_N &&
    text.charCodeAt(start + 4) === CHAR_T
  );
}

/** `retry` at `start`. */
function isRetry(text: string, start: number): boolean {
  return (
    text.charCodeAt(start) === CHAR_R &&
    text.charCodeAt(start + 1) === CHAR_E &&
    text.charCodeAt(start + 2) === CHAR_T &&
    text.charCodeAt(start + 3) === CHAR_R &&
    text.charCodeAt(start + 4) === CHAR_Y
  );
}

/** One event, as an EventSource would dispatch it. */
export interface ParsedEvent {
  /** The `event:` field, or `message` when the event had none (or an empty one). */
  readonly type: string;
  /** The `data:` lines joined with LF. */
  readonly data: string;
  /** The last event id of the stream when the event was dispatched (kept across events). */
  readonly lastEventId: string;
}

/** What the parser calls back. Handlers run synchronously inside `feed()`. */
export interface SseParserHandlers {
  /** A dispatched event: a blank line ended a block holding at least one `data` field. */
  onEvent(event: ParsedEvent): void;
  /** A `retry:` field made of ASCII digits only: the new reconnection delay, in ms. */
  onRetry?(ms: number): void;
  /** A comment line, without its leading colon and the one space after it, if any. */
  onComment?(text: string): void;
}

/**
 * Incremental `text/event-stream` parser.
 *
 * - Bytes are decoded as UTF-8 in streaming mode, so a character split across two chunks is
 *   decoded once both halves arrived; invalid sequences become U+FFFD, as the standard says.
 * - One byte order mark is skipped at the start of the stream, and only there.
 * - CR, LF and CRLF end lines, also when the CR and the LF of a CRLF arrive in two chunks.
 * - A line without a colon is a field name with an empty value; one space after the colon is
 *   dropped; `retry` counts only when it is all ASCII digits; an `id` holding NUL is ignored;
 *   unknown fields are ignored; a blank line dispatches the event when data was seen.
 * - The last event id survives dispatches and `reset()`, as Last-Event-ID must across reconnects.
 *
 * A handler that throws stops `feed()` and the error propagates; the rest of that chunk is
 * kept and parsed at the next `feed()`. A handler may call `reset()`: the rest of the chunk is
 * then dropped.
 *
 * @see https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
 * @example
 * ```ts
 * const parser = new SseParser({ onEvent: (event) => console.log(event.type, event.data) });
 * for await (const chunk of response.body) parser.feed(chunk);
 * ```
 */
export class SseParser {
  readonly #onEvent: (event: ParsedEvent) => void;
  readonly #onRetry: ((ms: number) => void) | undefined;
  readonly #onComment: ((text: string) => void) | undefined;
  /** Created at the first byte chunk, replaced by `reset()`. */
  #decoder: TextDecoder | undefined;
  /** The decoder may hold the first bytes of a character cut off by the chunk's end. */
  #decoderPending = false;
  /** True until the first character of the stream (a possible BOM) has been seen. */
  #atStreamStart = true;
  /** The previous chunk ended in CR: an LF opening the next one completes that CRLF. */
  #skipLF = false;
  /** Pieces of a line whose end has not arrived yet; they hold no CR or LF. */
  readonly #pending: string[] = [];
  /** Text left unparsed when a handler threw; parsed before the next chunk. */
  #carry = "";
  /** Index of a colon at or after the current line start in the current text, -1 for none. */
  #colonAt = COLON_UNKNOWN;
  /** Bumped by `reset()`, so that a feed interrupted by a handler's reset stops. */
  #generation = 0;
  /** The data buffer, without the trailing LF the standard appends then removes. */
  #data = "";
  /** True once a `data` field was seen in the current block. */
  #hasData = false;
  /** The event type buffer. */
  #type = "";
  /** The last event ID buffer: set by `id` fields, committed at each dispatch. */
  #idBuffer = "";
  /** The last event ID string of the stream. */
  #lastEventId = "";

  /** @param handlers called synchronously from `feed()` */
  constructor(handlers: SseParserHandlers) {
    this.#onEvent = handlers.onEvent;
    this.#onRetry = handlers.onRetry;
    this.#onComment = handlers.onComment;
  }

  /**
   * The last event id: the `id` field in force when the last block was dispatched. Send it as
   * `Last-Event-ID` when reconnecting. Setting it (say, to an id stored from an earlier
   * session) also sets the id that the next events inherit.
   */
  get lastEventId(): string {
    return this.#lastEventId;
  }

  set lastEventId(id: string) {
    this.#lastEventId = id;
    this.#idBuffer = id;
  }

  /**
   * Starts a new connection: a BOM is allowed again, the partial line, the data and the event
   * type of the unfinished block are dropped (the standard discards an event cut off by the end
   * of the stream), bytes of an unfinished UTF-8 sequence too. The last event id stays.
   */
  reset(): void {
    this.#generation++;
    this.#decoder = undefined;
    this.#decoderPending = false;
    this.#atStreamStart = true;
    this.#skipLF = false;
    this.#pending.length = 0;
    this.#carry = "";
    this.#data = "";
    this.#hasData = false;
    this.#type = "";
    this.#idBuffer = this.#lastEventId;
  }

  /** Parses the next chunk of the stream: UTF-8 bytes or already decoded text. */
  feed(chunk: Uint8Array | string): void {
    let text: string;
    if (typeof chunk === "string") {
      text = chunk;
    } else if (chunk.length === 0) {
      // Nothing to decode; an empty chunk must not touch the decoder's state either.
      text = "";
    } else {
      // ignoreBOM keeps a leading BOM in the text, so that bytes and strings meet the same
      // check below: exactly one BOM is skipped, at the start of the stream only.
      this.#decoder ??= new TextDecoder("utf-8", { ignoreBOM: true });
      // Streaming decodes cost several times more than whole ones (Node 20: 6x), so a chunk
      // that starts and ends on character boundaries, the usual case, is decoded whole.
      const complete = endsOnCharBoundary(chunk);
      if (complete && !this.#decoderPending) {
        text = this.#decoder.decode(chunk);
      } else {
        text = this.#decoder.decode(chunk, STREAM);
        this.#decoderPending = !complete;
      }
    }
    if (this.#carry !== "") {
      text = this.#carry + text;
      this.#carry = "";
    }
    const length = text.length;
    if (length === 0) return;

    let start = 0;
    if (this.#atStreamStart) {
      this.#atStreamStart = false;
      if (text.charCodeAt(0) === BOM) start = 1;
    }
    if (this.#skipLF) {
      this.#skipLF = false;
      if (text.charCodeAt(start) === LF) start++;
    }

    const generation = this.#generation;
    const pending = this.#pending;
    this.#colonAt = COLON_UNKNOWN;
    // Next LF and CR at or after `start`; -1 once none is left in the text. Each is searched
    // again only when the line start passed it, so scanning the chunk stays linear.
    let lf = text.indexOf("\n", start);
    let cr = text.indexOf("\r", start);
    try {
      while (start < length) {
        if (lf !== -1 && lf < start) lf = text.indexOf("\n", start);
        if (cr !== -1 && cr < start) cr = text.indexOf("\r", start);
        let end: number;
        if (cr === -1) {
          if (lf === -1) break;
          end = lf;
        } else {
          end = lf !== -1 && lf < cr ? lf : cr;
        }
        const lineStart = start;
        start = end + 1;
        if (text.charCodeAt(end) === CR) {
          // CRLF is one line end, even when the LF comes in the next chunk.
          if (start === length) this.#skipLF = true;
          else if (text.charCodeAt(start) === LF) start++;
        }
        if (pending.length === 0) {
          this.#line(text, lineStart, end);
        } else {
          pending.push(text.slice(lineStart, end));
          const line = pending.join("");
          pending.length = 0;
          const colonAt = this.#colonAt;
          this.#colonAt = COLON_UNKNOWN;
          this.#line(line, 0, line.length);
          this.#colonAt = colonAt;
        }
        if (generation !== this.#generation) return;
      }
    } catch (error) {
      if (generation === this.#generation && start < length) this.#carry = text.slice(start);
      throw error;
    }
    if (start < length) pending.push(start === 0 ? text : text.slice(start));
  }

  /** Interprets the line `text[start, end)`, which holds no CR or LF. */
  #line(text: string, start: number, end: number): void {
    if (start === end) {
      this.#dispatch();
      return;
    }
    const c0 = text.charCodeAt(start);
    if (c0 === COLON) {
      if (this.#onComment !== undefined) this.#onComment(fieldValue(text, start + 1, end));
      return;
    }
    // Fast path for the fields as encoders write them, the name right before the colon. A
    // colon at `start + n` lies inside the line: the character at `end` is CR, LF or none.
    if (c0 === CHAR_D) {
      if (text.charCodeAt(start + 4) === COLON && isData(text, start)) {
        this.#appendData(fieldValue(text, start + 5, end));
        return;
      }
    } else if (c0 === CHAR_I) {
      if (text.charCodeAt(start + 2) === COLON && text.charCodeAt(start + 1) === CHAR_D) {
        this.#setId(fieldValue(text, start + 3, end));
        return;
      }
    } else if (c0 === CHAR_E) {
      if (text.charCodeAt(start + 5) === COLON && isEvent(text, start)) {
        this.#type = fieldValue(text, start + 6, end);
        return;
      }
    }
    // General path: any line. The colon search is cached, so that a run of lines without a
    // colon does not rescan the rest of the chunk from each line start.
    let colon = this.#colonAt;
    if (colon === COLON_UNKNOWN || (colon !== -1 && colon < start)) {
      colon = text.indexOf(":", start);
      this.#colonAt = colon;
    }
    // The field name is text[start, nameEnd); its value starts after the colon.
    let nameEnd = end;
    let valueStart = end;
    if (colon !== -1 && colon < end) {
      nameEnd = colon;
      valueStart = colon + 1;
    }
    switch (nameEnd - start) {
      case 4:
        if (isData(text, start)) this.#appendData(fieldValue(text, valueStart, end));
        return;
      case 5:
        if (isEvent(text, start)) this.#type = fieldValue(text, valueStart, end);
        else if (isRetry(text, start)) this.#retry(fieldValue(text, valueStart, end));
        return;
      case 2:
        if (c0 === CHAR_I && text.charCodeAt(start + 1) === CHAR_D) {
          this.#setId(fieldValue(text, valueStart, end));
        }
        return;
      default: // an unknown field: ignored
        return;
    }
  }

  #appendData(value: string): void {
    if (this.#hasData) {
      this.#data = `${this.#data}\n${value}`;
    } else {
      this.#data = value;
      this.#hasData = true;
    }
  }

  /** An id holding NUL is ignored: browsers would not send it back in a header. */
  #setId(value: string): void {
    if (!value.includes("\0")) this.#idBuffer = value;
  }

  /** A `retry` field counts only when its value is one or more ASCII digits. */
  #retry(value: string): void {
    if (value.length === 0) return;
    for (let i = 0; i < value.length; i++) {
      const c = value.charCodeAt(i);
      if (c < DIGIT_0 || c > DIGIT_9) return;
    }
    this.#onRetry?.(Number(value));
  }

  /** A blank line: commit the last event id, then dispatch the block if it held data. */
  #dispatch(): void {
    this.#lastEventId = this.#idBuffer;
    if (!this.#hasData) {
      this.#type = "";
      return;
    }
    const event: ParsedEvent = {
      type: this.#type === "" ? "message" : this.#type,
      data: this.#data,
      lastEventId: this.#lastEventId,
    };
    this.#data = "";
    this.#hasData = false;
    this.#type = "";
    this.#onEvent(event);
  }
}
