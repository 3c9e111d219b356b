/**
 * The key of the Hub method that publishes the hub's own events, which alone may use the
 * hub's reserved topics (hub/reserved-topic.ts): Mercure's subscription events
 * (mercure/presence.ts). A symbol that src/index.ts does not export, so that it is reachable
 * from ssehub's own modules only: no door (the library's `publish`, POST /publish, Mercure's
 * form) hands it, or anything that selects it, to a publisher.
 * @module
 */

/** `hub[PUBLISH_AS_HUB](inputs)`: as `hub.publishBatch(inputs)`, spoken by the hub itself. */
export const PUBLISH_AS_HUB: unique symbol = Symbol("ssehub.publishAsHub");
