import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  formatEventId,
  isHubIdNamespace,
  newEpoch,
  parseEventId,
  parseOldFormEventId,
} from "../../src/protocol/event-id.js";

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
  it("formatEventId() makes a URN of the epoch and the sequence", () => {
    assert.equal(formatEventId("abc", 42), "urn:ssehub:abc:42");
    assert.equal(formatEventId("abc", 0), "urn:ssehub:abc:0");
  });

  it("formatEventId() adds the 11 characters of its prefix to the old form, and no more", () => {
    const epoch = newEpoch();
    assert.equal(formatEventId(epoch, 123).length, `${epoch}-123`.length + 11);
  });
});

describe("parseEventId()", () => {
  const valid: ReadonlyArray<readonly [string, string, number]> = [
    ["urn:ssehub:a:0", "a", 0],
    ["urn:ssehub:abc123:42", "abc123", 42],
    [`urn:ssehub:${"z".repeat(32)}:1`, "z".repeat(32), 1],
    ["urn:ssehub:e:9007199254740991", "e", Number.MAX_SAFE_INTEGER],
  ];
  for (const [id, epoch, seq] of valid) {
    it(`parseEventId() reads ${JSON.stringify(id)}`, () => {
      assert.deepEqual(parseEventId(id), { epoch, seq });
    });
  }

  const invalid: ReadonlyArray<readonly [string, string]> = [
    ["", "an empty id"],
    ["urn:ssehub:abc", "an id without a sequence"],
    ["urn:ssehub::1", "an empty epoch"],
    ["urn:ssehub:abc:", "an empty sequence"],
    ["urn:ssehub:abc:01", "a sequence with a leading zero"],
    ["urn:ssehub:abc:+1", "a signed sequence"],
    ["urn:ssehub:abc:1.5", "a fractional sequence"],
    ["urn:ssehub:abc:1e3", "a sequence in exponent form"],
    ["urn:ssehub:ABC:1", "an upper-case epoch"],
    ["URN:SSEHUB:abc:1", "an upper-case prefix (the hub never sends one)"],
    ["urn:ssehub:a_b:1", "an epoch with punctuation"],
    ["urn:ssehub:a:b:1", "an epoch holding a colon"],
    [`urn:ssehub:${"z".repeat(33)}:1`, "an epoch longer than 32 characters"],
    ["urn:ssehub:e:12345678901234567", "a sequence longer than 16 digits"],
    ["urn:ssehub:e:9007199254740993", "a sequence past the largest safe integer"],
    [" urn:ssehub:e:1", "an id with a leading space"],
    ["urn:ssehub:e:1 ", "an id with a trailing space"],
    ["urn:ssehub:e:\u0661", "a sequence of non-ASCII digits"],
    ["abc-42", "the old form <epoch>-<seq>"],
    ["order-42", "an app id such as order-42"],
    ["urn:uuid:3b241101-e2bb-4255-8caf-4136c566a962", "a URN of another namespace"],
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

describe("isHubIdNamespace()", () => {
  for (const id of [
    "urn:ssehub:k3x9:1",
    "URN:SSEHUB:k3x9:1",
    "Urn:SseHub:anything",
    "urn:ssehub:",
  ]) {
    it(`isHubIdNamespace() claims ${JSON.stringify(id)}`, () => {
      assert.equal(isHubIdNamespace(id), true);
    });
  }
  for (const id of [
    "order-42",
    "user-1",
    "invoice-2024",
    "k3x9-1",
    "urn:ssehub",
    "urn:ssehubx:1",
    "urn:uuid:1",
  ]) {
    it(`isHubIdNamespace() leaves ${JSON.stringify(id)} to publishers`, () => {
      assert.equal(isHubIdNamespace(id), false);
    });
  }
});

describe("parseOldFormEventId()", () => {
  it("parseOldFormEventId() reads the form <epoch>-<seq> that earlier builds of the hub sent", () => {
    assert.deepEqual(parseOldFormEventId("k3x9abcd1234-42"), { epoch: "k3x9abcd1234", seq: 42 });
    assert.deepEqual(parseOldFormEventId("order-42"), { epoch: "order", seq: 42 });
  });

  for (const id of ["urn:ssehub:k3x9:1", "a-b-1", "ABC-1", "-1", "abc-01", "abc-"]) {
    it(`parseOldFormEventId() rejects ${JSON.stringify(id)}`, () => {
      assert.equal(parseOldFormEventId(id), undefined);
    });
  }
});
