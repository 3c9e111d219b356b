import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import {
  exportJWK,
  exportSPKI,
  generateKeyPair,
  type JWK,
  type JWTPayload,
  SignJWT,
  UnsecuredJWT,
} from "jose";
import {
  createJwtVerifier,
  INVALID_TOKEN_MESSAGE,
  type JwtVerifier,
} from "../../src/auth/jwt-verifier.js";
import { isSsehubError, type SsehubError } from "../../src/errors.js";
import { errorBody } from "../../src/http/messages/error-response.js";
import { requireTools } from "../helpers/require-tool.js";

const SECRET_256 = "a-secret-of-32-bytes-for-HS256!!";
const SECRET_384 = "a-secret-of-48-bytes-for-HS384-the-hash-is-48!!!";
const SECRET_512 = "a-secret-of-64-bytes-for-HS512-as-long-as-the-hash-of-64-bytes!!";
const utf8 = (text: string) => new TextEncoder().encode(text);
const nowS = () => Math.floor(Date.now() / 1000);

type SigningKey = Parameters<SignJWT["sign"]>[0];

function sign(
  key: SigningKey,
  alg: string,
  payload: JWTPayload = { mercure: { subscribe: ["*"] } },
  header: Record<string, unknown> = {},
): Promise<string> {
  return new SignJWT(payload).setProtectedHeader({ ...header, alg }).sign(key);
}

/** Runs `verify` and returns the SsehubError it rejects with. */
async function refusal(verifier: JwtVerifier, token: string): Promise<SsehubError> {
  try {
    await verifier.verify(token);
  } catch (error) {
    assert.ok(isSsehubError(error), `not an SsehubError: ${String(error)}`);
    return error;
  }
  assert.fail("the token was accepted");
}

/** Asserts the refusal is the generic one, and that its body says nothing of `secrets`. */
function assertGenericRefusal(
  error: SsehubError,
  reason: "expired" | "invalid",
  secrets: readonly string[] = [],
): void {
  assert.equal(error.code, "SSEHUB_ERR_AUTH_INVALID");
  assert.equal(error.status, 401);
  assert.equal(error.message, INVALID_TOKEN_MESSAGE);
  assert.deepEqual(error.details, { reason });
  const body = JSON.stringify(errorBody(error));
  for (const secret of secrets) assert.equal(body.includes(secret), false, "the body names a key");
  assert.doesNotMatch(body, /signature|jose|ERR_J|claim timestamp/i);
}

function optionsProblem(fn: () => unknown, message: RegExp, secret?: string): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(isSsehubError(error));
    assert.equal(error.code, "SSEHUB_ERR_OPTIONS_INVALID");
    assert.match(error.message, message);
    if (secret !== undefined) {
      assert.equal(error.message.includes(secret), false, "the message repeats the key");
      assert.equal(JSON.stringify(error.details).includes(secret), false);
    }
    return true;
  });
}

