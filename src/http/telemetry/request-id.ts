/**
 * `X-Request-Id`: every answer carries one, so that a client, a proxy and the hub's logs can
 * name the same request. The client's own is kept when it is sane (printable ASCII, 1 to
 * MAX_REQUEST_ID_LENGTH characters); otherwise the hub makes one: a random prefix of this
 * handler and a counter, unique across the processes of a deployment without costing a random
 * draw per request.
 * @module
 */
import { randomBytes } from "node:crypto";
import type { IncomingMessage } from "node:http";

/** The header, as the hub writes it. */
export const REQUEST_ID_HEADER = "X-Request-Id";

/** Longest request id kept from a client, in characters. */
export const MAX_REQUEST_ID_LENGTH = 200;

/** Printable ASCII, not starting or ending with a space. */
const SANE_REQUEST_ID = /^[\x21-\x7e](?:[\x20-\x7e]{0,198}[\x21-\x7e])?$/;

/** True when `value` may be echoed as a request id. */
export function isSaneRequestId(value: unknown): value is string {
  return (
    typeof value === "string" &&
    value.length <= MAX_REQUEST_ID_LENGTH &&
    SANE_REQUEST_ID.test(value)
  );
}

/** Gives each request its id. */
export class RequestIds {
  /** 9 random bytes, base64url: 12 characters. */
  readonly #prefix = randomBytes(9).toString("base64url");
  #next = 0;

  /** The id of `req`: its client's when sane, else a new one. */
  of(req: IncomingMessage): string {
    const given = req.headers["x-request-id"];
    if (given !== undefined && isSaneRequestId(given)) return given;
    return `${this.#prefix}-${(++this.#next).toString(36)}`;
  }
}
