/**
 * Event ids: `urn:ssehub:<epoch>:<seq>`. The epoch names one generation of the hub's history (a
 * memory hub gets a new one at every start); seq increases by one per event across all topics,
 * so one Last-Event-ID resumes a subscription to many topics. An id from another epoch is
 * recognized as such and answered with a reset event.
 *
 * Why a URN: ids such as `order-42` or `invoice-2024` are common in apps, so the hub's own ids
 * live in a namespace of their own (`urn:ssehub:`) that no app id falls into by chance, and they
 * are IRIs, as Mercure asks event ids to be. The prefix costs 11 bytes per event frame (each
 * subscriber gets them), fewer than Mercure's own `urn:uuid:<uuid>` (45 characters in all).
 *
 * Earlier builds of the hub sent `<epoch>-<seq>` (parseOldFormEventId). Such an id is read only
 * on resume, and only after it failed to name a publisher's id (hub/resume.ts; docs/protocol.md,
 * "How old ids are treated"): publishers may use that form freely.
 * @module
 */

/** What every id of the hub starts with; publishers may not use it (in any case). */
export const EVENT_ID_PREFIX = "urn:ssehub:";

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

/** The hub's id of the event `seq` of `epoch`: `urn:ssehub:<epoch>:<seq>`. */
export function formatEventId(epoch: string, seq: number): string {
  return `${EVENT_ID_PREFIX}${epoch}:${seq}`;
}

/** Parses an id made by formatEventId; undefined for anything else. */
export function parseEventId(id: string): EventId | undefined {
  if (!id.startsWith(EVENT_ID_PREFIX)) return undefined;
  return splitEpochAndSeq(id, ":", EVENT_ID_PREFIX.length);
}

/**
 * True when a publisher may not give `id`: it lies in the hub's namespace `urn:ssehub:`,
 * matched without regard to case as URN namespaces are (RFC 8141), so that no id a publisher
 * stored can ever be taken for one of the hub's, whatever form the hub's ids take later.
 */
export function isHubIdNamespace(id: string): boolean {
  return (
    id.length >= EVENT_ID_PREFIX.length &&
    id.slice(0, EVENT_ID_PREFIX.length).toLowerCase() === EVENT_ID_PREFIX
  );
}

/**
 * Parses an id of the form earlier builds of the hub sent, `<epoch>-<seq>`; undefined for
 * anything else. Publishers may use this form, so the answer is only a candidate: resume reads
 * it only when the id names no publisher's event that history knows, and takes it for a place
 * in the hub's order only when its epoch is the current one.
 */
export function parseOldFormEventId(id: string): EventId | undefined {
  return splitEpochAndSeq(id, "-", 0);
}

/** `<epoch><separator><seq>` from `start` in `id`, each part checked. */
function splitEpochAndSeq(id: string, separator: string, start: number): EventId | undefined {
  const at = id.lastIndexOf(separator);
  if (at <= start) return undefined;
  const epoch = id.slice(start, at);
  const seqText = id.slice(at + 1);
  if (!EPOCH.test(epoch) || !SEQ.test(seqText)) return undefined;
  const seq = Number(seqText);
  return Number.isSafeInteger(seq) ? { epoch, seq } : undefined;
}
