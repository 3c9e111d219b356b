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
 * Workers batch too: the publishes of one turn leave in one message.
 * @module
 */
import { SsehubError } from "../errors.js";
import type { PreparedEvent, SequencedEvent } from "../history/stored-event.js";
import { type Bus, type BusStart, sequenced } from "./bus.js";
import { IdempotencyMemory, idempotencyKeyReused, KEY_REUSED, NEW_KEY } from "./idempotency.js";

/** Messages on the IPC channel; `type` tags keep them apart from anything else sent there. */
export type ClusterMessage =
  | { readonly type: "ssehub:join" }
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

/** The IPC endpoint of a process: `process` in a worker, a cluster Worker in the primary. */
export interface IpcChannel {
  send(message: ClusterMessage): unknown;
  on(event: "message", listener: (message: unknown) => void): unknown;
  off(event: "message", listener: (message: unknown) => void): unknown;
}

/** Env vars through which the primary tells a new worker where it joins. */
export const CLUSTER_EPOCH_ENV = "SSEHUB_CLUSTER_EPOCH";
export const CLUSTER_SEQ_ENV = "SSEHUB_CLUSTER_SEQ";

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

/** The worker side of the cluster bus. */
export class ClusterBus implements Bus {
  readonly isReady = true;
  readonly isDistributed = true;
  readonly #channel: IpcChannel;
  readonly #start: BusStart;
  readonly #pending = new Map<number, PendingPublish>();
  #outbox: { ref: number; events: PreparedEvent[] }[] = [];
  #scheduled = false;
  #nextRef = 0;
  #backlog = 0;
  #deliver: ((events: readonly SequencedEvent[]) => void) | undefined;
  readonly #onMessage = (message: unknown): void => this.#receive(message);
  readonly #flushBound = (): void => this.#flush();

  /**
   * @param channel the IPC channel to the primary (`process` in a cluster worker)
   * @param start the epoch and the seq this worker joins after, as the primary gave them
   */
  constructor(channel: IpcChannel, start: BusStart) {
    this.#channel = channel;
    this.#start = start;
  }

  /** Reads the join point the primary put in this worker's environment. */
  static fromEnv(env: NodeJS.ProcessEnv, channel: IpcChannel): ClusterBus {
    const epoch = env[CLUSTER_EPOCH_ENV];
    const seq = Number(env[CLUSTER_SEQ_ENV]);
    if (epoch === undefined || !Number.isSafeInteger(seq) || seq < 0) {
      throw new TypeError(
        `Cannot join the cluster bus: ${CLUSTER_EPOCH_ENV} and ${CLUSTER_SEQ_ENV} must be set by the primary`,
      );
    }
    return new ClusterBus(channel, { epoch, joinedAfterSeq: seq });
  }

  get backlog(): number {
    return this.#backlog;
  }

  start(deliver: (events: readonly SequencedEvent[]) => void): BusStart {
    this.#deliver = deliver;
    this.#channel.on("message", this.#onMessage);
    this.#channel.send({ type: "ssehub:join" });
    return this.#start;
  }

  publish(events: readonly PreparedEvent[]): Promise<number> {
    if (this.#deliver === undefined) {
      return Promise.reject(
        new SsehubError("SSEHUB_ERR_HUB_CLOSED", "Cannot publish: the cluster bus is closed"),
      );
    }
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
    this.#deliver = undefined;
    this.#channel.off("message", this.#onMessage);
    const error = new SsehubError(
      "SSEHUB_ERR_HUB_CLOSED",
      "Cannot publish: the cluster bus closed before the primary answered",
    );
    for (const pending of this.#pending.values()) pending.reject(error);
    this.#pending.clear();
    this.#backlog = 0;
  }

  #flush(): void {
    this.#scheduled = false;
    if (this.#outbox.length === 0 || this.#deliver === undefined) return;
    const requests = this.#outbox;
    this.#outbox = [];
    this.#channel.send({ type: "ssehub:publish", requests });
  }

  #receive(message: unknown): void {
    if (!isClusterMessage(message) || message.type !== "ssehub:events") return;
    if (message.events.length > 0) this.#deliver?.(message.events);
    for (const [ref, firstSeq] of message.acks) {
      const pending = this.#pending.get(ref);
      if (pending === undefined) continue;
      this.#pending.delete(ref);
      this.#backlog -= pending.count;
      if (firstSeq === KEY_REUSED) pending.reject(idempotencyKeyReused(pending.idempotencyKey));
      else pending.resolve(firstSeq);
    }
  }
}

/** One worker as the primary sees it. */
interface Member {
  joined: boolean;
  /** Events ordered before the worker said it listens; sent when it joins. */
  held: SequencedEvent[];
  acks: [number, number][];
}

/**
 * The primary side of the cluster bus: the one sequencer of the machine. Add each worker with
 * `add()` right after forking it, with the env from `joinEnv()` taken at that moment. It keeps
 * the idempotency keys of every worker's publishes (idempotency.ts), so a retry that lands on
 * another worker, or outlives the worker of the first attempt, is answered the first seq.
 */
export class ClusterSequencer {
  readonly epoch: string;
  readonly #members = new Map<IpcChannel, Member>();
  readonly #listeners = new Map<IpcChannel, (message: unknown) => void>();
  #seq = 0;
  #ordered: SequencedEvent[] = [];
  #scheduled = false;
  readonly #flushBound = (): void => this.#flush();
  readonly #idempotency: IdempotencyMemory;

  /**
   * @param epoch the epoch of every id of the cluster
   * @param idempotencyMaxKeys most idempotency keys remembered at once
   * @param now the clock of the idempotency window, in ms (for tests)
   */
  constructor(epoch: string, idempotencyMaxKeys = 100_000, now: () => number = Date.now) {
    this.epoch = epoch;
    this.#idempotency = new IdempotencyMemory(idempotencyMaxKeys, now);
  }

  /** Seq of the newest event ordered. */
  get current(): number {
    return this.#seq;
  }

  /** The env a worker forked now needs to join (epoch, and the seq it joins after). */
  joinEnv(): Record<string, string> {
    return { [CLUSTER_EPOCH_ENV]: this.epoch, [CLUSTER_SEQ_ENV]: String(this.#seq) };
  }

  /** Starts ordering for `worker`; it receives every event ordered from now on. */
  add(worker: IpcChannel): void {
    const member: Member = { joined: false, held: [], acks: [] };
    const listener = (message: unknown): void => this.#receive(worker, member, message);
    this.#members.set(worker, member);
    this.#listeners.set(worker, listener);
    worker.on("message", listener);
  }

  /** Stops sending to `worker` (it exited). */
  remove(worker: IpcChannel): void {
    const listener = this.#listeners.get(worker);
    if (listener !== undefined) worker.off("message", listener);
    this.#listeners.delete(worker);
    this.#members.delete(worker);
  }

  #receive(worker: IpcChannel, member: Member, message: unknown): void {
    if (!isClusterMessage(message)) return;
    if (message.type === "ssehub:join") {
      member.joined = true;
      if (member.held.length > 0) {
        worker.send({ type: "ssehub:events", events: member.held, acks: [] });
        member.held = [];
      }
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
    const events = this.#ordered;
    this.#ordered = [];
    for (const [worker, member] of this.#members) {
      if (!member.joined) {
        for (const event of events) member.held.push(event);
        continue;
      }
      const acks = member.acks;
      if (events.length === 0 && acks.length === 0) continue;
      member.acks = [];
      worker.send({ type: "ssehub:events", events, acks });
    }
  }
}
