/**
 * Every error ssehub raises, in one catalogue: a stable `code`, the HTTP status it maps to, and
 * the built-in class it extends. Callers match on `error.code`, never on the message.
 * docs/errors.md has a heading per code. A retired code is never reused.
 * @module
 */

/** The built-in class an error code extends: shape errors are TypeErrors, ranges RangeErrors. */
type BaseKind = "Error" | "TypeError" | "RangeError" | "SyntaxError";

interface CatalogueEntry {
  readonly status: number;
  readonly base: BaseKind;
}

/** Code -> HTTP status and base class. */
export const ERROR_CATALOGUE = {
  SSEHUB_ERR_OPTIONS_INVALID: { status: 500, base: "TypeError" },
  SSEHUB_ERR_EVENT_INVALID_ID: { status: 400, base: "SyntaxError" },
  SSEHUB_ERR_EVENT_INVALID_TYPE: { status: 400, base: "SyntaxError" },
  SSEHUB_ERR_EVENT_INVALID_RETRY: { status: 400, base: "RangeError" },
  SSEHUB_ERR_EVENT_INVALID_DATA: { status: 400, base: "TypeError" },
  SSEHUB_ERR_EVENT_RESERVED_TYPE: { status: 400, base: "RangeError" },
  SSEHUB_ERR_EVENT_RESERVED_ID: { status: 400, base: "RangeError" },
  SSEHUB_ERR_TOPIC_MISSING: { status: 400, base: "TypeError" },
  SSEHUB_ERR_TOPIC_INVALID: { status: 400, base: "RangeError" },
  SSEHUB_ERR_URLPATTERN_INVALID: { status: 400, base: "RangeError" },
  SSEHUB_ERR_TOPIC_RESERVED: { status: 403, base: "Error" },
  SSEHUB_ERR_TOPIC_NOT_FOUND: { status: 404, base: "Error" },
  SSEHUB_ERR_QUERY_INVALID: { status: 400, base: "RangeError" },
  SSEHUB_ERR_MERCURE_PARAMETERS_MIXED: { status: 400, base: "TypeError" },
  SSEHUB_ERR_MERCURE_MATCHER_UNKNOWN: { status: 400, base: "TypeError" },
  SSEHUB_ERR_MERCURE_PROTOCOL_DISABLED: { status: 400, base: "Error" },
  SSEHUB_ERR_SUBSCRIPTION_NOT_FOUND: { status: 404, base: "Error" },
  SSEHUB_ERR_SUBSCRIBE_TOO_MANY_TOPICS: { status: 400, base: "RangeError" },
  SSEHUB_ERR_PUBLISH_MALFORMED: { status: 400, base: "SyntaxError" },
  SSEHUB_ERR_PUBLISH_TOO_LARGE: { status: 413, base: "RangeError" },
  SSEHUB_ERR_PUBLISH_TOO_MANY_EVENTS: { status: 413, base: "RangeError" },
  SSEHUB_ERR_PUBLISH_TOO_MANY_TOPICS: { status: 400, base: "RangeError" },
  SSEHUB_ERR_PUBLISH_UNSUPPORTED_MEDIA_TYPE: { status: 415, base: "TypeError" },
  SSEHUB_ERR_PUBLISH_IDEMPOTENCY_KEY_INVALID: { status: 400, base: "SyntaxError" },
  SSEHUB_ERR_PUBLISH_IDEMPOTENCY_KEY_REUSED: { status: 422, base: "Error" },
  SSEHUB_ERR_ROUTE_NOT_FOUND: { status: 404, base: "Error" },
  SSEHUB_ERR_REQUEST_HEADERS_TOO_LARGE: { status: 431, base: "RangeError" },
  SSEHUB_ERR_METHOD_NOT_ALLOWED: { status: 405, base: "Error" },
  SSEHUB_ERR_CORS_ORIGIN_FORBIDDEN: { status: 403, base: "Error" },
  SSEHUB_ERR_HUB_CLOSED: { status: 503, base: "Error" },
  SSEHUB_ERR_HUB_OVERLOADED: { status: 503, base: "Error" },
  SSEHUB_ERR_BUS_UNAVAILABLE: { status: 503, base: "Error" },
  SSEHUB_ERR_HISTORY_WRITE_FAILED: { status: 503, base: "Error" },
  SSEHUB_ERR_DATA_DIR_INVALID: { status: 500, base: "Error" },
  SSEHUB_ERR_DATA_DIR_LOCKED: { status: 500, base: "Error" },
  SSEHUB_ERR_AUTH_MISSING: { status: 401, base: "Error" },
  SSEHUB_ERR_AUTH_REQUEST_INVALID: { status: 400, base: "Error" },
  SSEHUB_ERR_AUTH_INVALID: { status: 401, base: "Error" },
  SSEHUB_ERR_AUTH_FORBIDDEN: { status: 403, base: "Error" },
  SSEHUB_ERR_AUTH_ORIGIN_REFUSED: { status: 403, base: "Error" },
  SSEHUB_ERR_AUTH_PUBLISH_LOOPBACK_ONLY: { status: 403, base: "Error" },
  SSEHUB_ERR_HOOK_UNAUTHENTICATED: { status: 401, base: "Error" },
  SSEHUB_ERR_HOOK_DENIED: { status: 403, base: "Error" },
  SSEHUB_ERR_HOOK_UNAVAILABLE: { status: 503, base: "Error" },
  SSEHUB_ERR_ADMIN_DISABLED: { status: 403, base: "Error" },
  SSEHUB_ERR_TOO_MANY_CONNECTIONS: { status: 429, base: "Error" },
  SSEHUB_ERR_RATE_LIMITED: { status: 429, base: "Error" },
  SSEHUB_ERR_BENCH_UNREACHABLE: { status: 503, base: "Error" },
  SSEHUB_ERR_INTERNAL: { status: 500, base: "Error" },
} as const satisfies Record<string, CatalogueEntry>;

/** Every stable error code. */
export type ErrorCode = keyof typeof ERROR_CATALOGUE;

/**
 * The one error class of ssehub. `name` follows the base kind (`TypeError`, `RangeError`, ...)
 * so that stack traces read naturally; `code` and `status` come from the catalogue.
 */
export class SsehubError extends Error {
  readonly code: ErrorCode;
  /** The HTTP status this error maps to. */
  readonly status: number;
  /** Extra fields for the JSON error response (allowed values, limits). */
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options?: ErrorOptions & { details?: Record<string, unknown> },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    const entry: CatalogueEntry = ERROR_CATALOGUE[code];
    this.code = code;
    this.status = entry.status;
    this.name = entry.base;
    this.details = options?.details;
  }
}

/** True for errors raised by ssehub (they carry a catalogue code). */
export function isSsehubError(error: unknown): error is SsehubError {
  return error instanceof SsehubError;
}
