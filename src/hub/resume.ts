/**
 * Resume: what a subscriber that comes back with a Last-Event-ID gets before it goes live.
 *
 * The hub registers the subscriber first (live events are held from then on) and notes `head`,
 * the seq current at registration. The resume then replays history after the subscriber's
 * point up to `head`, in chunks, and lets it go live: everything up to `head` comes from
 * history, everything after it live, so the seam has neither gap nor duplicate. Where history
 * cannot answer exactly (evicted, another epoch, an id nobody knows), the subscriber gets a
 * reset notice (RESET_EVENT) naming the reason. A reset says where the gap is and never opens a
 * new one: after it, the subscriber gets everything history still holds from that point on (for
 * `history-evicted`, what is kept after its id; for `unknown-epoch`, the current epoch from its
 * start), up to `head`, then goes live. Only `invalid-id` goes live from `head` at once: an id
 * the hub never gave says nothing of where the client stands, so a replay could only guess.
 * @module
 */
import { activity, PHASE_REPLAY } from "../diagnostics/activity.js";
import type { HistoryRead, HistoryStore, StoredEvent } from "../history/history-store.js";
import { encodeEvent } from "../protocol/encode.js";
import { type EventId, parseEventId, parseOldFormEventId } from "../protocol/event-id.js";
import type { DeliveryCounters, PrivateAccess, Subscriber } from "./subscriber.js";
import { type ReplayTally, traceReplay } from "./trace-spans.js";
import { isTracing } from "./tracing.js";
import { EARLIEST, RESET_EVENT, type ResetReason } from "./types.js";

/** Bytes of history written per turn during a replay (DESIGN principle 6). */
const REPLAY_CHUNK_BYTES = 64 * 1024;
/** How often a replay waiting for a slow reader checks its backlog again, in ms. */
const REPLAY_BACKLOG_POLL_MS = 10;
/** How long a resume waits for a distributed bus to bring an id this hub has not seen yet. */
const AHEAD_WAIT_MS = 2000;
const AHEAD_POLL_MS = 5;

/**
 * What a resume reads of its hub. The epoch, the current seq and the history floor change
 * while the hub runs (a bus may start it over), so they are read at each use, never copied.
 */
export interface ResumeSource {
  /** The epoch of this hub's ids. */
  readonly epoch: string;
  /** Seq of the newest event handed to the hub by the bus. */
  readonly current: number;
  /** History cannot answer for events up to this seq. */
  readonly historyFloor: number;
  readonly isClosed: boolean;
  /** True when events from other processes arrive late (Bus.isDistributed). */
  readonly isDistributed: boolean;
  readonly history: HistoryStore;
  readonly maxQueueBytes: number;
  /** The hub's counters: a replay counts its deliveries and bytes there. */
  readonly counters: DeliveryCounters;
  /** The wire id of `seq` under the current epoch. */
  idOf(seq: number): string;
}

/** Resumes subscribers of one hub from history. */
export class Resumer {
  readonly #source: ResumeSource;
  #resets = 0;

  constructor(source: ResumeSource) {
    this.#source = source;
  }

  /** Reset notices sent so far. */
  get resets(): number {
    return this.#resets;
  }

  /**
   * True when a resume from `lastEventId` will replay from that very point, as far as the hub
   * can tell before it reads history: an id of this epoch (or a publisher's id history knows)
   * that history has not dropped and that is not ahead of the hub. `earliest`, another epoch, an
   * unknown or evicted id: false. A replay that then finds a topic's history incomplete says so
   * in the stream (reset event).
   */
  covers(lastEventId: string): boolean {
    if (lastEventId === EARLIEST) return false;
    const source = this.#source;
    const parsed = this.#seqOfLastEventId(lastEventId);
    if (parsed === undefined || parsed.epoch !== source.epoch) return false;
    return parsed.seq >= source.historyFloor && parsed.seq <= source.current;
  }

