/**
 * The `ssehub.publish` span of a publish request (POST /publish, POST on the Mercure hub), and
 * the trace context its events carry (docs/tracing.md).
 *
 * The request's W3C `traceparent` (and `tracestate`) is read once; an invalid one is ignored.
 * With no OpenTelemetry SDK registered there is no span: a valid traceparent is carried on as
 * it came, so that another process with an SDK still joins the trace. With one, the span's
 * parent is the active span when an instrumentation of the application's own already opened
 * one for the request, else the traceparent; the events then carry the publish span.
 * @module
 */
import type { IncomingMessage } from "node:http";
import { isSsehubError } from "../../errors.js";
import { SPAN_ATTRIBUTES } from "../../hub/trace-spans.js";
import {
  endSpanWithError,
  hasActiveSpan,
  isTracing,
  startSpan,
  traceContextOfSpan,
} from "../../hub/tracing.js";
import { parseTraceContext, type TraceContext } from "../../protocol/trace-context.js";

/** What a publish reports for its span. */
export interface PublishFigures {
  /** Events published. */
  readonly events: number;
  /** Distinct topics they name. */
  readonly topics: number;
}

/**
 * Runs `publish` under the request's `ssehub.publish` span; `publish` gets the trace context
 * to hand the hub and answers the figures the span records.
 * @param route names the route in the span's attributes (`/publish`)
 */
export async function withPublishSpan(
  req: IncomingMessage,
  route: string,
  publish: (trace: TraceContext | undefined) => Promise<PublishFigures>,
): Promise<void> {
  const headers = req.headers;
  const incoming =
    headers.traceparent === undefined
      ? undefined
      : parseTraceContext(headers.traceparent, headers.tracestate);
  if (!isTracing()) {
    await publish(incoming);
    return;
  }
  const nested = hasActiveSpan();
  const span = startSpan(
    "ssehub.publish",
    nested ? "internal" : "server",
    nested ? undefined : incoming,
    { "http.request.method": req.method ?? "POST", "http.route": route },
  );
  let figures: PublishFigures;
  try {
    figures = await publish(traceContextOfSpan(span));
  } catch (error) {
    span.setAttribute("http.response.status_code", isSsehubError(error) ? error.status : 500);
    endSpanWithError(span, error);
    throw error;
  }
  span.setAttribute("http.response.status_code", 200);
  span.setAttribute(SPAN_ATTRIBUTES.eventCount, figures.events);
  span.setAttribute(SPAN_ATTRIBUTES.topicCount, figures.topics);
  span.end();
}
