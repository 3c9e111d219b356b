/**
 * Mercure draft-08 authorization on a real hub: OAuth 2.0 access tokens (RFC 9068) from
 * trusted issuers, `authorization_details` grants (RFC 9396), RFC 6750 refusals with the
 * `resource_metadata` of RFC 9728, and the metadata document itself.
 */
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { describe, type TestContext, test } from "node:test";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { SsehubError } from "../../src/errors.js";
import { createServer } from "../../src/http/server.js";
import { openFetchStream } from "../helpers/fetch-stream.js";
import { waitFor, within } from "../helpers/wait-for.js";
import { expectError } from "../http/expect-error.js";
import { startServer } from "../http/start-server.js";
import { APP, accessToken, bearer, DRAFT08, RESOURCE, SECRET } from "./access-tokens.js";
import { form, HUB } from "./mercure-form.js";

const METADATA_URL =
  "https://hub.example.com/.well-known/oauth-protected-resource/.well-known/mercure";
const DRAFT07_KEY = "!ChangeThisMercureHubJWTSecretKey!";
const BOOK = "https://example.com/books/1";
const OTHER = "https://example.com/books/2";
const COOKIE = "__Secure-mercure_access_token";

const publishAll = () => accessToken([{ actions: ["publish"], topics: [{ match: "*" }] }]);

/** Asserts a refusal: status, ssehub's code in the JSON body, and the Bearer challenge. */
async function expectRefusal(
  url: string,
  init: RequestInit,
  status: number,
  code: string,
  error: string | undefined,
): Promise<void> {
  const { body, headers } = await expectError(url, status, code, init);
  const challenge = headers.get("www-authenticate") ?? "";
  assert.match(challenge, /^Bearer /);
  if (error === undefined) assert.doesNotMatch(challenge, /error=/);
  else assert.match(challenge, new RegExp(`error="${error}"`));
  assert.match(challenge, new RegExp(`resource_metadata="${METADATA_URL}"`));
  assert.equal((body.details as Record<string, unknown>).resourceMetadata, METADATA_URL);
}

/** A real HTTP server in this process serving a JSON Web Key Set. */
async function serveJwks(t: TestContext, keys: unknown[]): Promise<string> {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { "Content-Type": "application/json" });
    res.end(JSON.stringify({ keys }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => server.close());
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
}

