/**
 * Every rule of publish input, in one place. Each door maps what it receives onto a
 * PublishInput: `hub.publish()` takes one as it is, POST /publish maps a JSON body or a form
 * onto one, Mercure's route maps its form onto one. The hub then checks it here, so that one
 * mistake gets one code, and one message, whatever the door (docs/errors.md):
 *
 * | mistake | code |
 * |---|---|
 * | not an object, an unknown field, both `topic` and `topics`, a bad `key` or `private` | SSEHUB_ERR_PUBLISH_MALFORMED |
 * | no topic, or an empty list of them | SSEHUB_ERR_TOPIC_MISSING |
 * | `topics` not a list, a topic that is not a valid name (hub/topic-name.ts) | SSEHUB_ERR_TOPIC_INVALID |
 * | more topics than `maxTopicsPerPublish` | SSEHUB_ERR_PUBLISH_TOO_MANY_TOPICS |
 * | a topic in the hub's own namespace, `/.well-known/mercure` and below, however spelled (hub/reserved-topic.ts) | SSEHUB_ERR_TOPIC_RESERVED (403) |
 * | no `data`, data JSON cannot serialize, string data with a lone surrogate | SSEHUB_ERR_EVENT_INVALID_DATA |
 * | `event` not a string, or holding a control or format character (CR, LF, NUL, U+0085, U+200B...) or a lone surrogate | SSEHUB_ERR_EVENT_INVALID_TYPE |
 * | `event` starting with `ssehub-` in any case, the prefix of the hub's own notices | SSEHUB_ERR_EVENT_RESERVED_TYPE |
 * | `retry` not an integer from 0 to 2147483647 | SSEHUB_ERR_EVENT_INVALID_RETRY |
 * | `id` not 1 to 1024 characters, holding a control or format character or a lone surrogate, `earliest`, or of the hub's form | SSEHUB_ERR_EVENT_INVALID_ID |
 * | `idempotencyKey` not 1 to 255 characters among `A-Z a-z 0-9 - _ . : ~ + / = @` | SSEHUB_ERR_PUBLISH_IDEMPOTENCY_KEY_INVALID |
 * | `idempotencyKey` on an event of a batch (the batch's key is one, in its options) | SSEHUB_ERR_PUBLISH_MALFORMED |
 *
 * Only the hub itself may publish in its namespace (its Mercure subscription events): it
 * passes `author: "hub"`, which no door hands to a publisher (see Hub's PUBLISH_AS_HUB).
 *
 * Text that UTF-8 cannot carry (a lone surrogate, which JSON can escape as `"\ud800"` and a
 * library caller can pass) is refused wherever it would reach the wire as text, never replaced
 * by U+FFFD: subscribers get exactly what was published.
 * @module
 */
import { SsehubError } from "../errors.js";
import type { PreparedEvent } from "../history/stored-event.js";
import { serializeData } from "../protocol/encode.js";
import { EVENT_ID_PREFIX, isHubIdNamespace } from "../protocol/event-id.js";
import {
  assertValidEventType,
  assertValidId,
  assertValidRetry,
  findControlOrFormat,
  isWellFormed,
} from "../protocol/field-rules.js";
import { HUB_EVENT_PREFIX, isHubEventType } from "../protocol/hub-events.js";
import type { TraceContext } from "../protocol/trace-context.js";
import { HUB_TOPIC_NAMESPACE, isReservedTopic, SSEHUB_TOPIC_NAMESPACE } from "./reserved-topic.js";
import { checkTopicList } from "./topic-name.js";
import { EARLIEST } from "./types.js";

/**
 * Stage 1 of an event's life, input: one event as a publisher gives it. Its fields are typed for
 * callers, but the hub trusts none of them (a JSON body reaches it as it was parsed): they are
 * checked by preparePublish, which makes the PreparedEvent (stage 2) of it.
 */
