/**
 * Mercure's active subscriptions (presence): the registry of the open Mercure streams of one
 * request handler, and the subscription events published when one opens or closes.
 *
 * A Mercure subscriber is one stream: it gets an id (`urn:uuid:<uuid>`, made by the hub, never
 * taken from the client or its token, so that no subscriber learns another's `sub`). Each of its
 * matchers is one subscription, in the shape of the draft the stream was opened with
 * (protocol-version.ts), so that a client of either draft keeps seeing what its draft says:
 *
 * - draft-07 (`topic`): named `/.well-known/mercure/subscriptions/{topic}/{subscriber}`, its
 *   document JSON-LD (`@context`, `type: "Subscription"`, `topic`), its events of the default
 *   SSE type, with the token's `mercure.payload`;
 * - draft-08 (`match`, `match_exact`, `match_urlpattern`): named
 *   `/.well-known/mercure/subscriptions/{match_type}/{match}/{subscriber}`, its document plain
 *   JSON (`type: "subscription"`, `match_type`, `match`), its events of the SSE type `mercure`,
 *   with the payload the token attaches to that matcher (subscription-08.ts).
 *
 * Every variable is percent-encoded whole, once (RFC 6570: `https://a/{id}` becomes
 * `https%3A%2F%2Fa%2F%7Bid%7D`). When a stream opens, the hub publishes one private update per
 * subscription on its path, with its document as data (`"active": true`); when it closes, the
 * same with `"active": false`. Being private, an event reaches only the subscribers whose token
 * grants `subscribe` on its topic, as any private update: a draft-07 token by its `mercure.subscribe`
 * selectors (a URI template such as `/.well-known/mercure/subscriptions{/topic}{/subscriber}`),
 * a draft-08 access token by its `authorization_details` (`*`, or exact paths).
 *
 * Cost: nothing unless `subscriptionEvents` is on (the handler then has no registry at all),
 * and nothing for ssehub's own `/events` streams; one small record per Mercure stream (its id,
 * matchers and payloads, which the stream's grants hold anyway). Listing walks the records:
 * the API is for dashboards and reconciliation, not for every request.
 *
 * The registry is this process's: with `--workers` or Redis, each node lists its own streams,
 * while the events reach subscribers on every node.
 * @see https://mercure.rocks/spec#active-subscriptions
 * @module
 */
import { randomUUID } from "node:crypto";
import { isSsehubError } from "../errors.js";
import type { Logger } from "../http/telemetry/logger.js";
import type { Hub } from "../hub/hub.js";
import { PUBLISH_AS_HUB } from "../hub/publish-as-hub.js";
import { type PublishInput, preparePublish } from "../hub/publish-input.js";
import type { MercureDraft } from "./protocol-version.js";
import {
  type MatchType,
  SUBSCRIPTION_EVENT_TYPE,
  type SubscriptionDocument08,
  subscriptionDocument08,
} from "./subscription-08.js";
import { encodeSegment, SUBSCRIPTIONS_PATH } from "./subscription-path.js";

export { encodeSegment, SUBSCRIPTIONS_PATH } from "./subscription-path.js";

/** The JSON-LD context of every document (Mercure, section "JSON-LD Context"). */
export const JSONLD_CONTEXT = "https://mercure.rocks/";

/**
 * One subscription of a stream: one matcher. `matchType` is draft-08's matcher type, absent
 * for a draft-07 topic selector.
 */
export interface SubscriptionMatcher {
  readonly matchType?: MatchType;
  /** The matcher (draft-08) or topic selector (draft-07) as the client wrote it. */
  readonly match: string;
  /** What the token shows of the subscriber for this matcher; undefined without a payload. */
  readonly payload?: unknown;
}

/** One open Mercure stream. */
export interface MercureSubscriber {
  /** `urn:uuid:<uuid>`, unique among the open streams. */
  readonly id: string;
  /** The draft the stream was opened with: the shape of its subscriptions. */
  readonly draft: MercureDraft;
  /** Its matchers, without duplicates (same type and value): one subscription each. */
  readonly subscriptions: readonly SubscriptionMatcher[];
}

