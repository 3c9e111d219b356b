import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  canPublish,
  canSubscribe,
  grantsOf,
  MAX_SELECTORS_PER_CLAIM,
  NO_GRANTS,
} from "../../src/auth/grants.js";
import { isSsehubError } from "../../src/errors.js";

function refused(payload: Record<string, unknown>, message: RegExp): void {
  assert.throws(
    () => grantsOf(payload),
    (error: unknown) =>
      isSsehubError(error) &&
      error.code === "SSEHUB_ERR_AUTH_INVALID" &&
      error.details?.reason === "invalid" &&
      message.test(error.message),
  );
}

describe("grantsOf()", () => {
  it("reads publish, subscribe and payload from the mercure claim", () => {
    const grants = grantsOf({
      sub: "u1",
      mercure: {
        publish: ["https://example.com/books/{id}"],
        subscribe: ["*", "news"],
        payload: { user: "https://example.com/users/1", groups: ["a"] },
      },
    });
    assert.deepEqual(
      grants.publish.map((s) => s.source),
      ["https://example.com/books/{id}"],
    );
    assert.deepEqual(
      grants.subscribe.map((s) => s.source),
      ["*", "news"],
    );
    assert.deepEqual(grants.payload, { user: "https://example.com/users/1", groups: ["a"] });
    assert.ok(Object.isFrozen(grants) && Object.isFrozen(grants.publish));
  });

  it("reads the same claim under the name ssehub", () => {
    const grants = grantsOf({ ssehub: { publish: ["a"], subscribe: ["b"] } });
    assert.equal(canPublish(grants, ["a"]), true);
    assert.equal(canSubscribe(grants, "b"), true);
    assert.equal(grants.payload, undefined);
  });

  it("grants nothing without the claim, or for missing arrays", () => {
    assert.equal(grantsOf({ sub: "u1" }), NO_GRANTS);
    const empty = grantsOf({ mercure: {} });
    assert.deepEqual([empty.publish, empty.subscribe, empty.payload], [[], [], undefined]);
    const onlyPayload = grantsOf({ mercure: { payload: 42 } });
    assert.equal(onlyPayload.payload, 42);
    assert.equal(canPublish(onlyPayload, ["a"]), false);
    assert.equal(canSubscribe(onlyPayload, "a"), false);
  });

  it("refuses a malformed claim as a whole (SSEHUB_ERR_AUTH_INVALID)", () => {
    refused({ mercure: "all" }, /"mercure" claim must be an object/);
    refused({ mercure: null }, /"mercure" claim must be an object/);
    refused({ mercure: ["*"] }, /"mercure" claim must be an object/);
    refused({ mercure: { publish: "*" } }, /"mercure.publish" claim must be an array/);
    refused({ mercure: { subscribe: { 0: "*" } } }, /"mercure.subscribe" claim must be an array/);
    refused({ mercure: { publish: ["a", 1] } }, /"mercure.publish" claim must hold strings only/);
    refused({ ssehub: { subscribe: [null] } }, /"ssehub.subscribe" claim must hold strings only/);
    refused(
      { mercure: { subscribe: ["ok", "https://example.com/{id"] } },
      /"mercure.subscribe" claim holds an invalid topic selector .*no closing/,
    );
    refused(
      { mercure: { publish: Array.from({ length: MAX_SELECTORS_PER_CLAIM + 1 }, () => "a") } },
      /at most 1000 are allowed/,
    );
    refused({ mercure: { publish: ["x".repeat(5_000)] } }, /longer than 4096 characters/);
  });

  it("refuses a token carrying both the mercure and the ssehub claim", () => {
    refused(
      { mercure: { publish: ["a"] }, ssehub: { publish: ["a"] } },
      /both a "mercure" and a "ssehub" claim/,
    );
  });
});

describe("canPublish()", () => {
  const grants = grantsOf({
    mercure: { publish: ["https://example.com/books/{id}", "news"] },
  });

  it("allows an update whose every topic matches a publish selector", () => {
    assert.equal(canPublish(grants, ["news"]), true);
    assert.equal(canPublish(grants, ["https://example.com/books/1", "news"]), true);
  });

  it("refuses an update with one topic outside the selectors, even if others match (Mercure)", () => {
    assert.equal(canPublish(grants, ["news", "sports"]), false);
    assert.equal(canPublish(grants, ["https://example.com/books/1/reviews"]), false);
  });

  it("refuses everything for an empty or missing publish claim, and an empty topic list", () => {
    assert.equal(canPublish(grantsOf({ mercure: { publish: [] } }), ["news"]), false);
    assert.equal(canPublish(grantsOf({ mercure: { subscribe: ["*"] } }), ["news"]), false);
    assert.equal(canPublish(grantsOf({ mercure: { publish: ["*"] } }), []), false);
  });

  it("allows every topic with *", () => {
    assert.equal(canPublish(grantsOf({ mercure: { publish: ["*"] } }), ["a", "b/c"]), true);
  });
});

describe("canSubscribe()", () => {
  it("allows a topic that one subscribe selector matches", () => {
    const grants = grantsOf({
      mercure: {
        subscribe: ["https://example.com/users/foo/{?topic}", "https://example.com/books/{id}"],
      },
    });
    assert.equal(canSubscribe(grants, "https://example.com/books/1"), true);
    assert.equal(
      canSubscribe(
        grants,
        "https://example.com/users/foo/?topic=https%3A%2F%2Fexample.com%2Fbooks%2F1",
      ),
      true,
    );
    assert.equal(
      canSubscribe(grants, "https://example.com/books/{id}"),
      true,
      "the template itself",
    );
    assert.equal(canSubscribe(grants, "https://example.com/users/bar/?topic=x"), false);
  });

  it("allows nothing without subscribe selectors", () => {
    assert.equal(canSubscribe(grantsOf({ mercure: { publish: ["*"] } }), "a"), false);
    assert.equal(canSubscribe(NO_GRANTS, "a"), false);
  });
});