export interface PublishInput {
  /** The topic; give `topic` or `topics`. */
  readonly topic?: string;
  /** Several topics: the event gets one id and reaches each subscriber once. */
  readonly topics?: readonly string[];
  /** A string, sent as it is, or any JSON value, serialized. */
  readonly data: unknown;
  /**
   * Event type; the default is `message`. Printable (no control or format character), and not
   * starting with `ssehub-`, the prefix of the hub's own notices.
   */
  readonly event?: string;
  /** Reconnection delay to set on clients, in ms. */
  readonly retry?: number;
  /**
   * Conflation key: under policy `conflate` a lagging subscriber gets only the newest event per
   * key. Default: the event's topics.
   */
  readonly key?: string;
  /**
   * Private: delivered only to subscribers whose grants match one of its topics (see
   * SubscribeRequest.access). Default false.
   */
  readonly private?: boolean;
  /**
   * The event's id, chosen by the publisher (as Mercure allows), sent instead of
   * `urn:ssehub:<epoch>:<seq>` and answered back; a client resumes from it like from any id.
   * Printable: no control or format character (CR, LF, NUL, U+0085, U+200B...); not `earliest`;
   * not starting with `urn:ssehub:` (SSEHUB_ERR_EVENT_RESERVED_ID). The hub does
   * not check that ids are unique: the newest event with an id wins.
   */
  readonly id?: string;
  /**
   * Makes the publish safe to retry: within `idempotencyWindowMs`, a publish with the same key
   * and the same event is not published again and answers the first publish's id; the same
   * key with another event is refused (SSEHUB_ERR_PUBLISH_IDEMPOTENCY_KEY_REUSED). Keys are
   * shared by every publisher of the hub: use a random one (a UUID) per publish. 1 to 255
   * characters among `A-Z a-z 0-9 - _ . : ~ + / = @`. Not allowed on the events of a batch:
   * see PublishBatchOptions.
   */
  readonly idempotencyKey?: string;
}

/** Options of a publish, besides its event. */
export interface PublishOptions {
  /**
   * The publish's W3C trace context (docs/tracing.md): its events carry it to every process
   * that delivers them, whose spans join the trace. Default: the caller's active span when an
   * OpenTelemetry SDK is registered, else none. POST /publish takes it from `traceparent`.
   */
  readonly trace?: TraceContext | undefined;
}

/** Options of a batch publish. */
export interface PublishBatchOptions extends PublishOptions {
  /**
   * The batch's idempotency key: the batch is one unit, remembered under the key with its
   * events; a retry of the same batch answers the same ids (see PublishInput.idempotencyKey).
   */
  readonly idempotencyKey?: string;
}

/** The fields a PublishInput may have; any other is refused by name. */
export const PUBLISH_INPUT_KEYS: readonly (keyof PublishInput)[] = Object.freeze([
  "topic",
  "topics",
  "data",
  "event",
  "retry",
  "key",
  "private",
  "id",
  "idempotencyKey",
]);
const KEYS: ReadonlySet<string> = new Set(PUBLISH_INPUT_KEYS);

/** Longest id a publisher may give, in characters. */
export const MAX_PUBLISHER_ID_LENGTH = 1024;

/** Longest idempotency key, in characters (Stripe's bound; the IETF draft sets none). */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 255;
/** What an idempotency key may hold: enough for UUIDs, ULIDs, base64 and `order:42`. */
const IDEMPOTENCY_KEY_PATTERN = /^[A-Za-z0-9\-_.:~+/=@]+$/;

/** The limits the rules read; a hub passes its resolved options. */
export interface PublishLimits {
  /** Most topics one event may name. */
  readonly maxTopicsPerPublish: number;
  /** Longest topic name, and longest `key`, in characters. */
  readonly maxTopicLength: number;
}

/**
 * Who speaks: a publisher (every door: the library, POST /publish, Mercure), or the hub itself,
 * which alone may publish in its own topic namespace.
 */
export type PublishAuthor = "publisher" | "hub";

function malformed(where: string, problem: string, field?: string): SsehubError {
  return new SsehubError(
    "SSEHUB_ERR_PUBLISH_MALFORMED",
    `Cannot publish ${where}: ${problem}`,
    field === undefined ? undefined : { details: { field } },
  );
}

/**
 * Checks `input` against every rule (see the module comment) and returns it prepared: its data
 * serialized once, its topics without duplicates, every field present. Throws SsehubError.
 * @param where names the input in messages: "the event", or "event 3" within a batch
 * @param author "hub" only for the hub's own events: they may use its reserved topics
 * @param trace the publish's trace context, carried by the prepared event
 */