/** A draft-07 subscription as the API and the events show it (Mercure draft-07). */
export interface SubscriptionDocument {
  /** Present at the top of a document, absent inside a collection (its parent has it). */
  readonly "@context"?: string;
  /** The subscription's path, also the topic of its events. */
  readonly id: string;
  readonly type: "Subscription";
  /** The topic selector of the subscription. */
  readonly topic: string;
  /** The subscriber's id. */
  readonly subscriber: string;
  readonly active: boolean;
  /** The token's `mercure.payload` claim, when it has one. */
  readonly payload?: unknown;
}

/** Which subscriptions a listing asks for: all, one draft-07 selector's, one draft-08 matcher's. */
export type SubscriptionFilter =
  | { readonly draft: "draft-07"; readonly topic?: string }
  | { readonly draft: "draft-08"; readonly matchType?: MatchType; readonly match?: string };

/**
 * The path of a resource of the subscriptions API: the collection, the subscriptions of one
 * topic selector, or one subscription (also the topic of its events).
 */
export function subscriptionsPath(topic?: string, subscriber?: string): string {
  if (topic === undefined) return SUBSCRIPTIONS_PATH;
  const collection = `${SUBSCRIPTIONS_PATH}/${encodeSegment(topic)}`;
  return subscriber === undefined ? collection : `${collection}/${encodeSegment(subscriber)}`;
}

/** The draft-07 document of `subscriber`'s subscription to `topic`; with `@context` when `standalone`. */
export function subscriptionDocument(
  subscriber: string,
  topic: string,
  active: boolean,
  payload: unknown,
  standalone: boolean,
): SubscriptionDocument {
  return {
    ...(standalone ? { "@context": JSONLD_CONTEXT } : {}),
    id: subscriptionsPath(topic, subscriber),
    type: "Subscription",
    topic,
    subscriber,
    active,
    ...(payload === undefined ? {} : { payload }),
  };
}

/** A subscription's document in the shape of its draft (draft-07's with `@context` when standalone). */
function documentOf(
  subscriber: MercureSubscriber,
  subscription: SubscriptionMatcher,
  active: boolean,
  standalone: boolean,
): SubscriptionDocument | SubscriptionDocument08 {
  const { matchType, match, payload } = subscription;
  return matchType === undefined
    ? subscriptionDocument(subscriber.id, match, active, payload, standalone)
    : subscriptionDocument08(subscriber.id, matchType, match, active, payload);
}

/** True when `subscription` of a stream of `draft` is one `filter` lists. */
function isListed(
  draft: MercureDraft,
  subscription: SubscriptionMatcher,
  filter: SubscriptionFilter,
): boolean {
  if (draft !== filter.draft) return false;
  if (filter.draft === "draft-07")
    return filter.topic === undefined || subscription.match === filter.topic;
  if (filter.matchType === undefined) return true;
  return subscription.matchType === filter.matchType && subscription.match === filter.match;
}

