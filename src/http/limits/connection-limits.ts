/**
 * Caps on open connections: in total (file descriptors and memory of the process) and per
 * client address (so that one client cannot take every slot). A connection takes a lease when
 * it opens and releases it, exactly once, when it closes.
 *
 * Invariants: `total` is the number of unreleased leases; `perAddress` holds an entry for an
 * address exactly while it has an unreleased lease, so its size is bounded by the open
 * connections, never by the addresses ever seen. Acquire and release are O(1).
 * @module
 */
import { SsehubError } from "../../errors.js";

/** Seconds a refused client is told to wait before it tries again (`Retry-After`). */
export const DEFAULT_CONNECTION_RETRY_AFTER_SECONDS = 5;

/** Limits of a ConnectionLimiter. 0 means unlimited. */
export interface ConnectionLimits {
  /** Most open connections in total; 0 for no limit. */
  readonly maxTotal: number;
  /** Most open connections from one client address (or limit key); 0 for no limit. */
  readonly maxPerAddress: number;
  /**
   * What a refusal tells the client to wait, in seconds (`details.retryAfterSeconds`, which
   * becomes `Retry-After`).
   * @default 5
   */
  readonly retryAfterSeconds?: number | undefined;
}

/** An open connection's slot. Release it once the connection has closed. */
export interface ConnectionLease {
  /** The address (or limit key) the lease counts under. */
  readonly address: string;
  /** True once released. */
  readonly isReleased: boolean;
  /** Frees the slot. Idempotent: only the first call counts, so close paths may overlap. */
  release(): void;
}

/**
 * The open connections of one address. Its leases share it, and with it the address string:
 * one copy per address, not one per connection.
 */
class AddressSlot {
  readonly counts: Counts;
  readonly address: string;
  held = 0;

  constructor(counts: Counts, address: string) {
    this.counts = counts;
    this.address = address;
  }
}

/** The counts of one limiter; leases hold them, so that only a lease can give a slot back. */
class Counts {
  total = 0;
  readonly perAddress = new Map<string, AddressSlot>();

  take(address: string): AddressSlot {
    let slot = this.perAddress.get(address);
    if (slot === undefined) {
      slot = new AddressSlot(this, address);
      this.perAddress.set(address, slot);
    }
    slot.held++;
    this.total++;
    return slot;
  }

  release(slot: AddressSlot): void {
    if (--slot.held === 0) this.perAddress.delete(slot.address);
    this.total--;
  }
}

class Lease implements ConnectionLease {
  readonly address: string;
  #slot: AddressSlot | undefined;

  constructor(slot: AddressSlot) {
    this.#slot = slot;
    this.address = slot.address;
  }

  get isReleased(): boolean {
    return this.#slot === undefined;
  }

  release(): void {
    const slot = this.#slot;
    if (slot === undefined) return;
    this.#slot = undefined;
    slot.counts.release(slot);
  }
}

function checkLimit(name: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw new SsehubError(
      "SSEHUB_ERR_OPTIONS_INVALID",
      `Cannot limit connections with ${name} ${JSON.stringify(value)}: use an integer from 0 (no limit) up`,
      { details: { [name]: value } },
    );
  }
  return value;
}

/**
 * Counts open connections in total and per address, and refuses one past either limit.
 * @example
 * const limiter = new ConnectionLimiter({ maxTotal: 10_000, maxPerAddress: 100 });
 * const lease = limiter.tryAcquire(address);
 * if (lease instanceof SsehubError) throw lease; // 429 with Retry-After
 * res.once("close", () => lease.release());
 */
export class ConnectionLimiter {
  readonly maxTotal: number;
  readonly maxPerAddress: number;
  readonly retryAfterSeconds: number;
  readonly #counts = new Counts();

  constructor(limits: ConnectionLimits) {
    this.maxTotal = checkLimit("maxTotal", limits.maxTotal);
    this.maxPerAddress = checkLimit("maxPerAddress", limits.maxPerAddress);
    const retry = limits.retryAfterSeconds ?? DEFAULT_CONNECTION_RETRY_AFTER_SECONDS;
    if (!Number.isSafeInteger(retry) || retry < 1) {
      throw new SsehubError(
        "SSEHUB_ERR_OPTIONS_INVALID",
        `Cannot tell refused clients to retry after ${JSON.stringify(retry)} seconds: use a whole number from 1 up`,
        { details: { retryAfterSeconds: retry } },
      );
    }
    this.retryAfterSeconds = retry;
  }

  /** Open connections (unreleased leases). */
  get total(): number {
    return this.#counts.total;
  }

  /** Addresses with at least one open connection. */
  get addressCount(): number {
    return this.#counts.perAddress.size;
  }

  /** Open connections of `address`. */
  countOf(address: string): number {
    return this.#counts.perAddress.get(address)?.held ?? 0;
  }

  /**
   * Takes a slot for a connection from `address`, or answers why not: an
   * SSEHUB_ERR_TOO_MANY_CONNECTIONS error (429) naming the limit, with
   * `details.retryAfterSeconds`. The error is returned, not thrown, so that a refusal costs no
   * unwinding; nothing is counted for a refused connection.
   */
  tryAcquire(address: string): ConnectionLease | SsehubError {
    const counts = this.#counts;
    const held = counts.perAddress.get(address)?.held ?? 0;
    if (this.maxPerAddress !== 0 && held >= this.maxPerAddress) {
      return new SsehubError(
        "SSEHUB_ERR_TOO_MANY_CONNECTIONS",
        `Cannot open another connection from ${address}: it holds ${held} of at most ${this.maxPerAddress} per client address; retry after ${this.retryAfterSeconds} s`,
        {
          details: {
            limit: "per-address",
            max: this.maxPerAddress,
            retryAfterSeconds: this.retryAfterSeconds,
          },
        },
      );
    }
    if (this.maxTotal !== 0 && counts.total >= this.maxTotal) {
      return new SsehubError(
        "SSEHUB_ERR_TOO_MANY_CONNECTIONS",
        `Cannot open another connection: the server holds ${counts.total} of at most ${this.maxTotal} in total; retry after ${this.retryAfterSeconds} s`,
        {
          details: {
            limit: "total",
            max: this.maxTotal,
            retryAfterSeconds: this.retryAfterSeconds,
          },
        },
      );
    }
    return new Lease(counts.take(address));
  }
}
