/**
 * Verifies the JSON Web Tokens that publishers and subscribers present (jose does the
 * cryptography). One verifier holds one way to check signatures: a shared secret (HS256,
 * HS384, HS512), a PEM public key or certificate (RS*, PS*, ES*, EdDSA), or a JSON Web Key Set
 * fetched from a URL.
 *
 * Only the configured algorithms are accepted, never `none`, and never one that does not fit
 * the key: an HS256 token signed with the text of an RSA public key is refused (the classic
 * algorithm-confusion attack). `exp` and `nbf` are enforced, with a small clock tolerance.
 *
 * Every refused token raises the same SSEHUB_ERR_AUTH_INVALID with the same message;
 * `details.reason` says `expired` or `invalid`, nothing more. No error names the key, the
 * signature, or why the cryptography failed.
 * @module
 */
import { createPublicKey, type KeyObject } from "node:crypto";
import type { createRemoteJWKSet, JWTPayload, RemoteJWKSetOptions } from "jose";
import { SsehubError } from "../errors.js";
import {
  algorithmNames,
  DEFAULT_ALGORITHM,
  HMAC_ALGORITHMS,
  JWT_ALGORITHMS,
  PUBLIC_KEY_ALGORITHMS,
} from "./jwt-algorithms.js";

/** How far `exp` and `nbf` may be off: clocks of issuers and hub differ a little. */
export const DEFAULT_CLOCK_TOLERANCE_MS = 5_000; // 5 seconds
/** How long a fetched key set is used before it is fetched again. */
export const DEFAULT_JWKS_CACHE_MS = 600_000; // 10 minutes
/** Least time between two fetches of the key set caused by tokens with an unknown `kid`. */
export const DEFAULT_JWKS_COOLDOWN_MS = 30_000; // 30 seconds
/** How long a fetch of the key set may take. */
export const DEFAULT_JWKS_TIMEOUT_MS = 5_000; // 5 seconds
/** Longer tokens are refused unread (a Cookie header holds about 4 KiB). */
export const MAX_TOKEN_LENGTH = 16_384; // characters

/** The message of every refused token. */
export const INVALID_TOKEN_MESSAGE = "Cannot accept the token: it is invalid or expired";

/**
 * How to verify tokens: exactly one of `key` and `jwksUrl`. An empty string counts as absent,
 * so that an option left empty can be passed as it is.
 */
export interface JwtVerifierConfig {
  /**
   * The HS* secret (its UTF-8 bytes; at least as long as the hash: 32 bytes for HS256, 48 for
   * HS384, 64 for HS512, as RFC 7518 requires), or a PEM public key (`BEGIN PUBLIC KEY`) or
   * X.509 certificate (`BEGIN CERTIFICATE`) for the other algorithms.
   */
  readonly key?: string | undefined;
  /**
   * The one algorithm tokens must use. @default "HS256" with a key; with `jwksUrl`, every
   * public-key algorithm unless one is named.
   */
  readonly algorithm?: string | undefined;
  /** URL (https, or http on a trusted network) of a JSON Web Key Set of public keys. */
  readonly jwksUrl?: string | undefined;
  /** @default 600000 (10 minutes) */
  readonly jwksCacheMs?: number | undefined;
  /** @default 30000 (30 seconds) */
  readonly jwksCooldownMs?: number | undefined;
  /** @default 5000 (5 seconds) */
  readonly jwksTimeoutMs?: number | undefined;
  /** @default 5000 (5 seconds) */
  readonly clockToleranceMs?: number | undefined;
  /**
   * The `typ` header tokens must carry, compared case-insensitively and without an
   * `application/` prefix (RFC 7515 section 4.1.9): `at+jwt` for OAuth 2.0 access tokens
   * (RFC 9068). Undefined: `typ` is not read.
   */
  readonly type?: string | undefined;
  /** The `iss` tokens must carry. Undefined: `iss` is not read. */
  readonly issuer?: string | undefined;
  /** A value tokens must carry in `aud` (a string, or one of an array). Undefined: not read. */
  readonly audience?: string | undefined;
  /** True: a token without `exp` is refused (RFC 9068 requires it). @default false */
  readonly requireExpiry?: boolean | undefined;
}

/** A token whose signature and time claims were checked. */
export interface VerifiedToken {
  /** Its claims. */
  readonly payload: Readonly<JWTPayload>;
  /** When it expires (`exp`), in milliseconds since the epoch; undefined: it does not. */
  readonly expiresAt: number | undefined;
}

/** Checks tokens against one configured key or key set. */
export interface JwtVerifier {
  /** The algorithms a token may use. */
  readonly algorithms: readonly string[];
  /**
   * Verifies `token` (compact JWS). Rejects with SSEHUB_ERR_AUTH_INVALID (`details.reason`
   * `expired` or `invalid`), or, when the key set cannot be fetched, SSEHUB_ERR_INTERNAL.
   */
  verify(token: string): Promise<VerifiedToken>;
}

