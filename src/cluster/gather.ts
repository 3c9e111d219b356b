/**
 * Gathering a named snapshot from every worker of the cluster: one worker asks, the primary
 * asks each live worker over IPC, and the asker gets `[{ worker, pid, payload }]`. /metrics uses
 * it so that one scrape sees every worker; any admin endpoint with per-worker rows can too.
 *
 *   worker A --request(ref, name)--> primary --ask(ask, name)--> every live worker (A included)
 *   worker A <--result(ref, rows)--- primary <--answer(ask, payload)-- each of them
 *
 * Bounded in time: the primary answers with the rows it has after `timeoutMs`, and the asker
 * gives up a little later (the primary may be gone). A worker that dies meanwhile, or that has
 * no provider of that name, or whose provider fails, is left out of the rows. The primary never
 * throws: a send to a worker that has died is dropped, as in the cluster bus.
 *
 * Messages are tagged `ssehub-gather:*`, apart from the cluster bus's `ssehub:*` (each side
 * ignores the other's), and from prom-client's own `prom-client:*`.
 * @module
 */

/** One worker's answer. */
export interface WorkerSnapshot {
  /** The worker's id in the cluster (node:cluster's `worker.id`: 1, 2, ... replacements after). */
  readonly worker: number;
  readonly pid: number;
  /** What its provider answered (sent over IPC: JSON values only). */
  readonly payload: unknown;
}

/** Builds a worker's snapshot of one name; may be async. */
export type SnapshotProvider = () => unknown;

/** How long the primary waits for the workers' answers, in ms. */
export const DEFAULT_GATHER_TIMEOUT_MS = 2000;
/** How much longer a worker waits for the primary's result, in ms. */
const ASKER_GRACE_MS = 1000;

type GatherMessage =
  | { readonly type: "ssehub-gather:request"; readonly ref: number; readonly name: string }
  | { readonly type: "ssehub-gather:ask"; readonly ask: number; readonly name: string }
  | {
      readonly type: "ssehub-gather:answer";
      readonly ask: number;
      /** False when the worker has no such provider or its provider failed. */
      readonly ok: boolean;
      readonly payload?: unknown;
    }
  | {
      readonly type: "ssehub-gather:result";
      readonly ref: number;
      readonly rows: readonly WorkerSnapshot[];
    };

/** An IPC endpoint: `process` in a worker, a cluster Worker in the primary. */
export interface GatherChannel {
  send(message: GatherMessage, callback?: (error: Error | null) => void): unknown;
  on(event: "message", listener: (message: unknown) => void): unknown;
  off(event: "message", listener: (message: unknown) => void): unknown;
}

/** A worker as the primary sees it. */
export interface GatherWorker extends GatherChannel {
  readonly id: number;
  readonly process: { readonly pid?: number | undefined };
}

function isGatherMessage(message: unknown): message is GatherMessage {
  return (
    typeof message === "object" &&
    message !== null &&
    typeof (message as { type?: unknown }).type === "string" &&
    (message as { type: string }).type.startsWith("ssehub-gather:")
  );
}

/** Sends `message`; a channel that has closed drops it (its process is gone). */
function sendOrDrop(channel: GatherChannel, message: GatherMessage): void {
  try {
    channel.send(message, ignoreSendError);
  } catch {
    // Some channels throw at once when closed; the process on the other end is gone either way.
  }
}

function ignoreSendError(): void {}

/** One gathering in the primary: the rows so far and who still has to answer. */
interface Round {
  readonly rows: WorkerSnapshot[];
  readonly waiting: Set<GatherWorker>;
  readonly finish: () => void;
}

/**
 * The primary's side: add each worker right after forking it, remove it when it disconnects or
 * exits. Answers every worker's request with the rows of the live workers.
 */
export class SnapshotGatherer {
  readonly #timeoutMs: number;
  readonly #workers = new Map<GatherWorker, (message: unknown) => void>();
  readonly #rounds = new Map<number, Round>();
  #nextAsk = 0;

  /** @param timeoutMs how long to wait for the workers' answers, in ms */
  constructor(timeoutMs = DEFAULT_GATHER_TIMEOUT_MS) {
    this.#timeoutMs = timeoutMs;
  }

  /** Workers that can be asked. */
  get size(): number {
    return this.#workers.size;
  }

  /** Starts answering `worker`'s requests and asking it in every round. */
  add(worker: GatherWorker): void {
    if (this.#workers.has(worker)) return;
    const listener = (message: unknown): void => this.#receive(worker, message);
    this.#workers.set(worker, listener);
    worker.on("message", listener);
  }

  /** Stops asking `worker` (it disconnected or exited); rounds waiting for it go on without it. */
  remove(worker: GatherWorker): void {
    const listener = this.#workers.get(worker);
    if (listener === undefined) return;
    worker.off("message", listener);
    this.#workers.delete(worker);
    for (const round of this.#rounds.values()) {
      if (round.waiting.delete(worker) && round.waiting.size === 0) round.finish();
    }
  }

  #receive(worker: GatherWorker, message: unknown): void {
    if (!isGatherMessage(message)) return;
    if (message.type === "ssehub-gather:request") this.#gather(worker, message.ref, message.name);
    else if (message.type === "ssehub-gather:answer") this.#answered(worker, message);
  }

