/**
 * The draft-08 (Mercure hub 1.0) shapes of Mercure's active subscriptions: the paths of the
 * subscriptions API and the topics of subscription events, the subscription documents, the SSE
 * event type and the media type of the API. presence.ts keeps the draft-07 shapes beside them.
 *
 * - A subscription is one matcher of a stream: its type (`exact`, `urlpattern`) and its value.
 *   Its path, also the topic of its events, is
 *   `/.well-known/mercure/subscriptions/{match_type}/{match}/{subscriber}`, each variable
 *   percent-encoded once, whole (RFC 6570 simple expansion: `https://a/:id` becomes
 *   `https%3A%2F%2Fa%2F%3Aid`).
 * - Its document is plain JSON (Mercure 1.0 dropped JSON-LD): `id` (its path), `type`
 *   (`subscription`), `match_type`, `match`, `subscriber`, `active`, and `payload` when the token
 *   gave one. A collection is `id`, `type` (`subscriptions`), `last_event_id`, `subscriptions`.
 * - Its events carry the SSE event type `mercure`, which no publisher may use, so that a client
 *   sharing one EventSource between data and subscription events tells them apart with
 *   `addEventListener("mercure", ...)`.
 * @see https://mercure.rocks/spec#active-subscriptions
 * @module
 */
import { encodeSegment, SUBSCRIPTIONS_PATH } from "./subscription-path.js";

/** Draft-08's matcher types, as its paths and documents spell them. */
export const MATCH_TYPES = Object.freeze(["exact", "urlpattern"] as const);

/** A draft-08 matcher type. */
export type MatchType = (typeof MATCH_TYPES)[number];

/**
 * The SSE event type of draft-08 subscription events: the type Mercure keeps for itself, which
 * the hub route refuses from publishers (hub-route.ts, MERCURE_RESERVED_EVENT).
 */
export const SUBSCRIPTION_EVENT_TYPE = "mercure";

/** The media type of the draft-08 subscriptions API (Mercure hub 1.0's). */
export const SUBSCRIPTIONS_MEDIA_TYPE = "application/mercure+json";

/** True when `value` is a draft-08 matcher type, in its canonical (lower) case. */
export function isMatchType(value: string | undefined): value is MatchType {
  return value === "exact" || value === "urlpattern";
}

/** A draft-08 subscription as the API and the events show it. */
export interface SubscriptionDocument08 {
  /** The subscription's path, also the topic of its events. */
  readonly id: string;
  readonly type: "subscription";
  readonly match_type: MatchType;
  readonly match: string;
  /** The subscriber's id. */
  readonly subscriber: string;
  readonly active: boolean;
  /** The payload the subscriber's token attached to this matcher, when it has one. */
  readonly payload?: unknown;
}

/** A collection of draft-08 subscriptions. */
export interface SubscriptionCollection08 {
  /** The path of the collection. */
  readonly id: string;
  readonly type: "subscriptions";
  readonly last_event_id: string;
  readonly subscriptions: readonly SubscriptionDocument08[];
}

/**
 * The path of a draft-08 resource of the subscriptions API: the collection, the subscriptions
 * of one matcher, or one subscription (also the topic of its events).
 */
export function subscriptionsPath08(
  matchType?: MatchType,
  match?: string,
  subscriber?: string,
): string {
  if (matchType === undefined || match === undefined) return SUBSCRIPTIONS_PATH;
  const collection = `${SUBSCRIPTIONS_PATH}/${matchType}/${encodeSegment(match)}`;
  return subscriber === undefined ? collection : `${collection}/${encodeSegment(subscriber)}`;
}

/** The document of the subscription of `subscriber` to the matcher `match` of `matchType`. */
export function subscriptionDocument08(
  subscriber: string,
  matchType: MatchType,
  match: string,
  active: boolean,
  payload: unknown,
): SubscriptionDocument08 {
  return {
    id: subscriptionsPath08(matchType, match, subscriber),
    type: "subscription",
    match_type: matchType,
    match,
    subscriber,
    active,
    ...(payload === undefined ? {} : { payload }),
  };
}
