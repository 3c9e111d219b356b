/**
 * OAuth 2.0 access tokens as Mercure draft-08 has hubs check them (section "Token
 * Validation"): JWTs of the access token profile (RFC 9068), signed by an issuer the hub trusts.
 *
 * - The `typ` header must be `at+jwt` (or `application/at+jwt`), so that an ID token or any
 *   other JWT signed by the same key is not taken for an access token.
 * - The issuer (`iss`) must be one of the configured ones, and the signature is checked with
 *   that issuer's keys only (its secret, public key or JWKS), never a pool of every issuer's, so
 *   that one issuer cannot sign in another's name.
 * - `aud` must hold the hub's resource identifier; `exp` is required and enforced, `nbf` too
 *   when present (with jwt-verifier.ts's clock tolerance).
 * - What the token allows comes from its `authorization_details` (authorization-details.ts).
 *
 * Every refusal is SSEHUB_ERR_AUTH_INVALID with one message, whatever failed (an unknown
 * issuer included), so that a client learns nothing of why.
 * @module
 */
import { SsehubError } from "../errors.js";
import {
  type AccessTokenGrants,
  grantsOfAuthorizationDetails,
  type MercureAction,
} from "./authorization-details.js";
import { JWT_ALGORITHMS } from "./jwt-algorithms.js";
import {
  createJwtVerifier,
  INVALID_TOKEN_MESSAGE,
  type JwtVerifier,
  MAX_TOKEN_LENGTH,
} from "./jwt-verifier.js";

/** The `typ` of an access token (RFC 9068 section 2.1). */
export const ACCESS_TOKEN_TYPE = "at+jwt";

/** One authorization server (or self-issuing app) whose tokens the hub accepts. */
export interface TrustedIssuer {
  /** Its issuer identifier: the exact `iss` of its tokens. */
  readonly issuer: string;
  /** Its HS* secret or PEM public key (as jwt-verifier.ts's `key`); or give `jwksUrl`. */
  readonly key?: string | undefined;
  /** The algorithm of its tokens (as jwt-verifier.ts's `algorithm`). */
  readonly algorithm?: string | undefined;
  /** The URL of its JSON Web Key Set; or give `key`. */
  readonly jwksUrl?: string | undefined;
  /**
   * The actions its tokens may grant; others grant nothing. @default ["publish", "subscribe"].
   * Mercure advises separate keys for publishers and subscribers: an issuer for subscribers
   * only says `["subscribe"]`.
   */
  readonly actions?: readonly MercureAction[] | undefined;
}

/** A verified access token. */
export interface VerifiedAccessToken {
  readonly grants: AccessTokenGrants;
  /** `exp`, in milliseconds since the epoch. */
  readonly expiresAt: number;
  /** The issuer that signed it. */
  readonly issuer: string;
  /** Its `sub`; undefined when absent. */
  readonly subject: string | undefined;
}

/** Checks draft-08 access tokens against the trusted issuers. */
export interface AccessTokenVerifier {
  /** The issuer identifiers, in the order configured. */
  readonly issuers: readonly string[];
  /**
   * Verifies `token` and reads its grants. Rejects with SSEHUB_ERR_AUTH_INVALID, or, when an
   * issuer's key set cannot be fetched, SSEHUB_ERR_INTERNAL.
   */
  verify(token: string): Promise<VerifiedAccessToken>;
}

const ACTIONS: readonly MercureAction[] = ["publish", "subscribe"];

function optionsError(problem: string): SsehubError {
  return new SsehubError(
    "SSEHUB_ERR_OPTIONS_INVALID",
    `Cannot trust the issuers of access tokens: ${problem}`,
    { details: { problems: [problem] } },
  );
}

function refused(): SsehubError {
  return new SsehubError("SSEHUB_ERR_AUTH_INVALID", INVALID_TOKEN_MESSAGE, {
    details: { reason: "invalid" },
  });
}

const ISSUER_FIELDS = new Set(["issuer", "key", "algorithm", "jwksUrl", "actions"]);

/**
 * Reads the issuers of the `mercureIssuers` option: a JSON array of objects
 * `{"issuer", "key" | "jwksUrl", "algorithm"?, "actions"?}`; the empty string is none. Throws
 * SSEHUB_ERR_OPTIONS_INVALID naming the first problem (never repeating a key). Keys are checked
 * by createAccessTokenVerifier.
 * @example
 * parseTrustedIssuers('[{"issuer":"https://as.example.com","jwksUrl":"https://as.example.com/jwks"}]');
 */
