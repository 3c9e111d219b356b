/**
 * The bus of a hub alone in its process: ordering is a counter, delivery is a call.
 * @module
 */

import type { PreparedEvent, SequencedEvent } from "../history/stored-event.js";
import { newEpoch } from "../protocol/event-id.js";
import { type Bus, type BusStart, sequenced } from "./bus.js";

/** A bus with one member: events are ordered and delivered synchronously. */
export class LocalBus implements Bus {
  readonly isReady = true;
  readonly isDistributed = false;
  readonly backlog = 0;
  readonly #epoch: string;
  #seq = 0;
  #deliver: ((events: readonly SequencedEvent[]) => void) | undefined;

  constructor(epoch: string = newEpoch()) {
    this.#epoch = epoch;
  }

  start(deliver: (events: readonly SequencedEvent[]) => void): BusStart {
    this.#deliver = deliver;
    return { epoch: this.#epoch, joinedAfterSeq: this.#seq };
  }

  publish(events: readonly PreparedEvent[]): Promise<number> {
    return Promise.resolve(this.publishNow(events));
  }

  /** Orders and delivers at once; returns the seq of the first event. */
  publishNow(events: readonly PreparedEvent[]): number {
    const first = this.#seq + 1;
    const publishedAt = Date.now();
    const ordered: SequencedEvent[] = events.map((event) =>
      sequenced(event, ++this.#seq, publishedAt),
    );
    this.#deliver?.(ordered);
    return first;
  }

  close(): void {
    this.#deliver = undefined;
  }
}
