import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { decodeJwt, exportSPKI, generateKeyPair, SignJWT } from "jose";
import { createServer } from "../../src/http/server.js";
import { openFetchStream } from "../helpers/fetch-stream.js";
import { waitFor, within } from "../helpers/wait-for.js";
import { expectError } from "./expect-error.js";
import { startServer } from "./start-server.js";

const PUBLISHER_KEY = "publisher-secret-of-at-least-32-bytes!";
const SUBSCRIBER_KEY = "subscriber-secret-of-at-least-32-bytes";

async function token(
  key: string,
  mercure: Record<string, unknown>,
  options: { expiresInSeconds?: number; notBefore?: number } = {},
): Promise<string> {
  const jwt = new SignJWT({ mercure }).setProtectedHeader({ alg: "HS256" }).setIssuedAt();
  if (options.expiresInSeconds !== undefined) {
    jwt.setExpirationTime(Math.floor(Date.now() / 1000) + options.expiresInSeconds);
  }
  if (options.notBefore !== undefined) jwt.setNotBefore(options.notBefore);
  return jwt.sign(new TextEncoder().encode(key));
}

function publishInit(body: unknown, bearer?: string): RequestInit {
  return {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      ...(bearer === undefined ? {} : { Authorization: `Bearer ${bearer}` }),
    },
    body: JSON.stringify(body),
  };
}

const KEYS = { publisherJwtKey: PUBLISHER_KEY, subscriberJwtKey: SUBSCRIBER_KEY };

