/**
 * The bus of the workers of one machine (`ssehub serve --workers N`), over Node's IPC channels.
 *
 *   worker A --publish--> primary (ClusterSequencer: gives seqs) --events--> every worker
 *   worker B --publish-->                                          (A and B alike)
 *
 * The primary is the one sequencer, so ids increase across all workers. Each turn of its event
 * loop it sends every worker one message with the events ordered in that turn, in seq order, and
 * to each worker the acknowledgements of its own requests. A worker appends those events to its
 * history and dispatches them, so every worker holds the same history under the same ids, and a
 * client resumes on whichever worker its reconnection lands. A publish resolves when its
 * acknowledgement arrives, after the worker has taken its events (read-your-writes).
 *
 * Joining: a worker sends `ssehub:join`; the primary answers `ssehub:welcome` with the epoch and
 * its copy of the recent events (recent-events.ts), which the worker loads into its history
 * before it accepts streams (joinClusterBus), so a replacement for a worker that died resumes
 * their clients with no loss. Every later event reaches it in `ssehub:events`.
 *
 * Faults: a send to a channel that has closed (its process died) is dropped, never thrown: the
 * process on the other end is gone. A worker whose primary is gone stops taking publishes
 * (SSEHUB_ERR_BUS_UNAVAILABLE); the serve command then shuts it down.
 *
 * Workers batch too: the publishes of one turn leave in one message.
 * @module
 */
import { SsehubError } from "../errors.js";
import { MemoryHistory } from "../history/memory-history.js";
import { type PreparedEvent, type SequencedEvent, toStoredEvent } from "../history/stored-event.js";
import { type Bus, type BusStart, sequenced } from "./bus.js";
import { IdempotencyMemory, idempotencyKeyReused, KEY_REUSED, NEW_KEY } from "./idempotency.js";
import { RECENT_EVENTS_MIN_TOTAL, RecentEvents, type RecentEventsLimits } from "./recent-events.js";
import type { SequencerJournal } from "./sequencer-journal.js";

/** Messages on the IPC channel; `type` tags keep them apart from anything else sent there. */
export type ClusterMessage =
  | { readonly type: "ssehub:join" }
  | {
      readonly type: "ssehub:welcome";
      readonly epoch: string;
      /** Seq of the newest event no longer kept by the primary. */
      readonly floor: number;
      /** Every event after `floor` up to the newest one sent so far, in seq order. */
      readonly events: readonly SequencedEvent[];
    }
  | {
      readonly type: "ssehub:publish";
      readonly requests: readonly { readonly ref: number; readonly events: PreparedEvent[] }[];
    }
  | {
      readonly type: "ssehub:events";
      readonly events: readonly SequencedEvent[];
      /**
       * [ref, seq of its first event] for the receiving worker's own requests; KEY_REUSED
       * (idempotency.ts) refuses a request whose idempotency key was given with other events.
       */
      readonly acks: readonly (readonly [number, number])[];
    };

/**
 * The IPC endpoint of a process: `process` in a worker, a cluster Worker in the primary. `send`
 * takes a callback so that a failed send (the channel closed) is reported there, never as an
 * 'error' event that nobody listens to.
 */
export interface IpcChannel {
  send(message: ClusterMessage, callback?: (error: Error | null) => void): unknown;
  on(event: "message" | "disconnect", listener: (message: unknown) => void): unknown;
  off(event: "message" | "disconnect", listener: (message: unknown) => void): unknown;
}

/** Sends `message` on `channel`; a channel that has closed drops it (its process is gone). */
function sendOrDrop(channel: IpcChannel, message: ClusterMessage): void {
  try {
    channel.send(message, ignoreSendError);
  } catch {
    // Some channels throw at once when closed; the process on the other end is gone either way.
  }
}

function ignoreSendError(): void {}

function isClusterMessage(message: unknown): message is ClusterMessage {
  return (
    typeof message === "object" &&
    message !== null &&
    typeof (message as { type?: unknown }).type === "string" &&
    (message as { type: string }).type.startsWith("ssehub:")
  );
}

interface PendingPublish {
  readonly count: number;
  readonly idempotencyKey: string | undefined;
  readonly resolve: (firstSeq: number) => void;
  readonly reject: (error: Error) => void;
}

/** The history limits of the workers' hubs (their historyMaxEvents and historyMaxAgeMs). */
export interface ClusterHistoryLimits {
  readonly historyMaxEvents: number;
  readonly historyMaxAgeMs: number;
}

/** A worker joined to the cluster bus: its bus, and its history loaded from the primary's copy. */
export interface ClusterJoin {
  readonly bus: ClusterBus;
  readonly history: MemoryHistory;
}

/**
 * Joins the cluster bus over `channel` (`process` in a worker): asks the primary for the epoch
 * and its recent events, and loads them into a new history with `limits`. Give both to the hub
 * before it accepts streams. Rejects when the channel closes first (the primary is gone).
 */
