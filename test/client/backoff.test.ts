import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fullJitterDelay } from "../../src/client/backoff.js";

describe("fullJitterDelay()", () => {
  const half = () => 0.5;

  it("fullJitterDelay() doubles the window with each attempt", () => {
    assert.deepEqual(
      [0, 1, 2, 3, 4].map((attempt) => fullJitterDelay(attempt, 1000, 60_000, half)),
      [500, 1000, 2000, 4000, 8000],
    );
  });

  it("fullJitterDelay() never passes the largest window", () => {
    assert.equal(fullJitterDelay(10, 1000, 30_000, half), 15_000);
    assert.equal(
      fullJitterDelay(10_000, 1000, 30_000, () => 0.999_999),
      29_999,
    );
  });

  it("fullJitterDelay() spreads delays from 0 up to the window", () => {
    assert.equal(
      fullJitterDelay(2, 1000, 30_000, () => 0),
      0,
    );
    for (let i = 0; i < 1000; i++) {
      const delay = fullJitterDelay(2, 1000, 30_000);
      assert.ok(Number.isInteger(delay) && delay >= 0 && delay < 4000, `got ${delay}`);
    }
  });

  it("fullJitterDelay() gives 0 for a base of 0", () => {
    assert.equal(fullJitterDelay(100, 0, 30_000, half), 0);
  });
});
