/**
 * Mercure's subscriptions API (section "Subscription API"), served when `subscriptionEvents` is
 * on, as Mercure serves it under its `subscriptions` directive, in both drafts' shapes:
 *
 * | path under `/.well-known/mercure/subscriptions` | draft | answers |
 * | --- | --- | --- |
 * | (none) | either, see below | every active subscription of that draft |
 * | `/{match_type}/{match}` | draft-08 | those of one matcher |
 * | `/{match_type}/{match}/{subscriber}` | draft-08 | one subscription, or 404 |
 * | `/{topic}` | draft-07 | those of one topic selector |
 * | `/{topic}/{subscriber}` | draft-07 | one subscription, or 404 |
 *
 * Every variable is a percent-encoded path segment; `{match_type}` is `exact` or `urlpattern`.
 * A subscription belongs to the draft its stream was opened with (presence.ts), and each draft's
 * API lists its own: what a client lists is what the events of its draft then tell it about.
 *
 * Which draft a request speaks: its path's shape where the shape tells (three segments, or two
 * whose first is a matcher type: draft-08; one, or two others: draft-07; so the draft-07
 * subscription of the topic selector `exact` or `urlpattern` is read as draft-08 where the hub
 * speaks it). For the collection itself: the hub's `mercureProtocol` when it speaks one draft;
 * with `both`, draft-08 when the `Accept` header asks for `application/mercure+json` (and not
 * `application/ld+json`), else draft-07, so that a draft-07 client sees what it always saw. A
 * path of a draft the hub does not speak answers 404.
 *
 * Draft-08 answers are plain JSON (`application/mercure+json`), with `last_event_id`; draft-07
 * answers JSON-LD (`application/ld+json`) with `lastEventID`. Either id is the newest event of
 * the hub at the time of the request (`earliest` when none): subscribe to the subscription
 * events from it and nothing is missed between the list and the events. With CORS on, a script
 * may read the `Link` header (`Access-Control-Expose-Headers`).
 *
 * Access: a token that grants `subscribe` on the requested path, as the hub names it (the path
 * without its query, percent-encoded as the hub encodes it), whatever `anonymousSubscribe` says:
 * draft-07 claims or draft-08 access tokens, as mercureAuthorizerFor chooses for the hub's
 * `mercureProtocol` (mercure-access.ts).
 * @see https://mercure.rocks/spec#subscription-api
 * @module
 */

import { SsehubError } from "../errors.js";
import { mercureAuthorizerFor } from "../http/access/mercure-access.js";
import type { Route, RouteContext } from "../http/routes/route.js";
import { EARLIEST } from "../hub/types.js";
import { MERCURE_PATH, mercureLink } from "./hub-route.js";
import {
  JSONLD_CONTEXT,
  type MercurePresence,
  SUBSCRIPTIONS_PATH,
  type SubscriptionDocument,
  type SubscriptionFilter,
  subscriptionsPath,
} from "./presence.js";
import type { MercureDraft, MercureProtocol } from "./protocol-version.js";
import {
  isMatchType,
  MATCH_TYPES,
  type MatchType,
  SUBSCRIPTIONS_MEDIA_TYPE,
  type SubscriptionCollection08,
  type SubscriptionDocument08,
  subscriptionsPath08,
} from "./subscription-08.js";

/** The Link header of every answer: the hub serving these subscriptions (Mercure's examples). */
const LINK = mercureLink(MERCURE_PATH);

/** The draft-07 media type of the API. */
const JSONLD_MEDIA_TYPE = "application/ld+json";

/** Response headers a cross-origin script may read on the subscriptions API. */
export const SUBSCRIPTIONS_EXPOSED_HEADERS = "Link";

/** A draft-07 collection of subscriptions (Mercure draft-07, section "Subscription API"). */
export interface SubscriptionCollection {
  readonly "@context": string;
  /** The path of the collection. */
  readonly id: string;
  readonly type: "Subscriptions";
  readonly lastEventID: string;
  readonly subscriptions: readonly SubscriptionDocument[];
}

/** Which resource a request names, in which draft. */
type Target =
  | { readonly draft: "draft-07"; readonly topic?: string; readonly subscriber?: string }
  | {
      readonly draft: "draft-08";
      readonly matchType?: MatchType;
      readonly match?: string;
      readonly subscriber?: string;
    };

