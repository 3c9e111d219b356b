/**
 * Random POST /publish requests and what the documented contract says of each (docs/http-api.md,
 * docs/protocol.md). A case is a content type and the exact bytes of a body; its prediction is
 * worked out from those bytes, the way the contract reads them, never from the generator's
 * intent, so that a generator may produce anything:
 * - `refuse`: the contract forbids accepting it (wrong type, too large, not UTF-8, not JSON,
 *   a control or format character in an event type or an id, a control character in a topic,
 *   an event type of the hub's own (`ssehub-...`), the id `earliest`, a topic in the hub's own
 *   namespace (`/.well-known/mercure` and below, however spelled), an unknown field such as
 *   `__proto__`, a lone surrogate that UTF-8 cannot carry...), with the
 *   one code docs/errors.md gives that mistake: the first one, where there are several, in the
 *   order the hub checks the fields (src/hub/publish-input.ts).
 * - `either`: the hub may refuse it for a rule not modelled here, but if it accepts it, a
 *   subscriber of the event's topics sees exactly these events.
 */
import { mix32, Random } from "./random.js";

/** The limits of the server under test. */
export interface FuzzLimits {
  readonly maxBodyBytes: number;
  readonly maxBatchEvents: number;
  readonly maxTopicLength: number;
  readonly maxTopicsPerPublish: number;
}

/** What a subscriber of SUBSCRIBED_TOPICS must see of one accepted event. */
export interface ExpectedEvent {
  /** False for private events and events of topics the subscriber did not ask for. */
  readonly visible: boolean;
  /** The event type as an SSE parser reports it (undefined for the default `message`). */
  readonly event: string | undefined;
  /** The data, line breaks as LF; undefined when it cannot be predicted here (too deep). */
  readonly data: string | undefined;
  /** The id the publisher gave; undefined when the hub chooses it. */
  readonly id: string | undefined;
  readonly retry: number | undefined;
}

export type Prediction =
  | {
      readonly verdict: "refuse";
      readonly why: string;
      /** The status and code the refusal must have, when the contract names them. */
      readonly status?: number;
      readonly code?: string;
    }
  | {
      readonly verdict: "either";
      readonly batch: boolean;
      readonly events: readonly ExpectedEvent[];
    };

export interface PublishCase {
  /** The generator that made it, for failure messages. */
  readonly kind: string;
  readonly contentType: string | undefined;
  readonly body: Buffer;
  /** Sent with chunked transfer encoding instead of Content-Length. */
  readonly chunked: boolean;
  readonly prediction: Prediction;
}

/** The topics the fuzz subscriber subscribes to: valid, several of them hostile names. */
export const SUBSCRIBED_TOPICS: readonly string[] = [
  "t0",
  "t1",
  "news",
  "a/b",
  "ü",
  "日本",
  "😀",
  "__proto__",
  "constructor",
  "prototype",
  "toString",
  "hasOwnProperty",
  "%41",
  "a+b",
  "q?x=1&y=2#f",
  "x".repeat(256),
];
const SUBSCRIBED = new Set(SUBSCRIBED_TOPICS);

/**
 * Topics of the hub's own namespace the fuzz subscriber also listens to: were a forged event
 * ever accepted there, the subscriber would see a record that no accepted publish explains.
 */
export const WATCHED_RESERVED_TOPICS: readonly string[] = [
  "/.well-known/mercure/subscriptions/t0/forged",
  "/.well-known/mercure",
];

/** Spellings of the hub's namespace (docs/security.md): a publisher gets 403 for each. */
const RESERVED_TOPICS: readonly string[] = [
  ...WATCHED_RESERVED_TOPICS,
  "/.well-known/mercure/subscriptions",
  "/.well-known/mercure/",
  "https://example.com/.well-known/mercure/subscriptions/t0/forged",
  "http://127.0.0.1:1/.well-known/mercure/subscriptions/x?y=1#z",
  "wss://u@h/.well-known/mercure",
  "//example.com/.well-known/mercure/subscriptions/x",
  "/.well-known/%6Dercure/subscriptions/x",
  "/.well-known/%6dercure/subscriptions/x",
  "/%2Ewell-known/mercure/subscriptions",
  "/%2e%77%65%6c%6c%2d%6b%6e%6f%77%6e/%6D%65%72%63%75%72%65",
  "/a/../.well-known/mercure/subscriptions",
  "/a/%2E%2E/.well-known/mercure/subscriptions",
  "/./.well-known/./mercure/subscriptions",
  "/.well-known/mercure/subscriptions/x/..",
  "/.well-known//mercure//subscriptions",
  "https://example.com/a/b/../../.well-known/mercure/subscriptions",
  "/.well-known\\mercure\\subscriptions",
];

/** Names that only look like the namespace: a publisher may use them. */
const LOOKALIKE_TOPICS: readonly string[] = [
  "/.well-known/mercure-other",
  "/.well-known/mercurex",
  "/x/.well-known/mercure/subscriptions",
  "/.well-known/Mercure/subscriptions",
  "/.well-known/%4Dercure/subscriptions",
  "/.well-known%2Fmercure%2Fsubscriptions",
  "/.well-known/%256Dercure/subscriptions",
  "/x#/.well-known/mercure",
  "mercure/subscriptions/x",
  "mercure",
];

/** Topic names the contract refuses: empty, too long, white space or control characters. */
const INVALID_TOPICS: readonly string[] = [
  "",
  " ",
  "a b",
  "a\tb",
  "a\nb",
  "a\rb",
  "a\r\nb",
  "a\0b",
  "\x7f",
  "\x1b[31m",
  "a\u2028b",
  "\u00a0",
  "\ufeff",
  "x".repeat(257),
];

