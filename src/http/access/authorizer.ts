/**
 * Who may publish and subscribe, for both APIs (ssehub's and Mercure's), from the options:
 * tokens verified by auth/, claims turned into what the hub understands (a PrivateAccess for
 * private events, an expiry for the stream).
 *
 * Publishing: with a publisher key (or JWKS URL), a request needs a valid token whose `publish`
 * selectors match every topic it publishes to (403 otherwise), unless `anonymousPublish`. With
 * no publisher key, publishing is open: createServer refuses to listen on a non-loopback address
 * then, unless `anonymousPublish` says so (see server.ts).
 *
 * Subscribing: without a token, a subscriber is accepted when `anonymousSubscribe` (the
 * default) and receives public events only; with a valid token it also receives the private
 * events whose topics its `subscribe` selectors match, until the token expires. An invalid token
 * is refused (401), never silently downgraded. A token when no subscriber key is set cannot be
 * checked: it is refused too, so that a misconfigured hub says so.
 *
 * Mercure's subscriptions API: always a valid subscriber token whose `subscribe` selectors match
 * the resource's path (see subscriptionsReader).
 * @module
 */
import type { IncomingMessage } from "node:http";
import {
  canPublish,
  canSubscribe,
  createJwtVerifier,
  type FoundToken,
  grantsOf,
  type JwtVerifier,
  parseTrustedIssuers,
  tokenFromRequest,
} from "../../auth/index.js";
import { SsehubError } from "../../errors.js";
import type { PrivateAccess } from "../../hub/subscriber.js";
import type { ResolvedHandlerOptions } from "../server-options.js";
import { type BackendHooks, backendHooksOf } from "./backend-hooks.js";
import { GrantedAccess } from "./granted-access.js";
import { Mercure08Authorizer } from "./mercure08-authorizer.js";
import { PublishOriginPolicy } from "./publish-origin.js";

/** What a subscriber's request earns. */
export interface SubscriberGrant {
  readonly access?: PrivateAccess;
  /** When the token expires (ms since the epoch): the stream ends then. */
  readonly expiresAt?: number;
  /**
   * The token's `mercure.payload` claim, as it came: what Mercure's subscriptions API and
   * subscription events show of the subscriber. Absent without a token or without the claim.
   */
  readonly payload?: unknown;
  /**
   * The payload of each subscription, by its matcher (draft-08 access tokens: the `payload` of
   * the first `subscribe` detail matching it). Absent where one payload holds for all.
   */
  readonly payloadFor?: (matcher: string) => unknown;
  /** The token's `sub` claim, when it has one: what presence webhooks report of the client. */
  readonly subject?: string;
}

/** What a publisher's request earns. */
export interface PublisherGrant {
  /** The key its publishes are counted under for `maxPublishesPerSecond`, if it has a token. */
  readonly tokenKey: string | undefined;
}

function verifierOf(key: string, algorithm: string, jwksUrl: string): JwtVerifier | undefined {
  if (key === "" && jwksUrl === "") return undefined;
  // With a JWKS the keys name their algorithms; the option narrows them only to a public-key
  // one (its HS256 default means nothing for a key set).
  return createJwtVerifier(
    jwksUrl === ""
      ? { key, algorithm }
      : { jwksUrl, ...(algorithm.startsWith("HS") ? {} : { algorithm }) },
  );
}

/** The authorization of one server or request handler. */
export class Authorizer {
  readonly #publishers: JwtVerifier | undefined;
  readonly #subscribers: JwtVerifier | undefined;
  readonly #options: ResolvedHandlerOptions;
  readonly #publishOrigins: PublishOriginPolicy;
  /** Mercure draft-08's authorization (OAuth 2.0 access tokens), beside this draft-07 one. */
  readonly mercure08: Mercure08Authorizer;
  /**
   * The backend hooks (`subscribeHookUrl`, `publishHookUrl`): asked by the routes after the
   * token checks of this class (routes/hook-checks.ts).
   */
  readonly hooks: BackendHooks;

