/**
 * Idempotent publish, at the one place that sees every publish in order: the sequencer of each
 * bus (LocalBus in one process, ClusterSequencer in the primary of `--workers`, the publish
 * script in Redis). A publish that carries an idempotency key (IdempotencyClaim, on its first
 * event) is remembered there for the claim's window, with the first seq it was given. A later
 * publish with the same key and the same events (same fingerprint) is not ordered again: the
 * sequencer answers the first seq, so the publisher gets the same ids, and subscribers get the
 * events once. The same key with other events is refused (SSEHUB_ERR_PUBLISH_IDEMPOTENCY_KEY_REUSED,
 * 422, as draft-ietf-httpapi-idempotency-key-header says) and publishes nothing.
 *
 * A publish without a key costs nothing here: no digest, no lookup.
 * @see https://datatracker.ietf.org/doc/draft-ietf-httpapi-idempotency-key-header/
 * @module
 */
import { createHash } from "node:crypto";
import { SsehubError } from "../errors.js";
import type { IdempotencyClaim, PreparedEvent } from "../history/stored-event.js";

/** What the sequencer answers for a key it has not seen (seqs start at 1, so 0 is free). */
export const NEW_KEY = 0;
/** What the sequencer answers for a key it remembers with other events. */
export const KEY_REUSED = -1;

/** How a publish was shaped: one event, or a batch (a batch of one is not the same request). */
export type PublishShape = "event" | "batch";

/**
 * The digest of a publish: its shape and every field of its prepared events, each written with
 * its length first so that no two different publishes write the same bytes. SHA-256, base64url.
 */
export function fingerprintOf(events: readonly PreparedEvent[], shape: PublishShape): string {
  const hash = createHash("sha256");
  const field = (value: string | undefined): void => {
    if (value === undefined) {
      hash.update("-;");
      return;
    }
    hash.update(`${value.length}:`);
    hash.update(value);
  };
  field(shape);
  field(String(events.length));
  for (const event of events) {
    field(String(event.topics.length));
    for (const topic of event.topics) field(topic);
    field(event.data);
    field(event.event);
    field(event.retry === undefined ? undefined : String(event.retry));
    field(event.key);
    field(event.private === true ? "1" : "0");
    field(event.id);
  }
  return hash.digest("base64url");
}

/**
 * `events` as one unit under `key`: the claim rides on the first event. Without a key, the
 * events are returned as they are.
 */
export function claimIdempotency(
  events: readonly PreparedEvent[],
  key: string | undefined,
  shape: PublishShape,
  windowMs: number,
): readonly PreparedEvent[] {
  if (key === undefined || events.length === 0) return events;
  const idempotency: IdempotencyClaim = {
    key,
    fingerprint: fingerprintOf(events, shape),
    windowMs,
  };
  return [{ ...events[0]!, idempotency }, ...events.slice(1)];
}

/** The refusal of a key remembered with other events. */
export function idempotencyKeyReused(key: string | undefined): SsehubError {
  return new SsehubError(
    "SSEHUB_ERR_PUBLISH_IDEMPOTENCY_KEY_REUSED",
    `Cannot publish with the idempotency key ${key === undefined ? "given" : JSON.stringify(key)}: it was used for other events within its window; use a new key for a new publish`,
  );
}

interface Remembered {
  readonly firstSeq: number;
  readonly fingerprint: string;
  readonly expiresAt: number;
}

/**
 * The keys a sequencer in this process remembers: each until its window ends, and at most
 * `maxKeys` of them (past that the oldest is forgotten first, which shortens its window).
 *
 * Kept in a Map in insertion order; with one window for all keys that is also expiry order, so
 * expired keys are swept from the front as new ones come, with no timer. A key with a longer
 * window than the others is still forgotten at the right time: a lookup checks the expiry.
 */
export class IdempotencyMemory {
  readonly #maxKeys: number;
  readonly #now: () => number;
  readonly #keys = new Map<string, Remembered>();

  /**
   * @param maxKeys most keys kept at once
   * @param now the clock, in ms (injected by tests)
   */
  constructor(maxKeys: number, now: () => number = Date.now) {
    this.#maxKeys = maxKeys;
    this.#now = now;
  }

  /** Keys remembered now (expired ones not yet swept included). */
  get size(): number {
    return this.#keys.size;
  }

  /**
   * What the sequencer does with `claim` when it would give the publish `nextSeq`: answers
   * NEW_KEY (and remembers the key with `nextSeq`), the first seq given under the key, or
   * KEY_REUSED when the key was given with other events.
   */
  recall(claim: IdempotencyClaim, nextSeq: number): number {
    const now = this.#now();
    const remembered = this.#keys.get(claim.key);
    if (remembered !== undefined && remembered.expiresAt > now) {
      return remembered.fingerprint === claim.fingerprint ? remembered.firstSeq : KEY_REUSED;
    }
    this.#keys.delete(claim.key);
    this.#sweep(now);
    while (this.#keys.size >= this.#maxKeys) {
      const oldest = this.#keys.keys().next();
      if (oldest.done === true) break;
      this.#keys.delete(oldest.value);
    }
    this.#keys.set(claim.key, {
      firstSeq: nextSeq,
      fingerprint: claim.fingerprint,
      expiresAt: now + claim.windowMs,
    });
    return NEW_KEY;
  }

  /**
   * Forgets `key`: the publish it was remembered for was not kept after all (its history
   * refused the write), so a retry must be ordered anew.
   */
  forget(key: string): void {
    this.#keys.delete(key);
  }

  /** Forgets the expired keys at the front (the oldest). */
  #sweep(now: number): void {
    for (const [key, remembered] of this.#keys) {
      if (remembered.expiresAt > now) return;
      this.#keys.delete(key);
    }
  }
}