const JSON_FIELDS = new Set(["topic", "topics", "data", "event", "retry", "key", "private", "id"]);
const FORM_FIELDS = new Set(["topic", "data", "type", "retry", "private", "id"]);
/** The largest `retry` (the largest setTimeout delay), in ms. */
const MAX_RETRY_MS = 2_147_483_647;
const MAX_ID_LENGTH = 1024;
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are the point
const TOPIC_FORBIDDEN = /[\s\u0000-\u001f\u007f]/;
const LINE_BREAK = /[\r\n]/;
const LINE_BREAK_OR_NUL = /[\r\n\0]/;
/** Control (C0, DEL, C1), format (Cf) and separator (U+2028, U+2029) characters. */
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;
const INVISIBLE_ALL = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu;
/** The prefix of the hub's own event types, in any case. */
const HUB_TYPE = /^ssehub-/i;
const LONE_SURROGATE = /\p{Surrogate}/u;
const ANY_LINE_BREAK = /\r\n|\r|\n/g;
const DIGITS = /^\d+$/;

const STRICT_UTF8 = new TextDecoder("utf-8", { fatal: true });
/** Form components are decoded without stripping a BOM (WHATWG "UTF-8 decode without BOM"). */
const STRICT_UTF8_KEEP_BOM = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Content types and how the contract reads them. */
const JSON_TYPES = [
  "application/json",
  "application/json; charset=utf-8",
  "Application/JSON",
  'application/json;charset="UTF-8"',
  "application/json ; charset=utf8",
];
const FORM_TYPES = [
  "application/x-www-form-urlencoded",
  "application/x-www-form-urlencoded; charset=UTF-8",
  "APPLICATION/X-WWW-FORM-URLENCODED",
];
const REFUSED_TYPES: readonly (string | undefined)[] = [
  undefined,
  "",
  "text/plain",
  "text/event-stream",
  "application/json; charset=latin1",
  "application/json; charset=utf-16",
  "application/x-www-form-urlencoded; charset=iso-8859-1",
  "multipart/form-data; boundary=x",
  "application/jsonx",
  "application/json-patch+json",
  "application/json, text/plain",
  "json",
  "*/*",
];

type MediaKind = "json" | "form" | "unsupported";

function refuse(why: string, status?: number, code?: string): Prediction {
  return {
    verdict: "refuse",
    why,
    ...(status === undefined ? {} : { status }),
    ...(code === undefined ? {} : { code }),
  };
}

/** The prediction for a body of `kind`, from its bytes alone. */
export function predict(kind: MediaKind, body: Buffer, limits: FuzzLimits): Prediction {
  if (kind === "unsupported") {
    return refuse("unsupported content type", 415, "SSEHUB_ERR_PUBLISH_UNSUPPORTED_MEDIA_TYPE");
  }
  if (body.length > limits.maxBodyBytes) {
    return refuse("body over maxBodyBytes", 413, "SSEHUB_ERR_PUBLISH_TOO_LARGE");
  }
  let text: string;
  try {
    text = STRICT_UTF8.decode(body);
  } catch {
    return refuse("body is not UTF-8", 400, "SSEHUB_ERR_PUBLISH_MALFORMED");
  }
  if (kind === "form") return predictForm(text, limits);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return refuse("body is not JSON", 400, "SSEHUB_ERR_PUBLISH_MALFORMED");
  }
  if (!Array.isArray(value)) {
    const event = predictJsonEvent(value, limits);
    return "code" in event
      ? refuse(event.why, statusOf(event.code), event.code)
      : { verdict: "either", batch: false, events: [event] };
  }
  if (value.length === 0) return refuse("empty batch", 400, "SSEHUB_ERR_PUBLISH_MALFORMED");
  // The hub counts a batch before it checks its events.
  if (value.length > limits.maxBatchEvents) {
    return refuse("batch over maxBatchEvents", 413, "SSEHUB_ERR_PUBLISH_TOO_MANY_EVENTS");
  }
  const events: ExpectedEvent[] = [];
  for (const [index, item] of value.entries()) {
    const event = predictJsonEvent(item, limits);
    if ("code" in event) {
      // An earlier event whose data may be too deep to serialize may be refused first.
      const sure = !value.slice(0, index).some((earlier) => isDeep(earlier));
      return sure
        ? refuse(`batch event ${index}: ${event.why}`, statusOf(event.code), event.code)
        : refuse(`batch event ${index}: ${event.why}`);
    }
    events.push(event);
  }
  return { verdict: "either", batch: true, events };
}

/** Why the contract refuses an event, and the code it names for that mistake. */
interface Mistake {
  readonly why: string;
  /** Undefined when an earlier field may be refused first (data too deep to serialize). */
  readonly code: string | undefined;
}

const MALFORMED = "SSEHUB_ERR_PUBLISH_MALFORMED";
const TOPIC_MISSING = "SSEHUB_ERR_TOPIC_MISSING";
const TOPIC_INVALID = "SSEHUB_ERR_TOPIC_INVALID";
const INVALID_DATA = "SSEHUB_ERR_EVENT_INVALID_DATA";
const INVALID_TYPE = "SSEHUB_ERR_EVENT_INVALID_TYPE";
const INVALID_RETRY = "SSEHUB_ERR_EVENT_INVALID_RETRY";

const TOPIC_RESERVED = "SSEHUB_ERR_TOPIC_RESERVED";
const RESERVED_TYPE = "SSEHUB_ERR_EVENT_RESERVED_TYPE";

/** The status docs/errors.md gives a code of a publish mistake (400 unless said otherwise). */
function statusOf(code: string | undefined): number | undefined {
  if (code === undefined) return undefined;
  return code === TOPIC_RESERVED ? 403 : 400;
}