export function preparePublish(
  input: PublishInput,
  limits: PublishLimits,
  where = "the event",
  author: PublishAuthor = "publisher",
  trace?: TraceContext,
): PreparedEvent {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    throw malformed(where, "expected an object with topic or topics, and data");
  }
  for (const key of Object.keys(input)) {
    if (!KEYS.has(key)) {
      throw malformed(
        where,
        `unknown field ${JSON.stringify(key)}: allowed fields are ${PUBLISH_INPUT_KEYS.join(", ")}`,
        key,
      );
    }
  }
  if (input.topic !== undefined && input.topics !== undefined) {
    throw malformed(where, "give topic or topics, not both");
  }
  const topics = checkTopicList(input.topic !== undefined ? [input.topic] : input.topics, {
    action: "publish",
    maxTopics: limits.maxTopicsPerPublish,
    maxTopicLength: limits.maxTopicLength,
  });
  // Checked here, carried by the hub: the key is the publish's, not a field of the event.
  checkIdempotencyKey(input.idempotencyKey, where);
  if (author === "publisher") checkNotReserved(topics, where);
  return {
    topics,
    data: checkData(input.data, where),
    event: checkEvent(input.event, where),
    retry: checkRetry(input.retry),
    key: checkKey(input.key, limits, where),
    private: checkPrivate(input.private, where),
    id: checkId(input.id, where),
    trace,
  };
}

/**
 * Checks an idempotency key (see PublishInput.idempotencyKey) and returns it. Throws
 * SSEHUB_ERR_PUBLISH_IDEMPOTENCY_KEY_INVALID.
 * @param where names the publish in messages
 */
export function checkIdempotencyKey(key: unknown, where = "the event"): string | undefined {
  if (key === undefined) return undefined;
  if (
    typeof key !== "string" ||
    key.length === 0 ||
    key.length > MAX_IDEMPOTENCY_KEY_LENGTH ||
    !IDEMPOTENCY_KEY_PATTERN.test(key)
  ) {
    const shown = typeof key === "string" ? JSON.stringify(key.slice(0, 64)) : typeof key;
    throw new SsehubError(
      "SSEHUB_ERR_PUBLISH_IDEMPOTENCY_KEY_INVALID",
      `Cannot publish ${where} with the idempotency key ${shown}: a key is 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} characters among A-Z a-z 0-9 - _ . : ~ + / = @ (a UUID fits)`,
      { details: { field: "idempotencyKey" } },
    );
  }
  return key;
}

/**
 * The idempotency key of a batch, checked: the one in its options, never one on its events (a
 * batch is one unit). Throws SSEHUB_ERR_PUBLISH_IDEMPOTENCY_KEY_INVALID, or
 * SSEHUB_ERR_PUBLISH_MALFORMED for a key on an event.
 */
export function batchIdempotencyKey(
  inputs: readonly PublishInput[],
  options: PublishBatchOptions | undefined,
): string | undefined {
  inputs.forEach((input, i) => {
    if (typeof input === "object" && input !== null && input.idempotencyKey !== undefined) {
      throw malformed(
        `event ${i}`,
        "idempotencyKey belongs to the whole batch: give it once, as the batch's idempotencyKey option (over HTTP, the Idempotency-Key header)",
        "idempotencyKey",
      );
    }
  });
  return checkIdempotencyKey(options?.idempotencyKey, "the batch");
}

function checkNotReserved(topics: readonly string[], where: string): void {
  for (const topic of topics) {
    if (!isReservedTopic(topic)) continue;
    throw new SsehubError(
      "SSEHUB_ERR_TOPIC_RESERVED",
      `Cannot publish ${where} to topic ${JSON.stringify(topic)}: ${HUB_TOPIC_NAMESPACE}, ${SSEHUB_TOPIC_NAMESPACE} and the paths below them are the hub's own topics`,
      { details: { topic } },
    );
  }
}

function checkData(data: unknown, where: string): string {
  if (data === undefined) {
    throw new SsehubError(
      "SSEHUB_ERR_EVENT_INVALID_DATA",
      `Cannot publish ${where}: data is required`,
      {
        details: { field: "data" },
      },
    );
  }
  const text = serializeData(data);
  // JSON.stringify escapes lone surrogates, so only string data can hold one.
  if (typeof data === "string" && !isWellFormed(text)) {
    throw loneSurrogate("SSEHUB_ERR_EVENT_INVALID_DATA", "data", where);
  }
  return text;
}

