/**
 * Cross-site request forgery on the publish endpoints: a publish that rides on the cookie (or on
 * no credentials at all) must come from an allowed origin (publishOrigins, else corsOrigins).
 * Real requests to a real server, each with the Origin, Referer and Cookie a browser would send.
 */
import assert from "node:assert/strict";
import { describe, type TestContext, test } from "node:test";
import { SignJWT } from "jose";
import type { CreateServerOptions } from "../../src/http/server.js";
import { expectError } from "./expect-error.js";
import { startServer } from "./start-server.js";

const PUBLISHER_KEY = "publisher-secret-of-at-least-32-bytes!";
const APP = "https://app.example";
const EVIL = "https://evil.example";
const REFUSED = "SSEHUB_ERR_AUTH_ORIGIN_REFUSED";

function publisherToken(): Promise<string> {
  return new SignJWT({ mercure: { publish: ["*"] } })
    .setProtectedHeader({ alg: "HS256" })
    .setIssuedAt()
    .sign(new TextEncoder().encode(PUBLISHER_KEY));
}

/** What a browser form posts: a urlencoded body, and the headers the test names. */
function formPost(headers: Record<string, string>): RequestInit {
  return {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded", ...headers },
    body: new URLSearchParams({ topic: "news", data: "forged?" }).toString(),
  };
}

/** A server with a publisher key, and the headers of a publish carrying the token in a cookie. */
async function cookieHub(t: TestContext, options: CreateServerOptions = {}) {
  const started = await startServer(t, { publisherJwtKey: PUBLISHER_KEY, ...options });
  const token = await publisherToken();
  return { ...started, token, cookie: `mercureAuthorization=${token}` };
}

/** Both publish endpoints: ssehub's and Mercure's, which take the same form. */
const ENDPOINTS = ["/publish", "/.well-known/mercure"] as const;

