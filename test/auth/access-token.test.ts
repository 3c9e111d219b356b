import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { describe, type TestContext, test } from "node:test";
import { exportJWK, exportSPKI, generateKeyPair, type JWTPayload, SignJWT } from "jose";
import {
  canPublish,
  canSubscribe,
  createAccessTokenVerifier,
  parseTrustedIssuers,
} from "../../src/auth/index.js";
import { SsehubError } from "../../src/errors.js";

const RESOURCE = "https://hub.example.com/.well-known/mercure";
const APP = "https://app.example.com";
const SECRET = "a-secret-of-at-least-thirty-two-bytes!";
const BOOK = "https://example.com/books/1";
const SUBSCRIBE_BOOK = [{ type: "mercure", actions: ["subscribe"], topics: [{ match: BOOK }] }];

function sign(
  claims: JWTPayload,
  {
    typ = "at+jwt",
    key = SECRET,
    exp = true,
  }: { typ?: string | null; key?: string; exp?: boolean } = {},
): Promise<string> {
  const jwt = new SignJWT(claims).setProtectedHeader(
    typ === null ? { alg: "HS256" } : { alg: "HS256", typ },
  );
  if (exp) jwt.setExpirationTime("1h");
  return jwt.sign(new TextEncoder().encode(key));
}

const selfIssued = () =>
  createAccessTokenVerifier({ issuers: [{ issuer: APP, key: SECRET }], resource: RESOURCE });

async function refused(promise: Promise<unknown>): Promise<void> {
  await assert.rejects(
    promise,
    (error: unknown) => error instanceof SsehubError && error.code === "SSEHUB_ERR_AUTH_INVALID",
  );
}

/** Serves `body` as a JSON Web Key Set on a real local HTTP server; answers its URL. */
async function serveJwks(t: TestContext, body: unknown): Promise<string> {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { "Content-Type": "application/json" });
    res.end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => server.close());
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
}

describe("draft-08 access tokens", () => {
  test("a valid token yields its grants, expiry, issuer and subject", async () => {
    const token = await sign({
      iss: APP,
      aud: RESOURCE,
      sub: "user-1",
      authorization_details: SUBSCRIBE_BOOK,
    });
    const verified = await selfIssued().verify(token);
    assert.equal(canSubscribe(verified.grants, BOOK), true);
    assert.equal(canPublish(verified.grants, [BOOK]), false);
    assert.equal(verified.issuer, APP);
    assert.equal(verified.subject, "user-1");
    assert.ok(verified.expiresAt > Date.now());
  });

  test("typ application/at+jwt, in any case, is accepted", async () => {
    const token = await sign(
      { iss: APP, aud: [RESOURCE, "other"], authorization_details: SUBSCRIBE_BOOK },
      { typ: "Application/AT+JWT" },
    );
    assert.equal(canSubscribe((await selfIssued().verify(token)).grants, BOOK), true);
  });

  test("a token without typ at+jwt is refused", async () => {
    for (const typ of [null, "JWT"]) {
      await refused(selfIssued().verify(await sign({ iss: APP, aud: RESOURCE }, { typ })));
    }
  });

  test("a token for another audience, or none, is refused", async () => {
    await refused(selfIssued().verify(await sign({ iss: APP, aud: "https://other.example.com" })));
    await refused(selfIssued().verify(await sign({ iss: APP })));
  });

  test("a token without exp is refused", async () => {
    await refused(selfIssued().verify(await sign({ iss: APP, aud: RESOURCE }, { exp: false })));
  });

  test("an unknown issuer, or none, is refused", async () => {
    await refused(
      selfIssued().verify(await sign({ iss: "https://evil.example.com", aud: RESOURCE })),
    );
    await refused(selfIssued().verify(await sign({ aud: RESOURCE })));
  });

  test("each issuer's tokens are checked with its own keys only", async () => {
    const other = "another-secret-of-at-least-thirty-two-bytes";
    const verifier = createAccessTokenVerifier({
      issuers: [
        { issuer: APP, key: SECRET },
        { issuer: "https://other.example.com", key: other },
      ],
      resource: RESOURCE,
    });
    // Signed with the other issuer's key, claiming to be APP.
    await refused(verifier.verify(await sign({ iss: APP, aud: RESOURCE }, { key: other })));
    const own = await sign({ iss: "https://other.example.com", aud: RESOURCE }, { key: other });
    assert.equal((await verifier.verify(own)).issuer, "https://other.example.com");
  });

  test("an issuer's keys may come from a JWKS served over HTTP, or a PEM public key", async (t) => {
    const { privateKey, publicKey } = await generateKeyPair("ES256");
    const jwk = { ...(await exportJWK(publicKey)), kid: "k1", alg: "ES256", use: "sig" };
    const jwksUrl = await serveJwks(t, { keys: [jwk] });
    const verifier = createAccessTokenVerifier({
      issuers: [
        { issuer: "https://as.example.com", jwksUrl },
        { issuer: "https://pem.example.com", key: await exportSPKI(publicKey), algorithm: "ES256" },
      ],
      resource: RESOURCE,
    });
    for (const [iss, kid] of [
      ["https://as.example.com", "k1"],
      ["https://pem.example.com", undefined],
    ] as const) {
      const token = await new SignJWT({ iss, aud: RESOURCE, authorization_details: SUBSCRIBE_BOOK })
        .setProtectedHeader({ alg: "ES256", typ: "at+jwt", ...(kid === undefined ? {} : { kid }) })
        .setExpirationTime("1h")
        .sign(privateKey);
      assert.equal(canSubscribe((await verifier.verify(token)).grants, BOOK), true, iss);
    }
  });

  test("parseTrustedIssuers reads a JSON array and names what is wrong", () => {
    assert.deepEqual(parseTrustedIssuers(""), []);
    assert.deepEqual(
      parseTrustedIssuers(`[{"issuer":"${APP}","key":"k","actions":["subscribe"]}]`),
      [{ issuer: APP, key: "k", actions: ["subscribe"] }],
    );
    for (const [text, problem] of [
      ["{", /JSON array/],
      ['{"issuer":"x"}', /JSON array/],
      ["[1]", /must be an object/],
      ['[{"key":"k"}]', /issuer must be a non-empty string/],
      ['[{"issuer":"a","key":"k"},{"issuer":"a","key":"k"}]', /given twice/],
      ['[{"issuer":"a","jwks":"u"}]', /unknown field "jwks"/],
      ['[{"issuer":"a","key":"k","algorithm":"none"}]', /not a JWT algorithm/],
      ['[{"issuer":"a","key":"k","actions":["read"]}]', /actions must be/],
    ] as const) {
      assert.throws(
        () => parseTrustedIssuers(text),
        (error: unknown) =>
          error instanceof SsehubError &&
          error.code === "SSEHUB_ERR_OPTIONS_INVALID" &&
          problem.test(error.message),
        text,
      );
    }
  });

  test("an issuer whose key cannot be used is refused when the verifier is built, naming it", () => {
    assert.throws(
      () =>
        createAccessTokenVerifier({ issuers: [{ issuer: APP, key: "short" }], resource: RESOURCE }),
      (error: unknown) =>
        error instanceof SsehubError &&
        error.code === "SSEHUB_ERR_OPTIONS_INVALID" &&
        error.message.includes(APP) &&
        !error.message.includes('"short"'),
    );
  });
});
