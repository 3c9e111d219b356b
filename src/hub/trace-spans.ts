/**
 * The hub's spans (docs/tracing.md): `ssehub.order` (a publish on the bus, from its prepared
 * events to their seqs), `ssehub.dispatch` (the fan-out of one event in one process) and
 * `ssehub.replay` (a resume reading history). Each function is called only when isTracing() is
 * true and, for events, only for those that carry a trace context: untraced events never reach
 * this module.
 * @module
 */
import type { StoredEvent } from "../history/history-store.js";
import type { TraceContext } from "../protocol/trace-context.js";
import { endSpanWithError, type Span, startSpan } from "./tracing.js";

/** Attribute names of ssehub's spans. */
export const SPAN_ATTRIBUTES = Object.freeze({
  eventCount: "ssehub.event_count",
  topicCount: "ssehub.topic_count",
  subscriberCount: "ssehub.subscriber_count",
  seq: "ssehub.seq",
  eventId: "ssehub.event_id",
  replayedCount: "ssehub.replayed_count",
  resetReason: "ssehub.reset_reason",
  lastEventId: "ssehub.last_event_id",
});

/**
 * Orders `count` events through `order` (the bus) under an `ssehub.order` span, child of
 * `trace`; resolves with the seq of the first.
 */
export async function traceOrdering(
  trace: TraceContext,
  count: number,
  order: () => Promise<number>,
): Promise<number> {
  const span = startSpan("ssehub.order", "producer", trace, {
    [SPAN_ATTRIBUTES.eventCount]: count,
  });
  let firstSeq: number;
  try {
    firstSeq = await order();
  } catch (error) {
    endSpanWithError(span, error);
    throw error;
  }
  span.setAttribute(SPAN_ATTRIBUTES.seq, firstSeq);
  span.end();
  return firstSeq;
}

/** An event of a dispatcher's turn that carries a trace context. */
export interface TracedEvent {
  readonly event: StoredEvent;
  readonly trace: TraceContext;
}

/**
 * Starts one `ssehub.dispatch` span per traced event of a turn, child of the event's trace
 * context; `subscribersOf` counts the subscribers its fan-out hands it to. End them with
 * endSpans once the turn's writes are done.
 */
export function startDispatchSpans(
  traced: readonly TracedEvent[],
  subscribersOf: (event: StoredEvent) => number,
): Span[] {
  const startTime = Date.now();
  return traced.map(({ event, trace }) =>
    startSpan(
      "ssehub.dispatch",
      "consumer",
      trace,
      {
        [SPAN_ATTRIBUTES.seq]: event.seq,
        [SPAN_ATTRIBUTES.eventId]: event.id,
        [SPAN_ATTRIBUTES.topicCount]: event.topics.length,
        [SPAN_ATTRIBUTES.subscriberCount]: subscribersOf(event),
      },
      startTime,
    ),
  );
}

/** Ends every span of `spans`. */
export function endSpans(spans: readonly Span[]): void {
  for (const span of spans) span.end();
}

/** What a resume did, filled in as it goes. */
export interface ReplayTally {
  /** Events written from history. */
  events: number;
  /** The reason of the reset notice sent, if one was. */
  reset: string | undefined;
}

/**
 * Runs a resume under an `ssehub.replay` span (a child of the caller's active span, if any):
 * `resume` fills in `tally`, whose figures the span gets when it ends.
 */
export async function traceReplay(
  topicCount: number,
  lastEventId: string,
  resume: (tally: ReplayTally) => Promise<void>,
): Promise<void> {
  const span = startSpan("ssehub.replay", "internal", undefined, {
    [SPAN_ATTRIBUTES.topicCount]: topicCount,
    [SPAN_ATTRIBUTES.lastEventId]: lastEventId,
  });
  const tally: ReplayTally = { events: 0, reset: undefined };
  try {
    await resume(tally);
  } catch (error) {
    endSpanWithError(span, error);
    throw error;
  }
  span.setAttribute(SPAN_ATTRIBUTES.replayedCount, tally.events);
  if (tally.reset !== undefined) span.setAttribute(SPAN_ATTRIBUTES.resetReason, tally.reset);
  span.end();
}
