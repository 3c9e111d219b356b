import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type ErrorCode, SsehubError } from "../../src/errors.js";
import {
  encodeComment,
  encodeData,
  encodeEvent,
  encodeRetry,
  type SseEventFields,
  serializeData,
} from "../../src/protocol/encode.js";
import { MAX_RETRY_MS } from "../../src/protocol/field-rules.js";

/** Asserts that `fn` throws an SsehubError with `code`, the catalogue's base name and status. */
function assertThrowsCode(fn: () => unknown, code: ErrorCode, name: string, message?: RegExp) {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof SsehubError, `expected an SsehubError, got ${String(error)}`);
    assert.equal(error.code, code);
    assert.equal(error.name, name);
    assert.equal(error.status, 400);
    if (message !== undefined) assert.match(error.message, message);
    return true;
  });
}

describe("encodeEvent()", () => {
  const cases: ReadonlyArray<readonly [string, SseEventFields, string]> = [
    ["encodes data alone", { data: "hello" }, "data: hello\n\n"],
    ["encodes empty data as one empty data line", { data: "" }, "data: \n\n"],
    ["keeps a leading space of the data", { data: " x" }, "data:  x\n\n"],
    ["splits data at LF", { data: "a\nb" }, "data: a\ndata: b\n\n"],
    ["splits data at CR", { data: "a\rb" }, "data: a\ndata: b\n\n"],
    ["splits data at CRLF once", { data: "a\r\nb" }, "data: a\ndata: b\n\n"],
    [
      "splits data at every kind of line break, keeping empty lines",
      { data: "\na\r\n\rb\n\r" },
      "data: \ndata: a\ndata: \ndata: b\ndata: \ndata: \n\n",
    ],
    ["writes a lone LF as two empty data lines", { data: "\n" }, "data: \ndata: \n\n"],
    ["reads LF CR as two line breaks", { data: "a\n\rb" }, "data: a\ndata: \ndata: b\n\n"],
    [
      "writes the fields in the order id, event, retry, data",
      { data: "x", retry: 10, event: "update", id: "e-1" },
      "id: e-1\nevent: update\nretry: 10\ndata: x\n\n",
    ],
    ["writes an empty id", { data: "x", id: "" }, "id: \ndata: x\n\n"],
    ["omits an empty event type", { data: "x", event: "" }, "data: x\n\n"],
    [
      "omits undefined optional fields",
      { data: "x", event: undefined, id: undefined, retry: undefined },
      "data: x\n\n",
    ],
    ["writes retry 0", { data: "x", retry: 0 }, "retry: 0\ndata: x\n\n"],
    [
      "writes the largest retry",
      { data: "x", retry: MAX_RETRY_MS },
      `retry: ${MAX_RETRY_MS}\ndata: x\n\n`,
    ],
    [
      "keeps colons, NUL and non-ASCII characters in data",
      { data: "a: b\0\u00e9\u{1f600}" },
      "data: a: b\0\u00e9\u{1f600}\n\n",
    ],
    [
      "keeps spaces, colons and non-ASCII characters in id and event",
      { data: "x", id: " a:b \u00e9", event: " t:\u{1f600}" },
      "id:  a:b \u00e9\nevent:  t:\u{1f600}\ndata: x\n\n",
    ],
    ["keeps NUL in the event type", { data: "x", event: "a\0b" }, "event: a\0b\ndata: x\n\n"],
  ];
  for (const [name, fields, expected] of cases) {
    it(`encodeEvent() ${name}`, () => {
      assert.equal(encodeEvent(fields), expected);
    });
  }

  for (const id of ["a\nb", "a\rb", "a\r\nb", "\n", "a\0b", "\0"]) {
    it(`encodeEvent() rejects the id ${JSON.stringify(id)} with SSEHUB_ERR_EVENT_INVALID_ID`, () => {
      assertThrowsCode(
        () => encodeEvent({ data: "x", id }),
        "SSEHUB_ERR_EVENT_INVALID_ID",
        "SyntaxError",
        /^Cannot use event id .*: an id may not contain CR, LF or NUL$/,
      );
    });
  }

  for (const event of ["a\nb", "a\rb", "\r\n", "x\n"]) {
    it(`encodeEvent() rejects the event type ${JSON.stringify(event)} with SSEHUB_ERR_EVENT_INVALID_TYPE`, () => {
      assertThrowsCode(
        () => encodeEvent({ data: "x", event }),
        "SSEHUB_ERR_EVENT_INVALID_TYPE",
        "SyntaxError",
        /^Cannot use event type .*: an event type may not contain CR or LF$/,
      );
    });
  }

  for (const retry of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, MAX_RETRY_MS + 1]) {
    it(`encodeEvent() rejects retry ${retry} with SSEHUB_ERR_EVENT_INVALID_RETRY`, () => {
      assertThrowsCode(
        () => encodeEvent({ data: "x", retry }),
        "SSEHUB_ERR_EVENT_INVALID_RETRY",
        "RangeError",
        /^Cannot use retry .*: retry must be an integer from 0 to 2147483647 \(milliseconds\)$/,
      );
    });
  }

  it("encodeEvent() rejects a retry given as a string", () => {
    const fields = { data: "x", retry: "10" } as unknown as SseEventFields;
    assertThrowsCode(() => encodeEvent(fields), "SSEHUB_ERR_EVENT_INVALID_RETRY", "RangeError");
  });
});

