/**
 * The hub's own words on the wire: the event types of its notices and why a resume could not
 * be exact. Hub and client both speak them, so they are defined once, here (see
 * docs/protocol.md for what each notice carries).
 * @module
 */

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
