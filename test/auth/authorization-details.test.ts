import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  canPublish,
  canSubscribe,
  grantsOfAuthorizationDetails,
  MAX_MERCURE_DETAILS,
} from "../../src/auth/index.js";
import { SsehubError } from "../../src/errors.js";

const BOOK = "https://example.com/books/1";

function detail(fields: Record<string, unknown>): Record<string, unknown> {
  return { authorization_details: [{ type: "mercure", ...fields }] };
}

function refuses(claims: Record<string, unknown>, problem: RegExp): void {
  assert.throws(
    () => grantsOfAuthorizationDetails(claims),
    (error: unknown) =>
      error instanceof SsehubError &&
      error.code === "SSEHUB_ERR_AUTH_INVALID" &&
      problem.test(error.message),
  );
}

describe("authorization_details into grants", () => {
  test("a token without the claim, or without a mercure entry, grants nothing", () => {
    for (const claims of [{}, { authorization_details: [{ type: "payment_initiation" }] }]) {
      const grants = grantsOfAuthorizationDetails(claims);
      assert.equal(canPublish(grants, [BOOK]), false);
      assert.equal(canSubscribe(grants, BOOK), false);
    }
  });

  test("exact matchers grant their actions on that topic only, byte for byte", () => {
    const grants = grantsOfAuthorizationDetails(
      detail({ actions: ["publish"], topics: [{ match: BOOK, match_type: "exact" }] }),
    );
    assert.equal(canPublish(grants, [BOOK]), true);
    assert.equal(canPublish(grants, ["https://example.com/books/2"]), false);
    assert.equal(canPublish(grants, ["https://example.com/Books/1"]), false);
    assert.equal(canSubscribe(grants, BOOK), false, "publish does not grant subscribe");
  });

  test("an exact matcher with braces is a topic, not a URI template", () => {
    const template = "https://example.com/books/{id}";
    const grants = grantsOfAuthorizationDetails(
      detail({ actions: ["subscribe"], topics: [{ match: template }] }),
    );
    assert.equal(canSubscribe(grants, template), true);
    assert.equal(canSubscribe(grants, BOOK), false);
  });

  test("* matches every topic whatever the match_type", () => {
    const grants = grantsOfAuthorizationDetails(
      detail({
        actions: ["subscribe", "publish"],
        topics: [{ match: "*", match_type: "urlpattern" }],
      }),
    );
    assert.equal(canSubscribe(grants, "anything"), true);
    assert.equal(canPublish(grants, [BOOK, "other"]), true);
  });

  test("unknown actions grant nothing and spoil nothing", () => {
    const grants = grantsOfAuthorizationDetails(
      detail({ actions: ["subscribe", "delete"], topics: [{ match: BOOK }] }),
    );
    assert.equal(canSubscribe(grants, BOOK), true);
    assert.equal(canPublish(grants, [BOOK]), false);
  });

  test("an issuer narrowed to subscribe cannot grant publish", () => {
    const grants = grantsOfAuthorizationDetails(
      detail({ actions: ["publish", "subscribe"], topics: [{ match: "*" }] }),
      new Set(["subscribe"]),
    );
    assert.equal(canSubscribe(grants, BOOK), true);
    assert.equal(canPublish(grants, [BOOK]), false);
  });

  test("the payload of the first subscribe entry matching the subscription's matcher", () => {
    const grants = grantsOfAuthorizationDetails({
      authorization_details: [
        { type: "mercure", actions: ["subscribe"], topics: [{ match: BOOK }], payload: { a: 1 } },
        { type: "mercure", actions: ["subscribe"], topics: [{ match: "*" }], payload: { b: 2 } },
      ],
    });
    assert.deepEqual(grants.payloadFor(BOOK), { a: 1 });
    assert.deepEqual(grants.payloadFor("https://example.com/authors/1"), { b: 2 });
  });

  test("urlpattern matchers grant the topics their pattern matches", () => {
    const grants = grantsOfAuthorizationDetails(
      detail({
        actions: ["subscribe"],
        topics: [{ match: "https://example.com/books/:id", match_type: "urlpattern" }],
      }),
    );
    assert.equal(canSubscribe(grants, BOOK), true);
    assert.equal(canSubscribe(grants, "https://example.com/authors/1"), false);
  });

  test("a relative urlpattern matcher is read against the hub's URL, and refused without one", () => {
    const relative = detail({
      actions: ["subscribe"],
      topics: [{ match: "/books/:id", match_type: "urlpattern" }],
    });
    const grants = grantsOfAuthorizationDetails(
      relative,
      undefined,
      "https://example.com/.well-known/mercure",
    );
    assert.equal(canSubscribe(grants, BOOK), true);
    assert.equal(canSubscribe(grants, "https://other.example/books/1"), false);
    refuses(relative, /URL pattern/);
  });

  test("a malformed claim or mercure entry refuses the whole token", () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ authorization_details: { type: "mercure" } }, /must be an array/],
      [{ authorization_details: ["mercure"] }, /must be an object with a "type"/],
      [detail({ topics: [{ match: BOOK }] }), /non-empty "actions"/],
      [detail({ actions: [], topics: [{ match: BOOK }] }), /non-empty "actions"/],
      [detail({ actions: ["subscribe", 3], topics: [{ match: BOOK }] }), /strings only/],
      [detail({ actions: ["subscribe"] }), /non-empty "topics"/],
      [detail({ actions: ["subscribe"], topics: [] }), /non-empty "topics"/],
      [detail({ actions: ["subscribe"], topics: [BOOK] }), /must be an object/],
      [detail({ actions: ["subscribe"], topics: [{ match: "" }] }), /non-empty "match"/],
      [
        detail({ actions: ["subscribe"], topics: [{ match: BOOK, match_type: "regex" }] }),
        /match_type "regex"/,
      ],
      [
        detail({ actions: ["subscribe"], topics: [{ match: BOOK, match_type: "Exact" }] }),
        /match_type "Exact"/,
      ],
      [
        detail({ actions: ["subscribe"], topics: [{ match: BOOK }], payload: "x" }),
        /payload must be a JSON object/,
      ],
      [detail({ actions: ["subscribe"], topics: [{ match: "x".repeat(5000) }] }), /longer than/],
    ];
    for (const [claims, problem] of cases) refuses(claims, problem);
  });

  test("a bad entry after good ones still refuses the token", () => {
    refuses(
      {
        authorization_details: [
          { type: "mercure", actions: ["subscribe"], topics: [{ match: "*" }] },
          { type: "mercure", actions: ["publish"], topics: [{ match: 1 }] },
        ],
      },
      /\[1\]\.topics\[0\]/,
    );
  });

  test("more mercure entries than the limit refuse the token", () => {
    const entry = { type: "mercure", actions: ["subscribe"], topics: [{ match: BOOK }] };
    refuses(
      { authorization_details: Array.from({ length: MAX_MERCURE_DETAILS + 1 }, () => entry) },
      /more than/,
    );
  });
});