describe("encodeData()", () => {
  const cases: ReadonlyArray<readonly [string, string]> = [
    ["", "data: \n"],
    ["a", "data: a\n"],
    ["a\nb\r\nc\rd", "data: a\ndata: b\ndata: c\ndata: d\n"],
    ["a\n", "data: a\ndata: \n"],
  ];
  for (const [data, expected] of cases) {
    it(`encodeData() writes ${JSON.stringify(data)} as ${JSON.stringify(expected)}`, () => {
      assert.equal(encodeData(data), expected);
    });
  }
});

describe("encodeComment()", () => {
  const cases: ReadonlyArray<readonly [string | undefined, string]> = [
    [undefined, ":\n\n"],
    ["", ":\n\n"],
    ["ping", ": ping\n\n"],
    [" spaced", ":  spaced\n\n"],
    ["a\nb", ": a\n: b\n\n"],
    ["a\r\nb\rc", ": a\n: b\n: c\n\n"],
    ["\u00e9\u{1f600}", ": \u00e9\u{1f600}\n\n"],
  ];
  for (const [text, expected] of cases) {
    it(`encodeComment() writes ${JSON.stringify(text)} as ${JSON.stringify(expected)}`, () => {
      assert.equal(encodeComment(text), expected);
    });
  }
});

describe("encodeRetry()", () => {
  const cases: ReadonlyArray<readonly [number, string]> = [
    [0, "retry: 0\n\n"],
    [3000, "retry: 3000\n\n"],
    [MAX_RETRY_MS, `retry: ${MAX_RETRY_MS}\n\n`],
  ];
  for (const [ms, expected] of cases) {
    it(`encodeRetry() writes ${ms} as ${JSON.stringify(expected)}`, () => {
      assert.equal(encodeRetry(ms), expected);
    });
  }

  for (const ms of [-1, 0.5, Number.NaN, Number.NEGATIVE_INFINITY, MAX_RETRY_MS + 1, 2 ** 53]) {
    it(`encodeRetry() rejects ${ms} with SSEHUB_ERR_EVENT_INVALID_RETRY`, () => {
      assertThrowsCode(() => encodeRetry(ms), "SSEHUB_ERR_EVENT_INVALID_RETRY", "RangeError");
    });
  }
});

describe("serializeData()", () => {
  const cases: ReadonlyArray<readonly [string, unknown, string]> = [
    ["keeps a string as it is", "a\nb", "a\nb"],
    ["keeps an empty string", "", ""],
    ["does not quote a string that looks like JSON", '{"a":1}', '{"a":1}'],
    ["serializes an object", { a: 1, b: [true, null] }, '{"a":1,"b":[true,null]}'],
    ["serializes an array", [1, "x"], '[1,"x"]'],
    ["serializes null", null, "null"],
    ["serializes a number", 0, "0"],
    ["serializes a boolean", false, "false"],
    ["escapes line breaks inside JSON strings", { t: "a\nb" }, '{"t":"a\\nb"}'],
    ["uses toJSON", new Date(0), '"1970-01-01T00:00:00.000Z"'],
  ];
  for (const [name, data, expected] of cases) {
    it(`serializeData() ${name}`, () => {
      assert.equal(serializeData(data), expected);
    });
  }

  const invalid: ReadonlyArray<readonly [string, unknown]> = [
    ["undefined", undefined],
    ["a function", () => 1],
    ["a symbol", Symbol("s")],
    ["a bigint", 1n],
    ["an object holding a bigint", { n: 1n }],
  ];
  for (const [name, data] of invalid) {
    it(`serializeData() rejects ${name} with SSEHUB_ERR_EVENT_INVALID_DATA`, () => {
      assert.throws(
        () => serializeData(data),
        (error: unknown) =>
          error instanceof SsehubError &&
          error.code === "SSEHUB_ERR_EVENT_INVALID_DATA" &&
          error.name === "TypeError" &&
          error.status === 400 &&
          error.message.startsWith("Cannot serialize event data: "),
      );
    });
  }

  it("serializeData() rejects a cycle with SSEHUB_ERR_EVENT_INVALID_DATA and keeps the cause", () => {
    const cycle: { self?: unknown } = {};
    cycle.self = cycle;
    assert.throws(
      () => serializeData(cycle),
      (error: unknown) =>
        error instanceof SsehubError &&
        error.code === "SSEHUB_ERR_EVENT_INVALID_DATA" &&
        error.cause instanceof TypeError,
    );
  });
});
