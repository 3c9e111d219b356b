/**
 * The bus of a hub alone in its process: ordering is a counter, delivery is a call.
 * @module
 */

import { SsehubError } from "../errors.js";
import type { PreparedEvent, SequencedEvent } from "../history/stored-event.js";
import { newEpoch } from "../protocol/event-id.js";
import { type Bus, type BusStart, sequenced } from "./bus.js";
import { IdempotencyMemory, idempotencyKeyReused, KEY_REUSED, NEW_KEY } from "./idempotency.js";

/** Options of a LocalBus. */
export interface LocalBusOptions {
  /** Most idempotency keys remembered at once (see idempotency.ts). @default 100000 */
  readonly idempotencyMaxKeys?: number;
  /** The clock of the idempotency window, in ms (for tests). @default Date.now */
  readonly now?: () => number;
  /**
   * The seq of the newest event ordered before this bus (a durable history read back from its
   * files): the order goes on after it. @default 0
   */
  readonly afterSeq?: number;
  /** Readers from before this seq get a reset (BusStart.historyFloor). @default afterSeq */
  readonly historyFloor?: number;
}

/** A bus with one member: events are ordered and delivered synchronously. */
export class LocalBus implements Bus {
  readonly isReady = true;
  readonly isDistributed = false;
  readonly backlog = 0;
  readonly #epoch: string;
  #seq: number;
  readonly #historyFloor: number;
  #deliver: ((events: readonly SequencedEvent[]) => void) | undefined;
  readonly #idempotency: IdempotencyMemory;

  constructor(epoch: string = newEpoch(), options: LocalBusOptions = {}) {
    this.#epoch = epoch;
    this.#seq = options.afterSeq ?? 0;
    this.#historyFloor = options.historyFloor ?? this.#seq;
    this.#idempotency = new IdempotencyMemory(options.idempotencyMaxKeys ?? 100_000, options.now);
  }

  start(deliver: (events: readonly SequencedEvent[]) => void): BusStart {
    this.#deliver = deliver;
    return { epoch: this.#epoch, joinedAfterSeq: this.#seq, historyFloor: this.#historyFloor };
  }

  publish(events: readonly PreparedEvent[]): Promise<number> {
    try {
      return Promise.resolve(this.publishNow(events));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Orders and delivers at once; returns the seq of the first event. A publish whose
   * idempotency key is remembered is not ordered again: the first seq it got is returned.
   * Throws SSEHUB_ERR_PUBLISH_IDEMPOTENCY_KEY_REUSED for a key remembered with other events.
   */
  publishNow(events: readonly PreparedEvent[]): number {
    const first = this.#seq + 1;
    const claim = events[0]?.idempotency;
    if (claim !== undefined) {
      const recalled = this.#idempotency.recall(claim, first);
      if (recalled === KEY_REUSED) throw idempotencyKeyReused(claim.key);
      if (recalled !== NEW_KEY) return recalled;
    }
    const publishedAt = Date.now();
    const ordered: SequencedEvent[] = events.map((event) =>
      sequenced(event, ++this.#seq, publishedAt),
    );
    try {
      this.#deliver?.(ordered);
    } catch (error) {
      if (!(error instanceof SsehubError && error.code === "SSEHUB_ERR_HISTORY_WRITE_FAILED")) {
        throw error;
      }
      // The hub's history refused them (a disk that is full): they were neither kept nor
      // delivered, so their seqs are given again and a retry under the key is ordered anew.
      this.#seq = first - 1;
      if (claim !== undefined) this.#idempotency.forget(claim.key);
      throw error;
    }
    return first;
  }

  close(): void {
    this.#deliver = undefined;
  }
}
