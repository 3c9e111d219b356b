/**
 * Turns a publish request body into hub PublishInputs. Two forms are accepted:
 * - `application/json`: one event `{"topic" | "topics", "data", "event"?, "retry"?}` or an
 *   array of them (a batch). An unknown key is refused by name, so a typo never publishes an
 *   event without the field the publisher meant to set.
 * - `application/x-www-form-urlencoded`, with Mercure's field names: `topic` (repeatable),
 *   `data`, `type`, `retry` (digits only).
 * Field values are checked for shape here; their rules (topic names, CR/LF in `event`, retry
 * range) are the hub's, so the library and HTTP refuse the same input the same way.
 *
 * Text that UTF-8 cannot carry is refused, never replaced by U+FFFD, so that subscribers get
 * exactly what was published: raw bytes that are not UTF-8, a form's percent-escapes that do not
 * decode to UTF-8 (`%FF`), and JSON escapes of lone surrogates (`"\ud800"`) in the fields that
 * reach the wire or URLs as text (topics, string data, event type, id).
 * @module
 */
import { type ErrorCode, SsehubError } from "../../errors.js";
import type { PublishInput } from "../../hub/hub.js";

/** The media types POST /publish accepts. */
export const JSON_MEDIA_TYPE = "application/json";
export const FORM_MEDIA_TYPE = "application/x-www-form-urlencoded";

/** A parsed publish body: one event, or a batch. */
export type PublishBody =
  | { readonly batch: false; readonly input: PublishInput }
  | { readonly batch: true; readonly inputs: readonly PublishInput[] };

const JSON_KEYS: ReadonlySet<string> = new Set([
  "topic",
  "topics",
  "data",
  "event",
  "retry",
  "key",
  "private",
  "id",
]);
const FORM_KEYS: ReadonlySet<string> = new Set(["topic", "data", "type", "retry", "private", "id"]);
const DIGITS = /^\d+$/;
const UTF8 = new TextDecoder("utf-8", { fatal: true });
/** Form components are decoded without stripping a BOM (WHATWG "UTF-8 decode without BOM"). */
const UTF8_KEEP_BOM = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
/** A surrogate code unit without its pair (the `u` flag reads pairs as one code point). */
const LONE_SURROGATE = /\p{Surrogate}/u;
/** A JSON escape of a surrogate: only JSON text holding one can produce a lone surrogate. */
const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/;
const PERCENT = 0x25;

function malformed(message: string, details?: Record<string, unknown>): SsehubError {
  return new SsehubError(
    "SSEHUB_ERR_PUBLISH_MALFORMED",
    message,
    details === undefined ? undefined : { details },
  );
}

function decodeUtf8(body: Buffer): string {
  try {
    return UTF8.decode(body);
  } catch (cause) {
    throw new SsehubError(
      "SSEHUB_ERR_PUBLISH_MALFORMED",
      "Cannot read the request body: it is not valid UTF-8",
      { cause },
    );
  }
}

/**
 * The media type of a Content-Type header, lowercase and without parameters, or throws
 * SSEHUB_ERR_PUBLISH_UNSUPPORTED_MEDIA_TYPE when it is neither JSON nor a form, or names a
 * charset other than UTF-8.
 */
export function publishMediaType(contentType: string | undefined): string {
  const [type = "", ...params] = (contentType ?? "").split(";");
  const mediaType = type.trim().toLowerCase();
  const unsupported = (why: string): SsehubError =>
    new SsehubError("SSEHUB_ERR_PUBLISH_UNSUPPORTED_MEDIA_TYPE", `Cannot publish ${why}`, {
      details: { accepted: [JSON_MEDIA_TYPE, FORM_MEDIA_TYPE] },
    });
  if (mediaType !== JSON_MEDIA_TYPE && mediaType !== FORM_MEDIA_TYPE) {
    throw unsupported(
      contentType === undefined
        ? `a body without Content-Type: use ${JSON_MEDIA_TYPE} or ${FORM_MEDIA_TYPE}`
        : `a body of type ${JSON.stringify(mediaType)}: use ${JSON_MEDIA_TYPE} or ${FORM_MEDIA_TYPE}`,
    );
  }
  for (const param of params) {
    const [name = "", value = ""] = param.split("=");
    if (name.trim().toLowerCase() !== "charset") continue;
    const charset = value.trim().replaceAll('"', "").toLowerCase();
    if (charset !== "utf-8" && charset !== "utf8") {
      throw unsupported(`a body in charset ${JSON.stringify(charset)}: send UTF-8`);
    }
  }
  return mediaType;
}

