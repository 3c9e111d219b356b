/**
 * Cross-origin resource sharing. Origins come from `corsOrigins`: none by default (no CORS
 * header at all, so browsers on other origins are refused), `*` for any. An allowed origin is
 * echoed in `Access-Control-Allow-Origin` with `Vary: Origin`, so that caches keep one answer
 * per origin; with `*` the answer is the same for every origin and says so.
 * @see https://fetch.spec.whatwg.org/#http-cors-protocol
 * @module
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { SsehubError } from "../../errors.js";

/** Methods a cross-origin request may use. */
export const CORS_ALLOWED_METHODS = "GET, POST, QUERY, OPTIONS";
/** Request headers a cross-origin request may send. */
export const CORS_ALLOWED_HEADERS = "Content-Type, Last-Event-ID, Authorization, Idempotency-Key";
/** How long a browser may cache a preflight answer, in seconds (Chromium's cap is 7200). */
export const CORS_MAX_AGE_SECONDS = 7200;

/** Lowercase and without a final slash, the way browsers serialize an origin. */
export function normalizeOrigin(origin: string): string {
  const lower = origin.trim().toLowerCase();
  return lower.endsWith("/") ? lower.slice(0, -1) : lower;
}

/**
 * The CORS decisions of one server, made from its `corsOrigins` option.
 * @example
 * const cors = new CorsPolicy(["https://app.example"]);
 * if (CorsPolicy.isPreflight(req)) cors.answerPreflight(req, res);
 * else cors.applyHeaders(req, res);
 */
export class CorsPolicy {
  readonly #anyOrigin: boolean;
  readonly #origins: ReadonlySet<string>;

  constructor(origins: readonly string[]) {
    this.#anyOrigin = origins.includes("*");
    this.#origins = new Set(origins.filter((o) => o !== "*").map(normalizeOrigin));
  }

  /** True for a CORS preflight: OPTIONS with `Origin` and `Access-Control-Request-Method`. */
  static isPreflight(req: IncomingMessage): boolean {
    return (
      req.method === "OPTIONS" &&
      req.headers.origin !== undefined &&
      req.headers["access-control-request-method"] !== undefined
    );
  }

  /** True when `origin` may read our responses. */
  isAllowed(origin: string): boolean {
    return this.#anyOrigin || this.#origins.has(normalizeOrigin(origin));
  }

  /**
   * Adds the CORS headers of an actual (non-preflight) request. A request without `Origin`,
   * or from an origin not allowed, gets none: the browser then hides the response.
   */
  applyHeaders(req: IncomingMessage, res: ServerResponse): void {
    const origin = req.headers.origin;
    if (origin === undefined || !this.isAllowed(origin)) return;
    if (this.#anyOrigin) {
      res.setHeader("Access-Control-Allow-Origin", "*");
    } else {
      res.setHeader("Access-Control-Allow-Origin", origin);
      // A listed origin may send cookies (Mercure's mercureAuthorization cookie, with
      // EventSource's withCredentials); `*` never may: any site could then read private events.
      res.setHeader("Access-Control-Allow-Credentials", "true");
      res.setHeader("Vary", "Origin");
    }
  }

  /**
   * Answers a preflight: 204 with the allowed methods, headers and max age, or throws
   * SSEHUB_ERR_CORS_ORIGIN_FORBIDDEN (403) for an origin not allowed.
   */
  answerPreflight(req: IncomingMessage, res: ServerResponse): void {
    const origin = req.headers.origin ?? "";
    if (!this.isAllowed(origin)) {
      throw new SsehubError(
        "SSEHUB_ERR_CORS_ORIGIN_FORBIDDEN",
        `Cannot allow cross-origin requests from ${JSON.stringify(origin)}: the origin is not in corsOrigins`,
      );
    }
    this.applyHeaders(req, res);
    res.writeHead(204, {
      "Access-Control-Allow-Methods": CORS_ALLOWED_METHODS,
      "Access-Control-Allow-Headers": CORS_ALLOWED_HEADERS,
      "Access-Control-Max-Age": String(CORS_MAX_AGE_SECONDS),
      "Content-Length": "0",
    });
    res.end();
  }
}
