/**
 * Which authorization a Mercure request gets: draft-07's (Authorizer: the `mercure` claim,
 * keys per role) or draft-08's (Mercure08Authorizer: OAuth 2.0 access tokens from trusted
 * issuers). Both answer the same three questions with the same grants, so a route asks
 * `mercureAuthorizer(ctx.auth, version)` and calls it without knowing which it got.
 *
 * Which one a request gets follows the hub's `mercureProtocol` (mercureAuthorizerFor): with
 * `draft-07`, draft-07's claims; with `draft-08`, access tokens from the trusted issuers (or,
 * where no issuer is configured, the hub's own keys and anonymity settings, as draft-07's);
 * with `both`, guessMercureVersion reads it from the request's credentials. The wire version of
 * a request (`topic` or `match`) does not decide it: a client moving to draft-08's parameters
 * keeps working with the tokens it has until its issuer moves to access tokens.
 * @module
 */
import type { IncomingMessage } from "node:http";
import {
  ACCESS_TOKEN_COOKIE,
  ACCESS_TOKEN_QUERY_PARAM,
  hasAccessTokenType,
} from "../../auth/index.js";
import { cookieValue } from "../../auth/token-source.js";
import type { Authorizer, PublisherGrant, SubscriberGrant } from "./authorizer.js";

/** A version of the Mercure protocol. */
export type MercureVersion = "draft-07" | "draft-08";

/** What a Mercure route asks of an authorizer, whichever draft it follows. */
export interface MercureRequestAuthorizer {
  subscriber(req: IncomingMessage, query: URLSearchParams): Promise<SubscriberGrant>;
  publisher(
    req: IncomingMessage,
    query: URLSearchParams,
    topics: readonly string[],
  ): Promise<PublisherGrant>;
  subscriptionsReader(req: IncomingMessage, query: URLSearchParams, path: string): Promise<void>;
}

/** The authorizer of `version`: draft-08's access tokens, or draft-07's claims. */
export function mercureAuthorizer(
  auth: Authorizer,
  version: MercureVersion,
): MercureRequestAuthorizer {
  return version === "draft-08" ? auth.mercure08 : auth;
}

const BEARER_TOKEN = /^bearer +(\S+)/i;

/**
 * The version a request speaks, read from its credentials, for a hub that does not say which
 * it serves: draft-08 when only draft-08 issuers are configured (no draft-07 key), or when the
 * request carries an access token (`typ: at+jwt` in its Bearer token), the draft-08 cookie
 * (and no Authorization header), or a token in the `access_token` query parameter (to refuse
 * it); draft-07 otherwise, so that every draft-07 request is authorized exactly as before.
 */
export function guessMercureVersion(
  auth: Authorizer,
  req: IncomingMessage,
  query: URLSearchParams,
): MercureVersion {
  if (!auth.mercure08.isConfigured) return "draft-07";
  if (!auth.verifiesDraft07Tokens) return "draft-08";
  const { authorization, cookie } = req.headers;
  if (authorization !== undefined) {
    const token = BEARER_TOKEN.exec(authorization)?.[1];
    return token !== undefined && hasAccessTokenType(token) ? "draft-08" : "draft-07";
  }
  if (query.has(ACCESS_TOKEN_QUERY_PARAM)) return "draft-08";
  return cookieValue(cookie, ACCESS_TOKEN_COOKIE) === undefined ? "draft-07" : "draft-08";
}

/** The protocol setting of the hub (server option mercureProtocol). */
export type MercureProtocolSetting = MercureVersion | "both";

/** The authorizer of a request to a hub whose `mercureProtocol` is `protocol` (see above). */
export function mercureAuthorizerFor(
  auth: Authorizer,
  protocol: MercureProtocolSetting,
  req: IncomingMessage,
  query: URLSearchParams,
): MercureRequestAuthorizer {
  if (protocol === "draft-07") return auth;
  if (protocol === "draft-08") return auth.mercure08.isConfigured ? auth.mercure08 : auth;
  return guessedMercureAuthorizer(auth, req, query);
}

/**
 * The authorizer of a request whose version the hub does not know yet: the one of
 * guessMercureVersion. Where the route knows the version, call mercureAuthorizer instead.
 */
export function guessedMercureAuthorizer(
  auth: Authorizer,
  req: IncomingMessage,
  query: URLSearchParams,
): MercureRequestAuthorizer {
  return mercureAuthorizer(auth, guessMercureVersion(auth, req, query));
}
