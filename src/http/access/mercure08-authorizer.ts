/**
 * Who may publish and subscribe on the Mercure hub under draft-08 (Mercure 1.0), where the hub
 * is an OAuth 2.0 protected resource: access tokens verified by auth/access-token.ts, found by
 * auth/access-token-source.ts, their `authorization_details` turned into the grants the hub
 * already understands. It answers the way Authorizer does (the same methods, the same grants),
 * so that a route picks one by the request's protocol version (mercure-access.ts).
 *
 * Refusals follow RFC 6750 section 3, with ssehub's codes: a malformed presentation (an
 * Authorization header that is not Bearer, a token in the URL) is 400
 * SSEHUB_ERR_AUTH_REQUEST_INVALID (`invalid_request`); no token where one is needed, 401
 * SSEHUB_ERR_AUTH_MISSING (no error code); a token that fails validation or whose
 * `authorization_details` are malformed, 401 SSEHUB_ERR_AUTH_INVALID (`invalid_token`); a valid
 * token without the right, 403 SSEHUB_ERR_AUTH_FORBIDDEN (`insufficient_scope`). Each carries
 * `details.resourceMetadata`, the URL of the protected resource metadata (RFC 9728), which
 * error-response.ts puts in the `WWW-Authenticate: Bearer` challenge as `resource_metadata`.
 * @module
 */
import type { IncomingMessage } from "node:http";
import { accessTokenFromRequest } from "../../auth/access-token-source.js";
import {
  type AccessTokenVerifier,
  canPublish,
  canSubscribe,
  createAccessTokenVerifier,
  type TrustedIssuer,
} from "../../auth/index.js";
import { isSsehubError, SsehubError } from "../../errors.js";
import type { PublisherGrant, SubscriberGrant } from "./authorizer.js";
import { GrantedAccess } from "./granted-access.js";
import type { PublishOriginPolicy } from "./publish-origin.js";
import {
  RESOURCE_METADATA_PATH,
  type ResourceMetadata,
  resourceMetadataDocument,
  resourceMetadataPath,
  resourceMetadataUrl,
} from "./resource-metadata.js";

/** What the draft-08 authorizer needs to know. */
export interface Mercure08AuthorizerConfig {
  /** The issuers whose access tokens the hub accepts. */
  readonly issuers: readonly TrustedIssuer[];
  /** The hub's resource identifier (the `aud` of its tokens); empty: none configured. */
  readonly resource: string;
  readonly anonymousSubscribe: boolean;
  readonly anonymousPublish: boolean;
  /** True when publishing needs no token at all (no key of any draft is set). */
  readonly publishingIsOpen: boolean;
  /** The origin check of publishes authenticated by a cookie, or by nothing. */
  readonly publishOrigins: PublishOriginPolicy;
  /** Mercure's active subscriptions are on: the metadata says `mercure_subscriptions`. */
  readonly subscriptionEvents: boolean;
}

/** The subscription's own matcher: the first `match`, `match_<type>` or `topic` parameter. */
function firstMatcher(query: URLSearchParams): string | undefined {
  for (const [name, value] of query) {
    if (name === "match" || name.startsWith("match_") || name === "topic") return value;
  }
  return undefined;
}

/** The draft-08 authorization of one request handler. */
export class Mercure08Authorizer {
  readonly #config: Mercure08AuthorizerConfig;
  readonly #tokens: AccessTokenVerifier | undefined;
  readonly #metadataUrl: string | undefined;

  /** Throws SSEHUB_ERR_OPTIONS_INVALID for an issuer whose keys cannot be used. */
  constructor(config: Mercure08AuthorizerConfig) {
    this.#config = config;
    this.#tokens =
      config.issuers.length === 0
        ? undefined
        : createAccessTokenVerifier({ issuers: config.issuers, resource: config.resource });
    this.#metadataUrl = config.resource === "" ? undefined : resourceMetadataUrl(config.resource);
  }

  /** True when at least one issuer is trusted. */
  get isConfigured(): boolean {
    return this.#tokens !== undefined;
  }

  /** The URL of the protected resource metadata; undefined without a resource identifier. */
  get metadataUrl(): string | undefined {
    return this.#metadataUrl;
  }

  /**
   * The protected resource metadata served at `path`: at RESOURCE_METADATA_PATH and at the
   * path RFC 9728 derives from the resource identifier; undefined elsewhere, and without a
   * resource identifier.
   */
  metadataFor(path: string): ResourceMetadata | undefined {
    const { resource } = this.#config;
    if (resource === "") return undefined;
    if (path !== RESOURCE_METADATA_PATH && path !== resourceMetadataPath(resource))
      return undefined;
    return resourceMetadataDocument({
      resource,
      issuers: this.#tokens?.issuers ?? [],
      subscriptionEvents: this.#config.subscriptionEvents,
    });
  }