function notFound(param: string, hint: string): SsehubError {
  return new SsehubError(
    "SSEHUB_ERR_ROUTE_NOT_FOUND",
    `Cannot find ${JSON.stringify(`${SUBSCRIPTIONS_PATH}/${param}`)}: ${hint}`,
  );
}

const DRAFT_08_SHAPES = `${SUBSCRIPTIONS_PATH}/<match_type>/<match>[/<subscriber>] (match_type: ${MATCH_TYPES.join(" or ")})`;
const DRAFT_07_SHAPES = `${SUBSCRIPTIONS_PATH}/<topic>[/<subscriber>]`;

function decoded(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch (cause) {
    throw new SsehubError(
      "SSEHUB_ERR_TOPIC_INVALID",
      `Cannot read ${JSON.stringify(segment)}: its percent-encoding is broken`,
      { cause },
    );
  }
}

/**
 * Reads the path segments after `/.well-known/mercure/subscriptions/` (`param`, as sent), for a
 * hub speaking `protocol`; the collection itself when there is none. Throws 404 for another
 * shape, 400 for a broken percent-encoding.
 */
function targetOf(
  param: string | undefined,
  protocol: MercureProtocol,
  collectionDraft: () => MercureDraft,
): Target {
  if (param === undefined) return { draft: collectionDraft() };
  const segments = param.split("/");
  const shapes =
    protocol === "draft-08"
      ? DRAFT_08_SHAPES
      : protocol === "draft-07"
        ? DRAFT_07_SHAPES
        : `${DRAFT_08_SHAPES} or ${DRAFT_07_SHAPES}`;
  if (segments.length > 3 || segments.includes("")) {
    throw notFound(param, `use ${SUBSCRIPTIONS_PATH} or ${shapes}, each segment percent-encoded`);
  }
  const [first, second, third] = segments as [string, string?, string?];
  const draft08 =
    protocol !== "draft-07" &&
    (segments.length === 3 || (segments.length === 2 && isMatchType(first)));
  if (draft08) {
    if (!isMatchType(first)) {
      throw notFound(param, `${JSON.stringify(first)} is no matcher type: use ${shapes}`);
    }
    return {
      draft: "draft-08",
      matchType: first,
      match: decoded(second as string),
      ...(third === undefined ? {} : { subscriber: decoded(third) }),
    };
  }
  if (protocol === "draft-08" || segments.length === 3) {
    throw notFound(param, `use ${shapes}, each segment percent-encoded`);
  }
  return {
    draft: "draft-07",
    topic: decoded(first),
    ...(second === undefined ? {} : { subscriber: decoded(second) }),
  };
}

/** The path of `target` as the hub names it, so that `%7b` and `%7B` are one resource. */
function pathOf(target: Target): string {
  return target.draft === "draft-07"
    ? subscriptionsPath(target.topic, target.subscriber)
    : subscriptionsPath08(target.matchType, target.match, target.subscriber);
}

/**
 * The draft of a request for the collection itself on a hub speaking both drafts: draft-08 when
 * its `Accept` header names draft-08's media type and not draft-07's, else draft-07 (what such
 * a request always got). Its credentials do not decide it: they say how it is authorized, not
 * which shape it reads (a draft-07 client may hold an access token, and the other way round).
 */
function collectionDraftOf(ctx: RouteContext): MercureDraft {
  const accept = ctx.req.headers.accept?.toLowerCase() ?? "";
  return accept.includes(SUBSCRIPTIONS_MEDIA_TYPE) && !accept.includes(JSONLD_MEDIA_TYPE)
    ? "draft-08"
    : "draft-07";
}

/**
 * The subscriptions API route, answering from `presence` (undefined while Mercure's active
 * subscriptions are off: every request then answers 404), in the drafts `protocol` accepts.
 * The handler maps the exact path and its subpaths here.
 */
export function createSubscriptionsRoute(
  presence: MercurePresence | undefined,
  protocol: MercureProtocol = "both",
): Route {
  return { methods: ["GET"], handle: (ctx) => answer(ctx, presence, protocol) };
}

