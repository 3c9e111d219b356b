/**
 * What a Mercure draft-08 access token allows, from its `authorization_details` claim
 * (RFC 9396; Mercure, section "Authorization Details"):
 *
 * ```json
 * { "authorization_details": [
 *   { "type": "mercure", "actions": ["subscribe"],
 *     "topics": [{ "match": "https://example.com/books/:id", "match_type": "urlpattern" }],
 *     "payload": { "tenant": "acme" } } ] }
 * ```
 *
 * Entries of another `type` belong to other resources and are skipped. A `mercure` entry is
 * either right or refused: any defect in one (a missing or empty `actions` or `topics`, a
 * non-string action, a matcher that is not an object, an unknown `match_type`, a pattern that
 * does not compile, a payload that is not an object, a limit passed) makes the whole token
 * invalid (SSEHUB_ERR_AUTH_INVALID, answered `invalid_token`), never half-accepted. Actions
 * other than `publish` and `subscribe` grant nothing and are no defect (the spec keeps them for
 * later revisions).
 *
 * The result is the Grants of the `mercure` claim (grants.ts), so that the hub checks both
 * drafts' rights the same way.
 * @module
 */
import { SsehubError } from "../errors.js";
import { type Grants, MAX_SELECTOR_LENGTH, MAX_SELECTORS_PER_CLAIM } from "./grants.js";
import type { TopicSelector } from "./topic-selector.js";
import { compileUrlPattern } from "./url-pattern.js";

/** The claim, as RFC 9396 names it. */
export const AUTHORIZATION_DETAILS_CLAIM = "authorization_details";
/** The authorization detail type Mercure defines. */
export const MERCURE_DETAIL_TYPE = "mercure";
/** The most `mercure` entries one token may carry. */
export const MAX_MERCURE_DETAILS = 100;
/** The actions a `mercure` entry may grant; others grant nothing. */
export type MercureAction = "publish" | "subscribe";
/** The matcher types this hub understands (`match_type`); `exact` is the default. */
export const MATCHER_TYPES = Object.freeze(["exact", "urlpattern"] as const);

/** The grants of a draft-08 token, with the payloads of its `subscribe` entries. */
export interface AccessTokenGrants extends Grants {
  /**
   * The `payload` of the first `subscribe` entry whose topics match `matcher` (a subscription's
   * own matcher, read as a topic), as Mercure's section "Payloads" says; undefined when none
   * matches or it has no payload.
   */
  payloadFor(matcher: string): unknown;
}

function detailsError(problem: string, cause?: unknown): SsehubError {
  return new SsehubError("SSEHUB_ERR_AUTH_INVALID", `Cannot accept the token: ${problem}`, {
    details: { reason: "invalid" },
    ...(cause === undefined ? {} : { cause }),
  });
}

/** `*`: every topic, whatever the matcher type (Mercure, section "Matcher Types"). */
const EVERY_TOPIC: TopicSelector = Object.freeze({ source: "*", matches: () => true });

/** Byte-for-byte: no template, no normalization (Mercure, section "Exact Matching"). */
function exactMatcher(match: string): TopicSelector {
  return Object.freeze({ source: match, matches: (topic: string) => topic === match });
}

function urlPatternMatcher(
  match: string,
  where: string,
  baseUrl: string | undefined,
): TopicSelector {
  let test: (topic: string) => boolean;
  try {
    test = compileUrlPattern(match, baseUrl);
  } catch (error) {
    throw detailsError(
      `${where} holds an invalid URL pattern (${(error as Error).message})`,
      error,
    );
  }
  return Object.freeze({ source: match, matches: test });
}