export function joinClusterBus(
  channel: IpcChannel,
  limits: ClusterHistoryLimits,
): Promise<ClusterJoin> {
  return new Promise((resolve, reject) => {
    const bus = new ClusterBus(channel, { epoch: "", joinedAfterSeq: 0 });
    const onDisconnect = (): void => {
      channel.off("disconnect", onDisconnect);
      reject(
        new SsehubError(
          "SSEHUB_ERR_BUS_UNAVAILABLE",
          "Cannot join the cluster: the primary process is gone",
        ),
      );
    };
    channel.on("disconnect", onDisconnect);
    bus.awaitWelcome((welcome) => {
      channel.off("disconnect", onDisconnect);
      const history = new MemoryHistory({
        maxEvents: limits.historyMaxEvents,
        maxAgeMs: limits.historyMaxAgeMs,
      });
      for (const event of welcome.events) history.append(toStoredEvent(welcome.epoch, event));
      resolve({ bus, history });
    });
  });
}

/**
 * The bounds of the primary's copy of recent events for workers' hubs with `limits`: what one
 * worker's history can hold per topic and by age, and RECENT_EVENTS_MIN_TOTAL events in all
 * (or historyMaxEvents, when larger, so that one topic's whole history always fits).
 */
export function recentEventsLimits(limits: ClusterHistoryLimits): RecentEventsLimits {
  return {
    maxEventsPerTopic: limits.historyMaxEvents,
    maxAgeMs: limits.historyMaxAgeMs,
    maxTotal: Math.max(RECENT_EVENTS_MIN_TOTAL, limits.historyMaxEvents),
  };
}

type Welcome = Extract<ClusterMessage, { type: "ssehub:welcome" }>;

/** The worker side of the cluster bus. */
export class ClusterBus implements Bus {
  readonly isDistributed = true;
  readonly #channel: IpcChannel;
  #start: BusStart;
  readonly #pending = new Map<number, PendingPublish>();
  #outbox: { ref: number; events: PreparedEvent[] }[] = [];
  #scheduled = false;
  #nextRef = 0;
  #backlog = 0;
  #listening = false;
  #joinSent = false;
  #closed = false;
  #primaryGone = false;
  #deliver: ((events: readonly SequencedEvent[]) => void) | undefined;
  /** Set while joinClusterBus waits for the primary's welcome. */
  #onWelcome: ((welcome: Welcome) => void) | undefined;
  /** Events that arrived after the welcome and before start(): delivered once it is called. */
  #early: SequencedEvent[] = [];
  readonly #onMessage = (message: unknown): void => this.#receive(message);
  readonly #onDisconnect = (): void => this.#primaryLeft();
  readonly #flushBound = (): void => this.#flush();

  /**
   * @param channel the IPC channel to the primary (`process` in a cluster worker)
   * @param start the epoch and the seq this worker joins after, when known without a welcome
   *   (joinClusterBus learns them from the primary)
   */
  constructor(channel: IpcChannel, start: BusStart) {
    this.#channel = channel;
    this.#start = start;
  }

  get backlog(): number {
    return this.#backlog;
  }

  /** False once the primary is gone: nothing can be ordered any more. */
  get isReady(): boolean {
    return !this.#primaryGone;
  }

  /** Asks the primary to join; `onWelcome` gets its answer (see joinClusterBus). */
  awaitWelcome(onWelcome: (welcome: Welcome) => void): void {
    this.#onWelcome = onWelcome;
    this.#listen();
    this.#join();
  }

  start(deliver: (events: readonly SequencedEvent[]) => void): BusStart {
    this.#deliver = deliver;
    this.#listen();
    this.#join();
    if (this.#early.length > 0) {
      // After the hub has taken the start point this call returns.
      queueMicrotask(() => {
        const early = this.#early;
        this.#early = [];
        if (early.length > 0) this.#deliver?.(early);
      });
    }
    return this.#start;
  }

  publish(events: readonly PreparedEvent[]): Promise<number> {
    if (this.#deliver === undefined || this.#closed) {
      return Promise.reject(
        new SsehubError("SSEHUB_ERR_HUB_CLOSED", "Cannot publish: the cluster bus is closed"),
      );
    }
    if (this.#primaryGone) return Promise.reject(primaryGoneError());
    const ref = ++this.#nextRef;
    this.#outbox.push({ ref, events: [...events] });
    this.#backlog += events.length;
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#flushBound);
    }
    return new Promise((resolve, reject) => {
      const idempotencyKey = events[0]?.idempotency?.key;
      this.#pending.set(ref, { count: events.length, idempotencyKey, resolve, reject });
    });
  }