  #gather(asker: GatherWorker, ref: number, name: string): void {
    const ask = ++this.#nextAsk;
    const rows: WorkerSnapshot[] = [];
    let timer: NodeJS.Timeout | undefined;
    const finish = (): void => {
      if (!this.#rounds.delete(ask)) return;
      clearTimeout(timer);
      rows.sort((a, b) => a.worker - b.worker);
      sendOrDrop(asker, { type: "ssehub-gather:result", ref, rows });
    };
    const round: Round = { rows, waiting: new Set(this.#workers.keys()), finish };
    this.#rounds.set(ask, round);
    timer = setTimeout(finish, this.#timeoutMs);
    timer.unref();
    for (const worker of round.waiting) {
      sendOrDrop(worker, { type: "ssehub-gather:ask", ask, name });
    }
    if (round.waiting.size === 0) finish();
  }

  #answered(
    worker: GatherWorker,
    answer: Extract<GatherMessage, { type: "ssehub-gather:answer" }>,
  ) {
    const round = this.#rounds.get(answer.ask);
    if (round === undefined || !round.waiting.delete(worker)) return;
    if (answer.ok) {
      round.rows.push({ worker: worker.id, pid: worker.process.pid ?? 0, payload: answer.payload });
    }
    if (round.waiting.size === 0) round.finish();
  }
}

/** A request of this worker waiting for the primary's result. */
interface PendingGather {
  readonly resolve: (rows: readonly WorkerSnapshot[]) => void;
  readonly timer: NodeJS.Timeout;
}

/**
 * A worker's side: it provides named snapshots to the primary's rounds, and gathers a name from
 * every worker (itself included).
 * @example
 * const snapshots = new WorkerSnapshots(process);
 * snapshots.provide("stats", () => hub.stats());
 * const rows = await snapshots.gather("stats"); // [{ worker: 1, pid, payload }, ...]
 */
export class WorkerSnapshots {
  readonly #channel: GatherChannel;
  readonly #waitMs: number;
  readonly #providers = new Map<string, SnapshotProvider>();
  readonly #pending = new Map<number, PendingGather>();
  #nextRef = 0;
  readonly #onMessage = (message: unknown): void => this.#receive(message);

  /**
   * @param channel the IPC channel to the primary (`process` in a cluster worker)
   * @param timeoutMs the primary's gathering timeout; this worker waits a second more for it
   */
  constructor(channel: GatherChannel, timeoutMs = DEFAULT_GATHER_TIMEOUT_MS) {
    this.#channel = channel;
    this.#waitMs = timeoutMs + ASKER_GRACE_MS;
    channel.on("message", this.#onMessage);
  }

  /** Answers the primary's rounds for `name` with what `provider` returns (or resolves to). */
  provide(name: string, provider: SnapshotProvider): void {
    this.#providers.set(name, provider);
  }

  /**
   * The snapshot `name` of every live worker, in worker order. Never rejects: resolves with no
   * rows when the primary does not answer in time (it is gone, or the channel closed).
   */
  gather(name: string): Promise<readonly WorkerSnapshot[]> {
    const ref = ++this.#nextRef;
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.#settle(ref, []), this.#waitMs);
      timer.unref();
      this.#pending.set(ref, { resolve, timer });
      sendOrDrop(this.#channel, { type: "ssehub-gather:request", ref, name });
    });
  }

  /** Stops answering the primary; pending gatherings resolve with no rows. */
  close(): void {
    this.#channel.off("message", this.#onMessage);
    for (const ref of [...this.#pending.keys()]) this.#settle(ref, []);
  }

  #settle(ref: number, rows: readonly WorkerSnapshot[]): void {
    const pending = this.#pending.get(ref);
    if (pending === undefined) return;
    this.#pending.delete(ref);
    clearTimeout(pending.timer);
    pending.resolve(rows);
  }

  #receive(message: unknown): void {
    if (!isGatherMessage(message)) return;
    if (message.type === "ssehub-gather:result") this.#settle(message.ref, message.rows);
    else if (message.type === "ssehub-gather:ask") void this.#answer(message.ask, message.name);
  }

  async #answer(ask: number, name: string): Promise<void> {
    const provider = this.#providers.get(name);
    let answer: GatherMessage = { type: "ssehub-gather:answer", ask, ok: false };
    if (provider !== undefined) {
      try {
        answer = { type: "ssehub-gather:answer", ask, ok: true, payload: await provider() };
      } catch {
        // Left out of the rows: the asker sees one worker fewer, not a failure.
      }
    }
    sendOrDrop(this.#channel, answer);
  }
}