export function parseTrustedIssuers(text: string): readonly TrustedIssuer[] {
  if (text.trim() === "") return Object.freeze([]);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw optionsError(
      'mercureIssuers must be a JSON array such as [{"issuer":"...","jwksUrl":"..."}]',
    );
  }
  if (!Array.isArray(value)) {
    throw optionsError("mercureIssuers must be a JSON array of issuer objects");
  }
  const seen = new Set<string>();
  return Object.freeze(
    value.map((entry: unknown, index): TrustedIssuer => {
      const where = `mercureIssuers[${index}]`;
      if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
        throw optionsError(`${where} must be an object`);
      }
      const fields = entry as Record<string, unknown>;
      for (const name of Object.keys(fields)) {
        if (!ISSUER_FIELDS.has(name)) {
          throw optionsError(
            `${where} has an unknown field "${name}": use issuer, key, algorithm, jwksUrl, actions`,
          );
        }
      }
      const { issuer, key, algorithm, jwksUrl, actions } = fields;
      if (typeof issuer !== "string" || issuer === "") {
        throw optionsError(`${where}.issuer must be a non-empty string (the "iss" of its tokens)`);
      }
      if (seen.has(issuer))
        throw optionsError(`${where}.issuer ${JSON.stringify(issuer)} is given twice`);
      seen.add(issuer);
      for (const [name, field] of [
        ["key", key],
        ["algorithm", algorithm],
        ["jwksUrl", jwksUrl],
      ] as const) {
        if (field !== undefined && typeof field !== "string") {
          throw optionsError(`${where}.${name} must be a string`);
        }
      }
      if (
        typeof algorithm === "string" &&
        !(JWT_ALGORITHMS as readonly string[]).includes(algorithm)
      ) {
        throw optionsError(
          `${where}.algorithm ${JSON.stringify(algorithm)} is not a JWT algorithm ssehub accepts`,
        );
      }
      if (
        actions !== undefined &&
        (!Array.isArray(actions) ||
          actions.length === 0 ||
          !actions.every((action) => (ACTIONS as readonly unknown[]).includes(action)))
      ) {
        throw optionsError(
          `${where}.actions must be a non-empty array of "publish" and "subscribe"`,
        );
      }
      return Object.freeze({
        issuer,
        ...(key === undefined ? {} : { key: key as string }),
        ...(algorithm === undefined ? {} : { algorithm: algorithm as string }),
        ...(jwksUrl === undefined ? {} : { jwksUrl: jwksUrl as string }),
        ...(actions === undefined
          ? {}
          : { actions: Object.freeze([...(actions as MercureAction[])]) }),
      });
    }),
  );
}

/** The issuer named by `token`'s `iss`, read before the signature is (only to pick the keys). */
function unverifiedIssuer(token: string): string | undefined {
  const first = token.indexOf(".");
  const second = token.indexOf(".", first + 1);
  if (first <= 0 || second === -1) return undefined;
  try {
    const claims: unknown = JSON.parse(
      Buffer.from(token.slice(first + 1, second), "base64url").toString("utf8"),
    );
    const iss = (claims as { iss?: unknown } | null)?.iss;
    return typeof iss === "string" ? iss : undefined;
  } catch {
    return undefined;
  }
}

interface IssuerCheck {
  readonly verifier: JwtVerifier;
  readonly actions: ReadonlySet<MercureAction>;
}

/**
 * Builds the verifier of `issuers` for the hub whose resource identifier is `resource`. Throws
 * SSEHUB_ERR_OPTIONS_INVALID for an issuer whose keys cannot be used, naming it.
 */
export function createAccessTokenVerifier(config: {
  readonly issuers: readonly TrustedIssuer[];
  readonly resource: string;
}): AccessTokenVerifier {
  const checks = new Map<string, IssuerCheck>();
  for (const trusted of config.issuers) {
    let verifier: JwtVerifier;
    try {
      verifier = createJwtVerifier({
        key: trusted.key,
        jwksUrl: trusted.jwksUrl,
        // With a JWKS, the keys name their algorithms unless one is given.
        algorithm: trusted.algorithm,
        type: ACCESS_TOKEN_TYPE,
        issuer: trusted.issuer,
        audience: config.resource,
        requireExpiry: true,
      });
    } catch (error) {
      throw optionsError(`issuer ${JSON.stringify(trusted.issuer)}: ${(error as Error).message}`);
    }
    checks.set(trusted.issuer, {
      verifier,
      actions: new Set(trusted.actions ?? ACTIONS),
    });
  }
  return {
    issuers: Object.freeze([...checks.keys()]),
    async verify(token) {
      if (token.length > MAX_TOKEN_LENGTH) throw refused();
      const issuer = unverifiedIssuer(token);
      const check = issuer === undefined ? undefined : checks.get(issuer);
      if (issuer === undefined || check === undefined) throw refused();
      const verified = await check.verifier.verify(token);
      const subject = verified.payload.sub;
      return Object.freeze({
        grants: grantsOfAuthorizationDetails(verified.payload, check.actions, config.resource),
        expiresAt: verified.expiresAt!, // required above
        issuer,
        subject: typeof subject === "string" && subject !== "" ? subject : undefined,
      });
    },
  };
}