  close(): void {
    this.#closed = true;
    this.#deliver = undefined;
    this.#onWelcome = undefined;
    this.#channel.off("message", this.#onMessage);
    this.#channel.off("disconnect", this.#onDisconnect);
    this.#rejectPending(
      new SsehubError(
        "SSEHUB_ERR_HUB_CLOSED",
        "Cannot publish: the cluster bus closed before the primary answered",
      ),
    );
  }

  #listen(): void {
    if (this.#listening) return;
    this.#listening = true;
    this.#channel.on("message", this.#onMessage);
    this.#channel.on("disconnect", this.#onDisconnect);
  }

  #join(): void {
    if (this.#joinSent) return;
    this.#joinSent = true;
    sendOrDrop(this.#channel, { type: "ssehub:join" });
  }

  /** The primary is gone: what waits for it will never be answered. */
  #primaryLeft(): void {
    this.#primaryGone = true;
    this.#outbox = [];
    this.#rejectPending(primaryGoneError());
  }

  #rejectPending(error: Error): void {
    for (const pending of this.#pending.values()) pending.reject(error);
    this.#pending.clear();
    this.#backlog = 0;
  }

  #flush(): void {
    this.#scheduled = false;
    if (this.#outbox.length === 0 || this.#deliver === undefined || this.#primaryGone) return;
    const requests = this.#outbox;
    this.#outbox = [];
    sendOrDrop(this.#channel, { type: "ssehub:publish", requests });
  }

  #receive(message: unknown): void {
    if (!isClusterMessage(message)) return;
    if (message.type === "ssehub:welcome") {
      this.#welcome(message);
      return;
    }
    if (message.type !== "ssehub:events") return;
    if (message.events.length > 0) {
      if (this.#deliver !== undefined) this.#deliver(message.events);
      else if (!this.#closed) for (const event of message.events) this.#early.push(event);
    }
    for (const [ref, firstSeq] of message.acks) {
      const pending = this.#pending.get(ref);
      if (pending === undefined) continue;
      this.#pending.delete(ref);
      this.#backlog -= pending.count;
      if (firstSeq === KEY_REUSED) pending.reject(idempotencyKeyReused(pending.idempotencyKey));
      else if (firstSeq === HISTORY_REFUSED) pending.reject(historyRefusedError());
      else pending.resolve(firstSeq);
    }
  }

  #welcome(welcome: Welcome): void {
    const onWelcome = this.#onWelcome;
    if (onWelcome !== undefined) {
      this.#onWelcome = undefined;
      this.#start = {
        epoch: welcome.epoch,
        joinedAfterSeq: welcome.events.at(-1)?.seq ?? welcome.floor,
        historyFloor: welcome.floor,
      };
      onWelcome(welcome);
      return;
    }
    // Started with a known join point (no history handed over): the events after it that were
    // ordered before the join come with the welcome.
    const after = this.#start.joinedAfterSeq;
    const missed = welcome.events.filter((event) => event.seq > after);
    if (missed.length > 0) this.#deliver?.(missed);
  }
}

/** The ack of a request whose events the primary's data directory refused to keep. */
const HISTORY_REFUSED = -2;

function historyRefusedError(): SsehubError {
  return new SsehubError(
    "SSEHUB_ERR_HISTORY_WRITE_FAILED",
    "Cannot keep the event: the data directory refused the write (see the primary's log); nothing was published",
  );
}

function primaryGoneError(): SsehubError {
  return new SsehubError(
    "SSEHUB_ERR_BUS_UNAVAILABLE",
    "Cannot publish: the primary process of the cluster is gone; retry on the restarted hub",
    { details: { retryAfterSeconds: 1 } },
  );
}

/** One worker as the primary sees it. */
interface Member {
  /** True once the worker has been welcomed: it gets every event ordered from then on. */
  joined: boolean;
  acks: [number, number][];
}

/**
 * The primary side of the cluster bus: the one sequencer of the machine. Add each worker with
 * `add()` right after forking it; it is welcomed with the recent events when it joins. It keeps
 * the idempotency keys of every worker's publishes (idempotency.ts), so a retry that lands on
 * another worker, or outlives the worker of the first attempt, is answered the first seq.
 */
export class ClusterSequencer {
  readonly epoch: string;
  readonly #members = new Map<IpcChannel, Member>();
  readonly #listeners = new Map<IpcChannel, (message: unknown) => void>();
  readonly #recent: RecentEvents;
  #seq = 0;
  #ordered: SequencedEvent[] = [];
  /** The idempotency keys of the requests ordered this turn (forgotten if the disk refuses them). */
  #orderedKeys: string[] = [];
  #scheduled = false;
  readonly #flushBound = (): void => this.#flush();
  readonly #idempotency: IdempotencyMemory;
  /** The data directory's log (`--data-dir`): each turn is written there before it goes out. */
  readonly #journal: SequencerJournal | undefined;