  /** Throws SSEHUB_ERR_OPTIONS_INVALID for a key that cannot be used. */
  constructor(options: ResolvedHandlerOptions) {
    this.#options = options;
    this.hooks = backendHooksOf(options);
    this.#publishOrigins = new PublishOriginPolicy(options.publishOrigins, options.corsOrigins);
    this.#publishers = verifierOf(
      options.publisherJwtKey,
      options.publisherJwtAlgorithm,
      options.publisherJwksUrl,
    );
    this.#subscribers = verifierOf(
      options.subscriberJwtKey,
      options.subscriberJwtAlgorithm,
      options.subscriberJwksUrl,
    );
    this.mercure08 = new Mercure08Authorizer({
      issuers: parseTrustedIssuers(options.mercureIssuers),
      resource: options.mercureResource,
      anonymousSubscribe: options.anonymousSubscribe,
      anonymousPublish: options.anonymousPublish,
      publishingIsOpen: this.#publishers === undefined && options.mercureIssuers.trim() === "",
      publishOrigins: this.#publishOrigins,
      subscriptionEvents: options.subscriptionEvents,
    });
  }

  /** True when a draft-07 key (or JWKS URL) is set, for publishers or subscribers. */
  get verifiesDraft07Tokens(): boolean {
    return this.#publishers !== undefined || this.#subscribers !== undefined;
  }

  /** True when anyone may publish: no publisher key is set. */
  get publishingIsOpen(): boolean {
    return this.#publishers === undefined;
  }

  #found(req: IncomingMessage, query: URLSearchParams): FoundToken | undefined {
    const { authCookieName, authQueryParam } = this.#options;
    return tokenFromRequest(req.headers, query, {
      cookieName: authCookieName,
      queryParam: authQueryParam === "" ? undefined : authQueryParam,
    });
  }

  #token(req: IncomingMessage, query: URLSearchParams): string | undefined {
    return this.#found(req, query)?.token;
  }

  /** Checks a subscriber's request; throws 401 for a missing (when required) or bad token. */
  async subscriber(req: IncomingMessage, query: URLSearchParams): Promise<SubscriberGrant> {
    // With a subscribe hook and no subscriber key, the credentials are the backend's to read
    // (a session cookie, an opaque bearer token): the hook decides, nothing is read as a JWT.
    if (this.#subscribers === undefined && this.hooks.subscribe !== undefined) return {};
    const token = this.#token(req, query);
    if (token === undefined) {
      if (this.#options.anonymousSubscribe) return {};
      throw new SsehubError(
        "SSEHUB_ERR_AUTH_MISSING",
        "Cannot subscribe without a token: send Authorization: Bearer <token>",
      );
    }
    if (this.#subscribers === undefined) {
      throw new SsehubError(
        "SSEHUB_ERR_AUTH_INVALID",
        "Cannot accept the token: this hub verifies no subscriber tokens (subscriberJwtKey is not set)",
      );
    }
    const verified = await this.#subscribers.verify(token);
    const grants = grantsOf(verified.payload);
    const subject = (verified.payload as { sub?: unknown }).sub;
    return {
      access: new GrantedAccess(grants),
      ...(verified.expiresAt === undefined ? {} : { expiresAt: verified.expiresAt }),
      ...(grants.payload === undefined ? {} : { payload: grants.payload }),
      ...(typeof subject === "string" && subject !== "" ? { subject } : {}),
    };
  }

  /**
   * Checks a request for `path`, a resource of Mercure's subscriptions API
   * (`/.well-known/mercure/subscriptions{/topic}{/subscriber}`, percent-encoded as the hub
   * names it). As in Mercure, it needs a valid subscriber token whose `subscribe` selectors
   * match `path`, whatever `anonymousSubscribe` says: 401 without one, 403 when its selectors do
   * not match.
   */
  async subscriptionsReader(
    req: IncomingMessage,
    query: URLSearchParams,
    path: string,
  ): Promise<void> {
    const token = this.#token(req, query);
    if (token === undefined) {
      throw new SsehubError(
        "SSEHUB_ERR_AUTH_MISSING",
        `Cannot read ${path} without a token: send Authorization: Bearer <token> whose subscribe claim matches it`,
      );
    }
    if (this.#subscribers === undefined) {
      throw new SsehubError(
        "SSEHUB_ERR_AUTH_INVALID",
        "Cannot accept the token: this hub verifies no subscriber tokens (subscriberJwtKey is not set)",
      );
    }
    const verified = await this.#subscribers.verify(token);
    if (!canSubscribe(grantsOf(verified.payload), path)) {
      throw new SsehubError(
        "SSEHUB_ERR_AUTH_FORBIDDEN",
        `Cannot read ${path}: the token's subscribe claim does not match it`,
      );
    }
  }

  /**
   * Checks a publisher's request for `topics` (every topic of every event it publishes):
   * 401 without a valid token when one is required, 403 when the token's claims do not grant
   * every topic. A request that names no topic has no topic to refuse: it passes here, and the
   * hub answers it as it answers every publish without a topic (SSEHUB_ERR_TOPIC_MISSING).
   *
   * A publish authenticated by the cookie, or by nothing, must come from an allowed origin
   * (403 SSEHUB_ERR_AUTH_ORIGIN_REFUSED otherwise: see publish-origin.ts); the origin is checked
   * before the token, so that a forged request learns nothing of the cookie's worth.
   */
  async publisher(
    req: IncomingMessage,
    query: URLSearchParams,
    topics: readonly string[],
  ): Promise<PublisherGrant> {
    const found = this.#found(req, query);
    if (this.#publishers === undefined) {
      // A publish hook reads the credentials itself; a cookie it may read makes the publish a
      // cookie-authenticated one, held to publishOrigins against cross-site forgery.
      const hook = this.hooks.publish;
      const byCookie = hook?.forwarded(req).cookie !== undefined;
      this.#publishOrigins.check(req, byCookie ? "cookie" : "none");
      return { tokenKey: undefined };
    }
    if (found === undefined) {
      if (this.#options.anonymousPublish) {
        this.#publishOrigins.check(req, "none");
        return { tokenKey: undefined };
      }
      throw new SsehubError(
        "SSEHUB_ERR_AUTH_MISSING",
        "Cannot publish without a token: send Authorization: Bearer <token>",
      );
    }
    if (found.from === "cookie") this.#publishOrigins.check(req, "cookie");
    const { token } = found;
    const verified = await this.#publishers.verify(token);
    const grants = grantsOf(verified.payload);
    if (topics.length > 0 && !canPublish(grants, topics)) {
      throw new SsehubError(
        "SSEHUB_ERR_AUTH_FORBIDDEN",
        "Cannot publish: the token does not grant publishing to every topic of the request",
      );
    }
    const subject = (verified.payload as { sub?: unknown }).sub;
    return {
      tokenKey: typeof subject === "string" && subject !== "" ? `sub:${subject}` : `jwt:${token}`,
    };
  }
}
