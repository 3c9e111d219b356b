/**
 * Event ids: `<epoch>-<seq>`. The epoch names one generation of the hub's history (a memory
 * hub gets a new one at every start); seq increases by one per event across all topics, so one
 * Last-Event-ID resumes a subscription to many topics. An id from another epoch is recognized
 * as such and answered with a reset event.
 * @module
 */

const EPOCH = /^[0-9a-z]{1,32}$/;
const SEQ = /^(0|[1-9][0-9]{0,15})$/;

/** A parsed event id. */
export interface EventId {
  readonly epoch: string;
  readonly seq: number;
}

/** A new epoch: the start time in base 36 plus random characters, sortable by time. */
export function newEpoch(now = Date.now()): string {
  const random = Math.floor(Math.random() * 36 ** 4)
    .toString(36)
    .padStart(4, "0");
  return `${now.toString(36)}${random}`;
}

/** `<epoch>-<seq>`. */
export function formatEventId(epoch: string, seq: number): string {
  return `${epoch}-${seq}`;
}

/** Parses an id made by formatEventId; undefined for anything else. */
export function parseEventId(id: string): EventId | undefined {
  const dash = id.lastIndexOf("-");
  if (dash <= 0) return undefined;
  const epoch = id.slice(0, dash);
  const seqText = id.slice(dash + 1);
  if (!EPOCH.test(epoch) || !SEQ.test(seqText)) return undefined;
  const seq = Number(seqText);
  return Number.isSafeInteger(seq) ? { epoch, seq } : undefined;
}