  /**
   * @param epoch the epoch of every id of the cluster
   * @param limits the workers' history limits, which bound the copy of recent events handed
   *   to a worker that joins late
   * @param idempotencyMaxKeys most idempotency keys remembered at once
   * @param now the clock of the idempotency window, in ms (for tests)
   */
  constructor(
    epoch: string,
    limits: ClusterHistoryLimits = { historyMaxEvents: 1000, historyMaxAgeMs: 3_600_000 },
    idempotencyMaxKeys = 100_000,
    now: () => number = Date.now,
    journal?: SequencerJournal,
  ) {
    this.#recent = new RecentEvents(recentEventsLimits(limits));
    this.#idempotency = new IdempotencyMemory(idempotencyMaxKeys, now);
    this.#journal = journal;
    if (journal === undefined) {
      this.epoch = epoch;
    } else {
      // The order goes on where the data directory left it, under its epoch.
      const { start } = journal;
      this.epoch = start.epoch;
      this.#seq = start.lastSeq;
      this.#recent.restore(start.floor, start.events, Date.now());
    }
  }

  /** Told of each write the data directory refused (for the log). */
  onWriteError: ((error: Error) => void) | undefined;

  /** Seq of the newest event ordered. */
  get current(): number {
    return this.#seq;
  }

  /** Events in the copy handed to joining workers. */
  get recentEvents(): number {
    return this.#recent.size;
  }

  /** Starts ordering for `worker`; it is welcomed when it asks to join. */
  add(worker: IpcChannel): void {
    const member: Member = { joined: false, acks: [] };
    const listener = (message: unknown): void => this.#receive(worker, member, message);
    this.#members.set(worker, member);
    this.#listeners.set(worker, listener);
    worker.on("message", listener);
  }

  /** Stops sending to `worker` (it disconnected or exited); safe to call more than once. */
  remove(worker: IpcChannel): void {
    const listener = this.#listeners.get(worker);
    if (listener !== undefined) worker.off("message", listener);
    this.#listeners.delete(worker);
    this.#members.delete(worker);
  }

  #receive(worker: IpcChannel, member: Member, message: unknown): void {
    if (!isClusterMessage(message)) return;
    if (message.type === "ssehub:join") {
      if (member.joined) return;
      member.joined = true;
      // Every event sent so far is in the copy; those ordered in this turn go out in #flush.
      const { floor, events } = this.#recent.snapshot(Date.now());
      sendOrDrop(worker, { type: "ssehub:welcome", epoch: this.epoch, floor, events });
      return;
    }
    if (message.type !== "ssehub:publish") return;
    const publishedAt = Date.now();
    for (const request of message.requests) {
      const claim = request.events[0]?.idempotency;
      if (claim !== undefined) {
        const recalled = this.#idempotency.recall(claim, this.#seq + 1);
        if (recalled !== NEW_KEY) {
          // Already ordered (or refused): the ack goes out after the events it names.
          member.acks.push([request.ref, recalled]);
          continue;
        }
      }
      member.acks.push([request.ref, this.#seq + 1]);
      if (claim !== undefined) this.#orderedKeys.push(claim.key);
      for (const event of request.events) {
        this.#ordered.push(sequenced(event, ++this.#seq, publishedAt));
      }
    }
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#flushBound);
    }
  }

  #flush(): void {
    this.#scheduled = false;
    let events = this.#ordered;
    this.#ordered = [];
    const keys = this.#orderedKeys;
    this.#orderedKeys = [];
    if (events.length > 0 && this.#journal !== undefined && !this.#write(events, keys)) {
      events = [];
    }
    if (events.length > 0) {
      const now = Date.now();
      this.#recent.append(events, now);
      const dropped = this.#journal?.retain(this.#recent.floor) ?? 0;
      if (dropped > 0) this.#recent.dropThrough(dropped, now);
    }
    for (const [worker, member] of this.#members) {
      if (!member.joined) continue;
      const acks = member.acks;
      if (events.length === 0 && acks.length === 0) continue;
      member.acks = [];
      sendOrDrop(worker, { type: "ssehub:events", events, acks });
    }
  }

  /**
   * Writes this turn's events to the data directory. When the disk refuses, they go to no
   * worker: their requests are answered HISTORY_REFUSED, their seqs given again, and their
   * idempotency keys forgotten, so that a retry is ordered anew. Returns false then.
   */
  #write(events: readonly SequencedEvent[], keys: readonly string[]): boolean {
    try {
      this.#journal!.write(events);
      return true;
    } catch (error) {
      const first = events[0]!.seq;
      this.#seq = first - 1;
      for (const key of keys) this.#idempotency.forget(key);
      for (const member of this.#members.values()) {
        for (const ack of member.acks) if (ack[1] >= first) ack[1] = HISTORY_REFUSED;
      }
      this.onWriteError?.(error as Error);
      return false;
    }
  }
}
