/**
 * Authorization, as a library without HTTP wiring: find a request's token
 * (`tokenFromRequest`), verify it (`createJwtVerifier`), read what its `mercure` claim grants
 * (`grantsOf`), and check an action against it (`canPublish`, `canSubscribe`) with Mercure's
 * topic selectors (`compileTopicSelector`: `*`, exact topics, RFC 6570 URI templates), and WHATWG URL
 * patterns (`compileUrlPattern`, for Mercure's `match_urlpattern`).
 * Mercure draft-08's OAuth 2.0 access tokens: `accessTokenFromRequest`,
 * `createAccessTokenVerifier` (trusted issuers, `typ`, `aud`, `exp`) and
 * `grantsOfAuthorizationDetails` (RFC 9396 `authorization_details` into the same Grants).
 * See docs/security.md.
 * @module
 */
export {
  ACCESS_TOKEN_TYPE,
  type AccessTokenVerifier,
  createAccessTokenVerifier,
  parseTrustedIssuers,
  type TrustedIssuer,
  type VerifiedAccessToken,
} from "./access-token.js";
export {
  ACCESS_TOKEN_COOKIE,
  ACCESS_TOKEN_QUERY_PARAM,
  accessTokenFromRequest,
  type FoundAccessToken,
  hasAccessTokenType,
} from "./access-token-source.js";
export {
  type AccessTokenGrants,
  AUTHORIZATION_DETAILS_CLAIM,
  grantsOfAuthorizationDetails,
  MATCHER_TYPES,
  MAX_MERCURE_DETAILS,
  MERCURE_DETAIL_TYPE,
  type MercureAction,
} from "./authorization-details.js";
export {
  CLAIM,
  CLAIM_ALIAS,
  canPublish,
  canSubscribe,
  type Grants,
  grantsOf,
  MAX_SELECTOR_LENGTH,
  MAX_SELECTORS_PER_CLAIM,
  NO_GRANTS,
} from "./grants.js";
export {
  DEFAULT_ALGORITHM,
  HMAC_ALGORITHMS,
  JWT_ALGORITHMS,
  type JwtAlgorithm,
  PUBLIC_KEY_ALGORITHMS,
} from "./jwt-algorithms.js";
export {
  createJwtVerifier,
  DEFAULT_CLOCK_TOLERANCE_MS,
  DEFAULT_JWKS_CACHE_MS,
  DEFAULT_JWKS_COOLDOWN_MS,
  DEFAULT_JWKS_TIMEOUT_MS,
  INVALID_TOKEN_MESSAGE,
  type JwtVerifier,
  type JwtVerifierConfig,
  MAX_TOKEN_LENGTH,
  type VerifiedToken,
} from "./jwt-verifier.js";
export {
  DEFAULT_COOKIE_NAME,
  type FoundToken,
  MERCURE_QUERY_PARAM,
  type TokenSourceOptions,
  tokenFromRequest,
} from "./token-source.js";
export {
  compileTopicSelector,
  matchesAny,
  SELECTOR_CACHE_SIZE,
  type TopicSelector,
  WILDCARD,
} from "./topic-selector.js";
export { compileUrlPattern } from "./url-pattern.js";
