/**
 * The errors the client reports to `onError`. They are not thrown: a subscription lives on
 * and reconnects, so each failure is a report with `willReconnect` telling whether it goes on.
 * @module
 */

/**
 * Why a connection failed. Stable: match on these, never on the message.
 * - `SSEHUB_ERR_CLIENT_NETWORK`: the request failed or the stream broke (DNS, refused, reset).
 * - `SSEHUB_ERR_CLIENT_HTTP_STATUS`: the hub answered with a status other than 200.
 * - `SSEHUB_ERR_CLIENT_CONTENT_TYPE`: the answer was not `text/event-stream`.
 * - `SSEHUB_ERR_CLIENT_DISCONNECTED`: the hub ended the stream (a restart, a slow-consumer
 *   disconnect, a proxy timeout).
 */
export type ClientErrorCode =
  | "SSEHUB_ERR_CLIENT_NETWORK"
  | "SSEHUB_ERR_CLIENT_HTTP_STATUS"
  | "SSEHUB_ERR_CLIENT_CONTENT_TYPE"
  | "SSEHUB_ERR_CLIENT_DISCONNECTED";

/** What an SsehubClientError carries besides its message. */
export interface ClientErrorDetails {
  /** True when the client tries again after a delay; false when it stopped for good. */
  readonly willReconnect: boolean;
  /** The HTTP status of the answer, for `SSEHUB_ERR_CLIENT_HTTP_STATUS`. */
  readonly status?: number | undefined;
  /** The `code` of the hub's JSON error body, when it sent one (`SSEHUB_ERR_TOPIC_INVALID`). */
  readonly hubCode?: string | undefined;
  /** The `message` of the hub's JSON error body, when it sent one. */
  readonly hubMessage?: string | undefined;
  /** The underlying error (a fetch TypeError, a stream error). */
  readonly cause?: unknown;
}

/** A failed connection of an SsehubClient, as reported to `onError`. */
export class SsehubClientError extends Error {
  /** Why the connection failed. */
  readonly code: ClientErrorCode;
  /** True when the client tries again after a delay; false when it stopped for good. */
  readonly willReconnect: boolean;
  /** The HTTP status, for `SSEHUB_ERR_CLIENT_HTTP_STATUS`; undefined otherwise. */
  readonly status: number | undefined;
  /** The `code` of the hub's JSON error body, when there was one. */
  readonly hubCode: string | undefined;
  /** The `message` of the hub's JSON error body, when there was one. */
  readonly hubMessage: string | undefined;

  constructor(code: ClientErrorCode, message: string, details: ClientErrorDetails) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = "SsehubClientError";
    this.code = code;
    this.willReconnect = details.willReconnect;
    this.status = details.status;
    this.hubCode = details.hubCode;
    this.hubMessage = details.hubMessage;
  }
}
