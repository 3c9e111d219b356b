/**
 * Mercure's active subscriptions (presence): the registry of the open Mercure streams of one
 * request handler, and the subscription events published when one opens or closes.
 *
 * A Mercure subscriber is one stream: it gets an id (`urn:uuid:<uuid>`) and carries the
 * `mercure.payload` claim of its token. Each of its topic selectors is one subscription, named
 * by `/.well-known/mercure/subscriptions/{topic}/{subscriber}` (RFC 6570: each value
 * percent-encoded whole, so `https://a/{id}` becomes `https%3A%2F%2Fa%2F%7Bid%7D`). When a
 * stream opens, the hub publishes one private update per selector on that topic, with the
 * JSON-LD subscription as data (`"active": true`); when it closes, the same with
 * `"active": false`. A subscriber whose token grants, say,
 * `/.well-known/mercure/subscriptions{/topic}{/subscriber}` and who subscribes to that
 * template receives them.
 *
 * Cost: nothing unless `subscriptionEvents` is on (the handler then has no registry at all),
 * and nothing for ssehub's own `/events` streams; one small record per Mercure stream (its id,
 * selectors and payload, which the stream's grants hold anyway). Listing walks the records:
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

/** The path of Mercure's subscriptions API, and the prefix of subscription event topics. */
export const SUBSCRIPTIONS_PATH = "/.well-known/mercure/subscriptions";

/** The JSON-LD context of every document (Mercure, section "JSON-LD Context"). */
export const JSONLD_CONTEXT = "https://mercure.rocks/";

/** Characters of a UTF-8 percent-encoded string that RFC 6570 leaves as they are (unreserved). */
const NOT_UNRESERVED = /[!'()*]/g;
/** A UTF-16 surrogate without its other half: it has no UTF-8 form. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** One open Mercure stream. */
export interface MercureSubscriber {
  /** `urn:uuid:<uuid>`, unique among the open streams. */
  readonly id: string;
  /** Its topic selectors as the client wrote them, without duplicates: one subscription each. */
  readonly topics: readonly string[];
  /** The token's `mercure.payload` claim; undefined without one. */
  readonly payload: unknown;
}

/** A subscription as the API and the events show it (Mercure, section "Subscription Events"). */
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

/**
 * `value` percent-encoded as an RFC 6570 simple expansion writes it: every character but the
 * unreserved ones (`A-Z a-z 0-9 - . _ ~`) as UTF-8 `%XX`. A lone surrogate, which has no UTF-8
 * form, becomes U+FFFD first.
 */
export function encodeSegment(value: string): string {
  return encodeURIComponent(value.replace(LONE_SURROGATE, "\uFFFD")).replace(
    NOT_UNRESERVED,
    (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/**
 * The path of a resource of the subscriptions API: the collection, the subscriptions of one
 * topic selector, or one subscription (also the topic of its events).
 */
export function subscriptionsPath(topic?: string, subscriber?: string): string {
  if (topic === undefined) return SUBSCRIPTIONS_PATH;
  const collection = `${SUBSCRIPTIONS_PATH}/${encodeSegment(topic)}`;
  return subscriber === undefined ? collection : `${collection}/${encodeSegment(subscriber)}`;
}

/** The document of `subscriber`'s subscription to `topic`; with `@context` when `standalone`. */
export function subscriptionDocument(
  subscriber: MercureSubscriber,
  topic: string,
  active: boolean,
  standalone: boolean,
): SubscriptionDocument {
  return {
    ...(standalone ? { "@context": JSONLD_CONTEXT } : {}),
    id: subscriptionsPath(topic, subscriber.id),
    type: "Subscription",
    topic,
    subscriber: subscriber.id,
    active,
    ...(subscriber.payload === undefined ? {} : { payload: subscriber.payload }),
  };
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
   * Registers a stream that just opened with `topics` (its selectors) and publishes its
   * subscription events (`active: true`). Call remove() with the answer when it closes.
   */
  add(topics: readonly string[], payload: unknown): MercureSubscriber {
    const subscriber: MercureSubscriber = {
      id: `urn:uuid:${randomUUID()}`,
      topics: topics.length > 1 ? [...new Set(topics)] : topics,
      payload,
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

  /** The active subscriptions, all of them or those of the topic selector `topic`. */
  list(topic?: string): SubscriptionDocument[] {
    const documents: SubscriptionDocument[] = [];
    for (const subscriber of this.#subscribers.values()) {
      for (const selector of subscriber.topics) {
        if (topic === undefined || selector === topic) {
          documents.push(subscriptionDocument(subscriber, selector, true, false));
        }
      }
    }
    return documents;
  }

  /** The active subscription of `subscriberId` to the selector `topic`, with `@context`. */
  find(topic: string, subscriberId: string): SubscriptionDocument | undefined {
    const subscriber = this.#subscribers.get(subscriberId);
    if (subscriber === undefined || !subscriber.topics.includes(topic)) return undefined;
    return subscriptionDocument(subscriber, topic, true, true);
  }

  /**
   * Publishes one private update per selector of `subscriber`. The registry changes first, so
   * an API answer's `lastEventID` always comes before the events of what changed after it.
   */
  #publish(subscriber: MercureSubscriber, active: boolean): void {
    const hub = this.#hub;
    if (hub.isClosed) return;
    const { maxTopicLength, maxBatchEvents } = hub.options;
    const updates: PublishInput[] = [];
    for (const topic of subscriber.topics) {
      const document = subscriptionDocument(subscriber, topic, active, true);
      const update = { topic: document.id, data: JSON.stringify(document), private: true };
      // A long selector, encoded, can pass the hub's topic limit: that one event is left out,
      // rather than the whole batch refused. The hub's own rules say so (checked twice, for
      // these rare events, so that no rule is written here).
      try {
        preparePublish(update, hub.options, "the event", "hub");
      } catch (error) {
        this.#logger.warn(
          { topic, length: document.id.length, maxTopicLength, err: error },
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
