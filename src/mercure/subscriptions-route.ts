/**
 * Mercure's subscriptions API (section "Subscription API"), served when `subscriptionEvents` is
 * on, as Mercure serves it under its `subscriptions` directive:
 *
 * - `GET /.well-known/mercure/subscriptions`: every active subscription;
 * - `GET /.well-known/mercure/subscriptions/{topic}`: those of one topic selector;
 * - `GET /.well-known/mercure/subscriptions/{topic}/{subscriber}`: one subscription, or 404.
 *
 * `{topic}` and `{subscriber}` are percent-encoded path segments. The answer is JSON-LD
 * (`application/ld+json`) with `lastEventID`, the newest event of the hub at the time of the
 * request (`earliest` when none): subscribe to the subscription events from it and nothing is
 * missed between the list and the events. Access: a subscriber token whose `subscribe`
 * selectors match the resource's path (see Authorizer.subscriptionsReader).
 * @see https://mercure.rocks/spec#subscription-api
 * @module
 */

import { SsehubError } from "../errors.js";
import { guessedMercureAuthorizer } from "../http/access/mercure-access.js";
import type { Route, RouteContext } from "../http/routes/route.js";
import { EARLIEST } from "../hub/types.js";
import { MERCURE_PATH, mercureLink } from "./hub-route.js";
import {
  JSONLD_CONTEXT,
  type MercurePresence,
  SUBSCRIPTIONS_PATH,
  type SubscriptionDocument,
  subscriptionsPath,
} from "./presence.js";

/** The Link header of every answer: the hub serving these subscriptions (Mercure's examples). */
const LINK = mercureLink(MERCURE_PATH);

/** A collection of subscriptions (Mercure, section "Subscription API"). */
export interface SubscriptionCollection {
  readonly "@context": string;
  /** The path of the collection. */
  readonly id: string;
  readonly type: "Subscriptions";
  readonly lastEventID: string;
  readonly subscriptions: readonly SubscriptionDocument[];
}

/** Which resource a request names: the collection, one selector's, or one subscription. */
interface Target {
  readonly topic: string | undefined;
  readonly subscriber: string | undefined;
}

/**
 * Reads the path segments after `/.well-known/mercure/subscriptions/` (`param`, as sent).
 * Throws 404 for another shape, 400 for a broken percent-encoding.
 */
function targetOf(param: string | undefined): Target {
  if (param === undefined) return { topic: undefined, subscriber: undefined };
  const segments = param.split("/");
  if (segments.length > 2 || segments.includes("")) {
    throw new SsehubError(
      "SSEHUB_ERR_ROUTE_NOT_FOUND",
      `Cannot find ${JSON.stringify(`${SUBSCRIPTIONS_PATH}/${param}`)}: use ${SUBSCRIPTIONS_PATH}, ${SUBSCRIPTIONS_PATH}/<topic> or ${SUBSCRIPTIONS_PATH}/<topic>/<subscriber>, each percent-encoded`,
    );
  }
  const [topic, subscriber] = segments.map((segment) => {
    try {
      return decodeURIComponent(segment);
    } catch (cause) {
      throw new SsehubError(
        "SSEHUB_ERR_TOPIC_INVALID",
        `Cannot read ${JSON.stringify(segment)}: its percent-encoding is broken`,
        { cause },
      );
    }
  });
  return { topic, subscriber };
}

/**
 * The subscriptions API route, answering from `presence` (undefined while Mercure's active
 * subscriptions are off: every request then answers 404). The handler maps the exact path and
 * its subpaths here.
 */
export function createSubscriptionsRoute(presence: MercurePresence | undefined): Route {
  return { methods: ["GET"], handle: (ctx) => answer(ctx, presence) };
}

async function answer(ctx: RouteContext, presence: MercurePresence | undefined): Promise<void> {
  {
    if (presence === undefined) {
      throw new SsehubError(
        "SSEHUB_ERR_ROUTE_NOT_FOUND",
        `Cannot find ${SUBSCRIPTIONS_PATH}: Mercure's active subscriptions are off (turn on subscriptionEvents)`,
      );
    }
    const { topic, subscriber } = targetOf(ctx.param);
    // The path as the hub names it, so that `%7b` and `%7B` are one resource for the token.
    const path = subscriptionsPath(topic, subscriber);
    const auth = guessedMercureAuthorizer(ctx.auth, ctx.req, ctx.query);
    await auth.subscriptionsReader(ctx.req, ctx.query, path);
    // After the check: who may not read a subscription does not learn whether it exists.
    const lastEventID = ctx.hub.lastEventId ?? EARLIEST;
    if (topic !== undefined && subscriber !== undefined) {
      const found = presence.find(topic, subscriber);
      if (found === undefined) {
        throw new SsehubError(
          "SSEHUB_ERR_SUBSCRIPTION_NOT_FOUND",
          `Cannot find the subscription of ${JSON.stringify(subscriber)} to ${JSON.stringify(topic)}: it is not active`,
        );
      }
      sendJsonLd(ctx, { ...found, lastEventID });
      return;
    }
    const collection: SubscriptionCollection = {
      "@context": JSONLD_CONTEXT,
      id: path,
      type: "Subscriptions",
      lastEventID,
      subscriptions: presence.list(topic),
    };
    sendJsonLd(ctx, collection);
  }
}

/** One subscription as the API answers it: with `@context` and `lastEventID`. */
export type SubscriptionAnswer = SubscriptionDocument & { readonly lastEventID: string };

/**
 * Answers 200 with `body` as JSON-LD. Not cached, and no ETag: Mercure uses `lastEventID` as
 * one, but the list changes before the event that tells of the change gets its id, so the same
 * id may name two lists.
 */
function sendJsonLd(ctx: RouteContext, body: SubscriptionCollection | SubscriptionAnswer): void {
  const text = JSON.stringify(body);
  ctx.res.writeHead(200, {
    "Content-Type": "application/ld+json",
    "Content-Length": Buffer.byteLength(text),
    "Cache-Control": "no-store",
    Link: LINK,
  });
  ctx.res.end(text);
}