describe("authorization over HTTP", () => {
  test("a publish without a token answers 401 with a Bearer challenge once a publisher key is set", async (t) => {
    const { url, ssehub } = await startServer(t, KEYS);
    const { headers, body } = await expectError(
      `${url}/publish`,
      401,
      "SSEHUB_ERR_AUTH_MISSING",
      publishInit({ topic: "a", data: "x" }),
    );
    assert.equal(headers.get("www-authenticate"), 'Bearer realm="ssehub"');
    assert.doesNotMatch(JSON.stringify(body), /secret/);
    assert.equal(ssehub.hub.stats().eventsPublished, 0);
  });

  test("a bad, expired or not-yet-valid token answers 401 invalid_token and reveals nothing", async (t) => {
    const { url } = await startServer(t, KEYS);
    const wrongKey = await token("another-secret-of-at-least-32-bytes!!", { publish: ["*"] });
    const expired = await token(PUBLISHER_KEY, { publish: ["*"] }, { expiresInSeconds: -60 });
    const early = await token(
      PUBLISHER_KEY,
      { publish: ["*"] },
      {
        notBefore: Math.floor(Date.now() / 1000) + 3600,
      },
    );
    for (const bad of [wrongKey, expired, early, "not.a.token"]) {
      const { headers, body } = await expectError(
        `${url}/publish`,
        401,
        "SSEHUB_ERR_AUTH_INVALID",
        publishInit({ topic: "a", data: "x" }, bad),
      );
      assert.equal(headers.get("www-authenticate"), 'Bearer realm="ssehub", error="invalid_token"');
      assert.doesNotMatch(JSON.stringify(body), /secret|signature|HS256/i);
    }
  });

  test("a token whose claims miss one topic answers 403 insufficient_scope; one that grants all publishes", async (t) => {
    const { url } = await startServer(t, KEYS);
    const onlyA = await token(PUBLISHER_KEY, { publish: ["a", "https://example.com/b/{id}"] });
    const { headers } = await expectError(
      `${url}/publish`,
      403,
      "SSEHUB_ERR_AUTH_FORBIDDEN",
      publishInit({ topics: ["a", "c"], data: "x" }, onlyA),
    );
    assert.equal(
      headers.get("www-authenticate"),
      'Bearer realm="ssehub", error="insufficient_scope"',
    );
    const ok = await fetch(
      `${url}/publish`,
      publishInit({ topics: ["a", "https://example.com/b/7"], data: "x" }, onlyA),
    );
    assert.equal(ok.status, 200);
  });

  test("private events reach only subscribers whose token grants one of their topics", async (t) => {
    const { url } = await startServer(t, KEYS);
    const publisher = await token(PUBLISHER_KEY, { publish: ["*"] });
    const granted = await token(SUBSCRIBER_KEY, { subscribe: ["https://example.com/{x}"] });
    const topic = encodeURIComponent("https://example.com/1");
    const anonymous = await openFetchStream(`${url}/events?topic=${topic}`);
    const allowed = await openFetchStream(`${url}/events?topic=${topic}`, {
      Authorization: `Bearer ${granted}`,
    });
    // The token may also come in the cookie Mercure names.
    const byCookie = await openFetchStream(`${url}/events?topic=${topic}`, {
      Cookie: `other=1; mercureAuthorization=${granted}`,
    });
    t.after(() => {
      for (const stream of [anonymous, allowed, byCookie]) stream.close();
    });
    for (const [data, isPrivate] of [
      ["public", false],
      ["secret", true],
      ["end", false],
    ] as const) {
      const answer = await fetch(
        `${url}/publish`,
        publishInit({ topic: "https://example.com/1", data, private: isPrivate }, publisher),
      );
      assert.equal(answer.status, 200);
    }
    await allowed.waitForEvents(3);
    await byCookie.waitForEvents(3);
    await anonymous.waitForEvents(2);
    assert.deepEqual(
      anonymous.events.map((e) => e.data),
      ["public", "end"],
    );
    assert.deepEqual(
      allowed.events.map((e) => e.data),
      ["public", "secret", "end"],
    );
    assert.deepEqual(
      byCookie.events.map((e) => e.data),
      ["public", "secret", "end"],
    );
  });

  test("without anonymous subscribers a stream needs a token; an invalid one is refused", async (t) => {
    const { url } = await startServer(t, { ...KEYS, anonymousSubscribe: false });
    const { headers } = await expectError(`${url}/events/a`, 401, "SSEHUB_ERR_AUTH_MISSING");
    assert.equal(headers.get("www-authenticate"), 'Bearer realm="ssehub"');
    await expectError(`${url}/events/a`, 401, "SSEHUB_ERR_AUTH_INVALID", {
      headers: { Authorization: "Bearer nope" },
    });
    const valid = await token(SUBSCRIBER_KEY, { subscribe: [] });
    const stream = await openFetchStream(`${url}/events/a`, { Authorization: `Bearer ${valid}` });
    t.after(() => stream.close());
    assert.equal(stream.status, 200);
  });

  test("a stream ends when its token expires", async (t) => {
    const { url } = await startServer(t, KEYS);
    // A token is taken until 5 s (the clock tolerance) past its exp: a machine too slow to open
    // the stream by then proves nothing, so it tries again with a new token.
    const { stream, expiresAt } = await waitFor(async () => {
      const shortLived = await token(SUBSCRIBER_KEY, { subscribe: ["*"] }, { expiresInSeconds: 1 });
      const opened = await openFetchStream(`${url}/events/a`, {
        Authorization: `Bearer ${shortLived}`,
      });
      if (opened.status === 200) return { stream: opened, expiresAt: decodeJwt(shortLived).exp! };
      opened.close();
      return undefined;
    }, "a stream opened with a token still taken");
    t.after(() => stream.close());
    await within(stream.ended, "the server to end the stream");
    // Not before exp (whole seconds); 10 ms of slack between the timer's clock and Date.now().
    assert.ok(
      Date.now() >= expiresAt * 1000 - 10,
      "the stream ended no sooner than its token expired",
    );
  });

  test("the query parameter carries a token only when enabled", async (t) => {
    const { url } = await startServer(t, { ...KEYS, authQueryParam: "authorization" });
    const publisher = await token(PUBLISHER_KEY, { publish: ["a"] });
    const ok = await fetch(
      `${url}/publish?authorization=${publisher}`,
      publishInit({ topic: "a", data: "x" }),
    );
    assert.equal(ok.status, 200);
    const closed = await startServer(t, KEYS);
    await expectError(
      `${closed.url}/publish?authorization=${publisher}`,
      401,
      "SSEHUB_ERR_AUTH_MISSING",
      publishInit({ topic: "a", data: "x" }),
    );
  });

  test("publisherJwtAlgorithm Ed25519 takes tokens signed as Ed25519 or as EdDSA", async (t) => {
    const { publicKey, privateKey } = await generateKeyPair("Ed25519", { extractable: true });
    const { url } = await startServer(t, {
      publisherJwtKey: await exportSPKI(publicKey),
      publisherJwtAlgorithm: "Ed25519",
    });
    for (const alg of ["Ed25519", "EdDSA"]) {
      const jwt = await new SignJWT({ mercure: { publish: ["*"] } })
        .setProtectedHeader({ alg })
        .sign(privateKey);
      const response = await fetch(`${url}/publish`, publishInit({ topic: "a", data: alg }, jwt));
      assert.equal(response.status, 200, alg);
    }
  });

  test("a server on a non-loopback address refuses to start with publishing open to anyone", () => {
    assert.throws(() => createServer({ host: "0.0.0.0", port: 0, logLevel: "silent" }), {
      code: "SSEHUB_ERR_OPTIONS_INVALID",
      message: /publisherJwtKey/,
    });
    const open = createServer({
      host: "0.0.0.0",
      port: 0,
      logLevel: "silent",
      anonymousPublish: true,
    });
    void open.close();
  });
});
