/**
 * The access log (option `accessLog`, off by default): one line per request, at info, through
 * the handler's logger, written when the answer is done. A stream's line is written when the
 * stream ends, with its duration and the events it sent (docs/operations.md, "Access log").
 *
 * A line holds the method, the path and query (the token of `authQueryParam` redacted: tokens
 * must not reach logs), the status, the bytes sent on the connection for the answer (head
 * included; over HTTP/2, the Content-Length when set), the duration, the client's address as
 * the limits resolve it through trusted proxies, the request id and the user agent.
 *
 * An open stream's record keeps these few strings and numbers, never the request or the
 * response (principle 7: an idle subscriber holds its socket and small records only).
 * @module
 */

import type { IncomingMessage, ServerResponse } from "node:http";
import { ACCESS_TOKEN_QUERY_PARAM } from "../../auth/access-token-source.js";
import type { Subscription } from "../../hub/types.js";
import type { RequestLimits } from "../limits/request-limits.js";
import type { Logger } from "./logger.js";

/** What replaces a redacted query value. */
export const REDACTED = "[redacted]";

/** The message of every access log line. */
export const ACCESS_LOG_MESSAGE = "access";

/**
 * `target` (a request target: path and query) with the value of every query parameter named
 * `param` replaced by REDACTED. Untouched when `param` is empty or absent from the query.
 */
export function redactQuery(target: string, param: string): string {
  const queryStart = target.indexOf("?");
  if (param === "" || queryStart === -1 || !target.includes(param, queryStart)) return target;
  const query = new URLSearchParams(target.slice(queryStart + 1));
  if (!query.has(param)) return target;
  const kept = new URLSearchParams();
  for (const [name, value] of query) kept.append(name, name === param ? REDACTED : value);
  return `${target.slice(0, queryStart)}?${kept.toString()}`;
}

/** Writes the access log of one request handler. */
export class AccessLog {
  readonly #logger: Logger;
  readonly #authQueryParam: string;
  readonly #limits: RequestLimits;

  /**
   * @param authQueryParam the query parameter that may carry a token (redacted); empty: none
   * @param limits resolves the client's address through the trusted proxies
   */
  constructor(logger: Logger, authQueryParam: string, limits: RequestLimits) {
    this.#logger = logger;
    this.#authQueryParam = authQueryParam;
    this.#limits = limits;
  }

  /** Starts the record of `req`; its line is written when `res` closes, or its stream ends. */
  begin(req: IncomingMessage, res: ServerResponse, requestId: string): AccessRecord {
    let client: string;
    try {
      client = this.#limits.clientAddress(req);
    } catch {
      client = req.socket.remoteAddress ?? "";
    }
    const record = new AccessRecord(this.#logger, {
      method: req.method ?? "GET",
      // Mercure draft-08 refuses a token in `access_token`, but the line still shows the URL.
      path: redactQuery(
        redactQuery(req.url ?? "/", this.#authQueryParam),
        ACCESS_TOKEN_QUERY_PARAM,
      ),
      client,
      requestId,
      userAgent: req.headers["user-agent"] ?? "",
    });
    record.watch(req, res);
    return record;
  }
}

/** The fixed fields of a line. */
interface RequestFacts {
  readonly method: string;
  readonly path: string;
  readonly client: string;
  readonly requestId: string;
  readonly userAgent: string;
}

/** One request's record, until its line is written. */
export class AccessRecord {
  readonly #logger: Logger;
  readonly #facts: RequestFacts;
  readonly #startedAt = performance.now();
  #bytesAtStart = 0;
  /** The connection, over HTTP/1 (its bytesWritten counts the answer); undefined over HTTP/2. */
  #socket: { readonly bytesWritten: number } | undefined;
  #subscription: Subscription | undefined;
  /** Set once the stream's socket was taken over: its close writes the line, not the answer's. */
  #takenOver = false;
  #written = false;

  constructor(logger: Logger, facts: RequestFacts) {
    this.#logger = logger;
    this.#facts = facts;
  }

  /** Writes the line when `res` closes (a stream taken over from it writes its own). */
  watch(req: IncomingMessage, res: ServerResponse): void {
    if (req.httpVersionMajor < 2) {
      this.#socket = req.socket;
      this.#bytesAtStart = req.socket.bytesWritten;
    }
    res.once("close", () => {
      if (this.#takenOver) return;
      const length = res.getHeader("content-length");
      const bytes =
        this.#socket !== undefined
          ? this.#socket.bytesWritten - this.#bytesAtStart
          : length === undefined
            ? 0
            : Number(length);
      this.#write(res.statusCode, bytes);
    });
  }

  /** The answer is a stream of `subscription`: its line tells the events it sent. */
  streaming(subscription: Subscription): void {
    this.#subscription = subscription;
  }

  /**
   * The stream's socket was taken over from node:http (routes/events.ts): the line is written
   * when the socket closes.
   */
  takenOver(socket: {
    readonly bytesWritten: number;
    once(event: "close", listener: () => void): unknown;
  }): void {
    this.#takenOver = true;
    socket.once("close", () => this.#write(200, socket.bytesWritten - this.#bytesAtStart));
  }

  #write(status: number, bytes: number): void {
    if (this.#written) return;
    this.#written = true;
    const facts = this.#facts;
    const subscription = this.#subscription;
    this.#logger.info(
      {
        method: facts.method,
        path: facts.path,
        status,
        bytes,
        durationMs: Math.round((performance.now() - this.#startedAt) * 1000) / 1000,
        client: facts.client,
        requestId: facts.requestId,
        userAgent: facts.userAgent,
        ...(subscription === undefined ? {} : { events: subscription.eventsSent }),
      },
      ACCESS_LOG_MESSAGE,
    );
  }
}