describe("createJwtVerifier() with a shared secret", () => {
  for (const [alg, secret] of [
    ["HS256", SECRET_256],
    ["HS384", SECRET_384],
    ["HS512", SECRET_512],
  ] as const) {
    it(`verifies an ${alg} token and returns its claims and expiry`, async () => {
      const verifier = createJwtVerifier({ key: secret, algorithm: alg });
      const exp = nowS() + 60;
      const token = await sign(utf8(secret), alg, { sub: "u1", exp, mercure: { publish: ["a"] } });
      const verified = await verifier.verify(token);
      assert.equal(verified.payload.sub, "u1");
      assert.deepEqual(verified.payload.mercure, { publish: ["a"] });
      assert.equal(verified.expiresAt, exp * 1000);
      assert.deepEqual(verifier.algorithms, [alg]);
    });
  }

  it("uses HS256 when no algorithm is named, and gives no expiry to a token without exp", async () => {
    const verifier = createJwtVerifier({ key: SECRET_256 });
    const verified = await verifier.verify(await sign(utf8(SECRET_256), "HS256"));
    assert.equal(verified.expiresAt, undefined);
    assert.deepEqual(verifier.algorithms, ["HS256"]);
  });

  it("refuses a token signed with another secret, without naming either", async () => {
    const verifier = createJwtVerifier({ key: SECRET_256 });
    const other = "another-secret-of-32-bytes-HS256";
    const error = await refusal(verifier, await sign(utf8(other), "HS256"));
    assertGenericRefusal(error, "invalid", [SECRET_256, other]);
  });

  it("refuses a token of another HMAC algorithm signed with the same secret", async () => {
    const verifier = createJwtVerifier({ key: SECRET_512, algorithm: "HS512" });
    assertGenericRefusal(await refusal(verifier, await sign(utf8(SECRET_512), "HS256")), "invalid");
  });

  it("refuses alg none, malformed, empty and oversized tokens", async () => {
    const verifier = createJwtVerifier({ key: SECRET_256 });
    const unsecured = new UnsecuredJWT({ mercure: { publish: ["*"] } }).encode();
    const valid = await sign(utf8(SECRET_256), "HS256");
    const [header, payload] = valid.split(".");
    const tampered = `${header}.${Buffer.from('{"mercure":{"publish":["*"]}}').toString("base64url")}.${valid.split(".")[2]}`;
    for (const token of [
      unsecured,
      `${header}.${payload}.`,
      tampered,
      "not.a.token",
      "",
      "x".repeat(20_000),
    ]) {
      assertGenericRefusal(await refusal(verifier, token), "invalid", [SECRET_256]);
    }
  });

  it("refuses an expired token with reason expired, past the clock tolerance only", async (t) => {
    // The clock stands still (Date mocked): a slow machine cannot age the tokens between steps.
    t.mock.timers.enable({ apis: ["Date"], now: Date.now() });
    const verifier = createJwtVerifier({ key: SECRET_256 });
    const expired = await sign(utf8(SECRET_256), "HS256", { exp: nowS() - 30 });
    assertGenericRefusal(await refusal(verifier, expired), "expired", [SECRET_256]);
    const justExpired = await sign(utf8(SECRET_256), "HS256", { exp: nowS() - 2 });
    await verifier.verify(justExpired); // within the default 5 s
    const strict = createJwtVerifier({ key: SECRET_256, clockToleranceMs: 0 });
    assertGenericRefusal(await refusal(strict, justExpired), "expired");
  });

  it("refuses a token that is not valid yet (nbf) with reason invalid", async (t) => {
    // The clock stands still (Date mocked): a slow machine cannot age the tokens between steps.
    t.mock.timers.enable({ apis: ["Date"], now: Date.now() });
    const verifier = createJwtVerifier({ key: SECRET_256 });
    const early = await sign(utf8(SECRET_256), "HS256", { nbf: nowS() + 60 });
    assertGenericRefusal(await refusal(verifier, early), "invalid");
    await verifier.verify(await sign(utf8(SECRET_256), "HS256", { nbf: nowS() + 2 }));
  });

  it("refuses a token whose exp is not a number", async () => {
    const verifier = createJwtVerifier({ key: SECRET_256 });
    const token = await sign(utf8(SECRET_256), "HS256", {
      exp: "tomorrow",
    } as unknown as JWTPayload);
    assertGenericRefusal(await refusal(verifier, token), "invalid");
  });
});

