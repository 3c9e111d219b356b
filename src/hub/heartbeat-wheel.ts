/**
 * One timer for all heartbeats of a hub (no timer per connection). Subscribers are spread over
 * SLOTS slots; every heartbeatMs / SLOTS the wheel visits one slot, so each subscriber is
 * visited once per heartbeat interval and the writes are spread over time instead of bursting.
 * A subscriber that got data since the last visit gets no heartbeat (see Subscriber.heartbeat).
 * @module
 */

/** What the wheel calls on each visit. */
export interface HeartbeatTarget {
  wheelSlot: number;
  heartbeat(): void;
}

const SLOTS = 16;

/** Visits every member once per interval, one slot at a time. */
export class HeartbeatWheel<T extends HeartbeatTarget> {
  readonly #slots: Set<T>[] = Array.from({ length: SLOTS }, () => new Set<T>());
  readonly #timer: NodeJS.Timeout;
  #next = 0;
  #cursor = 0;

  constructor(intervalMs: number) {
    this.#timer = setInterval(() => this.#visit(), Math.max(1, Math.floor(intervalMs / SLOTS)));
    this.#timer.unref();
  }

  add(member: T): void {
    member.wheelSlot = this.#next;
    this.#slots[this.#next]!.add(member);
    this.#next = (this.#next + 1) % SLOTS;
  }

  remove(member: T): void {
    if (member.wheelSlot >= 0) this.#slots[member.wheelSlot]!.delete(member);
    member.wheelSlot = -1;
  }

  /** Every member, slot by slot (for figures read at scrape time). */
  *members(): Generator<T> {
    for (const slot of this.#slots) yield* slot;
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  #visit(): void {
    const slot = this.#slots[this.#cursor]!;
    this.#cursor = (this.#cursor + 1) % SLOTS;
    for (const member of slot) member.heartbeat();
  }
}