function isObject(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function matcherOf(entry: unknown, where: string, baseUrl: string | undefined): TopicSelector {
  if (!isObject(entry)) throw detailsError(`${where} must be an object with a "match" string`);
  const { match, match_type: type } = entry;
  if (typeof match !== "string" || match === "") {
    throw detailsError(`${where} must have a non-empty "match" string`);
  }
  if (match.length > MAX_SELECTOR_LENGTH) {
    throw detailsError(`${where} is longer than ${MAX_SELECTOR_LENGTH} characters`);
  }
  if (type !== undefined && !(MATCHER_TYPES as readonly unknown[]).includes(type)) {
    throw detailsError(
      `${where} has the match_type ${JSON.stringify(type)}: use ${MATCHER_TYPES.join(" or ")}`,
    );
  }
  if (match === "*") return EVERY_TOPIC;
  return type === "urlpattern" ? urlPatternMatcher(match, where, baseUrl) : exactMatcher(match);
}

interface MercureDetail {
  readonly actions: ReadonlySet<string>;
  readonly topics: readonly TopicSelector[];
  readonly payload: unknown;
}

function detailOf(
  entry: Readonly<Record<string, unknown>>,
  index: number,
  baseUrl: string | undefined,
): MercureDetail {
  const where = `authorization_details[${index}]`;
  const { actions, topics, payload } = entry;
  if (!Array.isArray(actions) || actions.length === 0) {
    throw detailsError(`${where} must have a non-empty "actions" array`);
  }
  if (!actions.every((action) => typeof action === "string")) {
    throw detailsError(`${where}.actions must hold strings only`);
  }
  if (!Array.isArray(topics) || topics.length === 0) {
    throw detailsError(`${where} must have a non-empty "topics" array`);
  }
  if (topics.length > MAX_SELECTORS_PER_CLAIM) {
    throw detailsError(
      `${where}.topics holds ${topics.length} matchers: at most ${MAX_SELECTORS_PER_CLAIM} are allowed`,
    );
  }
  if (payload !== undefined && !isObject(payload)) {
    throw detailsError(`${where}.payload must be a JSON object`);
  }
  return {
    actions: new Set(actions as string[]),
    topics: topics.map((topic, i) => matcherOf(topic, `${where}.topics[${i}]`, baseUrl)),
    payload,
  };
}

/**
 * Reads the grants of a verified draft-08 token's claims. A token without the claim, or
 * without a `mercure` entry, grants nothing. Throws SSEHUB_ERR_AUTH_INVALID when the claim or
 * one of its `mercure` entries is malformed.
 * @param allowedActions the actions this token's issuer may grant: an action outside them
 *   grants nothing (an issuer trusted for subscribers only cannot make a publisher).
 * @param baseUrl the hub's URL (its resource identifier): a relative URL pattern is resolved
 *   against it, as Mercure asks; without one, a relative pattern makes the token invalid.
 */
export function grantsOfAuthorizationDetails(
  payload: Readonly<Record<string, unknown>>,
  allowedActions: ReadonlySet<MercureAction> = new Set(["publish", "subscribe"]),
  baseUrl?: string,
): AccessTokenGrants {
  const claim = payload[AUTHORIZATION_DETAILS_CLAIM];
  const details: MercureDetail[] = [];
  if (claim !== undefined) {
    if (!Array.isArray(claim)) {
      throw detailsError(`its "${AUTHORIZATION_DETAILS_CLAIM}" claim must be an array`);
    }
    for (const [index, entry] of claim.entries()) {
      if (!isObject(entry) || typeof entry.type !== "string") {
        throw detailsError(
          `${AUTHORIZATION_DETAILS_CLAIM}[${index}] must be an object with a "type" string`,
        );
      }
      if (entry.type !== MERCURE_DETAIL_TYPE) continue;
      if (details.length === MAX_MERCURE_DETAILS) {
        throw detailsError(`it carries more than ${MAX_MERCURE_DETAILS} mercure entries`);
      }
      details.push(detailOf(entry, index, baseUrl));
    }
  }
  const granting = (action: MercureAction): readonly TopicSelector[] =>
    allowedActions.has(action)
      ? Object.freeze(details.filter((d) => d.actions.has(action)).flatMap((d) => d.topics))
      : Object.freeze([]);
  const subscribeDetails = allowedActions.has("subscribe")
    ? details.filter((detail) => detail.actions.has("subscribe"))
    : [];
  const payloadFor = (matcher: string): unknown =>
    subscribeDetails.find((detail) => detail.topics.some((topic) => topic.matches(matcher)))
      ?.payload;
  return Object.freeze({
    publish: granting("publish"),
    subscribe: granting("subscribe"),
    payload: subscribeDetails[0]?.payload,
    payloadFor,
  });
}
