/**
 * W3C Trace Context: the `traceparent` and `tracestate` headers a publisher sends, read and
 * checked here, and the TraceContext that an event carries with it from the publishing process
 * to every process that delivers it (docs/tracing.md). Pure: no OpenTelemetry here.
 *
 * `traceparent` is `version-traceid-parentid-flags`, lowercase hex: 2, 32, 16 and 2 digits. A
 * header that breaks a rule is ignored, never refused: the publish goes on untraced.
 * @see https://www.w3.org/TR/trace-context/
 * @module
 */

/** The trace context of an event: the publisher's, or the publish span's when tracing is on. */
export interface TraceContext {
  /** A valid `traceparent` of version `00`. */
  readonly traceparent: string;
  /** The `tracestate` that came with it, when there was one. */
  readonly tracestate?: string | undefined;
}

/** Length of a version-00 `traceparent`. */
const TRACEPARENT_LENGTH = 55;
const TRACEPARENT_PATTERN = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const ZERO_TRACE_ID = "0".repeat(32);
const ZERO_SPAN_ID = "0".repeat(16);
/** The spec's bound: 32 list members of at most 256 bytes; longer values are dropped. */
const MAX_TRACESTATE_LENGTH = 512;
/** Printable ASCII (tracestate keys and values are drawn from it). */
const TRACESTATE_PATTERN = /^[\x20-\x7e]*$/;

/**
 * The trace context of a request's headers, or undefined when `traceparent` is absent or
 * invalid. A version above `00` is read as `00` (its first four fields) and carried on as
 * `00`, as the spec asks; `ff` is invalid. A `tracestate` that is too long or not printable
 * ASCII is dropped, the `traceparent` kept.
 */
export function parseTraceContext(
  traceparent: string | string[] | undefined,
  tracestate?: string | string[] | undefined,
): TraceContext | undefined {
  if (typeof traceparent !== "string") return undefined;
  const value = traceparent.trim();
  if (value.length < TRACEPARENT_LENGTH) return undefined;
  // A future version may append fields after a dash; version 00 has exactly four.
  const head = value.slice(0, TRACEPARENT_LENGTH);
  const match = TRACEPARENT_PATTERN.exec(head);
  if (match === null) return undefined;
  const [, version, traceId, spanId, flags] = match as unknown as [
    string,
    string,
    string,
    string,
    string,
  ];
  if (version === "ff") return undefined;
  if (version === "00" && value.length !== TRACEPARENT_LENGTH) return undefined;
  if (value.length > TRACEPARENT_LENGTH && value[TRACEPARENT_LENGTH] !== "-") return undefined;
  if (traceId === ZERO_TRACE_ID || spanId === ZERO_SPAN_ID) return undefined;
  const normalized = version === "00" ? head : `00-${traceId}-${spanId}-${flags}`;
  const state = checkTracestate(tracestate);
  return state === undefined
    ? { traceparent: normalized }
    : { traceparent: normalized, tracestate: state };
}

function checkTracestate(tracestate: string | string[] | undefined): string | undefined {
  // Several headers make one list (the spec joins them with commas).
  const joined = Array.isArray(tracestate) ? tracestate.join(",") : tracestate;
  if (joined === undefined) return undefined;
  const value = joined.trim();
  if (value === "" || value.length > MAX_TRACESTATE_LENGTH || !TRACESTATE_PATTERN.test(value)) {
    return undefined;
  }
  return value;
}

/** The trace id of a valid traceparent (32 hex digits). */
export function traceIdOf(context: TraceContext): string {
  return context.traceparent.slice(3, 35);
}

/** The parent span id of a valid traceparent (16 hex digits). */
export function parentIdOf(context: TraceContext): string {
  return context.traceparent.slice(36, 52);
}

/** The trace flags of a valid traceparent, as a number (bit 0: sampled). */
export function traceFlagsOf(context: TraceContext): number {
  return Number.parseInt(context.traceparent.slice(53, 55), 16);
}

/** The traceparent of a span: version 00. */
export function formatTraceparent(traceId: string, spanId: string, flags: number): string {
  return `00-${traceId}-${spanId}-${(flags & 0xff).toString(16).padStart(2, "0")}`;
}