describe("createJwtVerifier() with a PEM public key", () => {
  it("verifies RS256, PS256, ES256, ES384, ES512 and EdDSA tokens", async () => {
    for (const alg of ["RS256", "PS256", "ES256", "ES384", "ES512", "EdDSA"]) {
      const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
      const verifier = createJwtVerifier({ key: await exportSPKI(publicKey), algorithm: alg });
      const verified = await verifier.verify(await sign(privateKey, alg, { sub: alg }));
      assert.equal(verified.payload.sub, alg);
    }
  });

  it("takes Ed25519 and EdDSA as one algorithm: either name verifies tokens signed under either", async () => {
    const { publicKey, privateKey } = await generateKeyPair("Ed25519", { extractable: true });
    const pem = await exportSPKI(publicKey);
    for (const configured of ["Ed25519", "EdDSA"]) {
      const verifier = createJwtVerifier({ key: pem, algorithm: configured });
      assert.deepEqual(verifier.algorithms, ["EdDSA", "Ed25519"]);
      for (const alg of ["Ed25519", "EdDSA"]) {
        const verified = await verifier.verify(await sign(privateKey, alg, { sub: alg }));
        assert.equal(verified.payload.sub, alg, `${configured} verifier, ${alg} token`);
      }
    }
  });

  it("verifies tokens with the public key of an X.509 certificate", async (t) => {
    // openssl makes the certificate: without it the test skips (and fails in CI).
    const missing = requireTools(["openssl"]);
    if (missing !== false) {
      t.skip(missing);
      return;
    }
    const dir = mkdtempSync(join(tmpdir(), "ssehub-cert-"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const made = spawnSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=ssehub-test",
        "-days",
        "1",
      ].concat(["-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem")]),
      { stdio: "ignore" },
    );
    assert.equal(made.error, undefined, "openssl ran");
    assert.equal(made.status, 0, "openssl made the certificate");
    const { createPrivateKey } = await import("node:crypto");
    const privateKey = createPrivateKey(readFileSync(join(dir, "key.pem"), "utf8"));
    const verifier = createJwtVerifier({
      key: readFileSync(join(dir, "cert.pem"), "utf8"),
      algorithm: "RS256",
    });
    const verified = await verifier.verify(await sign(privateKey, "RS256", { sub: "cert" }));
    assert.equal(verified.payload.sub, "cert");
  });

  it("refuses a token signed by another key pair", async () => {
    const mine = await generateKeyPair("ES256", { extractable: true });
    const theirs = await generateKeyPair("ES256", { extractable: true });
    const pem = await exportSPKI(mine.publicKey);
    const verifier = createJwtVerifier({ key: pem, algorithm: "ES256" });
    const error = await refusal(verifier, await sign(theirs.privateKey, "ES256"));
    assertGenericRefusal(error, "invalid", [pem.split("\n")[1]!]);
  });

  it("refuses an HS256 token signed with the text of the public key (algorithm confusion)", async () => {
    const { publicKey } = await generateKeyPair("RS256", { extractable: true });
    const pem = await exportSPKI(publicKey);
    const verifier = createJwtVerifier({ key: pem, algorithm: "RS256" });
    for (const forged of [
      await sign(utf8(pem), "HS256", { mercure: { publish: ["*"] } }),
      await sign(utf8(pem.trim()), "HS256", { mercure: { publish: ["*"] } }),
    ]) {
      assertGenericRefusal(await refusal(verifier, forged), "invalid", [pem.split("\n")[1]!]);
    }
  });

  it("refuses an RS384 or PS256 token when RS256 is configured", async () => {
    const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const pem = publicKey.export({ type: "spki", format: "pem" }).toString();
    const verifier = createJwtVerifier({ key: pem, algorithm: "RS256" });
    await verifier.verify(await sign(privateKey, "RS256"));
    assertGenericRefusal(await refusal(verifier, await sign(privateKey, "RS384")), "invalid");
    assertGenericRefusal(await refusal(verifier, await sign(privateKey, "PS256")), "invalid");
  });
});

