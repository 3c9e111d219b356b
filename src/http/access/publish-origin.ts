/**
 * Where a publish may come from (cross-site request forgery). A browser sends a form POST to any
 * site without a preflight, with the cookies it holds for that site: a page on any origin could
 * then publish with the `mercureAuthorization` cookie of a visitor. So a publish authenticated
 * by the cookie must name its origin, and the origin must be allowed: in `publishOrigins`
 * (Mercure's `publish_origins`), or in `corsOrigins` when `publishOrigins` is empty; `*` allows
 * any. The origin is the `Origin` header, else the origin of `Referer`; a cookie publish with
 * neither is refused (a browser always sends `Origin` on a cross-origin POST; a page that strips
 * both cannot be told from a forgery).
 *
 * A publish without credentials (publishing open, or `anonymousPublish`) has no cookie to ride
 * on, but a hub on a private network or on loopback is reached by the browsers inside it, which
 * a page of any site can make post a form. So such a publish that names an origin (a browser's)
 * must come from an allowed one too; one that names none comes from no browser (curl, a
 * backend) and passes. A publish with a token in the Authorization header or the query is not
 * checked: no browser sends those by itself to another site. A publish from the hub's own
 * origin (a page it serves, such as the dashboard) is always allowed: it is no other site.
 * @see https://mercure.rocks/docs/hub/config (publish_origins)
 * @module
 */
import type { IncomingMessage } from "node:http";
import { SsehubError } from "../../errors.js";
import { normalizeOrigin } from "./cors.js";

/** How a publish was authenticated, as far as its origin matters. */
export type PublishCredentials = "cookie" | "none";

/**
 * The origin a request names: its `Origin` header, else the origin of its `Referer`;
 * undefined when it has neither. A Referer that is not a URL names `"null"`, an origin no list
 * holds but `*`.
 */
export function requestOrigin(req: IncomingMessage): string | undefined {
  const origin = req.headers.origin;
  if (origin !== undefined && origin !== "") return origin;
  const referer = req.headers.referer;
  if (referer === undefined || referer === "") return undefined;
  try {
    return new URL(referer).origin;
  } catch {
    return "null";
  }
}

/**
 * True when `origin` is the hub's own: its host (and port) is the one the request was sent to
 * (`Host`, or HTTP/2's `:authority`). A page the hub serves itself, such as the dashboard, is
 * no other site: a browser names the page's origin, and a forged request from elsewhere cannot
 * name the hub's host as its origin. The scheme is not compared: behind a proxy that ends TLS
 * the hub cannot tell it, and the host alone decides which site the page is.
 */
export function isOwnOrigin(req: IncomingMessage, origin: string): boolean {
  const host = req.headers.host ?? req.headers[":authority"];
  if (typeof host !== "string" || host === "") return false;
  try {
    const named = new URL(origin);
    if (named.protocol !== "http:" && named.protocol !== "https:") return false;
    return new URL(`${named.protocol}//${host}`).host === named.host;
  } catch {
    return false;
  }
}

/** The origins a cookie-authenticated or anonymous publish may come from. */
export class PublishOriginPolicy {
  readonly #anyOrigin: boolean;
  readonly #origins: ReadonlySet<string>;

  /** `publishOrigins` empty: the origins of `corsOrigins`. */
  constructor(publishOrigins: readonly string[], corsOrigins: readonly string[]) {
    const origins = publishOrigins.length > 0 ? publishOrigins : corsOrigins;
    this.#anyOrigin = origins.includes("*");
    this.#origins = new Set(origins.filter((o) => o !== "*").map(normalizeOrigin));
  }

  /** True when a publish from `origin` may ride on a cookie or on no credentials. */
  isAllowed(origin: string): boolean {
    return this.#anyOrigin || this.#origins.has(normalizeOrigin(origin));
  }

  /**
   * Throws SSEHUB_ERR_AUTH_ORIGIN_REFUSED (403) for a publish of `req` authenticated by
   * `credentials` from an origin not allowed, or by the cookie from no named origin.
   */
  check(req: IncomingMessage, credentials: PublishCredentials): void {
    if (this.#anyOrigin) return;
    const origin = requestOrigin(req);
    if (origin === undefined) {
      if (credentials === "none") return;
      throw new SsehubError(
        "SSEHUB_ERR_AUTH_ORIGIN_REFUSED",
        "Cannot publish with the cookie from an unnamed origin: send Origin (or Referer), or the token in Authorization: Bearer",
        { details: { origin: null } },
      );
    }
    if (this.isAllowed(origin) || isOwnOrigin(req, origin)) return;
    throw new SsehubError(
      "SSEHUB_ERR_AUTH_ORIGIN_REFUSED",
      `Cannot publish from origin ${JSON.stringify(origin)}: it is not in publishOrigins (or corsOrigins when publishOrigins is empty)`,
      { details: { origin } },
    );
  }
}