type VerifyKey = Uint8Array | KeyObject | ReturnType<typeof createRemoteJWKSet>;

/** Where a JWKS comes from: the key set itself is made by the first verification. */
interface RemoteKeySetSource {
  readonly url: URL;
  readonly options: RemoteJWKSetOptions;
}

/**
 * jose, loaded by the first verification: a hub without tokens never loads it, nor does
 * `import "ssehub"`. It is ESM only, hence the dynamic import.
 */
let jose: typeof import("jose") | undefined;
async function loadJose(): Promise<typeof import("jose")> {
  jose ??= await import("jose");
  return jose;
}

/** Public key types (node:crypto `asymmetricKeyType`, and EC curve) each algorithm needs. */
function keyFits(algorithm: string, key: KeyObject): boolean {
  const type = key.asymmetricKeyType;
  if (algorithm.startsWith("RS")) return type === "rsa";
  if (algorithm.startsWith("PS")) return type === "rsa" || type === "rsa-pss";
  if (algorithm === "EdDSA" || algorithm === "Ed25519") return type === "ed25519";
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (algorithm === "ES256") return type === "ec" && curve === "prime256v1";
  if (algorithm === "ES384") return type === "ec" && curve === "secp384r1";
  if (algorithm === "ES512") return type === "ec" && curve === "secp521r1";
  return false;
}

function optionsError(problem: string): SsehubError {
  return new SsehubError("SSEHUB_ERR_OPTIONS_INVALID", `Cannot verify tokens: ${problem}`, {
    details: { problems: [problem] },
  });
}

function checkMs(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 0 || value > 2_147_483_647) {
    throw optionsError(`${name} must be an integer from 0 to 2147483647 milliseconds`);
  }
  return value;
}

function isAlgorithm(value: string): boolean {
  return (JWT_ALGORITHMS as readonly string[]).includes(value);
}

/** The key of a secret or PEM configuration, checked against its algorithm. */
function staticKey(key: string, algorithm: string): Uint8Array | KeyObject {
  const isPem = key.trimStart().startsWith("-----BEGIN");
  if ((HMAC_ALGORITHMS as readonly string[]).includes(algorithm)) {
    if (isPem) {
      // A public key used as an HMAC secret lets anyone who knows it sign tokens.
      throw optionsError(
        `the key is a PEM document but the algorithm is ${algorithm}: name the public-key algorithm (RS256, ES256, ...)`,
      );
    }
    const secret = new TextEncoder().encode(key);
    const minimum = Number(algorithm.slice(2)) / 8;
    if (secret.length < minimum) {
      throw optionsError(
        `an ${algorithm} secret must have at least ${minimum} bytes (RFC 7518): the key has ${secret.length}`,
      );
    }
    return secret;
  }
  if (!isPem) {
    throw optionsError(
      `${algorithm} needs a PEM public key or certificate ("-----BEGIN PUBLIC KEY-----" or "-----BEGIN CERTIFICATE-----")`,
    );
  }
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(key)) {
    throw optionsError("the key is a private key: give the hub the public key or certificate only");
  }
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey(key);
  } catch {
    throw optionsError("the key is not a readable PEM public key or certificate");
  }
  if (!keyFits(algorithm, publicKey)) {
    throw optionsError(
      `the key is ${publicKey.asymmetricKeyType ?? "of another type"}${publicKey.asymmetricKeyDetails?.namedCurve === undefined ? "" : ` (${publicKey.asymmetricKeyDetails.namedCurve})`}, which ${algorithm} cannot use`,
    );
  }
  const bits = publicKey.asymmetricKeyDetails?.modulusLength;
  if (bits !== undefined && bits < 2048) {
    throw optionsError(`an RSA key must have at least 2048 bits: the key has ${bits}`);
  }
  return publicKey;
}

/** The checked source of a JWKS configuration. */
function remoteKeySet(url: string, config: JwtVerifierConfig): RemoteKeySetSource {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw optionsError(
      `jwksUrl must be an absolute http:// or https:// URL: got ${JSON.stringify(url)}`,
    );
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
    throw optionsError(`jwksUrl must be an http:// or https:// URL: got ${JSON.stringify(url)}`);
  }
  return {
    url: parsed,
    options: {
      cacheMaxAge: checkMs("jwksCacheMs", config.jwksCacheMs, DEFAULT_JWKS_CACHE_MS),
      cooldownDuration: checkMs("jwksCooldownMs", config.jwksCooldownMs, DEFAULT_JWKS_COOLDOWN_MS),
      timeoutDuration: checkMs("jwksTimeoutMs", config.jwksTimeoutMs, DEFAULT_JWKS_TIMEOUT_MS),
    },
  };
}

