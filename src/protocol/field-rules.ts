/**
 * What the SSE framing allows in each field (WHATWG HTML, "Server-sent events", section
 * "Interpreting an event stream"). A CR or LF inside `id` or `event` would end the field early
 * and let the rest of the value forge fields of its own, so such input is rejected, never
 * escaped. A NUL inside `id` makes browsers ignore the id, so it is rejected too.
 * @see https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
 * @module
 */
import { SsehubError } from "../errors.js";

const LINE_BREAK = /[\r\n]/;
const LINE_BREAK_OR_NUL = /[\r\n\0]/;
/**
 * What a publisher's id or event type may not hold, beyond what breaks the framing: control
 * characters (Cc: C0 U+0000-U+001F, DEL U+007F, C1 U+0080-U+009F), Unicode format characters
 * (Cf: U+00AD, U+200B-U+200F, U+202A-U+202E, U+2060-U+2064, U+FEFF, ...) and the line and
 * paragraph separators U+2028 and U+2029 (Zl, Zp). Browsers keep them, but they are invisible
 * or move text around in logs, dashboards and the `Last-Event-ID` header, so that two ids or
 * types that read the same could differ (Mercure asks hubs to refuse them too). Data may hold
 * any text: it is split into `data:` lines, and never read as a name.
 */
const CONTROL_OR_FORMAT = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;

/**
 * The first control, format or separator character of `text` as `U+XXXX` (see
 * CONTROL_OR_FORMAT), or undefined when it holds none.
 */
export function findControlOrFormat(text: string): string | undefined {
  const found = CONTROL_OR_FORMAT.exec(text)?.[0];
  if (found === undefined) return undefined;
  return `U+${found.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}`;
}

/** The largest delay a `retry:` field may carry, in ms (the largest setTimeout delay). */
export const MAX_RETRY_MS = 2_147_483_647;

/** `String.prototype.isWellFormed` (ES2024, in Node 20), which the ES2023 typings lack. */
type WellFormedCheck = { isWellFormed(): boolean };

/**
 * True when `text` holds no lone surrogate (a UTF-16 surrogate without its pair), so that UTF-8,
 * and so the wire, carries it unchanged; a lone one would reach subscribers as U+FFFD. Cheap:
 * V8 answers at once for text without any character past U+00FF.
 */
export function isWellFormed(text: string): boolean {
  return (text as unknown as WellFormedCheck).isWellFormed();
}

/** Throws SSEHUB_ERR_EVENT_INVALID_ID when `id` holds CR, LF or NUL. */
export function assertValidId(id: string): void {
  if (LINE_BREAK_OR_NUL.test(id)) {
    throw new SsehubError(
      "SSEHUB_ERR_EVENT_INVALID_ID",
      `Cannot use event id ${JSON.stringify(id)}: an id may not contain CR, LF or NUL`,
    );
  }
}

/** Throws SSEHUB_ERR_EVENT_INVALID_TYPE when `type` holds CR or LF. */
export function assertValidEventType(type: string): void {
  if (LINE_BREAK.test(type)) {
    throw new SsehubError(
      "SSEHUB_ERR_EVENT_INVALID_TYPE",
      `Cannot use event type ${JSON.stringify(type)}: an event type may not contain CR or LF`,
    );
  }
}

/** Throws SSEHUB_ERR_EVENT_INVALID_RETRY unless `retry` is an integer from 0 to MAX_RETRY_MS. */
export function assertValidRetry(retry: unknown): asserts retry is number {
  if (typeof retry !== "number" || !Number.isInteger(retry) || retry < 0 || retry > MAX_RETRY_MS) {
    throw new SsehubError(
      "SSEHUB_ERR_EVENT_INVALID_RETRY",
      `Cannot use retry ${JSON.stringify(retry)}: retry must be an integer from 0 to ${MAX_RETRY_MS} (milliseconds)`,
    );
  }
}
