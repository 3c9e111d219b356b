/**
 * The `conflate` slow-consumer policy: while a subscriber cannot keep up, it keeps only the
 * newest event per key instead of every event, so that a lagging price-tick reader gets the
 * latest price, not a backlog. The key of an event is its publish-time `key`, or its topics
 * when it has none (the newest event per topic).
 *
 * Invariant: the events taken out are in seq order, each the newest of its key among those
 * added since the last take, so a reader sees values only move forward.
 * @module
 */
import type { StoredEvent } from "../history/history-store.js";

/** The key events are conflated by. */
export function conflationKey(event: StoredEvent): string {
  return event.key ?? event.topics.join("\n");
}

/** The newest event per key of one lagging subscriber. */
export class Conflation {
  readonly #latest = new Map<string, StoredEvent>();
  #bytes = 0;

  /** Bytes of the events held. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Keeps the newest of `events` per key; returns how many held events were replaced. */
  add(events: readonly StoredEvent[]): number {
    let replaced = 0;
    for (const event of events) {
      const key = conflationKey(event);
      const previous = this.#latest.get(key);
      if (previous !== undefined) {
        this.#bytes -= previous.bytes.length;
        this.#latest.delete(key); // re-insert, so Map order stays seq order
        replaced++;
      }
      this.#latest.set(key, event);
      this.#bytes += event.bytes.length;
    }
    return replaced;
  }

  /** The held events in seq order, joined; empties the conflation. */
  take(): { readonly bytes: Buffer; readonly events: StoredEvent[] } {
    const events = [...this.#latest.values()];
    this.#latest.clear();
    this.#bytes = 0;
    return { bytes: Buffer.concat(events.map((event) => event.bytes)), events };
  }
}
