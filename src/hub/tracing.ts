/**
 * The hub's door to OpenTelemetry tracing (docs/tracing.md). Spans go through
 * `@opentelemetry/api` only: the application registers an SDK, or nothing is recorded.
 *
 * The hot path must not pay for tracing that nobody records, so every caller asks isTracing()
 * first, and only for an event that carries a trace context: it reads one property of the
 * API's global registry (the slot an SDK fills when it registers a tracer provider), with no
 * allocation and no module load. The API itself is loaded by the first span (createRequire,
 * as prom-client and pino are): `import "ssehub"` stays lean.
 * @module
 */
import { createRequire } from "node:module";
import type * as OtelApi from "@opentelemetry/api";
import {
  formatTraceparent,
  parentIdOf,
  type TraceContext,
  traceFlagsOf,
  traceIdOf,
} from "../protocol/trace-context.js";

export type { Span, SpanKind } from "@opentelemetry/api";

/** The name of the tracer: every span of ssehub comes from it. */
export const TRACER_NAME = "ssehub";

/**
 * Where `@opentelemetry/api` 1.x keeps what is registered globally (its `global-utils`): the
 * `trace` slot is set by `trace.setGlobalTracerProvider` and cleared by `trace.disable`.
 */
const OTEL_GLOBAL = Symbol.for("opentelemetry.js.api.1");

type OtelRegistry = { readonly trace?: unknown } | undefined;

/**
 * True when a tracer provider is registered: spans may be recorded. Without an SDK this is
 * one property read and a comparison, so callers may ask it per event.
 */
export function isTracing(): boolean {
  const registry = (globalThis as { [OTEL_GLOBAL]?: OtelRegistry })[OTEL_GLOBAL];
  return registry !== undefined && registry.trace !== undefined;
}

let api: typeof OtelApi | undefined;
/** The API, loaded by the first span. It is CommonJS, so it loads synchronously. */
function otel(): typeof OtelApi {
  api ??= createRequire(import.meta.url)("@opentelemetry/api") as typeof OtelApi;
  return api;
}

/** Kinds of ssehub's spans, by name, so that callers need not load the API's enum. */
export type SpanRole = "server" | "internal" | "producer" | "consumer";

function kindOf(role: SpanRole): OtelApi.SpanKind {
  const { SpanKind } = otel();
  switch (role) {
    case "server":
      return SpanKind.SERVER;
    case "producer":
      return SpanKind.PRODUCER;
    case "consumer":
      return SpanKind.CONSUMER;
    default:
      return SpanKind.INTERNAL;
  }
}

/** The context whose span is the remote parent `trace` names. */
function contextOf(trace: TraceContext): OtelApi.Context {
  const { trace: traceApi, ROOT_CONTEXT, createTraceState } = otel();
  return traceApi.setSpanContext(ROOT_CONTEXT, {
    traceId: traceIdOf(trace),
    spanId: parentIdOf(trace),
    traceFlags: traceFlagsOf(trace),
    isRemote: true,
    ...(trace.tracestate === undefined ? {} : { traceState: createTraceState(trace.tracestate) }),
  });
}

/**
 * Starts a span of ssehub's tracer. Its parent is `parent` (a trace context carried by an
 * event or read from a request), else the active span of the caller, if any. Call only when
 * isTracing() is true.
 * @param startTime when the span began, in ms since the epoch (default: now)
 */
export function startSpan(
  name: string,
  role: SpanRole,
  parent: TraceContext | undefined,
  attributes: OtelApi.Attributes,
  startTime?: number,
): OtelApi.Span {
  const { trace, context } = otel();
  const options: OtelApi.SpanOptions =
    startTime === undefined
      ? { kind: kindOf(role), attributes }
      : { kind: kindOf(role), attributes, startTime };
  const parentContext = parent === undefined ? context.active() : contextOf(parent);
  return trace.getTracer(TRACER_NAME).startSpan(name, options, parentContext);
}

/**
 * The trace context that events carry on from `span`: the span as their parent, with the
 * `tracestate` of the publisher's context.
 */
export function traceContextOfSpan(span: OtelApi.Span): TraceContext {
  const { traceId, spanId, traceFlags, traceState } = span.spanContext();
  const traceparent = formatTraceparent(traceId, spanId, traceFlags);
  const tracestate = traceState?.serialize();
  return tracestate === undefined || tracestate === ""
    ? { traceparent }
    : { traceparent, tracestate };
}

/** The trace context of the caller's active span, when it has a valid one. */
export function activeTraceContext(): TraceContext | undefined {
  const { trace, isSpanContextValid } = otel();
  const span = trace.getActiveSpan();
  if (span === undefined || !isSpanContextValid(span.spanContext())) return undefined;
  return traceContextOfSpan(span);
}

/** True when the caller runs inside an active span (an instrumentation of its own started it). */
export function hasActiveSpan(): boolean {
  return otel().trace.getActiveSpan() !== undefined;
}

/** Ends `span` as failed by `error`. */
export function endSpanWithError(span: OtelApi.Span, error: unknown): void {
  const { SpanStatusCode } = otel();
  if (error instanceof Error) span.recordException(error);
  span.setStatus({
    code: SpanStatusCode.ERROR,
    message: error instanceof Error ? error.message : String(error),
  });
  span.end();
}