/** Parses a body of `mediaType` (as returned by publishMediaType). */
export function parsePublishBody(mediaType: string, body: Buffer): PublishBody {
  return mediaType === FORM_MEDIA_TYPE ? parseForm(decodeUtf8(body)) : parseJson(decodeUtf8(body));
}

function parseJson(text: string): PublishBody {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new SsehubError(
      "SSEHUB_ERR_PUBLISH_MALFORMED",
      `Cannot parse the JSON body: ${(cause as Error).message}`,
      { cause },
    );
  }
  // Valid UTF-8 decodes to well-formed text: only a \uD8xx escape can make a lone surrogate.
  const mayHoldSurrogates = SURROGATE_ESCAPE.test(text);
  if (!Array.isArray(value)) {
    return { batch: false, input: jsonEvent(value, "the event", mayHoldSurrogates) };
  }
  if (value.length === 0) throw malformed("Cannot publish an empty batch: send at least one event");
  const inputs = value.map((item: unknown, index) =>
    jsonEvent(item, `event ${index}`, mayHoldSurrogates),
  );
  return { batch: true, inputs };
}

/** Throws `code` when `text` holds a lone surrogate, which UTF-8 (and so the wire) cannot carry. */
function assertWellFormed(text: string, code: ErrorCode, what: string, where: string): void {
  if (!LONE_SURROGATE.test(text)) return;
  throw new SsehubError(
    code,
    `Cannot publish ${where}: ${what} holds a lone surrogate (an escape such as \\ud800 without its pair), which UTF-8 cannot carry`,
  );
}

function jsonEvent(value: unknown, where: string, mayHoldSurrogates: boolean): PublishInput {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw malformed(`Cannot publish ${where}: expected a JSON object`);
  }
  const fields = value as Record<string, unknown>;
  for (const key of Object.keys(fields)) {
    if (!JSON_KEYS.has(key)) {
      throw malformed(
        `Cannot publish ${where}: unknown field ${JSON.stringify(key)}, expected topic, topics, data, event, retry, key, private or id`,
        { field: key },
      );
    }
  }
  if (!Object.hasOwn(fields, "data")) {
    throw malformed(`Cannot publish ${where}: the data field is missing`, { field: "data" });
  }
  const { topic, topics, data, event, retry } = fields;
  if (topic === undefined && topics === undefined) {
    throw new SsehubError(
      "SSEHUB_ERR_TOPIC_MISSING",
      `Cannot publish ${where}: name a topic in topic or topics`,
    );
  }
  if (topic !== undefined && typeof topic !== "string") {
    throw new SsehubError(
      "SSEHUB_ERR_TOPIC_INVALID",
      `Cannot publish ${where}: topic must be a string, got ${typeof topic}`,
    );
  }
  if (topics !== undefined && !isStringArray(topics)) {
    throw new SsehubError(
      "SSEHUB_ERR_TOPIC_INVALID",
      `Cannot publish ${where}: topics must be an array of strings`,
    );
  }
  if (event !== undefined && typeof event !== "string") {
    throw new SsehubError(
      "SSEHUB_ERR_EVENT_INVALID_TYPE",
      `Cannot publish ${where}: event must be a string, got ${typeof event}`,
    );
  }
  if (retry !== undefined && typeof retry !== "number") {
    throw new SsehubError(
      "SSEHUB_ERR_EVENT_INVALID_RETRY",
      `Cannot publish ${where}: retry must be a number of milliseconds, got ${typeof retry}`,
    );
  }
  if (mayHoldSurrogates) {
    for (const name of topic === undefined ? (topics ?? []) : [topic]) {
      assertWellFormed(name, "SSEHUB_ERR_TOPIC_INVALID", "a topic", where);
    }
    if (typeof data === "string") {
      assertWellFormed(data, "SSEHUB_ERR_EVENT_INVALID_DATA", "data", where);
    }
    if (event !== undefined) {
      assertWellFormed(event, "SSEHUB_ERR_EVENT_INVALID_TYPE", "event", where);
    }
    if (typeof fields.id === "string") {
      assertWellFormed(fields.id, "SSEHUB_ERR_EVENT_INVALID_ID", "id", where);
    }
  }
  return {
    data,
    ...(topic === undefined ? {} : { topic }),
    ...(topics === undefined ? {} : { topics }),
    ...(event === undefined ? {} : { event }),
    ...(retry === undefined ? {} : { retry }),
    // The hub checks the key (a string of 1 to maxTopicLength characters).
    ...(fields.key === undefined ? {} : { key: fields.key as string }),
    // The hub checks that private is a boolean.
    ...(fields.private === undefined ? {} : { private: fields.private as boolean }),
    // The hub checks the id (a string without CR, LF or NUL).
    ...(fields.id === undefined ? {} : { id: fields.id as string }),
  };
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === "string");
}