describe("Mercure draft-08 authorization", () => {
  test("a subscriber's access token lets through the private updates it grants, no others", async (t) => {
    const { url } = await startServer(t, DRAFT08);
    const reader = await accessToken([{ actions: ["subscribe"], topics: [{ match: BOOK }] }]);
    const stream = await openFetchStream(
      `${url}${HUB}?topic=${encodeURIComponent(BOOK)}&topic=${encodeURIComponent(OTHER)}`,
      bearer(reader),
    );
    t.after(() => stream.close());
    assert.equal(stream.status, 200);
    const publisher = bearer(await publishAll());
    for (const fields of [
      [
        ["topic", OTHER],
        ["data", "private other"],
        ["private", "on"],
      ],
      [
        ["topic", BOOK],
        ["data", "private book"],
        ["private", "on"],
      ],
      [
        ["topic", OTHER],
        ["data", "public other"],
      ],
    ] as [string, string][][]) {
      const answer = await fetch(`${url}${HUB}`, form(fields, publisher));
      assert.equal(answer.status, 200, await answer.text());
    }
    await stream.waitForEvents(2);
    assert.deepEqual(
      stream.events.map((event) => event.data),
      ["private book", "public other"],
    );
  });

  test("the __Secure-mercure_access_token cookie carries the token", async (t) => {
    const { url } = await startServer(t, DRAFT08);
    const reader = await accessToken([{ actions: ["subscribe"], topics: [{ match: "*" }] }]);
    const stream = await openFetchStream(`${url}${HUB}?topic=${encodeURIComponent(BOOK)}`, {
      Cookie: `${COOKIE}=${reader}`,
    });
    t.after(() => stream.close());
    assert.equal(stream.status, 200);
    await fetch(
      `${url}${HUB}`,
      form(
        [
          ["topic", BOOK],
          ["data", "secret"],
          ["private", "on"],
        ],
        bearer(await publishAll()),
      ),
    );
    await stream.waitForEvents(1);
    assert.equal(stream.events[0]?.data, "secret");
  });

  test("a subscriber's stream ends when its access token expires", async (t) => {
    const { url } = await startServer(t, DRAFT08);
    // A token is taken until 5 s (the clock tolerance) past its exp: a machine too slow to open
    // the stream by then proves nothing, so it tries again with a new token.
    const { stream, expiresAt } = await waitFor(async () => {
      const exp = Math.floor(Date.now() / 1000) + 1;
      const shortLived = await accessToken([{ actions: ["subscribe"], topics: [{ match: "*" }] }], {
        exp,
      });
      const opened = await openFetchStream(`${url}${HUB}?topic=a`, bearer(shortLived));
      if (opened.status === 200) return { stream: opened, expiresAt: exp };
      opened.close();
      return undefined;
    }, "a stream opened with a token still taken");
    t.after(() => stream.close());
    await within(stream.ended, "the server to end the stream");
    assert.ok(
      Date.now() >= expiresAt * 1000 - 10,
      "the stream ended no sooner than its token expired",
    );
  });

  test("a publish the token grants is dispatched; one it does not is 403 insufficient_scope", async (t) => {
    const { url } = await startServer(t, DRAFT08);
    const token = await accessToken([{ actions: ["publish"], topics: [{ match: BOOK }] }]);
    const ok = await fetch(
      `${url}${HUB}`,
      form(
        [
          ["topic", BOOK],
          ["data", "x"],
        ],
        bearer(token),
      ),
    );
    assert.equal(ok.status, 200);
    await expectRefusal(
      `${url}${HUB}`,
      form(
        [
          ["topic", OTHER],
          ["data", "x"],
        ],
        bearer(token),
      ),
      403,
      "SSEHUB_ERR_AUTH_FORBIDDEN",
      "insufficient_scope",
    );
  });

  test("a subscribe grant does not make a publisher: 403 insufficient_scope", async (t) => {
    const { url } = await startServer(t, DRAFT08);
    const token = await accessToken([{ actions: ["subscribe"], topics: [{ match: "*" }] }]);
    await expectRefusal(
      `${url}${HUB}`,
      form(
        [
          ["topic", BOOK],
          ["data", "x"],
        ],
        bearer(token),
      ),
      403,
      "SSEHUB_ERR_AUTH_FORBIDDEN",
      "insufficient_scope",
    );
  });

  test("a publish without a token is 401 with a challenge naming no error", async (t) => {
    const { url } = await startServer(t, DRAFT08);
    await expectRefusal(
      `${url}${HUB}`,
      form([
        ["topic", BOOK],
        ["data", "x"],
      ]),
      401,
      "SSEHUB_ERR_AUTH_MISSING",
      undefined,
    );
  });

  test("a subscribe without a token is 401 when anonymous subscribers are refused", async (t) => {
    const { url } = await startServer(t, { ...DRAFT08, anonymousSubscribe: false });
    await expectRefusal(
      `${url}${HUB}?topic=${encodeURIComponent(BOOK)}`,
      {},
      401,
      "SSEHUB_ERR_AUTH_MISSING",
      undefined,
    );
  });

  test("a token signed with another key is 401 invalid_token", async (t) => {
    const { url } = await startServer(t, DRAFT08);
    const forged = await accessToken(
      [{ actions: ["subscribe"], topics: [{ match: "*" }] }],
      {},
      "x".repeat(40),
    );
    await expectRefusal(
      `${url}${HUB}?topic=x`,
      { headers: bearer(forged) },
      401,
      "SSEHUB_ERR_AUTH_INVALID",
      "invalid_token",
    );
  });

  test("a token for another resource is 401 invalid_token", async (t) => {
    const { url } = await startServer(t, DRAFT08);
    const elsewhere = await accessToken([{ actions: ["publish"], topics: [{ match: "*" }] }], {
      aud: "https://other-hub.example.com/.well-known/mercure",
    });
    await expectRefusal(
      `${url}${HUB}`,
      form(
        [
          ["topic", BOOK],
          ["data", "x"],
        ],
        bearer(elsewhere),
      ),
      401,
      "SSEHUB_ERR_AUTH_INVALID",
      "invalid_token",
    );
  });

  test("a token from an issuer the hub does not trust is 401 invalid_token", async (t) => {
    const { url } = await startServer(t, DRAFT08);
    const stranger = await accessToken([{ actions: ["subscribe"], topics: [{ match: "*" }] }], {
      iss: "https://stranger.example.com",
    });
    await expectRefusal(
      `${url}${HUB}?topic=x`,
      { headers: bearer(stranger) },
      401,
      "SSEHUB_ERR_AUTH_INVALID",
      "invalid_token",
    );
  });

  test("malformed authorization_details are 401 invalid_token", async (t) => {
    const { url } = await startServer(t, DRAFT08);
    const malformed = await accessToken([
      { actions: ["subscribe"], topics: [{ match: BOOK, match_type: "regex" }] },
    ]);
    await expectRefusal(
      `${url}${HUB}?topic=x`,
      { headers: bearer(malformed) },
      401,
      "SSEHUB_ERR_AUTH_INVALID",
      "invalid_token",
    );
  });

  test("a token in the URL is 400 invalid_request", async (t) => {
    const { url } = await startServer(t, DRAFT08);
    const token = await accessToken([{ actions: ["subscribe"], topics: [{ match: "*" }] }]);
    await expectRefusal(
      `${url}${HUB}?topic=x&access_token=${token}`,
      {},
      400,
      "SSEHUB_ERR_AUTH_REQUEST_INVALID",
      "invalid_request",
    );
  });

  test("an Authorization header that is not Bearer is 400 invalid_request", async (t) => {
    const { url } = await startServer(t, DRAFT08);
    await expectRefusal(
      `${url}${HUB}?topic=x`,
      { headers: { Authorization: "Basic dXNlcjpwYXNz" } },
      400,
      "SSEHUB_ERR_AUTH_REQUEST_INVALID",
      "invalid_request",
    );
  });

  test("an issuer's keys come from its JWKS, fetched over HTTP", async (t) => {
    const { privateKey, publicKey } = await generateKeyPair("ES256");
    const jwksUrl = await serveJwks(t, [
      { ...(await exportJWK(publicKey)), kid: "k1", alg: "ES256" },
    ]);
    const issuer = "https://as.example.com";
    const { url } = await startServer(t, {
      mercureIssuers: JSON.stringify([{ issuer, jwksUrl }]),
      mercureResource: RESOURCE,
    });
    const token = await new SignJWT({
      iss: issuer,
      aud: RESOURCE,
      authorization_details: [{ type: "mercure", actions: ["publish"], topics: [{ match: BOOK }] }],
    })
      .setProtectedHeader({ alg: "ES256", typ: "at+jwt", kid: "k1" })
      .setExpirationTime("1h")
      .sign(privateKey);
    const answer = await fetch(
      `${url}${HUB}`,
      form(
        [
          ["topic", BOOK],
          ["data", "x"],
        ],
        bearer(token),
      ),
    );
    assert.equal(answer.status, 200, await answer.text());
  });

  test("urlpattern grants are matched", async (t) => {
    const { url } = await startServer(t, DRAFT08);
    const token = await accessToken([
      {
        actions: ["publish"],
        topics: [{ match: "https://example.com/books/:id", match_type: "urlpattern" }],
      },
    ]);
    const answer = await fetch(
      `${url}${HUB}`,
      form(
        [
          ["topic", BOOK],
          ["data", "x"],
        ],
        bearer(token),
      ),
    );
    assert.equal(answer.status, 200, await answer.text());
  });

  test("the protected resource metadata is served at the well-known path and its hub-path form", async (t) => {
    const { url } = await startServer(t, {
      mercureIssuers: JSON.stringify([
        { issuer: APP, key: SECRET },
        { issuer: "https://as.example.com", key: SECRET },
      ]),
      mercureResource: RESOURCE,
      subscriptionEvents: true,
    });
    for (const path of [
      "/.well-known/oauth-protected-resource",
      `/.well-known/oauth-protected-resource${HUB}`,
    ]) {
      const answer = await fetch(`${url}${path}`);
      assert.equal(answer.status, 200, path);
      assert.match(answer.headers.get("content-type") ?? "", /^application\/json/);
      assert.deepEqual(await answer.json(), {
        resource: RESOURCE,
        authorization_servers: [APP, "https://as.example.com"],
        bearer_methods_supported: ["header"],
        authorization_details_types_supported: ["mercure"],
        mercure_cookie: true,
        mercure_subscriptions: true,
        mercure_version: 8,
      });
    }
    await expectError(
      `${url}/.well-known/oauth-protected-resource/elsewhere`,
      404,
      "SSEHUB_ERR_ROUTE_NOT_FOUND",
    );
  });

  test("without mercureResource there is no metadata document", async (t) => {
    const { url } = await startServer(t);
    await expectError(
      `${url}/.well-known/oauth-protected-resource`,
      404,
      "SSEHUB_ERR_ROUTE_NOT_FOUND",
    );
  });

  test("the subscriptions API takes an access token granting subscribe on its path", async (t) => {
    const { url } = await startServer(t, { ...DRAFT08, subscriptionEvents: true });
    const allowed = await accessToken([
      { actions: ["subscribe"], topics: [{ match: "/.well-known/mercure/subscriptions" }] },
    ]);
    const answer = await fetch(`${url}${HUB}/subscriptions`, { headers: bearer(allowed) });
    assert.equal(answer.status, 200, await answer.text());
    const other = await accessToken([{ actions: ["subscribe"], topics: [{ match: BOOK }] }]);
    await expectRefusal(
      `${url}${HUB}/subscriptions`,
      { headers: bearer(other) },
      403,
      "SSEHUB_ERR_AUTH_FORBIDDEN",
      "insufficient_scope",
    );
  });

  test("the payload of the subscribe entry matching the subscription is what the subscriptions API shows", async (t) => {
    const { url } = await startServer(t, { ...DRAFT08, subscriptionEvents: true });
    const reader = await accessToken([
      { actions: ["subscribe"], topics: [{ match: OTHER }], payload: { shelf: "other" } },
      { actions: ["subscribe"], topics: [{ match: BOOK }], payload: { shelf: "book" } },
      { actions: ["subscribe"], topics: [{ match: "*" }], payload: { shelf: "default" } },
    ]);
    const stream = await openFetchStream(
      `${url}${HUB}?topic=${encodeURIComponent(BOOK)}`,
      bearer(reader),
    );
    t.after(() => stream.close());
    const subscriptions = await waitFor(async () => {
      const answer = await fetch(`${url}${HUB}/subscriptions`, { headers: bearer(reader) });
      const list = ((await answer.json()) as { subscriptions?: Record<string, unknown>[] })
        .subscriptions;
      return list !== undefined && list.length > 0 ? list : undefined;
    }, "the subscription listed");
    assert.deepEqual(
      subscriptions.map((subscription) => [subscription.topic, subscription.payload]),
      [[BOOK, { shelf: "book" }]],
    );
  });

  test("beside draft-07 keys, a draft-07 token is authorized as before and an access token as draft-08", async (t) => {
    const { url } = await startServer(t, {
      ...DRAFT08,
      publisherJwtKey: DRAFT07_KEY,
      subscriberJwtKey: DRAFT07_KEY,
    });
    const draft07 = await new SignJWT({ mercure: { publish: ["*"], subscribe: [BOOK] } })
      .setProtectedHeader({ alg: "HS256" })
      .sign(new TextEncoder().encode(DRAFT07_KEY));
    const old = await openFetchStream(
      `${url}${HUB}?topic=${encodeURIComponent(BOOK)}`,
      bearer(draft07),
    );
    const reader = await accessToken([{ actions: ["subscribe"], topics: [{ match: BOOK }] }]);
    const current = await openFetchStream(
      `${url}${HUB}?topic=${encodeURIComponent(BOOK)}`,
      bearer(reader),
    );
    t.after(() => {
      old.close();
      current.close();
    });
    const answer = await fetch(
      `${url}${HUB}`,
      form(
        [
          ["topic", BOOK],
          ["data", "both"],
          ["private", "on"],
        ],
        bearer(draft07),
      ),
    );
    assert.equal(answer.status, 200);
    await old.waitForEvents(1);
    await current.waitForEvents(1);
    // A draft-07 refusal keeps its draft-07 challenge, without resource_metadata.
    const bad = await expectError(`${url}${HUB}?topic=x`, 401, "SSEHUB_ERR_AUTH_INVALID", {
      headers: bearer(`${draft07}x`),
    });
    assert.equal(
      bad.headers.get("www-authenticate"),
      'Bearer realm="ssehub", error="invalid_token"',
    );
  });

  test("mercureProtocol draft-07 takes no access token, draft-08 no draft-07 token", async (t) => {
    const draft07 = await new SignJWT({ mercure: { subscribe: [BOOK] } })
      .setProtectedHeader({ alg: "HS256" })
      .sign(new TextEncoder().encode(DRAFT07_KEY));
    const reader = await accessToken([{ actions: ["subscribe"], topics: [{ match: BOOK }] }]);
    const keys = { ...DRAFT08, publisherJwtKey: DRAFT07_KEY, subscriberJwtKey: DRAFT07_KEY };
    const only07 = await startServer(t, { ...keys, mercureProtocol: "draft-07" });
    await expectError(
      `${only07.url}${HUB}?topic=${encodeURIComponent(BOOK)}`,
      401,
      "SSEHUB_ERR_AUTH_INVALID",
      { headers: bearer(reader) },
    );
    const only08 = await startServer(t, { ...keys, mercureProtocol: "draft-08" });
    await expectRefusal(
      `${only08.url}${HUB}?match=${encodeURIComponent(BOOK)}`,
      { headers: bearer(draft07) },
      401,
      "SSEHUB_ERR_AUTH_INVALID",
      "invalid_token",
    );
    const stream = await openFetchStream(
      `${only08.url}${HUB}?match=${encodeURIComponent(BOOK)}`,
      bearer(reader),
    );
    t.after(() => stream.close());
    assert.equal(stream.status, 200);
  });

  test("issuers without a resource identifier, or unreadable, are refused at startup", () => {
    for (const [options, problem] of [
      [{ mercureIssuers: DRAFT08.mercureIssuers }, /mercureIssuers needs mercureResource/],
      [{ mercureIssuers: "[{issuer}]", mercureResource: RESOURCE }, /JSON array/],
      [
        {
          mercureIssuers: JSON.stringify([{ issuer: APP, key: "short" }]),
          mercureResource: RESOURCE,
        },
        /at least 32 bytes/,
      ],
    ] as const) {
      assert.throws(
        () => createServer({ host: "127.0.0.1", port: 0, logLevel: "silent", ...options }),
        (error: unknown) =>
          error instanceof SsehubError &&
          error.code === "SSEHUB_ERR_OPTIONS_INVALID" &&
          problem.test(error.message),
        String(problem),
      );
    }
  });
});