  /** `error`, carrying the metadata URL for the Bearer challenge when it is an auth error. */
  #challenged(error: unknown): unknown {
    if (!isSsehubError(error) || !error.code.startsWith("SSEHUB_ERR_AUTH_")) return error;
    if (this.#metadataUrl === undefined) return error;
    return new SsehubError(error.code, error.message, {
      details: { ...error.details, resourceMetadata: this.#metadataUrl },
      cause: error,
    });
  }

  async #run<T>(check: () => Promise<T>): Promise<T> {
    try {
      return await check();
    } catch (error) {
      throw this.#challenged(error);
    }
  }

  #verify(token: string) {
    if (this.#tokens === undefined) {
      return Promise.reject(
        new SsehubError(
          "SSEHUB_ERR_AUTH_INVALID",
          "Cannot accept the token: this hub trusts no issuer of access tokens (mercureIssuers is not set)",
          { details: { reason: "invalid" } },
        ),
      );
    }
    return this.#tokens.verify(token);
  }

  /** Checks a subscriber's request: 401 for a missing (when required) or bad token. */
  subscriber(req: IncomingMessage, query: URLSearchParams): Promise<SubscriberGrant> {
    return this.#run(async () => {
      const found = accessTokenFromRequest(req.headers, query);
      if (found === undefined) {
        if (this.#config.anonymousSubscribe) return {};
        throw new SsehubError(
          "SSEHUB_ERR_AUTH_MISSING",
          "Cannot subscribe without an access token: send Authorization: Bearer <token>",
        );
      }
      const verified = await this.#verify(found.token);
      const { grants } = verified;
      const matcher = firstMatcher(query);
      const payload = matcher === undefined ? undefined : grants.payloadFor(matcher);
      return {
        access: new GrantedAccess(grants),
        expiresAt: verified.expiresAt,
        ...(payload === undefined ? {} : { payload }),
        payloadFor: (subscriptionMatcher: string) => grants.payloadFor(subscriptionMatcher),
        ...(verified.subject === undefined ? {} : { subject: verified.subject }),
      };
    });
  }

  /**
   * Checks a request for `path`, a resource of Mercure's subscriptions API: a valid access
   * token granting `subscribe` on it, whatever `anonymousSubscribe` says.
   */
  subscriptionsReader(req: IncomingMessage, query: URLSearchParams, path: string): Promise<void> {
    return this.#run(async () => {
      const found = accessTokenFromRequest(req.headers, query);
      if (found === undefined) {
        throw new SsehubError(
          "SSEHUB_ERR_AUTH_MISSING",
          `Cannot read ${path} without an access token: send Authorization: Bearer <token> granting subscribe on it`,
        );
      }
      const verified = await this.#verify(found.token);
      if (!canSubscribe(verified.grants, path)) {
        throw new SsehubError(
          "SSEHUB_ERR_AUTH_FORBIDDEN",
          `Cannot read ${path}: the access token does not grant subscribe on it`,
        );
      }
    });
  }

  /**
   * Checks a publisher's request for `topics`: 401 without a valid token when one is required,
   * 403 when the token does not grant `publish` on every topic. A publish authenticated by the
   * cookie, or by nothing, must come from an allowed origin (publish-origin.ts), checked first.
   */
  publisher(
    req: IncomingMessage,
    query: URLSearchParams,
    topics: readonly string[],
  ): Promise<PublisherGrant> {
    return this.#run(async () => {
      const found = accessTokenFromRequest(req.headers, query);
      if (found === undefined) {
        if (this.#config.anonymousPublish || this.#config.publishingIsOpen) {
          this.#config.publishOrigins.check(req, "none");
          return { tokenKey: undefined };
        }
        throw new SsehubError(
          "SSEHUB_ERR_AUTH_MISSING",
          "Cannot publish without an access token: send Authorization: Bearer <token>",
        );
      }
      if (found.from === "cookie") this.#config.publishOrigins.check(req, "cookie");
      const verified = await this.#verify(found.token);
      if (topics.length > 0 && !canPublish(verified.grants, topics)) {
        throw new SsehubError(
          "SSEHUB_ERR_AUTH_FORBIDDEN",
          "Cannot publish: the access token does not grant publish on every topic of the request",
        );
      }
      return {
        tokenKey:
          verified.subject === undefined
            ? `jwt:${found.token}`
            : `sub:${verified.issuer} ${verified.subject}`,
      };
    });
  }
}
