/**
 * Maps a publish request body onto hub PublishInputs, and does nothing more: every rule of a
 * field is the hub's (hub/publish-input.ts), so the library and every HTTP door refuse the same
 * input with the same code. Two media types are read:
 * - `application/json`: one event as a JSON object, or an array of them (a batch), handed to
 *   the hub as parsed; an empty array is no publish at all and is refused.
 * - `application/x-www-form-urlencoded`, with Mercure's field names: `topic` (repeatable),
 *   `data`, `type` (the event type), `retry` (a number written in digits), `private` (present:
 *   true), `id`. What a form cannot say is refused here, as the form's own syntax: a field name
 *   that maps to nothing, a field other than `topic` given twice.
 * Mercure's route reads its form with the same decoder and mapping (routes/mercure.ts).
 *
 * Bytes become text only when they are UTF-8, never by replacing what is not with U+FFFD, so
 * that subscribers get exactly what was published: raw bytes that are not UTF-8 and a form's
 * percent-escapes that do not decode to UTF-8 (`%FF`) are refused
 * (SSEHUB_ERR_PUBLISH_MALFORMED). Lone surrogates that a JSON escape can make (`"\ud800"`) are
 * the hub's to refuse, as for any caller.
 * @module
 */
import { SsehubError } from "../../errors.js";
import type { PublishInput } from "../../hub/publish-input.js";

/** The media types POST /publish accepts. */
export const JSON_MEDIA_TYPE = "application/json";
export const FORM_MEDIA_TYPE = "application/x-www-form-urlencoded";

/** A parsed publish body: one event, or a batch. */
export type PublishBody =
  | { readonly batch: false; readonly input: PublishInput }
  | { readonly batch: true; readonly inputs: readonly PublishInput[] };

/** A form publish mapped onto a PublishInput: its topics always as a list. */
export type FormPublishInput = PublishInput & { readonly topics: readonly string[] };

/** Form field names (Mercure's) -> the PublishInput field each one fills. */
const FORM_FIELDS: ReadonlyMap<string, keyof PublishInput> = new Map([
  ["topic", "topics"],
  ["data", "data"],
  ["type", "event"],
  ["retry", "retry"],
  ["private", "private"],
  ["id", "id"],
]);
/** How a form writes a number: digits only (`1e3`, ` 5` or `` are not numbers here). */
const DIGITS = /^\d+$/;
const UTF8 = new TextDecoder("utf-8", { fatal: true });
/** Form components are decoded without stripping a BOM (WHATWG "UTF-8 decode without BOM"). */
const UTF8_KEEP_BOM = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
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
  if (mediaType === FORM_MEDIA_TYPE) {
    return { batch: false, input: formPublishInput(decodeForm(body)) };
  }
  return parseJson(decodeUtf8(body));
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
  if (!Array.isArray(value)) return { batch: false, input: value as PublishInput };
  if (value.length === 0) throw malformed("Cannot publish an empty batch: send at least one event");
  return { batch: true, inputs: value as PublishInput[] };
}

/** Reads an application/x-www-form-urlencoded body: strict UTF-8, then parseFormStrict. */
export function decodeForm(body: Buffer): URLSearchParams {
  return parseFormStrict(decodeUtf8(body));
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

/**
 * Maps a publish form (Mercure's field names) onto a PublishInput, leaving every value's check
 * to the hub: an absent `data` stays absent, a `retry` that is not written in digits is passed
 * on as the text it is (the hub refuses it as it refuses any retry that is not a number).
 * Throws SSEHUB_ERR_PUBLISH_MALFORMED for a field name that maps to nothing, or a field other
 * than `topic` given twice.
 */
export function formPublishInput(form: URLSearchParams): FormPublishInput {
  for (const name of new Set(form.keys())) {
    if (!FORM_FIELDS.has(name)) {
      throw malformed(
        `Cannot publish the event: unknown form field ${JSON.stringify(name)}: allowed fields are ${[...FORM_FIELDS.keys()].join(", ")}`,
        { field: name },
      );
    }
    if (name !== "topic" && form.getAll(name).length > 1) {
      throw malformed(`Cannot publish the event: the form field ${name} appears more than once`, {
        field: name,
      });
    }
  }
  const data = form.get("data");
  const type = form.get("type");
  const retry = form.get("retry");
  const id = form.get("id");
  const input = {
    topics: form.getAll("topic"),
    ...(data === null ? {} : { data }),
    ...(type === null ? {} : { event: type }),
    ...(retry === null ? {} : { retry: DIGITS.test(retry) ? Number(retry) : retry }),
    // As in Mercure, the field's presence makes the event private, whatever its value.
    ...(form.has("private") ? { private: true } : {}),
    ...(id === null ? {} : { id }),
  };
  // Whatever the values hold is the hub's to check, as for any caller.
  return input as FormPublishInput;
}