describe("createJwtVerifier() with a JWKS URL", () => {
  /** A real JWKS endpoint on loopback whose keys a test can change. */
  async function jwksServer(t: { after(fn: () => unknown): void }): Promise<{
    url: string;
    keys: JWK[];
    fetches: () => number;
    server: Server;
  }> {
    const state = { keys: [] as JWK[], fetches: 0 };
    const server = createServer((_req, res) => {
      state.fetches++;
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end(JSON.stringify({ keys: state.keys }));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    t.after(() => new Promise((resolve) => server.close(resolve)));
    const { port } = server.address() as AddressInfo;
    return {
      url: `http://127.0.0.1:${port}/.well-known/jwks.json`,
      get keys() {
        return state.keys;
      },
      set keys(keys: JWK[]) {
        state.keys = keys;
      },
      fetches: () => state.fetches,
      server,
    };
  }

  async function keyWithId(alg: string, kid: string) {
    const pair = await generateKeyPair(alg, { extractable: true });
    const jwk = { ...(await exportJWK(pair.publicKey)), kid, alg, use: "sig" };
    return { jwk, privateKey: pair.privateKey };
  }

  it("verifies tokens with the key their kid names, fetching the set once", async (t) => {
    const jwks = await jwksServer(t);
    const rs = await keyWithId("RS256", "rs-1");
    const es = await keyWithId("ES256", "es-1");
    jwks.keys = [rs.jwk, es.jwk];
    const verifier = createJwtVerifier({ jwksUrl: jwks.url });
    const a = await verifier.verify(
      await sign(rs.privateKey, "RS256", { sub: "a" }, { kid: "rs-1" }),
    );
    const b = await verifier.verify(
      await sign(es.privateKey, "ES256", { sub: "b" }, { kid: "es-1" }),
    );
    assert.deepEqual([a.payload.sub, b.payload.sub], ["a", "b"]);
    assert.equal(jwks.fetches(), 1);
  });

  it("fetches the set again when a token names a new kid (key rotation)", async (t) => {
    const jwks = await jwksServer(t);
    const old = await keyWithId("ES256", "2026-01");
    const rotated = await keyWithId("ES256", "2026-02");
    jwks.keys = [old.jwk];
    const verifier = createJwtVerifier({ jwksUrl: jwks.url, jwksCooldownMs: 0 });
    await verifier.verify(await sign(old.privateKey, "ES256", {}, { kid: "2026-01" }));
    jwks.keys = [rotated.jwk];
    const verified = await verifier.verify(
      await sign(rotated.privateKey, "ES256", { sub: "new" }, { kid: "2026-02" }),
    );
    assert.equal(verified.payload.sub, "new");
    assert.equal(jwks.fetches(), 2);
  });

  it("does not fetch again within the cooldown, and refuses the unknown kid meanwhile", async (t) => {
    const jwks = await jwksServer(t);
    const known = await keyWithId("ES256", "known");
    const unknown = await keyWithId("ES256", "unknown");
    jwks.keys = [known.jwk];
    const verifier = createJwtVerifier({ jwksUrl: jwks.url, jwksCooldownMs: 60_000 });
    await verifier.verify(await sign(known.privateKey, "ES256", {}, { kid: "known" }));
    for (let i = 0; i < 3; i++) {
      const token = await sign(unknown.privateKey, "ES256", {}, { kid: "unknown" });
      assertGenericRefusal(await refusal(verifier, token), "invalid");
    }
    assert.equal(jwks.fetches(), 1);
  });

  it("refuses HS256 tokens, even when the set holds a symmetric key", async (t) => {
    const jwks = await jwksServer(t);
    jwks.keys = [{ kty: "oct", k: Buffer.from(SECRET_256).toString("base64url"), kid: "oct" }];
    const verifier = createJwtVerifier({ jwksUrl: jwks.url });
    const token = await sign(utf8(SECRET_256), "HS256", {}, { kid: "oct" });
    assertGenericRefusal(await refusal(verifier, token), "invalid", [SECRET_256]);
  });

  it("accepts only the named algorithm when one is given", async (t) => {
    const jwks = await jwksServer(t);
    const rs = await keyWithId("RS256", "rs");
    jwks.keys = [rs.jwk];
    const verifier = createJwtVerifier({ jwksUrl: jwks.url, algorithm: "ES256" });
    assert.deepEqual(verifier.algorithms, ["ES256"]);
    const token = await sign(rs.privateKey, "RS256", {}, { kid: "rs" });
    assertGenericRefusal(await refusal(verifier, token), "invalid");
  });

  it("fails with SSEHUB_ERR_INTERNAL, not a 401, when the key set cannot be fetched", async (t) => {
    const jwks = await jwksServer(t);
    const url = jwks.url;
    await new Promise((resolve) => jwks.server.close(resolve));
    const es = await keyWithId("ES256", "k");
    const verifier = createJwtVerifier({ jwksUrl: url, jwksTimeoutMs: 2_000 });
    const error = await refusal(verifier, await sign(es.privateKey, "ES256", {}, { kid: "k" }));
    assert.equal(error.code, "SSEHUB_ERR_INTERNAL");
    assert.ok(error.cause !== undefined, "the cause is kept for the log");
  });
});

describe("createJwtVerifier() configuration", () => {
  it("refuses a configuration with both or neither of key and jwksUrl", () => {
    optionsProblem(
      () => createJwtVerifier({ key: SECRET_256, jwksUrl: "https://example.com/jwks" }),
      /either a key or a JWKS URL, not both/,
      SECRET_256,
    );
    optionsProblem(() => createJwtVerifier({}), /give a key .* or a JWKS URL/);
    optionsProblem(() => createJwtVerifier({ key: "", jwksUrl: "" }), /give a key/);
  });

  it("refuses unknown algorithms, none included", () => {
    for (const algorithm of ["none", "HS1", "rs256", "ES256K"]) {
      optionsProblem(
        () => createJwtVerifier({ key: SECRET_256, algorithm }),
        /unknown algorithm .* use one of HS256/,
        SECRET_256,
      );
    }
  });

  it("refuses an HMAC secret shorter than the hash (RFC 7518), without repeating it", () => {
    optionsProblem(
      () => createJwtVerifier({ key: "!ChangeMe!" }),
      /HS256 secret must have at least 32 bytes .*: the key has 10/,
      "!ChangeMe!",
    );
    optionsProblem(
      () => createJwtVerifier({ key: SECRET_256, algorithm: "HS512" }),
      /HS512 secret must have at least 64 bytes/,
      SECRET_256,
    );
  });

  it("refuses a PEM key with an HMAC algorithm, and a secret with a public-key algorithm", async () => {
    const { publicKey } = await generateKeyPair("RS256", { extractable: true });
    const pem = await exportSPKI(publicKey);
    optionsProblem(
      () => createJwtVerifier({ key: pem }),
      /PEM document but the algorithm is HS256/,
      pem,
    );
    optionsProblem(
      () => createJwtVerifier({ key: SECRET_256, algorithm: "RS256" }),
      /RS256 needs a PEM public key or certificate/,
      SECRET_256,
    );
  });

  it("refuses private keys, unreadable PEM and keys that do not fit the algorithm", async () => {
    const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const privatePem = rsa.privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    optionsProblem(
      () => createJwtVerifier({ key: privatePem, algorithm: "RS256" }),
      /private key: give the hub the public key/,
      privatePem.split("\n")[1]!,
    );
    optionsProblem(
      () =>
        createJwtVerifier({
          key: "-----BEGIN PUBLIC KEY-----\nnot base64\n-----END PUBLIC KEY-----",
          algorithm: "RS256",
        }),
      /not a readable PEM public key or certificate/,
    );
    const rsaPem = rsa.publicKey.export({ type: "spki", format: "pem" }).toString();
    optionsProblem(
      () => createJwtVerifier({ key: rsaPem, algorithm: "ES256" }),
      /rsa, which ES256/,
    );
    const p384 = generateKeyPairSync("ec", { namedCurve: "P-384" });
    const p384Pem = p384.publicKey.export({ type: "spki", format: "pem" }).toString();
    optionsProblem(
      () => createJwtVerifier({ key: p384Pem, algorithm: "ES256" }),
      /ec \(secp384r1\), which ES256 cannot use/,
    );
    const small = generateKeyPairSync("rsa", { modulusLength: 1024 });
    const smallPem = small.publicKey.export({ type: "spki", format: "pem" }).toString();
    optionsProblem(
      () => createJwtVerifier({ key: smallPem, algorithm: "RS256" }),
      /at least 2048 bits: the key has 1024/,
    );
  });

  it("refuses a JWKS URL that is not http(s), or with an HMAC algorithm, and bad durations", () => {
    optionsProblem(
      () => createJwtVerifier({ jwksUrl: "ftp://example.com/jwks" }),
      /http:\/\/ or https:\/\//,
    );
    optionsProblem(() => createJwtVerifier({ jwksUrl: "/jwks.json" }), /absolute http/);
    optionsProblem(
      () => createJwtVerifier({ jwksUrl: "https://example.com/jwks", algorithm: "HS256" }),
      /HS256 needs a shared secret/,
    );
    optionsProblem(
      () => createJwtVerifier({ jwksUrl: "https://example.com/jwks", jwksCacheMs: -1 }),
      /jwksCacheMs must be an integer/,
    );
    optionsProblem(
      () => createJwtVerifier({ key: SECRET_256, clockToleranceMs: 1.5 }),
      /clockToleranceMs must be an integer/,
    );
  });

  it("lists every public-key algorithm for a JWKS URL without an algorithm, and both EdDSA names", () => {
    const verifier = createJwtVerifier({ jwksUrl: "https://example.com/jwks" });
    assert.ok(verifier.algorithms.includes("RS256") && verifier.algorithms.includes("EdDSA"));
    assert.equal(
      verifier.algorithms.some((alg) => alg.startsWith("HS")),
      false,
    );
    assert.ok(Object.isFrozen(verifier.algorithms));
  });
});
