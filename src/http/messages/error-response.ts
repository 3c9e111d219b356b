/**
 * The only place where an error becomes an HTTP response. An SsehubError answers with its
 * catalogue status and `{statusCode, code, message}` (plus `details` when it has some); any
 * other error is a bug or a failure of ours: it answers a generic 500 SSEHUB_ERR_INTERNAL and
 * its cause goes to the log, never to the client.
 * @module
 */
import type { ServerResponse } from "node:http";
import { isSsehubError } from "../../errors.js";
import type { Logger } from "../telemetry/logger.js";

/** The JSON body of every error response. */
export interface ErrorBody {
  readonly statusCode: number;
  readonly code: string;
  readonly message: string;
  readonly details?: Readonly<Record<string, unknown>>;
}

/** Who counts error answers (HubMetrics: `ssehub_http_refusals_total{status,code}`). */
export interface RefusalCounter {
  refused(status: number, code: string): void;
}

const INTERNAL_MESSAGE = "Cannot complete the request: the server failed, see its log";

/** Builds the status and body that `error` answers with. */
export function errorBody(error: unknown): ErrorBody {
  if (isSsehubError(error)) {
    return error.details === undefined
      ? { statusCode: error.status, code: error.code, message: error.message }
      : {
          statusCode: error.status,
          code: error.code,
          message: error.message,
          details: error.details,
        };
  }
  return { statusCode: 500, code: "SSEHUB_ERR_INTERNAL", message: INTERNAL_MESSAGE };
}

/**
 * Answers `res` with the JSON error response of `error`, logging unknown errors (with their
 * cause) at error level and client errors at debug level. When the headers have already gone
 * (a stream was open), the response cannot carry a status any more: it is destroyed instead.
 * @param extraHeaders headers the error needs, such as `Allow` on a 405.
 * @param refusals counts the answer by status and code (codes come from the catalogue of
 *   errors.ts, so the labels stay few); a stream already open counts nothing.
 */
export function sendError(
  res: ServerResponse,
  error: unknown,
  logger: Logger,
  extraHeaders?: Readonly<Record<string, string>>,
  refusals?: RefusalCounter,
): void {
  const body = errorBody(error);
  if (body.code === "SSEHUB_ERR_INTERNAL" && !isSsehubError(error)) {
    logger.error({ err: error }, "Request failed with an unexpected error");
  } else if (body.statusCode >= 500) {
    logger.warn({ code: body.code }, body.message);
  } else {
    logger.debug({ code: body.code, statusCode: body.statusCode }, body.message);
  }
  if (res.headersSent) {
    res.destroy();
    return;
  }
  refusals?.refused(body.statusCode, body.code);
  const text = JSON.stringify(body);
  // Headers staged for a stream that never opened must not leak into the error response.
  for (const name of STREAM_HEADERS) res.removeHeader(name);
  res.writeHead(body.statusCode, {
    // A 503 (overloaded, shutting down) or 429 (limits) tells the client when to try again.
    ...(body.statusCode === 503 || body.statusCode === 429
      ? { "Retry-After": retryAfterOf(body) }
      : {}),
    // RFC 6750: a refused token says why, in the Bearer scheme's terms, and nothing more.
    ...(body.code.startsWith("SSEHUB_ERR_AUTH_")
      ? { "WWW-Authenticate": bearerChallenge(body) }
      : {}),
    ...extraHeaders,
    "Content-Type": "application/json; charset=utf-8",
    "Content-Length": Buffer.byteLength(text),
    "Cache-Control": "no-store",
  });
  res.end(text);
}

/** Seconds to wait, from the error's details (`retryAfterSeconds`), 1 by default. */
function retryAfterOf(body: ErrorBody): string {
  const seconds = body.details?.retryAfterSeconds;
  return typeof seconds === "number" && Number.isInteger(seconds) && seconds > 0
    ? String(seconds)
    : "1";
}

/**
 * The `WWW-Authenticate` challenge of an authorization error (RFC 6750, section 3): its
 * `error` code, and, for Mercure draft-08, the `resource_metadata` URL (RFC 9728 section 5.1)
 * that the error names in `details.resourceMetadata`. A missing token carries no error code.
 */
function bearerChallenge(body: ErrorBody): string {
  const error = BEARER_ERRORS[body.code];
  const metadata = body.details?.resourceMetadata;
  return [
    'Bearer realm="ssehub"',
    ...(error === undefined ? [] : [`error="${error}"`]),
    ...(typeof metadata === "string"
      ? [`resource_metadata="${metadata.replace(/["\\]/g, "")}"`]
      : []),
  ].join(", ");
}

/** The RFC 6750 error code of each authorization error that has one. */
const BEARER_ERRORS: Readonly<Record<string, string>> = {
  SSEHUB_ERR_AUTH_REQUEST_INVALID: "invalid_request",
  SSEHUB_ERR_AUTH_INVALID: "invalid_token",
  SSEHUB_ERR_AUTH_FORBIDDEN: "insufficient_scope",
};

const STREAM_HEADERS = ["Content-Type", "Cache-Control", "X-Accel-Buffering", "Content-Length"];