/**
 * Parses an application/x-www-form-urlencoded body as WHATWG's URLSearchParams does (`+` is a
 * space; a `%` not followed by two hex digits stays as it is), except that a name or value
 * whose percent-escapes do not decode to UTF-8 is refused with SSEHUB_ERR_PUBLISH_MALFORMED
 * instead of being turned into U+FFFD: the event would otherwise carry other text than the
 * publisher sent. `text` is the body decoded as UTF-8.
 */
export function parseFormStrict(text: string): URLSearchParams {
  const form = new URLSearchParams();
  for (const sequence of text.split("&")) {
    if (sequence === "") continue;
    const equals = sequence.indexOf("=");
    const name = equals === -1 ? sequence : sequence.slice(0, equals);
    const value = equals === -1 ? "" : sequence.slice(equals + 1);
    form.append(formDecode(name), formDecode(value));
  }
  return form;
}

/** One form component: `+` becomes a space, `%XX` the byte XX, then strict UTF-8. */
function formDecode(component: string): string {
  const spaced = component.includes("+") ? component.replaceAll("+", " ") : component;
  if (!spaced.includes("%")) return spaced;
  const bytes = Buffer.from(spaced, "utf8");
  // Decode in place: the write index never passes the read index.
  let length = 0;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i] as number;
    const high = byte === PERCENT && i + 2 < bytes.length ? hexValue(bytes[i + 1] as number) : -1;
    const low = high === -1 ? -1 : hexValue(bytes[i + 2] as number);
    if (low === -1) {
      bytes[length++] = byte;
    } else {
      bytes[length++] = high * 16 + low;
      i += 2;
    }
  }
  try {
    return UTF8_KEEP_BOM.decode(bytes.subarray(0, length));
  } catch (cause) {
    throw new SsehubError(
      "SSEHUB_ERR_PUBLISH_MALFORMED",
      `Cannot read the form: ${JSON.stringify(component.slice(0, 64))} holds percent-escapes that are not UTF-8 (such as %FF)`,
      { cause },
    );
  }
}

/** The value of an ASCII hex digit, or -1. */
function hexValue(byte: number): number {
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30; // 0-9
  const lower = byte | 0x20;
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10; // a-f
  return -1;
}

function parseForm(text: string): PublishBody {
  const form = parseFormStrict(text);
  for (const key of new Set(form.keys())) {
    if (!FORM_KEYS.has(key)) {
      throw malformed(
        `Cannot publish the event: unknown form field ${JSON.stringify(key)}, expected topic, data, type, retry, private or id`,
        { field: key },
      );
    }
    if (key !== "topic" && form.getAll(key).length > 1) {
      throw malformed(`Cannot publish the event: the form field ${key} appears more than once`, {
        field: key,
      });
    }
  }
  const topics = form.getAll("topic");
  const data = form.get("data");
  if (data === null) {
    throw malformed("Cannot publish the event: the data field is missing", { field: "data" });
  }
  if (topics.length === 0) {
    throw new SsehubError("SSEHUB_ERR_TOPIC_MISSING", "Cannot publish the event: name a topic");
  }
  const type = form.get("type");
  const retryText = form.get("retry");
  if (retryText !== null && !DIGITS.test(retryText)) {
    throw new SsehubError(
      "SSEHUB_ERR_EVENT_INVALID_RETRY",
      `Cannot publish the event: retry must be digits only (milliseconds), got ${JSON.stringify(retryText)}`,
    );
  }
  const input: PublishInput = {
    data,
    ...(topics.length === 1 ? { topic: topics[0] as string } : { topics }),
    ...(type === null ? {} : { event: type }),
    ...(retryText === null ? {} : { retry: Number(retryText) }),
    // As in Mercure, the field's presence makes the event private, whatever its value.
    ...(form.has("private") ? { private: true } : {}),
    ...(form.has("id") ? { id: form.get("id") as string } : {}),
  };
  return { batch: false, input };
}
