/**
 * Gives every event of the hub its sequence number: one counter for all topics, so that one
 * Last-Event-ID orders events across every topic a connection subscribes to.
 * @module
 */
import { formatEventId, newEpoch } from "../protocol/event-id.js";

/** The hub-wide event counter of one epoch. */
export class Sequencer {
  /** The generation of this counter; ids from another epoch cannot be resumed. */
  readonly epoch: string;
  #current = 0;

  constructor(epoch: string = newEpoch()) {
    this.epoch = epoch;
  }

  /** The sequence of the newest event, 0 before the first. */
  get current(): number {
    return this.#current;
  }

  /** Takes the next sequence number. */
  next(): number {
    this.#current += 1;
    return this.#current;
  }

  /** The wire id of `seq` in this epoch. */
  idOf(seq: number): string {
    return formatEventId(this.epoch, seq);
  }
}
