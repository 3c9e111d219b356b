import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatEventId, newEpoch, parseEventId } from "../../src/protocol/event-id.js";

describe("newEpoch()", () => {
  it("newEpoch() starts with the time in base 36 and adds four random characters", () => {
    const now = Date.UTC(2026, 10, 22);
    const epoch = newEpoch(now);
    assert.match(epoch, /^[0-9a-z]+$/);
    assert.ok(epoch.startsWith(now.toString(36)));
    assert.equal(epoch.length, now.toString(36).length + 4);
  });

  it("newEpoch() gives different epochs to hubs started in the same millisecond", () => {
    const now = Date.now();
    const epochs = new Set(Array.from({ length: 50 }, () => newEpoch(now)));
    assert.ok(epochs.size > 40, `only ${epochs.size} distinct epochs out of 50`);
  });

  it("newEpoch() sorts by start time for times of the same base-36 length", () => {
    const earlier = newEpoch(Date.UTC(2026, 0, 1));
    const later = newEpoch(Date.UTC(2026, 0, 1) + 1);
    assert.ok(earlier.slice(0, -4) < later.slice(0, -4));
  });

  it("newEpoch() makes an epoch that parseEventId() accepts", () => {
    const epoch = newEpoch();
    assert.deepEqual(parseEventId(formatEventId(epoch, 0)), { epoch, seq: 0 });
  });
});

describe("formatEventId()", () => {
  it("formatEventId() joins epoch and sequence with a dash", () => {
    assert.equal(formatEventId("abc", 42), "abc-42");
    assert.equal(formatEventId("abc", 0), "abc-0");
  });
});

describe("parseEventId()", () => {
  const valid: ReadonlyArray<readonly [string, string, number]> = [
    ["a-0", "a", 0],
    ["abc123-42", "abc123", 42],
    [`${"z".repeat(32)}-1`, "z".repeat(32), 1],
    ["e-9007199254740991", "e", Number.MAX_SAFE_INTEGER],
  ];
  for (const [id, epoch, seq] of valid) {
    it(`parseEventId() reads ${JSON.stringify(id)}`, () => {
      assert.deepEqual(parseEventId(id), { epoch, seq });
    });
  }

  const invalid: ReadonlyArray<readonly [string, string]> = [
    ["", "an empty id"],
    ["abc", "an id without a dash"],
    ["-1", "an empty epoch"],
    ["abc-", "an empty sequence"],
    ["abc-01", "a sequence with a leading zero"],
    ["abc-+1", "a signed sequence"],
    ["abc-1.5", "a fractional sequence"],
    ["abc-1e3", "a sequence in exponent form"],
    ["ABC-1", "an upper-case epoch"],
    ["a_b-1", "an epoch with punctuation"],
    ["a-b-1", "an epoch holding a dash"],
    [`${"z".repeat(33)}-1`, "an epoch longer than 32 characters"],
    ["e-12345678901234567", "a sequence longer than 16 digits"],
    ["e-9007199254740993", "a sequence past the largest safe integer"],
    [" e-1", "an id with a leading space"],
    ["e-1 ", "an id with a trailing space"],
    ["e-\u0661", "a sequence of non-ASCII digits"],
  ];
  for (const [id, what] of invalid) {
    it(`parseEventId() rejects ${what}`, () => {
      assert.equal(parseEventId(id), undefined);
    });
  }

  it("parseEventId() reads back every id that formatEventId() makes", () => {
    for (const seq of [0, 1, 9, 10, 999_999, 2 ** 40, Number.MAX_SAFE_INTEGER]) {
      assert.deepEqual(parseEventId(formatEventId("k3x9", seq)), { epoch: "k3x9", seq });
    }
  });
});
