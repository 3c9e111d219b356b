/**
 * Encodes events to the SSE wire format. Pure functions: text in, text out.
 * Lines end in LF; an event ends in a blank line; CR, LF and CRLF inside data all start a new
 * `data:` line, so the receiver rebuilds the data with LF between the lines.
 * @see https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
 * @module
 */
import { SsehubError } from "../errors.js";
import { assertValidEventType, assertValidId, assertValidRetry } from "./field-rules.js";

const ANY_LINE_BREAK = /\r\n|\r|\n/;

/**
 * Stage 5 of an event's life, the wire: the four SSE fields of one event to encode. It differs
 * from a StoredEvent in knowing nothing of topics, order or access: the protocol layer is pure
 * and writes only what a client reads.
 */
export interface SseEventFields {
  /** The data; CR, LF and CRLF split it into `data:` lines. */
  readonly data: string;
  /** Event type; undefined or empty means the default `message`. */
  readonly event?: string | undefined;
  /** Event id; becomes the client's Last-Event-ID. */
  readonly id?: string | undefined;
  /** Reconnection delay for the client, in ms. */
  readonly retry?: number | undefined;
}

/**
 * Turns published data into the text of the event: a string stays as it is, any other JSON
 * value is serialized. Throws SSEHUB_ERR_EVENT_INVALID_DATA for undefined, functions, symbols,
 * bigints and cycles.
 */
export function serializeData(data: unknown): string {
  if (typeof data === "string") return data;
  let text: string | undefined;
  try {
    text = JSON.stringify(data);
  } catch (cause) {
    // The engine's own words (a stack overflow on deep nesting, a cycle's path) stay in the
    // cause, for the log; the client gets what to fix.
    const why =
      cause instanceof RangeError
        ? "it nests too deeply"
        : typeof data === "object" && data !== null
          ? "it holds a cycle or a BigInt"
          : "a BigInt cannot be serialized";
    throw new SsehubError("SSEHUB_ERR_EVENT_INVALID_DATA", `Cannot serialize event data: ${why}`, {
      cause,
    });
  }
  if (text === undefined) {
    throw new SsehubError(
      "SSEHUB_ERR_EVENT_INVALID_DATA",
      `Cannot serialize event data: got ${typeof data}, expected a string or a JSON value`,
    );
  }
  return text;
}

/** Encodes one event, checking `id`, `event` and `retry` (see field-rules.ts). */
export function encodeEvent(fields: SseEventFields): string {
  let out = "";
  if (fields.id !== undefined) {
    assertValidId(fields.id);
    out += `id: ${fields.id}\n`;
  }
  if (fields.event !== undefined && fields.event !== "") {
    assertValidEventType(fields.event);
    out += `event: ${fields.event}\n`;
  }
  if (fields.retry !== undefined) {
    assertValidRetry(fields.retry);
    out += `retry: ${fields.retry}\n`;
  }
  return `${out}${encodeData(fields.data)}\n`;
}

/** The `data:` lines of `data`, each ending in LF. */
export function encodeData(data: string): string {
  if (!data.includes("\n") && !data.includes("\r")) return `data: ${data}\n`;
  let out = "";
  for (const line of data.split(ANY_LINE_BREAK)) out += `data: ${line}\n`;
  return out;
}

/** A comment block (ignored by clients; keeps proxies from timing out). */
export function encodeComment(text = ""): string {
  if (text === "") return ":\n\n";
  let out = "";
  for (const line of text.split(ANY_LINE_BREAK)) out += `: ${line}\n`;
  return `${out}\n`;
}

/** A block that only sets the client's reconnection delay. */
export function encodeRetry(retryMs: number): string {
  assertValidRetry(retryMs);
  return `retry: ${retryMs}\n\n`;
}
