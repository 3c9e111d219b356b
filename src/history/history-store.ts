/**
 * The contract of a history store: events kept per topic, read back merged by id for resume.
 * @module
 */

/**
 * Stage 4 of an event's life, stored: one published event as the hub keeps it, encoded once and
 * shared by every subscriber. It differs from the SequencedEvent it is made of (see
 * stored-event.ts) by its wire id under this hub's epoch and its complete frame: history and
 * the dispatcher send `bytes` as they are, and keep the other fields only to select events.
 */
export interface StoredEvent {
  /** Hub-wide sequence number within the current epoch; increases by one per event. */
  readonly seq: number;
  /** The id sent on the wire: `urn:ssehub:<epoch>:<seq>` (protocol/event-id.ts), or the publisher's. */
  readonly id: string;
  /** True when `id` was given by the publisher. */
  readonly publisherId: boolean;
  /** Topics the event was published to (at least one, no duplicate). */
  readonly topics: readonly string[];
  /** Event type, or undefined for the default `message`. */
  readonly event: string | undefined;
  /** The `retry:` hint the publisher gave, in ms (also in `bytes`), for a store that rebuilds them. */
  readonly retry: number | undefined;
  /** Conflation key (policy `conflate`), or undefined to conflate by topics. */
  readonly key: string | undefined;
  /** Delivered only to subscribers whose grants match one of its topics. */
  readonly private: boolean;
  /** Data as sent (JSON values already serialized). */
  readonly data: string;
  /** Publish time, ms since the Unix epoch. */
  readonly publishedAt: number;
  /** The complete SSE frame, id line included, ending in a blank line. */
  readonly bytes: Buffer;
}

/** The result of reading history after a given sequence number. */
export interface HistoryRead {
  /** Events after the asked sequence, in sequence order, each once even if on several topics. */
  readonly events: readonly StoredEvent[];
  /**
   * False when some event after the asked sequence on one of the topics is no longer kept
   * (evicted by count or age): the reader missed something and must be told (reset event).
   */
  readonly complete: boolean;
}

/** What a store knows of one topic. */
export interface TopicHistoryInfo {
  /** Events kept. */
  readonly size: number;
  /** Sequence of the newest kept event, or 0 when none is kept. */
  readonly lastSeq: number;
  /** Sequence of the oldest kept event, or 0 when none is kept. */
  readonly firstSeq: number;
}

/** A history store. The memory ring is the default; later stores may answer asynchronously. */
export interface HistoryStore {
  /** Keeps `event` under each of its topics, evicting past the count limit. */
  append(event: StoredEvent): void;
  /**
   * Makes the events appended since the last call durable and readable (a store that writes
   * them to disk; the others keep them at once and need no flush). The hub calls it after each
   * batch the bus hands it, before any of them is delivered or its publish answered; a store
   * that cannot keep them throws, and the batch is then neither delivered nor answered.
   */
  flush?(): void;
  /** Events of `topics` with seq > `afterSeq`, merged in seq order. */
  readAfter(topics: readonly string[], afterSeq: number): HistoryRead | Promise<HistoryRead>;
  /**
   * The seq of the event that a publisher gave the id `id` (Mercure lets publishers choose
   * ids), or undefined when the store does not know it. Optional.
   */
  seqOfId?(id: string): number | undefined;
  /** Drops events older than the age limit; returns the topics left with no event. */
  expire(now: number): readonly string[];
  /** What is kept of `topic`, or undefined when nothing is. */
  topicInfo(topic: string): TopicHistoryInfo | undefined;
  /** Topics with at least one kept event. */
  topics(): IterableIterator<string>;
  /** Events kept over all topics (an event on two topics counts twice). */
  readonly totalEvents: number;
  /** Bytes of the store's files, for a store on disk. */
  readonly diskBytes?: number;
}

/**
 * Merges seq-ordered lists into one seq-ordered list, keeping an event that appears in several
 * lists (published to several topics) once. Stores use it to answer readAfter; the dispatcher,
 * to serve a subscriber of several topics the events of one turn.
 */
export function mergeBySeq(lists: readonly (readonly StoredEvent[])[]): StoredEvent[] {
  if (lists.length === 0) return [];
  if (lists.length === 1) return [...lists[0]!];
  const merged: StoredEvent[] = [];
  for (const list of lists) for (const event of list) merged.push(event);
  merged.sort((a, b) => a.seq - b.seq);
  let kept = 0;
  for (let i = 0; i < merged.length; i++) {
    if (kept === 0 || merged[kept - 1]!.seq !== merged[i]!.seq) merged[kept++] = merged[i]!;
  }
  merged.length = kept;
  return merged;
}