describe("publishOrigins: cookie-authenticated publishes", () => {
  for (const path of ENDPOINTS) {
    test(`POST ${path} with the cookie from an allowed origin is published`, async (t) => {
      const { url, cookie, ssehub } = await cookieHub(t, { publishOrigins: [APP] });
      const response = await fetch(`${url}${path}`, formPost({ Cookie: cookie, Origin: APP }));
      assert.equal(response.status, 200, await response.text());
      assert.equal(ssehub.hub.stats().eventsPublished, 1);
    });

    test(`POST ${path} with the cookie from a foreign origin answers 403 and publishes nothing`, async (t) => {
      const { url, cookie, ssehub } = await cookieHub(t, { publishOrigins: [APP] });
      const { body } = await expectError(
        `${url}${path}`,
        403,
        REFUSED,
        formPost({ Cookie: cookie, Origin: EVIL }),
      );
      assert.deepEqual(body.details, { origin: EVIL });
      assert.equal(ssehub.hub.stats().eventsPublished, 0);
    });

    test(`POST ${path} with the cookie and neither Origin nor Referer answers 403`, async (t) => {
      const { url, cookie, ssehub } = await cookieHub(t, { publishOrigins: [APP] });
      await expectError(`${url}${path}`, 403, REFUSED, formPost({ Cookie: cookie }));
      assert.equal(ssehub.hub.stats().eventsPublished, 0);
    });
  }

  test("without Origin, the Referer's origin decides", async (t) => {
    const { url, cookie, ssehub } = await cookieHub(t, { publishOrigins: [APP] });
    const allowed = await fetch(
      `${url}/publish`,
      formPost({ Cookie: cookie, Referer: `${APP}/admin/page?x=1` }),
    );
    assert.equal(allowed.status, 200, await allowed.text());
    await expectError(
      `${url}/publish`,
      403,
      REFUSED,
      formPost({ Cookie: cookie, Referer: `${EVIL}/form.html` }),
    );
    await expectError(
      `${url}/publish`,
      403,
      REFUSED,
      formPost({ Cookie: cookie, Referer: "not a url" }),
    );
    // Origin wins over Referer when both are sent.
    await expectError(
      `${url}/publish`,
      403,
      REFUSED,
      formPost({ Cookie: cookie, Origin: EVIL, Referer: `${APP}/` }),
    );
    assert.equal(ssehub.hub.stats().eventsPublished, 1);
  });

  test("a token in the Authorization header is not held to the origin", async (t) => {
    const { url, token, ssehub } = await cookieHub(t, { publishOrigins: [APP] });
    for (const headers of [{ Origin: EVIL }, {}, { Referer: `${EVIL}/x` }]) {
      const response = await fetch(
        `${url}/publish`,
        formPost({
          Authorization: `Bearer ${token}`,
          Cookie: "mercureAuthorization=x",
          ...headers,
        }),
      );
      assert.equal(response.status, 200, await response.text());
    }
    assert.equal(ssehub.hub.stats().eventsPublished, 3);
  });

  test("a token in the query parameter is not held to the origin", async (t) => {
    const { url, token } = await cookieHub(t, { authQueryParam: "authorization" });
    const response = await fetch(
      `${url}/.well-known/mercure?authorization=${token}`,
      formPost({ Origin: EVIL }),
    );
    assert.equal(response.status, 200, await response.text());
  });

  test("by default the allowed origins are corsOrigins'", async (t) => {
    const { url, cookie, ssehub } = await cookieHub(t, { corsOrigins: [APP] });
    const allowed = await fetch(`${url}/publish`, formPost({ Cookie: cookie, Origin: APP }));
    assert.equal(allowed.status, 200, await allowed.text());
    // Origins compare as browsers serialize them.
    const upper = await fetch(
      `${url}/publish`,
      formPost({ Cookie: cookie, Origin: "HTTPS://APP.EXAMPLE" }),
    );
    assert.equal(upper.status, 200, await upper.text());
    await expectError(`${url}/publish`, 403, REFUSED, formPost({ Cookie: cookie, Origin: EVIL }));
    assert.equal(ssehub.hub.stats().eventsPublished, 2);
  });

  test("with neither publishOrigins nor corsOrigins, every cookie publish is refused", async (t) => {
    const { url, cookie } = await cookieHub(t);
    await expectError(`${url}/publish`, 403, REFUSED, formPost({ Cookie: cookie, Origin: APP }));
  });

  test("publishOrigins replaces corsOrigins rather than adding to it", async (t) => {
    const { url, cookie } = await cookieHub(t, { corsOrigins: [EVIL], publishOrigins: [APP] });
    await expectError(`${url}/publish`, 403, REFUSED, formPost({ Cookie: cookie, Origin: EVIL }));
  });

  test("* allows every origin, and a cookie publish naming none", async (t) => {
    const { url, cookie, ssehub } = await cookieHub(t, { publishOrigins: ["*"] });
    for (const headers of [{ Origin: EVIL }, { Origin: "null" }, {}]) {
      const response = await fetch(`${url}/publish`, formPost({ Cookie: cookie, ...headers }));
      assert.equal(response.status, 200, await response.text());
    }
    assert.equal(ssehub.hub.stats().eventsPublished, 3);
  });

  test("a publish from the hub's own origin passes, whatever the lists say", async (t) => {
    const { url, cookie, ssehub } = await cookieHub(t, { publishOrigins: [APP] });
    // A page the hub serves (the dashboard) names the hub's own origin.
    const response = await fetch(`${url}/publish`, formPost({ Cookie: cookie, Origin: url }));
    assert.equal(response.status, 200, await response.text());
    assert.equal(ssehub.hub.stats().eventsPublished, 1);
    // Another port of the same host is another origin.
    const otherPort = new URL(url);
    otherPort.port = String(Number(otherPort.port) + 1);
    await expectError(
      `${url}/publish`,
      403,
      REFUSED,
      formPost({ Cookie: cookie, Origin: otherPort.origin }),
    );
  });

  test("the origin is checked before the token: a forged request learns nothing of the cookie", async (t) => {
    const { url } = await cookieHub(t, { publishOrigins: [APP] });
    await expectError(
      `${url}/publish`,
      403,
      REFUSED,
      formPost({ Cookie: "mercureAuthorization=not.a.token", Origin: EVIL }),
    );
  });
});

describe("publishOrigins: publishes without credentials", () => {
  test("an anonymous publish from a foreign origin answers 403; from none or an allowed one it passes", async (t) => {
    const { url, ssehub } = await startServer(t, {
      publisherJwtKey: PUBLISHER_KEY,
      anonymousPublish: true,
      corsOrigins: [APP],
    });
    await expectError(`${url}/publish`, 403, REFUSED, formPost({ Origin: EVIL }));
    await expectError(
      `${url}/.well-known/mercure`,
      403,
      REFUSED,
      formPost({ Referer: `${EVIL}/` }),
    );
    for (const headers of [{}, { Origin: APP }]) {
      const response = await fetch(`${url}/publish`, formPost(headers));
      assert.equal(response.status, 200, await response.text());
    }
    assert.equal(ssehub.hub.stats().eventsPublished, 2);
  });

  test("an open hub on loopback (no publisher key) refuses a browser form from another site", async (t) => {
    const { url, ssehub } = await startServer(t);
    await expectError(`${url}/publish`, 403, REFUSED, formPost({ Origin: EVIL }));
    const curl = await fetch(`${url}/publish`, formPost({}));
    assert.equal(curl.status, 200, await curl.text());
    assert.equal(ssehub.hub.stats().eventsPublished, 1);
  });
});