// jose error codes that blame the token (anything else, with a key set, is a failed fetch).
const TOKEN_ERRORS = new Set([
  "ERR_JWS_INVALID",
  "ERR_JWT_INVALID",
  "ERR_JWT_CLAIM_VALIDATION_FAILED",
  "ERR_JWS_SIGNATURE_VERIFICATION_FAILED",
  "ERR_JOSE_ALG_NOT_ALLOWED",
  "ERR_JOSE_NOT_SUPPORTED",
  "ERR_JWKS_NO_MATCHING_KEY",
  "ERR_JWKS_MULTIPLE_MATCHING_KEYS",
  "ERR_JWK_INVALID",
]);

/** The token's fault: the one generic error, with `expired` or `invalid` as the reason. */
function refused(reason: "expired" | "invalid", cause?: unknown): SsehubError {
  return new SsehubError("SSEHUB_ERR_AUTH_INVALID", INVALID_TOKEN_MESSAGE, {
    details: { reason },
    ...(cause === undefined ? {} : { cause }),
  });
}

function translate(error: unknown, remote: boolean): SsehubError {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === "ERR_JWT_EXPIRED") return refused("expired", error);
  if (!remote || (typeof code === "string" && TOKEN_ERRORS.has(code))) {
    return refused("invalid", error);
  }
  // The key set is unreachable, slow, or not a key set: not the client's fault. The cause
  // (jose's or fetch's error) is for the hub's log only.
  return new SsehubError(
    "SSEHUB_ERR_INTERNAL",
    "Cannot verify the token: the JSON Web Key Set could not be fetched, see the hub's log",
    { cause: error },
  );
}

/**
 * Builds a verifier, or throws SSEHUB_ERR_OPTIONS_INVALID naming what is wrong with `config`
 * (never repeating the key).
 * @example
 * const verifier = createJwtVerifier({ key: process.env.JWT_SECRET, algorithm: "HS256" });
 * const { payload, expiresAt } = await verifier.verify(token);
 */
export function createJwtVerifier(config: JwtVerifierConfig): JwtVerifier {
  const key = config.key === "" ? undefined : config.key;
  const jwksUrl = config.jwksUrl === "" ? undefined : config.jwksUrl;
  const algorithm = config.algorithm === "" ? undefined : config.algorithm;
  if (key !== undefined && jwksUrl !== undefined) {
    throw optionsError("give either a key or a JWKS URL, not both");
  }
  if (key === undefined && jwksUrl === undefined) {
    throw optionsError("give a key (HS* secret or PEM public key) or a JWKS URL");
  }
  if (key !== undefined && typeof key !== "string") throw optionsError("the key must be a string");
  if (algorithm !== undefined && !isAlgorithm(algorithm)) {
    throw optionsError(
      `unknown algorithm ${JSON.stringify(algorithm)}: use one of ${JWT_ALGORITHMS.join(", ")}`,
    );
  }
  const toleranceMs = checkMs(
    "clockToleranceMs",
    config.clockToleranceMs,
    DEFAULT_CLOCK_TOLERANCE_MS,
  );

  let verifyKey: VerifyKey | undefined;
  let remoteSource: RemoteKeySetSource | undefined;
  let algorithms: string[];
  if (key !== undefined) {
    const chosen = algorithm ?? DEFAULT_ALGORITHM;
    verifyKey = staticKey(key, chosen);
    algorithms = algorithmNames(chosen);
  } else {
    if (algorithm !== undefined && (HMAC_ALGORITHMS as readonly string[]).includes(algorithm)) {
      throw optionsError(`${algorithm} needs a shared secret (key), not a JWKS URL`);
    }
    remoteSource = remoteKeySet(jwksUrl!, config);
    algorithms = algorithm === undefined ? [...PUBLIC_KEY_ALGORITHMS] : algorithmNames(algorithm);
  }
  const remote = jwksUrl !== undefined;
  const options = {
    algorithms,
    clockTolerance: toleranceMs / 1000,
    ...(config.type === undefined ? {} : { typ: config.type }),
    ...(config.issuer === undefined ? {} : { issuer: config.issuer }),
    ...(config.audience === undefined ? {} : { audience: config.audience }),
    ...(config.requireExpiry === true ? { requiredClaims: ["exp"] } : {}),
  };
  Object.freeze(algorithms);

  return {
    algorithms,
    async verify(token: string): Promise<VerifiedToken> {
      if (typeof token !== "string" || token.length === 0 || token.length > MAX_TOKEN_LENGTH) {
        throw refused("invalid");
      }
      let payload: JWTPayload;
      try {
        const { createRemoteJWKSet, jwtVerify } = await loadJose();
        // One key set per verifier, made once: it caches the keys it fetched.
        verifyKey ??= createRemoteJWKSet(remoteSource!.url, remoteSource!.options);
        payload = (await jwtVerify(token, verifyKey, options)).payload;
      } catch (error) {
        throw translate(error, remote);
      }
      return Object.freeze({
        payload: Object.freeze(payload),
        expiresAt: typeof payload.exp === "number" ? payload.exp * 1000 : undefined,
      });
    },
  };
}
