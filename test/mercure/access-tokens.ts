/**
 * Mercure draft-08 access tokens for the tests: self-issued by APP for the hub whose resource
 * identifier is RESOURCE, signed with SECRET, as a hub started with DRAFT08 trusts.
 */
import { type JWTPayload, SignJWT } from "jose";

export const RESOURCE = "https://hub.example.com/.well-known/mercure";
export const APP = "https://app.example.com";
export const SECRET = "a-secret-of-at-least-thirty-two-bytes!";

/** The server options of a hub that trusts APP's tokens for RESOURCE. */
export const DRAFT08 = {
  mercureIssuers: JSON.stringify([{ issuer: APP, key: SECRET }]),
  mercureResource: RESOURCE,
};

/** A `mercure` entry of `authorization_details`, without its type. */
export type Detail = { actions: string[]; topics: unknown[]; payload?: unknown };

/** An access token of APP granting `details`, expiring in an hour unless `claims.exp`. */
export function accessToken(
  details: Detail[],
  claims: JWTPayload = {},
  key = SECRET,
): Promise<string> {
  return new SignJWT({
    iss: APP,
    aud: RESOURCE,
    sub: "user-1",
    exp: Math.floor(Date.now() / 1000) + 3600,
    authorization_details: details.map((detail) => ({ type: "mercure", ...detail })),
    ...claims,
  })
    .setProtectedHeader({ alg: "HS256", typ: "at+jwt" })
    .sign(new TextEncoder().encode(key));
}

/** The Authorization header carrying `token`. */
export function bearer(token: string): Record<string, string> {
  return { Authorization: `Bearer ${token}` };
}
