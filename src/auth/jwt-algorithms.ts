/**
 * The JWS algorithms ssehub verifies tokens with: the one list that the verifier, the options
 * (`publisherJwtAlgorithm`, `subscriberJwtAlgorithm`) and their documentation read. It imports
 * nothing, so that options.ts can read it without loading the verifier and jose.
 * @module
 */

/** Algorithms verified with a shared secret. */
export const HMAC_ALGORITHMS = ["HS256", "HS384", "HS512"] as const;

/**
 * Algorithms verified with a public key. `Ed25519` is the fully-specified name of `EdDSA` over
 * Ed25519 (RFC 9864) that newer JWT libraries write; the two are accepted as one.
 */
export const PUBLIC_KEY_ALGORITHMS = [
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "ES512",
  "EdDSA",
  "Ed25519",
] as const;

/** Every algorithm a verifier accepts, secret-based first. */
export const JWT_ALGORITHMS = [...HMAC_ALGORITHMS, ...PUBLIC_KEY_ALGORITHMS] as const;

/** A JWS algorithm ssehub verifies. */
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number];

/** The algorithm of a verifier configured with a key and no algorithm. */
export const DEFAULT_ALGORITHM = "HS256";

/** The names a token signed with `algorithm` may carry: both names of Ed25519, else itself. */
export function algorithmNames(algorithm: string): string[] {
  return algorithm === "EdDSA" || algorithm === "Ed25519" ? ["EdDSA", "Ed25519"] : [algorithm];
}