function mistake(why: string, code: string | undefined): Mistake {
  return { why, code };
}

/** Nesting past which serializing may overflow the stack, so that the data may be refused. */
const DEEP = 1000;

/** True when `value` nests deeper than DEEP (walked without recursion). */
function isDeep(value: unknown): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [item, depth] = stack.pop()!;
    if (depth > DEEP) return true;
    if (typeof item === "object" && item !== null) {
      for (const child of Object.values(item)) stack.push([child, depth + 1]);
    }
  }
  return false;
}

/** An ExpectedEvent, or the first mistake in the order the hub checks fields. */
function predictJsonEvent(item: unknown, limits: FuzzLimits): ExpectedEvent | Mistake {
  if (typeof item !== "object" || item === null || Array.isArray(item)) {
    return mistake("not an object", MALFORMED);
  }
  const fields = item as Record<string, unknown>;
  for (const key of Object.keys(fields)) {
    if (!JSON_FIELDS.has(key)) return mistake(`unknown field ${JSON.stringify(key)}`, MALFORMED);
  }
  const { topic, topics, data, event, retry, key, id } = fields;
  if (topic !== undefined && topics !== undefined) return mistake("topic and topics", MALFORMED);
  const list = topic !== undefined ? [topic] : topics;
  const topicProblem = checkTopics(list, limits);
  if (topicProblem !== undefined) return topicProblem;
  if (!Object.hasOwn(fields, "data")) return mistake("no data", INVALID_DATA);
  if (typeof data === "string" && LONE_SURROGATE.test(data)) {
    return mistake("lone surrogate in string data", INVALID_DATA);
  }
  // Data too deep to serialize is refused before the fields after it are looked at.
  const later = isDeep(data) ? (_code: string): undefined => undefined : (code: string) => code;
  if (event !== undefined && (typeof event !== "string" || LINE_BREAK.test(event))) {
    return mistake("event type not a string, or holds CR or LF", later(INVALID_TYPE));
  }
  if (typeof event === "string" && LONE_SURROGATE.test(event)) {
    return mistake("lone surrogate in event", later(INVALID_TYPE));
  }
  if (typeof event === "string") {
    const problem = checkEventType(event);
    if (problem !== undefined) return mistake(problem.why, problem.code && later(problem.code));
  }
  if (
    retry !== undefined &&
    (typeof retry !== "number" || !Number.isInteger(retry) || retry < 0 || retry > MAX_RETRY_MS)
  ) {
    return mistake("retry out of range", later(INVALID_RETRY));
  }
  if (
    key !== undefined &&
    (typeof key !== "string" || key.length === 0 || key.length > limits.maxTopicLength)
  ) {
    return mistake("key not a string of 1 to maxTopicLength characters", later(MALFORMED));
  }
  if (fields.private !== undefined && typeof fields.private !== "boolean") {
    return mistake("private not a boolean", later(MALFORMED));
  }
  const idProblem = checkId(id);
  if (idProblem !== undefined)
    return mistake(idProblem.why, idProblem.code && later(idProblem.code));
  if (data === null || typeof data !== "string") {
    // Any JSON value is serialized; one too deep for this process's stack may be refused.
    let text: string | undefined;
    try {
      text = JSON.stringify(data);
    } catch {
      text = undefined;
    }
    return expected(list as string[], fields.private === true, event, text, id, retry);
  }
  return expected(list as string[], fields.private === true, event, data, id, retry);
}

function checkTopics(list: unknown, limits: FuzzLimits): Mistake | undefined {
  if (list !== undefined && !Array.isArray(list))
    return mistake("topics not a list", TOPIC_INVALID);
  if (list === undefined || list.length === 0) return mistake("no topic", TOPIC_MISSING);
  if (new Set(list).size > limits.maxTopicsPerPublish) {
    return mistake("too many topics", "SSEHUB_ERR_PUBLISH_TOO_MANY_TOPICS");
  }
  for (const topic of list) {
    if (typeof topic !== "string") return mistake("topic not a string", TOPIC_INVALID);
    if (topic.length === 0 || topic.length > limits.maxTopicLength) {
      return mistake("topic length", TOPIC_INVALID);
    }
    if (TOPIC_FORBIDDEN.test(topic)) {
      return mistake("white space or control character in topic", TOPIC_INVALID);
    }
    if (LONE_SURROGATE.test(topic)) return mistake("lone surrogate in topic", TOPIC_INVALID);
  }
  // Every name is checked before any is looked up in the hub's namespace.
  for (const topic of list as string[]) {
    if (addressesHubNamespace(topic))
      return mistake("topic in the hub's namespace", TOPIC_RESERVED);
  }
  return undefined;
}

/**
 * Whether `topic` names `/.well-known/mercure` or a path below it, read as a URL reference:
 * escapes of unreserved characters decoded, backslashes as slashes, scheme and authority,
 * query and fragment dropped, repeated slashes collapsed, and dot segments removed by WHATWG's
 * URL parser (not by the hub's code). A topic not starting at the root is a plain name.
 */
