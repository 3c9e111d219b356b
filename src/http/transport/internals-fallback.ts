/**
 * Where ssehub leans on Node internals (node:http's socket handling for the takeover and the
 * lingering close, node:net's TCP handle for streams held without their socket, node:cluster's worker state for a graceful exit when the primary is gone),
 * it checks them first and falls back to the public path when they are not as expected. Each
 * such fallback is published on the diagnostics channel `ssehub:internals:fallback`, so that it
 * never goes unseen: /metrics counts them in `ssehub_node_internals_fallback_total{feature}`,
 * and anyone may subscribe (`diagnostics_channel.subscribe(INTERNALS_FALLBACK_CHANNEL, fn)`).
 * @module
 */
import diagnosticsChannel from "node:diagnostics_channel";

/** The diagnostics channel that reports a fallback from a Node internal to the public path. */
export const INTERNALS_FALLBACK_CHANNEL = "ssehub:internals:fallback";

/** The places that use Node internals. */
export type InternalsFeature =
  | "socket-takeover"
  | "tcp-handle"
  | "lingering-close"
  | "cluster-disconnect";

/** Every feature, for metrics that show each one from the start. */
export const INTERNALS_FEATURES: readonly InternalsFeature[] = [
  "socket-takeover",
  "tcp-handle",
  "lingering-close",
  "cluster-disconnect",
];

/** What the channel carries. */
export interface InternalsFallback {
  readonly feature: InternalsFeature;
  /** What was missing, in a few words. */
  readonly reason: string;
}

const channel = diagnosticsChannel.channel(INTERNALS_FALLBACK_CHANNEL);

/** Publishes a fallback on INTERNALS_FALLBACK_CHANNEL (nothing to do when nobody listens). */
export function reportInternalsFallback(feature: InternalsFeature, reason: string): void {
  if (channel.hasSubscribers) channel.publish({ feature, reason } satisfies InternalsFallback);
}
