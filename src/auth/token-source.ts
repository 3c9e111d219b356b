/**
 * Where a request carries its token. Mercure (section "Authorization") defines three places and
 * their order:
 * 1. the `Authorization: Bearer <token>` header: when present, it is used and the others are
 *    ignored, even when it is malformed (then the request is refused);
 * 2. the `authorization` query parameter (ssehub reads it only when `queryParam` names it,
 *    since URLs end up in logs): used when there is no header, and the cookie is ignored;
 * 3. the cookie (`mercureAuthorization` by default), the one thing an EventSource in a
 *    browser can send.
 * @module
 */
import { SsehubError } from "../errors.js";

/**
 * The request headers a token may come in, as node:http and node:http2 give them (lower-case
 * names). Declared here so that auth/ needs no HTTP module: `req.headers` fits.
 */
export interface RequestHeaders {
  readonly authorization?: string | undefined;
  readonly cookie?: string | undefined;
}

/** Mercure's name of the cookie. */
export const DEFAULT_COOKIE_NAME = "mercureAuthorization";
/** Mercure's name of the query parameter. */
export const MERCURE_QUERY_PARAM = "authorization";

/** Where to look besides the Authorization header. */
export interface TokenSourceOptions {
  /** The cookie that may carry the token. */
  readonly cookieName: string;
  /** The query parameter that may carry the token; undefined: the query is not read. */
  readonly queryParam: string | undefined;
}

/** A token found in a request, and where. */
export interface FoundToken {
  readonly token: string;
  readonly from: "header" | "cookie" | "query";
}

// RFC 6750 section 2.1: "Bearer" (any case), one or more spaces, a b64token.
const BEARER = /^bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

function malformed(problem: string): SsehubError {
  return new SsehubError("SSEHUB_ERR_AUTH_INVALID", `Cannot accept the token: ${problem}`, {
    details: { reason: "invalid" },
  });
}

/**
 * The value of cookie `name` in a Cookie header (RFC 6265 section 4.2: `a=1; b=2`), the first
 * when it appears twice, without surrounding double quotes; undefined when absent. Pairs without
 * `=` are skipped; values are not percent-decoded (a token never needs it).
 */
export function cookieValue(
  header: string | readonly string[] | undefined,
  name: string,
): string | undefined {
  if (header === undefined) return undefined;
  // HTTP/2 may send several Cookie headers: they form one list (RFC 9113 section 8.2.3).
  const text = typeof header === "string" ? header : header.join("; ");
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf(";", start);
    if (end === -1) end = text.length;
    const equals = text.indexOf("=", start);
    if (equals !== -1 && equals < end && text.slice(start, equals).trim() === name) {
      let value = text.slice(equals + 1, end).trim();
      if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) {
        value = value.slice(1, -1);
      }
      return value;
    }
    start = end + 1;
  }
  return undefined;
}

function queryOf(url: URL | URLSearchParams | string): URLSearchParams {
  if (url instanceof URLSearchParams) return url;
  if (url instanceof URL) return url.searchParams;
  const mark = url.indexOf("?");
  if (mark === -1) return new URLSearchParams();
  const hash = url.indexOf("#", mark);
  return new URLSearchParams(url.slice(mark + 1, hash === -1 ? undefined : hash));
}

/**
 * Finds the token of a request: the Authorization header, else the query parameter (when
 * `queryParam` is set), else the cookie; undefined when there is none. An empty cookie or
 * query value counts as none.
 *
 * Throws SSEHUB_ERR_AUTH_INVALID for an Authorization header that is not `Bearer <token>`
 * (another scheme, no token), or for a query parameter given more than once.
 * @param url the request URL (`req.url`, a URL, or its query parameters).
 */
export function tokenFromRequest(
  headers: RequestHeaders,
  url: URL | URLSearchParams | string,
  options: TokenSourceOptions,
): FoundToken | undefined {
  const authorization = headers.authorization;
  if (authorization !== undefined) {
    const match = BEARER.exec(authorization);
    if (match === null) {
      throw malformed('the Authorization header must be "Bearer <token>"');
    }
    return { token: match[1]!, from: "header" };
  }
  if (options.queryParam !== undefined && options.queryParam !== "") {
    const values = queryOf(url).getAll(options.queryParam);
    if (values.length > 1) {
      throw malformed(`the query parameter "${options.queryParam}" is given more than once`);
    }
    const value = values[0];
    if (value !== undefined && value !== "") return { token: value, from: "query" };
  }
  const cookie = cookieValue(headers.cookie, options.cookieName);
  if (cookie !== undefined && cookie !== "") return { token: cookie, from: "cookie" };
  return undefined;
}