function addressesHubNamespace(topic: string): boolean {
  const decoded = topic
    .replace(/%([0-9A-Fa-f]{2})/g, (percentEscape, hex: string) => {
      const char = String.fromCharCode(Number.parseInt(hex, 16));
      return /[A-Za-z0-9._~-]/.test(char) ? char : percentEscape;
    })
    .replaceAll("\\", "/");
  const withoutScheme = decoded.replace(/^[A-Za-z][A-Za-z0-9+.-]*:(?=\/)/, "");
  const pathAndMore = withoutScheme.startsWith("//")
    ? withoutScheme.replace(/^\/\/[^/?#]*/, "")
    : withoutScheme;
  if (!pathAndMore.startsWith("/")) return false;
  const path = pathAndMore.replace(/[?#].*$/s, "").replace(/\/{2,}/g, "/");
  const resolved = new URL(path, "http://hub.invalid").pathname;
  return resolved === "/.well-known/mercure" || resolved.startsWith("/.well-known/mercure/");
}

/** The mistake in an event type that is a well-formed string, if any, in the hub's order. */
function checkEventType(type: string): Mistake | undefined {
  if (INVISIBLE.test(type)) return mistake("control or format character in event", INVALID_TYPE);
  if (HUB_TYPE.test(type)) return mistake("event type of the hub's own", RESERVED_TYPE);
  return undefined;
}

function checkId(id: unknown): Mistake | undefined {
  const code = "SSEHUB_ERR_EVENT_INVALID_ID";
  if (id === undefined) return undefined;
  if (typeof id !== "string" || id.length === 0 || id.length > MAX_ID_LENGTH) {
    return mistake("id not a string of 1 to 1024 characters", code);
  }
  if (LINE_BREAK_OR_NUL.test(id)) return mistake("CR, LF or NUL in id", code);
  if (LONE_SURROGATE.test(id)) return mistake("lone surrogate in id", code);
  if (INVISIBLE.test(id)) return mistake("control or format character in id", code);
  if (id === "earliest") return mistake("the id earliest", code);
  if (id.slice(0, 11).toLowerCase() === "urn:ssehub:") {
    return mistake("an id of the hub's own", "SSEHUB_ERR_EVENT_RESERVED_ID");
  }
  return undefined;
}

function expected(
  topics: readonly string[],
  isPrivate: boolean,
  event: unknown,
  data: string | undefined,
  id: unknown,
  retry: unknown,
): ExpectedEvent {
  return {
    visible: !isPrivate && topics.some((topic) => SUBSCRIBED.has(topic)),
    event: typeof event === "string" && event !== "" ? event : undefined,
    data: data?.replace(ANY_LINE_BREAK, "\n"),
    id: typeof id === "string" ? id : undefined,
    retry: typeof retry === "number" ? retry : undefined,
  };
}

/**
 * A form, read as WHATWG's application/x-www-form-urlencoded parser reads it, except that a
 * percent-escape that does not decode to UTF-8 is refused (as raw bytes that are not UTF-8
 * are), never replaced by U+FFFD.
 */
function predictForm(text: string, limits: FuzzLimits): Prediction {
  const pairs: [string, string][] = [];
  for (const sequence of text.split("&")) {
    if (sequence === "") continue;
    const equals = sequence.indexOf("=");
    const name = equals === -1 ? sequence : sequence.slice(0, equals);
    const value = equals === -1 ? "" : sequence.slice(equals + 1);
    const decodedName = formDecode(name);
    const decodedValue = formDecode(value);
    if (decodedName === undefined || decodedValue === undefined) {
      return refuse("percent-escape that is not UTF-8", 400, "SSEHUB_ERR_PUBLISH_MALFORMED");
    }
    pairs.push([decodedName, decodedValue]);
  }
  const seen = new Map<string, string[]>();
  for (const [name, value] of pairs) {
    if (!FORM_FIELDS.has(name)) {
      return refuse(`unknown form field ${JSON.stringify(name)}`, 400, MALFORMED);
    }
    const values = seen.get(name) ?? [];
    values.push(value);
    seen.set(name, values);
  }
  for (const [name, values] of seen) {
    if (name !== "topic" && values.length > 1)
      return refuse(`form field ${name} twice`, 400, MALFORMED);
  }
  const topics = seen.get("topic") ?? [];
  const topicProblem = checkTopics(topics, limits);
  if (topicProblem !== undefined) {
    return refuse(topicProblem.why, statusOf(topicProblem.code), topicProblem.code);
  }
  const data = seen.get("data")?.[0];
  if (data === undefined) return refuse("no data", 400, INVALID_DATA);
  const type = seen.get("type")?.[0];
  if (type !== undefined && LINE_BREAK.test(type))
    return refuse("CR or LF in type", 400, INVALID_TYPE);
  const typeProblem = type === undefined ? undefined : checkEventType(type);
  if (typeProblem !== undefined) return refuse(typeProblem.why, 400, typeProblem.code);
  const retryText = seen.get("retry")?.[0];
  if (retryText !== undefined && (!DIGITS.test(retryText) || Number(retryText) > MAX_RETRY_MS)) {
    return refuse("retry not digits in range", 400, INVALID_RETRY);
  }
  const id = seen.get("id")?.[0];
  const idProblem = checkId(id);
  if (idProblem !== undefined) return refuse(idProblem.why, 400, idProblem.code);
  const event = expected(
    topics,
    seen.has("private"),
    type,
    data,
    id,
    retryText === undefined ? undefined : Number(retryText),
  );
  return { verdict: "either", batch: false, events: [event] };
}

const HEX = /^[0-9A-Fa-f]{2}$/;

/** `+` as space, `%XX` as byte XX (a stray `%` stays), then strict UTF-8; undefined if not. */
function formDecode(component: string): string | undefined {
  const bytes = Buffer.from(component.replaceAll("+", " "), "utf8");
  const out: number[] = [];
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i] as number;
    const hex = bytes.subarray(i + 1, i + 3).toString("latin1");
    if (byte === 0x25 && HEX.test(hex)) {
      out.push(Number.parseInt(hex, 16));
      i += 2;
    } else {
      out.push(byte);
    }
  }
  try {
    return STRICT_UTF8_KEEP_BOM.decode(Uint8Array.from(out));
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Generators. Each returns a content-type kind and body bytes; `makeCase` adds the prediction.
// ---------------------------------------------------------------------------------------------

interface Draft {
  readonly kind: string;
  readonly media: MediaKind;
  readonly body: Buffer | string;
}

const PROTO_PAYLOAD = '{"polluted":"yes","isAdmin":true}';

function topicName(rng: Random): string {
  return rng.weighted<() => string>([
    [16, () => rng.pick(SUBSCRIBED_TOPICS)],
    [2, () => rng.pick(INVALID_TOPICS)],
    [2, () => rng.text(12)],
    [1, () => rng.pick(RESERVED_TOPICS)],
    [1, () => rng.pick(LOOKALIKE_TOPICS)],
  ])();
}

/** Event types and ids a publisher may not use: the hub's own, and invisible characters. */
const RESERVED_TYPES = ["ssehub-reset", "ssehub-gap", "ssehub-", "SSEHUB-Reset", "ssehub-later"];
/** Ids in or near the hub's own forms: the keyword, its namespace (refused), and app ids (kept). */
const HOSTILE_IDS = [
  "earliest",
  "urn:ssehub:k3x9:1",
  "URN:SSEHUB:k3x9:1",
  "urn:ssehub:",
  "order-42",
  "k3x9-1",
  "urn:ssehubx:1",
];
const INVISIBLES = [
  "\0",
  "\u0001",
  "\u001b",
  "\u007f",
  "\u0085",
  "\u009f",
  "\u00ad",
  "\u200b",
  "\u200e",
  "\u2028",
  "\u2029",
  "\u2060",
  "\ufeff",
  "\u{e0001}",
];

/** `base` with an invisible character put somewhere in it. */
function withInvisible(rng: Random, base: string): string {
  const at = rng.int(base.length + 1);
  return `${base.slice(0, at)}${rng.pick(INVISIBLES)}${base.slice(at)}`;
}

/** A random JSON value as text, possibly with `__proto__` and friends as keys. */
function jsonValue(rng: Random, depth: number): string {
  const kind = depth > 3 ? rng.int(4) : rng.int(7);
  switch (kind) {
    case 0:
      return JSON.stringify(rng.text(40));
    case 1:
      return rng.pick(["0", "-0", "1e308", "-1.5e-300", "12345678901234567890", "3.14", "-7"]);
    case 2:
      return rng.pick(["true", "false"]);
    case 3:
      return "null";
    case 4:
    case 5: {
      const entries: string[] = [];
      for (let i = rng.int(4); i > 0; i--) {
        const key = rng.weighted<() => string>([
          [3, () => rng.text(8)],
          [1, () => rng.pick(["__proto__", "constructor", "prototype", "polluted"])],
        ])();
        entries.push(`${JSON.stringify(key)}:${jsonValue(rng, depth + 1)}`);
      }
      return `{${entries.join(",")}}`;
    }
    default: {
      const items: string[] = [];
      for (let i = rng.int(4); i > 0; i--) items.push(jsonValue(rng, depth + 1));
      return `[${items.join(",")}]`;
    }
  }
}

/** A JSON event object as text, its fields chosen at random, sometimes wrong. */
function jsonEvent(rng: Random, limits: FuzzLimits): string {
  const entries: [string, string][] = [];
  const topicShape = rng.weighted([
    [6, "topic"],
    [3, "topics"],
    [1, "both"],
    [1, "none"],
    [1, "bad-type"],
  ] as const);
  if (topicShape === "topic" || topicShape === "both") {
    entries.push(["topic", JSON.stringify(topicName(rng))]);
  }
  if (topicShape === "topics" || topicShape === "both") {
    const count = rng.chance(0.05) ? limits.maxTopicsPerPublish + 1 : rng.between(0, 4);
    const list = Array.from({ length: count }, (_, i) =>
      count > 4 ? `many-${i}` : topicName(rng),
    );
    entries.push(["topics", JSON.stringify(list)]);
  }
  if (topicShape === "bad-type") {
    entries.push([rng.pick(["topic", "topics"]), rng.pick(["1", "null", "{}", "[1]", "true"])]);
  }
  if (!rng.chance(0.04)) {
    entries.push([
      "data",
      rng.weighted<() => string>([
        [5, () => JSON.stringify(rng.text(120))],
        [3, () => jsonValue(rng, 0)],
        [1, () => `{"__proto__":${PROTO_PAYLOAD}}`],
        [1, () => '"\\ud800 lone"'],
      ])(),
    ]);
  }
  if (rng.chance(0.5)) {
    entries.push([
      "event",
      rng.weighted<() => string>([
        [5, () => JSON.stringify(rng.text(24))],
        [1, () => '""'],
        [1, () => rng.pick(["1", "null", "[]", "{}"])],
        [1, () => '"bad\\udc00"'],
        [1, () => JSON.stringify(rng.pick(RESERVED_TYPES))],
        [1, () => JSON.stringify(withInvisible(rng, "type"))],
      ])(),
    ]);
  }
  if (rng.chance(0.3)) {
    entries.push([
      "id",
      rng.weighted<() => string>([
        [5, () => JSON.stringify(rng.text(30))],
        [1, () => '""'],
        [1, () => JSON.stringify("i".repeat(MAX_ID_LENGTH + rng.between(-1, 1)))],
        [1, () => rng.pick(["1", "null", "[]"])],
        [1, () => '"earliest"'],
        [1, () => JSON.stringify(withInvisible(rng, "my-id"))],
      ])(),
    ]);
  }
  if (rng.chance(0.2)) {
    entries.push([
      "retry",
      rng.pick(["0", "1", "3000", "-1", "1.5", "2147483647", "2147483648", "1e400", '"5"', "null"]),
    ]);
  }
  if (rng.chance(0.15)) {
    entries.push([
      "key",
      rng.pick([
        JSON.stringify(rng.text(20)),
        '""',
        "1",
        JSON.stringify("k".repeat(limits.maxTopicLength + 1)),
        '"__proto__"',
      ]),
    ]);
  }
  if (rng.chance(0.15)) {
    entries.push(["private", rng.pick(["true", "false", '"yes"', "1", "null"])]);
  }
  if (rng.chance(0.06)) {
    entries.push([
      rng.pick(["__proto__", "constructor", "prototype", "Topic", "extra", "data ", ""]),
      rng.pick([PROTO_PAYLOAD, `{"prototype":${PROTO_PAYLOAD}}`, "1"]),
    ]);
  }
  if (rng.chance(0.05) && entries.length > 0) entries.push(rng.pick(entries)); // a duplicate key
  shuffle(rng, entries);
  return `{${entries.map(([key, value]) => `${JSON.stringify(key)}:${value}`).join(",")}}`;
}

/** Random text without the characters `forbidden` matches and without lone surrogates. */
function legalText(rng: Random, maxLength: number, forbidden?: RegExp): string {
  let text = rng.text(maxLength).replace(/\p{Surrogate}/gu, "\ufffd");
  if (forbidden !== undefined) text = text.replace(forbidden, "");
  return text;
}

/** A printable event type that is not the hub's: `ssehub-` becomes `x-ssehub-`. */
function legalType(rng: Random): string {
  const type = legalText(rng, 24, INVISIBLE_ALL);
  return HUB_TYPE.test(type) ? `x-${type}` : type;
}

/**
 * A JSON event the contract accepts, as an object: hostile but legal contents in every field
 * (control characters and forged SSE lines in data, `__proto__` as a topic, `mercure` and
 * `x-ssehub-reset` as event types), so that delivery is checked on what matters.
 */
function legalJsonFields(rng: Random): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  const topics = Array.from({ length: rng.between(1, 3) }, () =>
    rng.chance(0.9) ? rng.pick(SUBSCRIBED_TOPICS) : `other-${rng.plain(4)}`,
  );
  if (topics.length === 1 && rng.chance(0.6)) fields.topic = topics[0];
  else fields.topics = topics;
  fields.data = rng.weighted<() => unknown>([
    [5, () => legalText(rng, 200)],
    [2, () => JSON.parse(jsonValue(rng, 0)) as unknown],
    [1, () => ""],
  ])();
  if (rng.chance(0.5)) fields.event = legalType(rng);
  if (rng.chance(0.3)) {
    const id = legalText(rng, 40, INVISIBLE_ALL);
    fields.id = id === "" || id === "earliest" ? "i" : id.slice(0, MAX_ID_LENGTH);
  }
  if (rng.chance(0.2)) fields.retry = rng.pick([0, 1, 1500, MAX_RETRY_MS]);
  if (rng.chance(0.1)) fields.key = rng.plain(rng.between(1, 20));
  if (rng.chance(0.1)) fields.private = rng.chance(0.5);
  return fields;
}

function legalFormBody(rng: Random): string {
  const pairs: [string, string][] = [];
  for (let i = rng.between(1, 3); i > 0; i--) pairs.push(["topic", rng.pick(SUBSCRIBED_TOPICS)]);
  pairs.push(["data", legalText(rng, 200)]);
  if (rng.chance(0.5)) pairs.push(["type", legalType(rng)]);
  if (rng.chance(0.3)) pairs.push(["id", `${legalText(rng, 30, INVISIBLE_ALL)}i`]);
  if (rng.chance(0.2)) pairs.push(["retry", String(rng.between(0, 100_000))]);
  if (rng.chance(0.1)) pairs.push(["private", ""]);
  shuffle(rng, pairs);
  return pairs
    .map(([name, value]) => `${legalFormComponent(rng, name)}=${legalFormComponent(rng, value)}`)
    .join("&");
}

/** A form component encoded in one of the ways clients do, all of them faithful. */
function legalFormComponent(rng: Random, text: string): string {
  return rng.weighted<() => string>([
    [3, () => percentMinimal(text)],
    [3, () => new URLSearchParams([["x", text]]).toString().slice(2)],
    [2, () => percentAll(text)],
    [1, () => encodeURIComponent(text)],
  ])();
}

function shuffle<T>(rng: Random, items: T[]): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
}

/** Percent-encodes every byte of `text`'s UTF-8 form (lone surrogates become U+FFFD). */
function percentAll(text: string): string {
  let out = "";
  for (const byte of Buffer.from(text, "utf8")) out += `%${byte.toString(16).padStart(2, "0")}`;
  return out;
}

/** Escapes only what would break the form's structure; everything else goes raw. */
function percentMinimal(text: string): string {
  return text.replace(/[%&=+]/g, (char) => percentAll(char)).replaceAll(" ", "+");
}

const BAD_ESCAPES = ["%FF", "%C3", "%C0%AF", "%ED%A0%80", "%F4%90%80%80", "%E2%82", "%80"];

function formComponent(rng: Random, text: string): string {
  return rng.weighted<() => string>([
    [4, () => percentMinimal(text)],
    [3, () => new URLSearchParams([["x", text]]).toString().slice(2)],
    [2, () => percentAll(text)],
    [1, () => text], // raw: may split into other fields, which the prediction reads as such
    [1, () => `${percentMinimal(text)}${rng.pick(BAD_ESCAPES)}`],
  ])();
}

function formBody(rng: Random, limits: FuzzLimits): string {
  const pairs: [string, string][] = [];
  const topicCount = rng.weighted([
    [1, 0],
    [6, 1],
    [2, 3],
    [1, limits.maxTopicsPerPublish + 1],
  ] as const);
  for (let i = 0; i < topicCount; i++) {
    pairs.push(["topic", topicCount > 3 ? `many-${i}` : topicName(rng)]);
  }
  if (!rng.chance(0.05)) pairs.push(["data", rng.text(150)]);
  if (rng.chance(0.4)) {
    pairs.push([
      "type",
      rng.weighted<() => string>([
        [6, () => rng.text(20)],
        [1, () => rng.pick(RESERVED_TYPES)],
        [1, () => withInvisible(rng, "type")],
      ])(),
    ]);
  }
  if (rng.chance(0.2)) pairs.push(["retry", rng.pick(["0", "250", "007", "-1", "1.5", "1e3", ""])]);
  if (rng.chance(0.2)) {
    pairs.push([
      "id",
      rng.weighted<() => string>([
        [6, () => rng.text(20)],
        [1, () => "earliest"],
        [1, () => withInvisible(rng, "my-id")],
      ])(),
    ]);
  }
  if (rng.chance(0.1)) pairs.push(["private", rng.pick(["", "on", "false"])]);
  if (rng.chance(0.06)) {
    pairs.push([
      rng.pick(["__proto__", "__proto__[polluted]", "constructor[prototype][polluted]", "event"]),
      "yes",
    ]);
  }
  if (rng.chance(0.05) && pairs.length > 0) pairs.push(rng.pick(pairs));
  shuffle(rng, pairs);
  return pairs
    .map(([name, value]) => `${formComponent(rng, name)}=${formComponent(rng, value)}`)
    .join("&");
}

/** A JSON or form body whose size is `size` bytes exactly, the filler in `field`. */
function sizedBody(rng: Random, size: number): Draft {
  const media = rng.pick(["json", "form"] as const);
  const field = rng.pick(["data", "event", "id", "topic"] as const);
  if (media === "json") {
    const name = field === "event" ? "event" : field;
    const skeleton = (filler: string): string => {
      const fields: Record<string, string> = { topic: "t0", data: "x" };
      fields[name] = filler;
      return JSON.stringify(fields);
    };
    const overhead = Buffer.byteLength(skeleton(""));
    return { kind: `huge-json-${field}`, media, body: skeleton("y".repeat(size - overhead)) };
  }
  const name = field === "event" ? "type" : field;
  const skeleton = (filler: string): string => {
    const fields = new URLSearchParams({ topic: "t0", data: "x" });
    fields.set(name, filler);
    return fields.toString();
  };
  const overhead = Buffer.byteLength(skeleton(""));
  return { kind: `huge-form-${field}`, media, body: skeleton("y".repeat(size - overhead)) };
}

function deepBody(rng: Random): Draft {
  const depth = rng.pick([100, 4000, 10_000, 30_000]);
  const shape = rng.pick(["array-data", "object-data", "proto-data", "top-level"] as const);
  let nested: string;
  if (shape === "array-data" || shape === "top-level") {
    nested = `${"[".repeat(depth)}1${"]".repeat(depth)}`;
  } else {
    const key = shape === "proto-data" ? "__proto__" : "a";
    nested = `${`{"${key}":`.repeat(depth)}1${"}".repeat(depth)}`;
  }
  const body = shape === "top-level" ? nested : `{"topic":"t1","data":${nested}}`;
  return { kind: `deep-${shape}-${depth}`, media: "json", body };
}

const INVALID_UTF8: readonly number[][] = [
  [0xff],
  [0xc0, 0xaf],
  [0xed, 0xa0, 0x80],
  [0xf4, 0x90, 0x80, 0x80],
  [0xe2, 0x82],
  [0x80],
  [0xfe, 0xfe, 0xff, 0xff],
];

function invalidUtf8Body(rng: Random, limits: FuzzLimits): Draft {
  const media = rng.pick(["json", "form"] as const);
  const text = media === "json" ? jsonEvent(rng, limits) : formBody(rng, limits);
  const bytes = Buffer.from(text, "utf8");
  const at = rng.int(bytes.length + 1);
  const bad = Buffer.from(rng.pick(INVALID_UTF8));
  return {
    kind: `invalid-utf8-${media}`,
    media,
    body: Buffer.concat([bytes.subarray(0, at), bad, bytes.subarray(at)]),
  };
}

const BREAKERS = [
  "\r",
  "\n",
  "\r\n",
  "\0",
  "\n\ndata: forged\n\n",
  "\u2028",
  "\x1b",
  "\u0001",
  "\u0085",
  "\u200b",
  "\ufeff",
  "\u2060",
];

function controlCharBody(rng: Random): Draft {
  const breaker = rng.pick(BREAKERS);
  const media = rng.pick(["json", "form"] as const);
  const field = rng.pick(["topic", "event", "id", "data", "retry", "key"] as const);
  const spliced = (base: string): string => {
    const at = rng.int(base.length + 1);
    return `${base.slice(0, at)}${breaker}${base.slice(at)}`;
  };
  if (media === "json") {
    const fields: Record<string, unknown> = { topic: "t0", data: "plain", event: "e", id: "my-id" };
    fields[field] = field === "retry" ? spliced("1000") : spliced(String(fields[field] ?? "k"));
    return { kind: `control-json-${field}`, media, body: JSON.stringify(fields) };
  }
  const name = field === "event" ? "type" : field === "key" ? "id" : field;
  const fields = new URLSearchParams({ topic: "t0", data: "plain", type: "e" });
  fields.set(name, spliced(name === "retry" ? "1000" : (fields.get(name) ?? "my-id")));
  return { kind: `control-form-${name}`, media, body: fields.toString() };
}

/**
 * An otherwise good event that speaks in the hub's name or near it: a topic of its namespace or
 * one that only looks like it, an event type of its own, `mercure`, `x-ssehub-reset`, the id
 * `earliest`, an invisible character in the type or the id.
 */
function hostileNameBody(rng: Random): Draft {
  const fields: Record<string, string> = { topic: rng.pick(SUBSCRIBED_TOPICS), data: "x" };
  const twist = rng.pick(["topic", "lookalike", "type", "near-type", "id", "invisible"] as const);
  if (twist === "topic") fields.topic = rng.pick(RESERVED_TOPICS);
  if (twist === "lookalike") fields.topic = rng.pick(LOOKALIKE_TOPICS);
  if (twist === "type") fields.event = rng.pick(RESERVED_TYPES);
  if (twist === "near-type")
    fields.event = rng.pick(["mercure", "x-ssehub-reset", "ssehub", "reset"]);
  if (twist === "id") fields.id = rng.pick(HOSTILE_IDS);
  if (twist === "invisible") fields[rng.pick(["event", "id"])] = withInvisible(rng, "name");
  const media = rng.pick(["json", "form"] as const);
  if (media === "json")
    return { kind: `hostile-json-${twist}`, media, body: JSON.stringify(fields) };
  const { event, ...rest } = fields;
  const form = new URLSearchParams({ ...rest, ...(event === undefined ? {} : { type: event }) });
  return { kind: `hostile-form-${twist}`, media, body: form.toString() };
}

const PROTO_BODIES: readonly Draft[] = [
  {
    kind: "proto-top",
    media: "json",
    body: `{"__proto__":${PROTO_PAYLOAD},"topic":"t0","data":1}`,
  },
  {
    kind: "proto-data",
    media: "json",
    body: `{"topic":"t0","data":{"__proto__":${PROTO_PAYLOAD}}}`,
  },
  {
    kind: "proto-constructor",
    media: "json",
    body: `{"topic":"t0","data":"x","constructor":{"prototype":${PROTO_PAYLOAD}}}`,
  },
  {
    kind: "proto-batch",
    media: "json",
    body: `[{"topic":"t0","data":"x"},{"__proto__":${PROTO_PAYLOAD},"topic":"t0","data":"y"}]`,
  },
  {
    kind: "proto-names",
    media: "json",
    body: '{"topics":["__proto__","constructor","prototype"],"data":"x","event":"__proto__","id":"__proto__","key":"__proto__"}',
  },
  { kind: "proto-form-field", media: "form", body: "__proto__[polluted]=yes&topic=t0&data=x" },
  {
    kind: "proto-form-constructor",
    media: "form",
    body: "constructor%5Bprototype%5D%5Bpolluted%5D=yes&topic=t0&data=x",
  },
  { kind: "proto-form-topic", media: "form", body: "topic=__proto__&topic=constructor&data=x" },
];

/** Makes case `index` of the run seeded with `seed`. */
export function makeCase(seed: number, index: number, limits: FuzzLimits): PublishCase {
  const rng = new Random(mixSeed(seed, index));
  const draft = rng.weighted<() => Draft>([
    [10, () => ({ kind: "json-event", media: "json", body: jsonEvent(rng, limits) })],
    [10, () => ({ kind: "json-legal", media: "json", body: JSON.stringify(legalJsonFields(rng)) })],
    [6, () => ({ kind: "form-legal", media: "form", body: legalFormBody(rng) })],
    [
      4,
      () => {
        const count = rng.weighted([
          [6, rng.between(1, 5)],
          [1, limits.maxBatchEvents],
          [1, limits.maxBatchEvents + 1],
          [1, 0],
        ] as const);
        const items = Array.from({ length: count }, () =>
          rng.weighted<() => string>([
            [16, () => JSON.stringify(legalJsonFields(rng))],
            [2, () => jsonEvent(rng, limits)],
            [1, () => jsonValue(rng, 2)],
          ])(),
        );
        return { kind: "json-batch", media: "json", body: `[${items.join(",")}]` };
      },
    ],
    [8, () => ({ kind: "form", media: "form", body: formBody(rng, limits) })],
    [
      2,
      () => ({
        kind: "random-bytes",
        media: rng.pick(["json", "form", "unsupported"] as const),
        body: rng.bytes(rng.int(2000)),
      }),
    ],
    [
      2,
      () =>
        sizedBody(
          rng,
          limits.maxBodyBytes + rng.pick([-1000, -1, 0, 1, 1000, limits.maxBodyBytes]),
        ),
    ],
    [2, () => deepBody(rng)],
    [3, () => invalidUtf8Body(rng, limits)],
    [4, () => controlCharBody(rng)],
    [4, () => hostileNameBody(rng)],
    [2, () => rng.pick(PROTO_BODIES)],
    [
      2,
      () => ({
        kind: "wrong-content-type",
        media: "unsupported",
        body: rng.chance(0.5) ? jsonEvent(rng, limits) : formBody(rng, limits),
      }),
    ],
  ])();
  const body = typeof draft.body === "string" ? Buffer.from(draft.body, "utf8") : draft.body;
  const contentType =
    draft.media === "json"
      ? rng.pick(JSON_TYPES)
      : draft.media === "form"
        ? rng.pick(FORM_TYPES)
        : rng.pick(REFUSED_TYPES);
  return {
    kind: draft.kind,
    contentType,
    body,
    chunked: rng.chance(0.2),
    prediction: predict(draft.media, body, limits),
  };
}

/** The seed of case `index` of a run: independent streams, so one case replays alone. */
export function mixSeed(seed: number, index: number): number {
  return mix32(mix32(seed) ^ index);
}
