/**
 * The Mercure protocol, served beside ssehub's own API over the same hub: the hub route on
 * `/.well-known/mercure` (subscribe, publish), Mercure's active subscriptions (subscription
 * events and the subscriptions API) and discovery. Everything Mercure-specific lives in this
 * folder; it builds on the hub's public surface, on auth/ (tokens, claims, topic selectors)
 * and on the parts of http/ (routes, bodies, streams), and http/handler.ts mounts what
 * `createMercureRoutes` returns.
 * @see https://datatracker.ietf.org/doc/html/draft-dunglas-mercure-07
 * @module
 */

import type { Route } from "../http/routes/route.js";
import type { Logger } from "../http/telemetry/logger.js";
import type { Hub } from "../hub/hub.js";
import { createMercureHubRoute, MERCURE_PATH, type MercureRouteOptions } from "./hub-route.js";
import { MercurePresence, SUBSCRIPTIONS_PATH } from "./presence.js";
import { createResourceMetadataRoute, RESOURCE_METADATA_PATH } from "./resource-metadata-route.js";
import { createSubscriptionsRoute } from "./subscriptions-route.js";

export { MERCURE_PATH, type MercureRouteOptions, mercureLink } from "./hub-route.js";
export { SUBSCRIPTIONS_PATH } from "./presence.js";
export type { MercureProtocol } from "./protocol-version.js";

/** The routes of the Mercure protocol, for a request handler to mount. */
export interface MercureRoutes {
  /** Exact paths and their routes. */
  readonly exact: readonly (readonly [path: string, route: Route])[];
  /** Path prefixes whose remainder (as sent, not decoded) is the route's parameter. */
  readonly prefixed: readonly (readonly [prefix: string, route: Route])[];
}

/**
 * The Mercure routes of one request handler. With `subscriptionEvents`, the handler keeps a
 * registry of its open Mercure streams (see presence.ts); without it, Mercure streams cost
 * nothing more than ssehub's own and the subscriptions API answers 404. `options` says which
 * drafts the hub route speaks and where tokens may come from.
 */
export function createMercureRoutes(
  hub: Hub,
  logger: Logger,
  subscriptionEvents: boolean,
  options: MercureRouteOptions,
): MercureRoutes {
  const presence = subscriptionEvents ? new MercurePresence(hub, logger) : undefined;
  const subscriptions = createSubscriptionsRoute(presence, options.protocol);
  const metadata = createResourceMetadataRoute();
  return {
    exact: [
      [MERCURE_PATH, createMercureHubRoute(presence, options)],
      [SUBSCRIPTIONS_PATH, subscriptions],
      [RESOURCE_METADATA_PATH, metadata],
    ],
    prefixed: [
      [`${SUBSCRIPTIONS_PATH}/`, subscriptions],
      [`${RESOURCE_METADATA_PATH}/`, metadata],
    ],
  };
}