function checkEvent(event: unknown, where: string): string | undefined {
  if (event === undefined) return undefined;
  if (typeof event !== "string") {
    throw new SsehubError(
      "SSEHUB_ERR_EVENT_INVALID_TYPE",
      `Cannot publish ${where}: event must be a string, got ${typeof event}`,
    );
  }
  assertValidEventType(event);
  assertPrintable(event, "event", where);
  if (isHubEventType(event)) {
    throw new SsehubError(
      "SSEHUB_ERR_EVENT_RESERVED_TYPE",
      `Cannot publish ${where} with event type ${JSON.stringify(event)}: types starting with ${HUB_EVENT_PREFIX} are the hub's own notices`,
      { details: { reservedPrefix: HUB_EVENT_PREFIX } },
    );
  }
  return event;
}

/** How ids and event types are named in messages, and the code of each. */
const PRINTABLE_FIELDS = {
  event: { code: "SSEHUB_ERR_EVENT_INVALID_TYPE", name: "the event type", noun: "an event type" },
  id: { code: "SSEHUB_ERR_EVENT_INVALID_ID", name: "the id", noun: "an id" },
} as const;

/**
 * The text rules that ids and event types share beyond the wire's: UTF-8 can carry them (no
 * lone surrogate), and they hold no control or format character, which a reader could not see.
 */
function assertPrintable(value: string, field: keyof typeof PRINTABLE_FIELDS, where: string): void {
  const { code, name, noun } = PRINTABLE_FIELDS[field];
  if (!isWellFormed(value)) throw loneSurrogate(code, field, where);
  const invisible = findControlOrFormat(value);
  if (invisible !== undefined) {
    throw new SsehubError(
      code,
      `Cannot publish ${where}: ${name} ${JSON.stringify(value)} holds ${invisible}, a control or format character: ${noun} must be printable`,
    );
  }
}

function checkRetry(retry: unknown): number | undefined {
  if (retry === undefined) return undefined;
  assertValidRetry(retry);
  return retry;
}

function checkKey(key: unknown, limits: PublishLimits, where: string): string | undefined {
  if (key === undefined) return undefined;
  if (typeof key !== "string" || key.length === 0 || key.length > limits.maxTopicLength) {
    throw malformed(where, `key must be a string of 1 to ${limits.maxTopicLength} characters`);
  }
  return key;
}

function checkPrivate(value: unknown, where: string): boolean {
  if (value === undefined) return false;
  if (typeof value !== "boolean") throw malformed(where, "private must be true or false");
  return value;
}

function checkId(id: unknown, where: string): string | undefined {
  if (id === undefined) return undefined;
  if (typeof id !== "string" || id.length === 0 || id.length > MAX_PUBLISHER_ID_LENGTH) {
    throw new SsehubError(
      "SSEHUB_ERR_EVENT_INVALID_ID",
      `Cannot publish ${where}: id must be a string of 1 to ${MAX_PUBLISHER_ID_LENGTH} characters`,
    );
  }
  assertValidId(id);
  assertPrintable(id, "id", where);
  if (id === EARLIEST) {
    // A client resuming from it would get the whole history instead of what follows it.
    throw new SsehubError(
      "SSEHUB_ERR_EVENT_INVALID_ID",
      `Cannot publish ${where} with the id ${JSON.stringify(id)}: it is the keyword that asks for all the history kept`,
    );
  }
  if (isHubIdNamespace(id)) {
    // Such an id would be read back as a position in the hub's own order on resume.
    throw new SsehubError(
      "SSEHUB_ERR_EVENT_RESERVED_ID",
      `Cannot publish ${where} with the id ${JSON.stringify(id)}: ids starting with ${JSON.stringify(EVENT_ID_PREFIX)} are the hub's own; choose another`,
    );
  }
  return id;
}

function loneSurrogate(
  code:
    | "SSEHUB_ERR_EVENT_INVALID_DATA"
    | "SSEHUB_ERR_EVENT_INVALID_TYPE"
    | "SSEHUB_ERR_EVENT_INVALID_ID",
  what: string,
  where: string,
): SsehubError {
  return new SsehubError(
    code,
    `Cannot publish ${where}: ${what} holds a lone surrogate (an escape such as \\ud800 without its pair), which UTF-8 cannot carry`,
  );
}
