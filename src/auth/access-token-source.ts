/**
 * Where a Mercure draft-08 request carries its access token: the `Authorization: Bearer`
 * header (RFC 6750 section 2.1), else the `__Secure-mercure_access_token` cookie (Mercure's
 * extension for browsers). ssehub does not take a token from the URL (RFC 6750 section 2.3
 * allows it; Mercure lets hubs refuse it): a URL ends up in logs, histories and Referer headers,
 * so a request with an `access_token` query parameter is refused as malformed rather than
 * served with the token ignored.
 * @module
 */
import { SsehubError } from "../errors.js";
import { ACCESS_TOKEN_TYPE } from "./access-token.js";
import { cookieValue, type RequestHeaders } from "./token-source.js";

/** The cookie Mercure recommends (its `__Secure-` prefix keeps it off plain HTTP). */
export const ACCESS_TOKEN_COOKIE = "__Secure-mercure_access_token";
/** The query parameter of RFC 6750 section 2.3, which ssehub refuses. */
export const ACCESS_TOKEN_QUERY_PARAM = "access_token";

// RFC 6750 section 2.1: "Bearer" (any case), one or more spaces, a b64token.
const BEARER = /^bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/** A malformed presentation: 400, `invalid_request`. */
function malformed(problem: string): SsehubError {
  return new SsehubError(
    "SSEHUB_ERR_AUTH_REQUEST_INVALID",
    `Cannot read the access token: ${problem}`,
  );
}

/** An access token found in a request, and where. */
export interface FoundAccessToken {
  readonly token: string;
  readonly from: "header" | "cookie";
}

/**
 * Finds the access token of a draft-08 request: the Authorization header, else the cookie;
 * undefined when there is none (an empty cookie counts as none). Throws
 * SSEHUB_ERR_AUTH_REQUEST_INVALID for an Authorization header that is not `Bearer <token>`, or
 * for an `access_token` query parameter (whatever else the request carries).
 */
export function accessTokenFromRequest(
  headers: RequestHeaders,
  query: URLSearchParams,
): FoundAccessToken | undefined {
  if (query.has(ACCESS_TOKEN_QUERY_PARAM)) {
    throw malformed(
      `the hub does not read tokens from the URL (the "${ACCESS_TOKEN_QUERY_PARAM}" query parameter): send Authorization: Bearer <token> or the ${ACCESS_TOKEN_COOKIE} cookie`,
    );
  }
  const authorization = headers.authorization;
  if (authorization !== undefined) {
    const match = BEARER.exec(authorization);
    if (match === null) throw malformed('the Authorization header must be "Bearer <token>"');
    return { token: match[1]!, from: "header" };
  }
  const cookie = cookieValue(headers.cookie, ACCESS_TOKEN_COOKIE);
  return cookie === undefined || cookie === "" ? undefined : { token: cookie, from: "cookie" };
}

/**
 * True when `token`'s protected header says `typ: at+jwt` (or `application/at+jwt`, in any
 * case): an OAuth 2.0 access token, not a draft-07 token. The header is only read, not trusted:
 * verification checks it again with the signature.
 */
export function hasAccessTokenType(token: string): boolean {
  const dot = token.indexOf(".");
  if (dot <= 0) return false;
  try {
    const header: unknown = JSON.parse(
      Buffer.from(token.slice(0, dot), "base64url").toString("utf8"),
    );
    const typ = (header as { typ?: unknown } | null)?.typ;
    if (typeof typ !== "string") return false;
    const type = typ.toLowerCase();
    return type === ACCESS_TOKEN_TYPE || type === `application/${ACCESS_TOKEN_TYPE}`;
  } catch {
    return false;
  }
}
