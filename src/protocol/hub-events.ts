/**
 * The hub's own words on the wire: the event types of its notices and why a resume could not
 * be exact. Hub and client both speak them, so they are defined once, here (see
 * docs/protocol.md for what each notice carries).
 * @module
 */

/**
 * The prefix of every event type the hub speaks itself, now and later: publishers may not use
 * it, in any ASCII case (SSEHUB_ERR_EVENT_RESERVED_TYPE), so that a client can tell the hub's
 * notices from published events by the type alone. Reserving the prefix rather than today's
 * two types keeps a notice added later just as safe.
 */
export const HUB_EVENT_PREFIX = "ssehub-";

/** True when `type` starts with HUB_EVENT_PREFIX in any ASCII case: the hub's, not a publisher's. */
export function isHubEventType(type: string): boolean {
  return (
    type.length >= HUB_EVENT_PREFIX.length &&
    type.slice(0, HUB_EVENT_PREFIX.length).toLowerCase() === HUB_EVENT_PREFIX
  );
}

/** Event type of the notice sent when a resume cannot be exact. */
export const RESET_EVENT = "ssehub-reset";

/** Event type of the notice sent under policy `drop` when events were skipped for a slow reader. */
export const GAP_EVENT = "ssehub-gap";

/**
 * Why a resume could not be exact: history no longer holds the point asked for
 * (`history-evicted`), the id is of another generation of the hub (`unknown-epoch`), or the id
 * is none the hub gave (`invalid-id`).
 */
export type ResetReason = "history-evicted" | "unknown-epoch" | "invalid-id";