/** `subscriptions` without the repeats of a matcher (same type and value): the first one stays. */
function withoutRepeats(
  subscriptions: readonly SubscriptionMatcher[],
): readonly SubscriptionMatcher[] {
  if (subscriptions.length < 2) return subscriptions;
  const seen = new Set<string>();
  return subscriptions.filter(({ matchType, match }) => {
    const key = `${matchType ?? ""} ${match}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** The open Mercure streams of one request handler, and their subscription events. */
export class MercurePresence {
  readonly #hub: Hub;
  readonly #logger: Logger;
  /** Open streams by subscriber id, in the order they opened. */
  readonly #subscribers = new Map<string, MercureSubscriber>();

  constructor(hub: Hub, logger: Logger) {
    this.#hub = hub;
    this.#logger = logger;
  }

  /** Open Mercure streams. */
  get subscriberCount(): number {
    return this.#subscribers.size;
  }

  /**
   * Registers a stream of `draft` that just opened with `subscriptions` (its matchers) and
   * publishes their subscription events (`active: true`). Call remove() with the answer when
   * it closes.
   */
  add(draft: MercureDraft, subscriptions: readonly SubscriptionMatcher[]): MercureSubscriber {
    const subscriber: MercureSubscriber = {
      id: `urn:uuid:${randomUUID()}`,
      draft,
      subscriptions: withoutRepeats(subscriptions),
    };
    this.#subscribers.set(subscriber.id, subscriber);
    this.#publish(subscriber, true);
    return subscriber;
  }

  /** Unregisters a stream that closed and publishes `active: false`. Idempotent. */
  remove(subscriber: MercureSubscriber): void {
    if (!this.#subscribers.delete(subscriber.id)) return;
    this.#publish(subscriber, false);
  }

  /** The active draft-07 subscriptions, all of them or those of the topic selector `topic`. */
  list(topic?: string): SubscriptionDocument[] {
    return this.listOf({
      draft: "draft-07",
      ...(topic === undefined ? {} : { topic }),
    }) as SubscriptionDocument[];
  }

  /**
   * The active subscriptions `filter` asks for, each in its draft's shape (without
   * `@context`: a collection's parent has it). A draft lists the subscriptions opened with it.
   */
  listOf(filter: SubscriptionFilter): (SubscriptionDocument | SubscriptionDocument08)[] {
    const documents: (SubscriptionDocument | SubscriptionDocument08)[] = [];
    for (const subscriber of this.#subscribers.values()) {
      for (const subscription of subscriber.subscriptions) {
        if (isListed(subscriber.draft, subscription, filter)) {
          documents.push(documentOf(subscriber, subscription, true, false));
        }
      }
    }
    return documents;
  }

  /** The active draft-07 subscription of `subscriberId` to the selector `topic`, with `@context`. */
  find(topic: string, subscriberId: string): SubscriptionDocument | undefined {
    const subscriber = this.#subscribers.get(subscriberId);
    if (subscriber === undefined || subscriber.draft !== "draft-07") return undefined;
    const subscription = subscriber.subscriptions.find(({ match }) => match === topic);
    if (subscription === undefined) return undefined;
    return documentOf(subscriber, subscription, true, true) as SubscriptionDocument;
  }

  /** The active draft-08 subscription of `subscriberId` to the matcher `match` of `matchType`. */
  find08(
    matchType: MatchType,
    match: string,
    subscriberId: string,
  ): SubscriptionDocument08 | undefined {
    const subscriber = this.#subscribers.get(subscriberId);
    if (subscriber === undefined || subscriber.draft !== "draft-08") return undefined;
    const subscription = subscriber.subscriptions.find(
      (s) => s.matchType === matchType && s.match === match,
    );
    if (subscription === undefined) return undefined;
    return documentOf(subscriber, subscription, true, true) as SubscriptionDocument08;
  }

  /**
   * Publishes one private update per subscription of `subscriber`. The registry changes first,
   * so an API answer's last event id always comes before the events of what changed after it.
   */
  #publish(subscriber: MercureSubscriber, active: boolean): void {
    const hub = this.#hub;
    if (hub.isClosed) return;
    const { maxTopicLength, maxBatchEvents } = hub.options;
    const updates: PublishInput[] = [];
    for (const subscription of subscriber.subscriptions) {
      const document = documentOf(subscriber, subscription, active, true);
      const update: PublishInput = {
        topic: document.id,
        data: JSON.stringify(document),
        private: true,
        // Draft-08 names its events, so that a client listening to data and subscription events
        // on one EventSource tells them apart; draft-07's are of the default type.
        ...(subscription.matchType === undefined ? {} : { event: SUBSCRIPTION_EVENT_TYPE }),
      };
      // A long selector, encoded, can pass the hub's topic limit: that one event is left out,
      // rather than the whole batch refused. The hub's own rules say so (checked twice, for
      // these rare events, so that no rule is written here).
      try {
        preparePublish(update, hub.options, "the event", "hub");
      } catch (error) {
        this.#logger.warn(
          { topic: subscription.match, length: document.id.length, maxTopicLength, err: error },
          "Subscription event not published: its topic is longer than maxTopicLength",
        );
        continue;
      }
      updates.push(update);
    }
    for (let i = 0; i < updates.length; i += maxBatchEvents) {
      // The hub speaks here, in its reserved namespace, where no publisher may.
      hub[PUBLISH_AS_HUB](updates.slice(i, i + maxBatchEvents)).catch((error: unknown) =>
        this.#failed(error),
      );
    }
  }

  #failed(error: unknown): void {
    // Closing the hub ends every stream: their events have nowhere to go, as intended.
    if (isSsehubError(error) && error.code === "SSEHUB_ERR_HUB_CLOSED") return;
    this.#logger.warn({ err: error }, "Publishing a subscription event failed");
  }
}
