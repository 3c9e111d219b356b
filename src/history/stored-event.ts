/**
 * The shapes an event takes between the hub's check and history, and the step from the last of
 * them to the StoredEvent that history keeps and the dispatcher writes. They are declared here,
 * in the lowest layer that holds events, because the hub makes them, the buses carry them and
 * the stores read them back (docs/architecture.md, "An event's shapes").
 * @module
 */
import { encodeEvent } from "../protocol/encode.js";
import { formatEventId } from "../protocol/event-id.js";
import type { TraceContext } from "../protocol/trace-context.js";
import type { StoredEvent } from "./history-store.js";

/**
 * Stage 2 of an event's life, prepared: a PublishInput (stage 1) that passed every rule, its
 * data serialized to text and its topics without duplicates, with no place in the order yet.
 * It differs from the input in holding only checked values of one type each (the input holds
 * whatever a caller sent); it is what a publish hands to the bus, and what the cluster bus and
 * Redis carry between processes.
 */
export interface PreparedEvent {
  readonly topics: readonly string[];
  readonly data: string;
  readonly event: string | undefined;
  readonly retry: number | undefined;
  /** Conflation key, see hub/slow-consumer.ts. */
  readonly key?: string | undefined;
  /** Delivered only to subscribers whose grants match one of its topics. */
  readonly private?: boolean | undefined;
  /** The id the publisher gave (Mercure), sent instead of `urn:ssehub:<epoch>:<seq>`. */
  readonly id?: string | undefined;
  /**
   * On the first event of a publish only: the publisher's idempotency key for the whole
   * publish (its events are one unit), checked by the sequencer (bus/idempotency.ts). Never
   * copied into a SequencedEvent.
   */
  readonly idempotency?: IdempotencyClaim | undefined;
  /**
   * The publish's W3C trace context (docs/tracing.md), carried to every process that delivers
   * the event, so that its dispatch spans join the publisher's trace. Undefined for an untraced
   * publish: nothing more goes on the wire then.
   */
  readonly trace?: TraceContext | undefined;
}

/**
 * An idempotency key as the sequencer of a bus sees it: the key, a digest of the events it
 * stands for, and how long it is remembered. A publish whose key the sequencer remembers gets
 * the first seq given the first time and is not ordered again.
 */
export interface IdempotencyClaim {
  /** The publisher's key (hub/publish-input.ts checks its form). */
  readonly key: string;
  /** A digest of the prepared events of the publish (bus/idempotency.ts). */
  readonly fingerprint: string;
  /** How long the sequencer remembers the key, in ms (the publishing hub's option). */
  readonly windowMs: number;
}

/**
 * Stage 3, sequenced: a prepared event with its place in the hub-wide order, as a bus hands it
 * to every hub and as a Redis stream entry reads back. It differs from the prepared event by
 * the two facts only the sequencer knows; it has no wire id or bytes yet, because the epoch of
 * the ids is the receiving hub's.
 */
export interface SequencedEvent extends PreparedEvent {
  readonly seq: number;
  /** Publish time, ms since the Unix epoch, stamped by whoever assigned `seq`. */
  readonly publishedAt: number;
}

/**
 * Stage 4: the StoredEvent of `sequenced` under `epoch`, with its wire id and its frame, encoded
 * once. Fields are listed one by one: an object spread here costs ~1.5 µs per event on Node 20.
 */
export function toStoredEvent(epoch: string, sequenced: SequencedEvent): StoredEvent {
  const id = sequenced.id ?? formatEventId(epoch, sequenced.seq);
  return {
    seq: sequenced.seq,
    id,
    publisherId: sequenced.id !== undefined,
    topics: sequenced.topics,
    event: sequenced.event,
    retry: sequenced.retry,
    key: sequenced.key,
    private: sequenced.private === true,
    data: sequenced.data,
    publishedAt: sequenced.publishedAt,
    bytes: Buffer.from(
      encodeEvent({ id, event: sequenced.event, retry: sequenced.retry, data: sequenced.data }),
    ),
  };
}