  /**
   * Replays history after `lastEventId` up to `head`, then lets the subscriber go live.
   * Rejects when history cannot be read (its store is unreachable). Under an `ssehub.replay`
   * span when tracing is on (trace-spans.ts).
   */
  resume(subscriber: Subscriber, lastEventId: string, head: number): Promise<void> {
    if (!isTracing())
      return this.#resume(subscriber, lastEventId, head, { events: 0, reset: undefined });
    return traceReplay(subscriber.topics.length, lastEventId, (tally) =>
      this.#resume(subscriber, lastEventId, head, tally),
    );
  }

  async #resume(
    subscriber: Subscriber,
    lastEventId: string,
    head: number,
    tally: ReplayTally,
  ): Promise<void> {
    const source = this.#source;
    if (lastEventId === EARLIEST) {
      const read = await this.#read(subscriber, 0);
      if (subscriber.isClosed) return;
      await this.#replay(subscriber, visibleEvents(read.events, subscriber.access), head, tally);
      if (subscriber.isClosed) return;
      subscriber.goLive();
      return;
    }
    const parsed = this.#seqOfLastEventId(lastEventId);
    if (parsed === undefined) {
      this.#sendReset(subscriber, "invalid-id", lastEventId, head, tally);
    } else if (parsed.epoch !== source.epoch) {
      // Every event of this epoch comes after the client's point: replay what history holds of it.
      const read = await this.#read(subscriber, 0);
      if (subscriber.isClosed) return;
      await this.#resetAndReplay(
        subscriber,
        "unknown-epoch",
        lastEventId,
        read.events,
        head,
        tally,
      );
      if (subscriber.isClosed) return;
    } else if (parsed.seq > head) {
      // On a distributed bus the client may have seen, on another hub, events that have not
      // reached this one yet: wait for them (they are held as live), then skip them.
      if (source.isDistributed && (await this.#waitForSeq(parsed.seq))) {
        if (subscriber.isClosed) return;
        subscriber.goLive(parsed.seq);
        return;
      }
      if (subscriber.isClosed) return;
      this.#sendReset(subscriber, "invalid-id", lastEventId, head, tally);
    } else if (parsed.seq < head) {
      const read = await this.#read(subscriber, parsed.seq);
      if (subscriber.isClosed) return;
      // Below the floor, history never held some events after the id; otherwise `complete`
      // says whether it lost some. Either way what it still holds after the id follows.
      if (parsed.seq < source.historyFloor || !read.complete) {
        await this.#resetAndReplay(
          subscriber,
          "history-evicted",
          lastEventId,
          read.events,
          head,
          tally,
        );
      } else {
        await this.#replay(subscriber, visibleEvents(read.events, subscriber.access), head, tally);
      }
      if (subscriber.isClosed) return;
    }
    subscriber.goLive();
  }

  /**
   * Where `lastEventId` points, tried in this order (docs/protocol.md, "How old ids are
   * treated"): an id of ours (`urn:ssehub:`, a form publishers cannot give); an id a publisher
   * gave (looked up in history, and taken as this epoch's); an id in the form earlier builds of
   * the hub gave (`<epoch>-<seq>`, which publishers may use too, hence after the lookup). An id
   * of another epoch is answered as such by the caller; undefined when the id is none of these.
   */
  #seqOfLastEventId(lastEventId: string): EventId | undefined {
    const { epoch, history } = this.#source;
    const parsed = parseEventId(lastEventId);
    if (parsed !== undefined) return parsed;
    const seq = history.seqOfId?.(lastEventId);
    if (seq !== undefined) return { epoch, seq };
    return parseOldFormEventId(lastEventId);
  }

  /**
   * The topics whose history a resume reads: the subscriber's own, plus, with patterns, every
   * topic this hub's history holds that one of them matches.
   */
  #historyTopicsOf(subscriber: Subscriber): readonly string[] {
    if (subscriber.patterns === undefined) return subscriber.topics;
    const topics = new Set(subscriber.topics);
    for (const topic of this.#source.history.topics()) {
      if (subscriber.wants([topic])) topics.add(topic);
    }
    return [...topics];
  }

  /**
   * Reads the history after `afterSeq` for `subscriber`, timed for the stall watcher: a store
   * in memory merges the topics' events here, in one turn.
   */
  #read(subscriber: Subscriber, afterSeq: number): HistoryRead | Promise<HistoryRead> {
    activity.begin(PHASE_REPLAY, subscriber.topics[0] ?? "", 0);
    try {
      const read = this.#source.history.readAfter(this.#historyTopicsOf(subscriber), afterSeq);
      if (!(read instanceof Promise)) activity.batchSize = read.events.length;
      return read;
    } finally {
      activity.end();
    }
  }

  /** Waits until the bus has brought `seq`; false after AHEAD_WAIT_MS or on close. */
  async #waitForSeq(seq: number): Promise<boolean> {
    const source = this.#source;
    const deadline = Date.now() + AHEAD_WAIT_MS;
    while (source.current < seq) {
      if (source.isClosed || Date.now() > deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, AHEAD_POLL_MS));
    }
    return true;
  }

  /** Writes `events` (those up to `head`) in chunks, waiting for a slow reader to catch up. */
  async #replay(
    subscriber: Subscriber,
    events: readonly StoredEvent[],
    head: number,
    tally: ReplayTally,
  ): Promise<void> {
    const { maxQueueBytes, counters } = this.#source;
    let i = 0;
    while (i < events.length && events[i]!.seq <= head) {
      const chunk: Buffer[] = [];
      let size = 0;
      let lastSeq = 0;
      while (i < events.length && events[i]!.seq <= head && size < REPLAY_CHUNK_BYTES) {
        const event = events[i++]!;
        chunk.push(event.bytes);
        size += event.bytes.length;
        lastSeq = event.seq;
      }
      activity.begin(PHASE_REPLAY, subscriber.topics[0] ?? "", chunk.length);
      try {
        activity.subscribers = 1;
        activity.bytesQueued = size;
        subscriber.writeDirect(chunk.length === 1 ? chunk[0]! : Buffer.concat(chunk), lastSeq);
      } finally {
        activity.end();
      }
      counters.deliveries += chunk.length;
      subscriber.eventsSent += chunk.length;
      tally.events += chunk.length;
      counters.bytesWritten += size;
      do {
        await new Promise<void>((resolve) =>
          subscriber.sink.queuedBytes > maxQueueBytes / 2
            ? setTimeout(resolve, REPLAY_BACKLOG_POLL_MS)
            : setImmediate(resolve),
        );
        if (subscriber.isClosed || subscriber.sink.isClosed) return;
      } while (subscriber.sink.queuedBytes > maxQueueBytes / 2);
    }
  }

  /**
   * Sends the reset notice, then replays `events` (what history still holds after the client's
   * point) up to `head`. The notice's id is the seq just before the first event replayed, so the
   * gap it announces ends where the replay begins, and a client cut off during the replay
   * resumes from what it got; with nothing to replay, it is `head`.
   */
  async #resetAndReplay(
    subscriber: Subscriber,
    reason: ResetReason,
    lastEventId: string,
    events: readonly StoredEvent[],
    head: number,
    tally: ReplayTally,
  ): Promise<void> {
    const visible = visibleEvents(events, subscriber.access);
    const first = visible[0];
    const from = first !== undefined && first.seq <= head ? first.seq - 1 : head;
    this.#sendReset(subscriber, reason, lastEventId, from, tally);
    await this.#replay(subscriber, visible, head, tally);
  }

  /** Writes the reset notice; the stream goes on after `from` (its id). */
  #sendReset(
    subscriber: Subscriber,
    reason: ResetReason,
    lastEventId: string,
    from: number,
    tally: ReplayTally,
  ): void {
    this.#resets++;
    tally.reset = reason;
    const id = this.#source.idOf(from);
    const data = JSON.stringify({ reason, lastEventId, currentEventId: id });
    subscriber.writeDirect(encodeEvent({ id, event: RESET_EVENT, data }), from);
  }
}

/** The events of a replay that a subscriber with `access` may receive. */
function visibleEvents(
  events: readonly StoredEvent[],
  access: PrivateAccess | undefined,
): readonly StoredEvent[] {
  if (!events.some((event) => event.private)) return events;
  return events.filter((event) => !event.private || access?.allows(event.topics) === true);
}
