import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { inspect } from "node:util";
import {
  PUBLISH_INPUT_KEYS,
  type PublishInput,
  type PublishLimits,
  preparePublish,
} from "../../src/hub/publish-input.js";

const LIMITS: PublishLimits = { maxTopicsPerPublish: 3, maxTopicLength: 16 };

interface Refusal {
  readonly code?: string;
  readonly message: string;
  readonly details?: unknown;
}

function refusal(input: unknown, limits = LIMITS): Refusal {
  try {
    preparePublish(input as PublishInput, limits);
  } catch (error) {
    return error as Refusal;
  }
  assert.fail(`accepted ${JSON.stringify(input)}`);
}

describe("preparePublish()", () => {
  it("prepares an input: data serialized once, topics without duplicates, every field present", () => {
    assert.deepEqual(preparePublish({ topics: ["a", "b", "a"], data: { n: 1 } }, LIMITS), {
      topics: ["a", "b"],
      data: '{"n":1}',
      event: undefined,
      retry: undefined,
      key: undefined,
      private: false,
      id: undefined,
      trace: undefined,
    });
    assert.deepEqual(
      preparePublish(
        { topic: "a", data: "x", event: "e", retry: 10, key: "k", private: true, id: "urn:1" },
        LIMITS,
      ),
      {
        topics: ["a"],
        data: "x",
        event: "e",
        retry: 10,
        key: "k",
        private: true,
        id: "urn:1",
        trace: undefined,
      },
    );
  });

  it("gives each mistake its one code", () => {
    const cases: [unknown, string][] = [
      [null, "SSEHUB_ERR_PUBLISH_MALFORMED"],
      [42, "SSEHUB_ERR_PUBLISH_MALFORMED"],
      [[{ topic: "a", data: "x" }], "SSEHUB_ERR_PUBLISH_MALFORMED"],
      [{ topic: "a", data: "x", evnt: "y" }, "SSEHUB_ERR_PUBLISH_MALFORMED"],
      [{ topic: "a", topics: ["b"], data: "x" }, "SSEHUB_ERR_PUBLISH_MALFORMED"],
      [{ topic: "a", data: "x", key: "" }, "SSEHUB_ERR_PUBLISH_MALFORMED"],
      [{ topic: "a", data: "x", key: "k".repeat(17) }, "SSEHUB_ERR_PUBLISH_MALFORMED"],
      [{ topic: "a", data: "x", private: "yes" }, "SSEHUB_ERR_PUBLISH_MALFORMED"],
      [{ data: "x" }, "SSEHUB_ERR_TOPIC_MISSING"],
      [{ topics: [], data: "x" }, "SSEHUB_ERR_TOPIC_MISSING"],
      [{ topic: 5, data: "x" }, "SSEHUB_ERR_TOPIC_INVALID"],
      [{ topic: null, data: "x" }, "SSEHUB_ERR_TOPIC_INVALID"],
      [{ topics: "a", data: "x" }, "SSEHUB_ERR_TOPIC_INVALID"],
      [{ topics: ["a", 1], data: "x" }, "SSEHUB_ERR_TOPIC_INVALID"],
      [{ topic: "a b", data: "x" }, "SSEHUB_ERR_TOPIC_INVALID"],
      [{ topic: "t".repeat(17), data: "x" }, "SSEHUB_ERR_TOPIC_INVALID"],
      [{ topics: ["a", "b", "c", "d"], data: "x" }, "SSEHUB_ERR_PUBLISH_TOO_MANY_TOPICS"],
      [{ topic: "a" }, "SSEHUB_ERR_EVENT_INVALID_DATA"],
      [{ topic: "a", data: undefined }, "SSEHUB_ERR_EVENT_INVALID_DATA"],
      [{ topic: "a", data: 10n }, "SSEHUB_ERR_EVENT_INVALID_DATA"],
      [{ topic: "a", data: "x", event: 1 }, "SSEHUB_ERR_EVENT_INVALID_TYPE"],
      [{ topic: "a", data: "x", event: "a\nb" }, "SSEHUB_ERR_EVENT_INVALID_TYPE"],
      [{ topic: "a", data: "x", retry: "100" }, "SSEHUB_ERR_EVENT_INVALID_RETRY"],
      [{ topic: "a", data: "x", retry: -1 }, "SSEHUB_ERR_EVENT_INVALID_RETRY"],
      [{ topic: "a", data: "x", retry: 1.5 }, "SSEHUB_ERR_EVENT_INVALID_RETRY"],
      [{ topic: "a", data: "x", id: "" }, "SSEHUB_ERR_EVENT_INVALID_ID"],
      [{ topic: "a", data: "x", id: 7 }, "SSEHUB_ERR_EVENT_INVALID_ID"],
      [{ topic: "a", data: "x", id: "i".repeat(1025) }, "SSEHUB_ERR_EVENT_INVALID_ID"],
      [{ topic: "a", data: "x", id: "a\0b" }, "SSEHUB_ERR_EVENT_INVALID_ID"],
      [{ topic: "a", data: "x", id: "urn:ssehub:abc:12" }, "SSEHUB_ERR_EVENT_RESERVED_ID"],
      [{ topic: "a", data: "x", id: "URN:SSEHUB:abc" }, "SSEHUB_ERR_EVENT_RESERVED_ID"],
    ];
    for (const [input, code] of cases) {
      assert.equal(refusal(input).code, code, `${inspect(input)} -> ${code}`);
    }
  });

  it("names an unknown field in the message and in details, and lists the allowed ones", () => {
    const error = refusal({ topic: "a", data: 1, evnt: "x" });
    assert.match(error.message, /"evnt"/);
    for (const key of PUBLISH_INPUT_KEYS) assert.match(error.message, new RegExp(`\\b${key}\\b`));
    assert.deepEqual(error.details, { field: "evnt" });
  });

  it("names the input it was given in messages, such as an event of a batch", () => {
    try {
      preparePublish({ topic: "a" } as PublishInput, LIMITS, "event 3");
      assert.fail("accepted an event without data");
    } catch (error) {
      assert.match((error as Error).message, /^Cannot publish event 3: data is required/);
    }
  });

  it("refuses lone surrogates where text reaches the wire, and nothing else of UTF-16", () => {
    const cases: [unknown, string][] = [
      [{ topic: "\ud800", data: "x" }, "SSEHUB_ERR_TOPIC_INVALID"],
      [{ topics: ["ok", "a\udc00"], data: "x" }, "SSEHUB_ERR_TOPIC_INVALID"],
      [{ topic: "t", data: "a\ud800b" }, "SSEHUB_ERR_EVENT_INVALID_DATA"],
      [{ topic: "t", data: "x", event: "\udbff" }, "SSEHUB_ERR_EVENT_INVALID_TYPE"],
      [{ topic: "t", data: "x", id: "\udfff" }, "SSEHUB_ERR_EVENT_INVALID_ID"],
    ];
    for (const [input, code] of cases) {
      const error = refusal(input);
      assert.equal(error.code, code, JSON.stringify(input));
      assert.match(error.message, /lone surrogate/);
    }
    // A pair is one character; a lone surrogate inside a JSON value is serialized as an escape.
    assert.equal(preparePublish({ topic: "t", data: "\ud83d\ude00" }, LIMITS).data, "😀");
    assert.equal(
      preparePublish({ topic: "t", data: { s: "\ud800" } }, LIMITS).data,
      '{"s":"\\ud800"}',
    );
  });

  it("refuses control and format characters in event types and ids, naming the character", () => {
    const refused = [
      "\0",
      "\u0001",
      "\u001f",
      "\u007f",
      "\u0080",
      "\u0085",
      "\u009f",
      "\u00ad",
      "\u200b",
      "\u200e",
      "\u200f",
      "\u202e",
      "\u2028",
      "\u2029",
      "\u2060",
      "\u2064",
      "\ufeff",
      "\u{e0001}",
    ];
    for (const char of refused) {
      const point = `U+${char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}`;
      const type = refusal({ topic: "t", data: "x", event: `a${char}b` });
      assert.equal(type.code, "SSEHUB_ERR_EVENT_INVALID_TYPE", point);
      assert.match(type.message, new RegExp(`holds ${point.replace("+", "\\+")}`));
      const id = refusal({ topic: "t", data: "x", id: `a${char}b` });
      assert.equal(id.code, "SSEHUB_ERR_EVENT_INVALID_ID", point);
      // Data may carry any text.
      assert.equal(preparePublish({ topic: "t", data: `a${char}b` }, LIMITS).data, `a${char}b`);
    }
    // Printable text from every script passes, as do spaces and emoji.
    for (const text of [
      "a b",
      "\u00a0x",
      "é",
      "日本",
      "😀",
      "\u2009x",
      "\ufffd",
      "\u{1f468}\u200d",
    ]) {
      const accepted = () => preparePublish({ topic: "t", data: "x", event: text }, LIMITS);
      if (text.includes("\u200d"))
        assert.throws(accepted, { code: "SSEHUB_ERR_EVENT_INVALID_TYPE" });
      else assert.equal(accepted().event, text);
    }
  });

  it("refuses the id earliest, which asks for the whole history on resume", () => {
    assert.equal(
      refusal({ topic: "t", data: "x", id: "earliest" }).code,
      "SSEHUB_ERR_EVENT_INVALID_ID",
    );
    assert.equal(preparePublish({ topic: "t", data: "x", id: "Earliest" }, LIMITS).id, "Earliest");
    assert.equal(
      preparePublish({ topic: "t", data: "x", id: "earliest!" }, LIMITS).id,
      "earliest!",
    );
  });

  it("refuses event types starting with ssehub-, the hub's own notices, in any case", () => {
    for (const event of [
      "ssehub-reset",
      "ssehub-gap",
      "ssehub-",
      "ssehub-future",
      "SSEHUB-reset",
      "SseHub-gap",
    ]) {
      const error = refusal({ topic: "t", data: "x", event });
      assert.equal(error.code, "SSEHUB_ERR_EVENT_RESERVED_TYPE", event);
      assert.equal((error as unknown as { status: number }).status, 400);
    }
    for (const event of ["ssehub", "ssehubreset", "my-ssehub-reset", " ssehub-reset", "mercure"]) {
      assert.equal(preparePublish({ topic: "t", data: "x", event }, LIMITS).event, event);
    }
  });

  it("refuses the hub's topic namespace to publishers, however spelled, but not to the hub", () => {
    const limits = { maxTopicsPerPublish: 3, maxTopicLength: 200 };
    for (const topic of [
      "/.well-known/mercure/subscriptions/a/b",
      "https://example.com/.well-known/mercure/subscriptions/a",
      "/.well-known/%6Dercure/subscriptions",
      "/a/../.well-known/mercure/subscriptions",
    ]) {
      const error = refusal({ topics: ["ok", topic], data: "x" }, limits);
      assert.equal(error.code, "SSEHUB_ERR_TOPIC_RESERVED", topic);
      assert.equal((error as unknown as { status: number }).status, 403);
      assert.deepEqual(error.details, { topic });
      assert.deepEqual(preparePublish({ topic, data: "x" }, limits, "the event", "hub").topics, [
        topic,
      ]);
    }
    assert.deepEqual(
      preparePublish({ topic: "/.well-known/mercure-other", data: "x" }, limits).topics,
      ["/.well-known/mercure-other"],
    );
  });

  it("counts topics against maxTopicsPerPublish, after removing duplicates", () => {
    const limits = { maxTopicsPerPublish: 2, maxTopicLength: 16 };
    assert.deepEqual(preparePublish({ topics: ["a", "b", "a"], data: "x" }, limits).topics, [
      "a",
      "b",
    ]);
    const error = refusal({ topics: ["a", "b", "c"], data: "x" }, limits);
    assert.equal(error.code, "SSEHUB_ERR_PUBLISH_TOO_MANY_TOPICS");
    assert.deepEqual(error.details, { limit: 2 });
  });
});
