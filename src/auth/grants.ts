/**
 * What a verified token allows, from its `mercure` claim (Mercure, section "Authorization"):
 *
 * ```json
 * { "mercure": { "publish": ["https://example.com/books/{id}"], "subscribe": ["*"],
 *                "payload": { "user": "https://example.com/users/dunglas" } } }
 * ```
 *
 * `publish` and `subscribe` hold topic selectors; `payload` any JSON the subscriber carries.
 * ssehub also reads the same claim under the name `ssehub`, for tokens minted for ssehub alone;
 * a token carrying both is refused, as its meaning would be unclear.
 *
 * A claim is either right or refused: a missing array grants nothing, but an array that is not
 * one, an entry that is not a string, or a selector that is not a valid template makes the whole
 * token invalid (SSEHUB_ERR_AUTH_INVALID), never half-accepted.
 * @module
 */
import { SsehubError } from "../errors.js";
import { compileTopicSelector, matchesAny, type TopicSelector } from "./topic-selector.js";

/** The name of the claim, as Mercure spells it. */
export const CLAIM = "mercure";
/** The other name ssehub accepts for the same claim. */
export const CLAIM_ALIAS = "ssehub";
/** The most selectors one list of a claim may hold. */
export const MAX_SELECTORS_PER_CLAIM = 1_000;
/** The longest selector a claim may hold. */
export const MAX_SELECTOR_LENGTH = 4_096; // characters

/** The rights of a token. */
export interface Grants {
  /** Topics it may publish to: an update is allowed when each of its topics matches one. */
  readonly publish: readonly TopicSelector[];
  /** Topics whose private updates it may receive. */
  readonly subscribe: readonly TopicSelector[];
  /** `mercure.payload`, as it came; undefined when absent. */
  readonly payload: unknown;
}

/** The grants of a token without the claim: nothing. */
export const NO_GRANTS: Grants = Object.freeze({
  publish: Object.freeze([]) as readonly TopicSelector[],
  subscribe: Object.freeze([]) as readonly TopicSelector[],
  payload: undefined,
});

function claimError(problem: string, cause?: unknown): SsehubError {
  return new SsehubError("SSEHUB_ERR_AUTH_INVALID", `Cannot accept the token: ${problem}`, {
    details: { reason: "invalid" },
    ...(cause === undefined ? {} : { cause }),
  });
}

function selectorsOf(claimName: string, key: string, value: unknown): readonly TopicSelector[] {
  if (value === undefined) return NO_GRANTS.publish;
  if (!Array.isArray(value)) {
    throw claimError(`its "${claimName}.${key}" claim must be an array of topic selectors`);
  }
  if (value.length > MAX_SELECTORS_PER_CLAIM) {
    throw claimError(
      `its "${claimName}.${key}" claim holds ${value.length} selectors: at most ${MAX_SELECTORS_PER_CLAIM} are allowed`,
    );
  }
  const selectors: TopicSelector[] = [];
  for (const entry of value) {
    if (typeof entry !== "string") {
      throw claimError(`its "${claimName}.${key}" claim must hold strings only`);
    }
    if (entry.length > MAX_SELECTOR_LENGTH) {
      throw claimError(
        `a selector of its "${claimName}.${key}" claim is longer than ${MAX_SELECTOR_LENGTH} characters`,
      );
    }
    try {
      selectors.push(compileTopicSelector(entry));
    } catch (error) {
      throw claimError(
        `its "${claimName}.${key}" claim holds an invalid topic selector (${(error as Error).message})`,
        error,
      );
    }
  }
  return Object.freeze(selectors);
}

/**
 * Reads the grants of a verified token's claims. A token without a `mercure` (or `ssehub`)
 * claim grants nothing. Throws SSEHUB_ERR_AUTH_INVALID when the claim is malformed.
 */
export function grantsOf(payload: Readonly<Record<string, unknown>>): Grants {
  const hasMercure = payload[CLAIM] !== undefined;
  const hasAlias = payload[CLAIM_ALIAS] !== undefined;
  if (hasMercure && hasAlias) {
    throw claimError(`it carries both a "${CLAIM}" and a "${CLAIM_ALIAS}" claim: keep one`);
  }
  if (!hasMercure && !hasAlias) return NO_GRANTS;
  const name = hasMercure ? CLAIM : CLAIM_ALIAS;
  const claim = payload[name];
  if (typeof claim !== "object" || claim === null || Array.isArray(claim)) {
    throw claimError(`its "${name}" claim must be an object`);
  }
  const fields = claim as Readonly<Record<string, unknown>>;
  return Object.freeze({
    publish: selectorsOf(name, "publish", fields.publish),
    subscribe: selectorsOf(name, "subscribe", fields.subscribe),
    payload: fields.payload,
  });
}

/**
 * True when `grants` allow publishing an update to `topics`: Mercure requires every topic of
 * the update to match at least one `publish` selector ("If the publisher is not authorized for
 * all the topics of an update, the hub MUST NOT dispatch the update"). No topic: false.
 */
export function canPublish(grants: Grants, topics: readonly string[]): boolean {
  if (topics.length === 0 || grants.publish.length === 0) return false;
  for (const topic of topics) if (!matchesAny(grants.publish, topic)) return false;
  return true;
}

/**
 * True when `grants` allow receiving the private updates of `topic`. Mercure dispatches a
 * private update with several topics when at least one of them passes this test.
 */
export function canSubscribe(grants: Grants, topic: string): boolean {
  return matchesAny(grants.subscribe, topic);
}
