import assert from "node:assert/strict";
import type { IncomingHttpHeaders } from "node:http";
import { describe, it } from "node:test";
import { cookieValue, tokenFromRequest } from "../../src/auth/token-source.js";
import { isSsehubError } from "../../src/errors.js";

const MERCURE = { cookieName: "mercureAuthorization", queryParam: "authorization" };
const NO_QUERY = { cookieName: "mercureAuthorization", queryParam: undefined };
const TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJtZXJjdXJlIjp7fX0.c2lnbmF0dXJl";

function malformed(headers: IncomingHttpHeaders, url: string, message: RegExp): void {
  assert.throws(
    () => tokenFromRequest(headers, url, MERCURE),
    (error: unknown) =>
      isSsehubError(error) &&
      error.code === "SSEHUB_ERR_AUTH_INVALID" &&
      error.status === 401 &&
      message.test(error.message),
  );
}

describe("tokenFromRequest()", () => {
  it("reads Authorization: Bearer <token>, the scheme in any case", () => {
    for (const header of [`Bearer ${TOKEN}`, `bearer ${TOKEN}`, `BEARER  ${TOKEN} `]) {
      assert.deepEqual(tokenFromRequest({ authorization: header }, "/", NO_QUERY), {
        token: TOKEN,
        from: "header",
      });
    }
  });

  it("refuses an Authorization header that is not Bearer <token>", () => {
    for (const header of ["Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "", TOKEN, "Bearer a b"]) {
      malformed({ authorization: header }, "/", /Authorization header must be "Bearer <token>"/);
    }
  });

  it("reads the cookie, by default Mercure's mercureAuthorization", () => {
    const headers = { cookie: `theme=dark; mercureAuthorization=${TOKEN}; other=1` };
    assert.deepEqual(tokenFromRequest(headers, "/", NO_QUERY), { token: TOKEN, from: "cookie" });
    const named = { cookieName: "hub", queryParam: undefined };
    assert.deepEqual(tokenFromRequest({ cookie: `hub="${TOKEN}"` }, "/", named), {
      token: TOKEN,
      from: "cookie",
    });
    assert.equal(tokenFromRequest(headers, "/", named), undefined);
  });

  it("reads the query parameter only when enabled", () => {
    const url = `/.well-known/mercure?topic=a&authorization=${TOKEN}`;
    assert.deepEqual(tokenFromRequest({}, url, MERCURE), { token: TOKEN, from: "query" });
    assert.equal(tokenFromRequest({}, url, NO_QUERY), undefined);
    assert.equal(tokenFromRequest({}, url, { ...MERCURE, queryParam: "" }), undefined);
    const parsed = new URL(`http://hub.example${url}`);
    assert.deepEqual(tokenFromRequest({}, parsed, MERCURE), { token: TOKEN, from: "query" });
    assert.deepEqual(tokenFromRequest({}, parsed.searchParams, MERCURE), {
      token: TOKEN,
      from: "query",
    });
  });

  it("refuses a query parameter given twice", () => {
    malformed({}, "/?authorization=a&authorization=b", /given more than once/);
  });

  it("prefers the header to the query and the cookie, and the query to the cookie (Mercure)", () => {
    const cookie = "mercureAuthorization=from-cookie";
    const url = "/?authorization=from-query";
    const all = tokenFromRequest({ authorization: "Bearer from-header", cookie }, url, MERCURE);
    assert.deepEqual(all, { token: "from-header", from: "header" });
    assert.deepEqual(tokenFromRequest({ cookie }, url, MERCURE), {
      token: "from-query",
      from: "query",
    });
    assert.deepEqual(tokenFromRequest({ cookie }, url, NO_QUERY), {
      token: "from-cookie",
      from: "cookie",
    });
  });

  it("a malformed header is refused even when a valid cookie is present", () => {
    malformed({ authorization: "Basic x", cookie: `mercureAuthorization=${TOKEN}` }, "/", /Bearer/);
  });

  it("finds nothing without header, cookie or query value, or with empty ones", () => {
    assert.equal(tokenFromRequest({}, "/events?topic=a", MERCURE), undefined);
    assert.equal(tokenFromRequest({ cookie: "mercureAuthorization=" }, "/", MERCURE), undefined);
    assert.equal(tokenFromRequest({}, "/?authorization=", MERCURE), undefined);
  });
});

describe("cookieValue()", () => {
  it("reads a cookie among others, whatever the spaces, the first when repeated", () => {
    assert.equal(cookieValue("a=1;b=2;  c = 3 ", "c"), "3");
    assert.equal(cookieValue("a=1; a=2", "a"), "1");
    assert.equal(cookieValue(["a=1", "b=2"], "b"), "2");
    assert.equal(cookieValue('a="quoted"', "a"), "quoted");
    assert.equal(cookieValue("a=x=y", "a"), "x=y");
  });

  it("does not mistake a longer or shorter name, a flag or a value for the cookie", () => {
    assert.equal(cookieValue("xa=1; ax=2", "a"), undefined);
    assert.equal(cookieValue("a; b=a=1", "a"), undefined);
    assert.equal(cookieValue("", "a"), undefined);
    assert.equal(cookieValue(undefined, "a"), undefined);
    assert.equal(cookieValue(";;; =; a", "a"), undefined);
  });
});