async function answer(
  ctx: RouteContext,
  presence: MercurePresence | undefined,
  protocol: MercureProtocol,
): Promise<void> {
  if (ctx.res.hasHeader("Access-Control-Allow-Origin")) {
    ctx.res.setHeader("Access-Control-Expose-Headers", SUBSCRIPTIONS_EXPOSED_HEADERS);
  }
  if (presence === undefined) {
    throw new SsehubError(
      "SSEHUB_ERR_ROUTE_NOT_FOUND",
      `Cannot find ${SUBSCRIPTIONS_PATH}: Mercure's active subscriptions are off (turn on subscriptionEvents)`,
    );
  }
  const target = targetOf(ctx.param, protocol, () =>
    protocol === "both" ? collectionDraftOf(ctx) : protocol,
  );
  const path = pathOf(target);
  const auth = mercureAuthorizerFor(ctx.auth, protocol, ctx.req, ctx.query);
  await auth.subscriptionsReader(ctx.req, ctx.query, path);
  // After the check: who may not read a subscription does not learn whether it exists.
  const lastEventId = ctx.hub.lastEventId ?? EARLIEST;
  if (target.draft === "draft-08") answer08(ctx, presence, target, path, lastEventId);
  else answer07(ctx, presence, target, path, lastEventId);
}

function answer07(
  ctx: RouteContext,
  presence: MercurePresence,
  target: Extract<Target, { draft: "draft-07" }>,
  path: string,
  lastEventID: string,
): void {
  const { topic, subscriber } = target;
  if (topic !== undefined && subscriber !== undefined) {
    const found = presence.find(topic, subscriber);
    if (found === undefined) throw subscriptionNotFound(subscriber, topic);
    send(ctx, JSONLD_MEDIA_TYPE, { ...found, lastEventID });
    return;
  }
  const collection: SubscriptionCollection = {
    "@context": JSONLD_CONTEXT,
    id: path,
    type: "Subscriptions",
    lastEventID,
    subscriptions: presence.list(topic),
  };
  send(ctx, JSONLD_MEDIA_TYPE, collection);
}

function answer08(
  ctx: RouteContext,
  presence: MercurePresence,
  target: Extract<Target, { draft: "draft-08" }>,
  path: string,
  last_event_id: string,
): void {
  const { matchType, match, subscriber } = target;
  if (matchType !== undefined && match !== undefined && subscriber !== undefined) {
    const found = presence.find08(matchType, match, subscriber);
    if (found === undefined) throw subscriptionNotFound(subscriber, `${matchType} ${match}`);
    send(ctx, SUBSCRIPTIONS_MEDIA_TYPE, { ...found, last_event_id });
    return;
  }
  const filter: SubscriptionFilter =
    matchType === undefined || match === undefined
      ? { draft: "draft-08" }
      : { draft: "draft-08", matchType, match };
  const collection: SubscriptionCollection08 = {
    id: path,
    type: "subscriptions",
    last_event_id,
    subscriptions: presence.listOf(filter) as SubscriptionDocument08[],
  };
  send(ctx, SUBSCRIPTIONS_MEDIA_TYPE, collection);
}

function subscriptionNotFound(subscriber: string, matcher: string): SsehubError {
  return new SsehubError(
    "SSEHUB_ERR_SUBSCRIPTION_NOT_FOUND",
    `Cannot find the subscription of ${JSON.stringify(subscriber)} to ${JSON.stringify(matcher)}: it is not active`,
  );
}

/** One subscription as the draft-07 API answers it: with `@context` and `lastEventID`. */
export type SubscriptionAnswer = SubscriptionDocument & { readonly lastEventID: string };

/** One subscription as the draft-08 API answers it: with `last_event_id`. */
export type SubscriptionAnswer08 = SubscriptionDocument08 & { readonly last_event_id: string };

/**
 * Answers 200 with `body` as `mediaType`. Not cached, and no ETag: Mercure uses the last event
 * id as one, but the list changes before the event that tells of the change gets its id, so the
 * same id may name two lists.
 */
function send(
  ctx: RouteContext,
  mediaType: string,
  body:
    | SubscriptionCollection
    | SubscriptionAnswer
    | SubscriptionCollection08
    | SubscriptionAnswer08,
): void {
  const text = JSON.stringify(body);
  ctx.res.writeHead(200, {
    "Content-Type": mediaType,
    "Content-Length": Buffer.byteLength(text),
    "Cache-Control": "no-store",
    Link: LINK,
  });
  ctx.res.end(text);
}
