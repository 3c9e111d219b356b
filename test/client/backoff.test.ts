import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { reconnectDelay } from "../../src/client/backoff.js";

describe("reconnectDelay()", () => {
  const half = () => 0.5;

  it("reconnectDelay() waits exactly the base on the first attempt, as EventSource does", () => {
    assert.equal(
      reconnectDelay(0, 3000, 30_000, () => 0.999),
      3000,
    );
  });

  it("reconnectDelay() doubles the window above the base with each attempt", () => {
    assert.deepEqual(
      [0, 1, 2, 3, 4].map((attempt) => reconnectDelay(attempt, 1000, 60_000, half)),
      [1000, 1500, 2500, 4500, 8500],
    );
  });

  it("reconnectDelay() never passes the largest delay", () => {
    assert.equal(
      reconnectDelay(10_000, 1000, 30_000, () => 0.999_999),
      29_999,
    );
    assert.equal(reconnectDelay(0, 60_000, 30_000, half), 30_000);
  });

  it("reconnectDelay() spreads later attempts between the base and the window", () => {
    for (let i = 0; i < 1000; i++) {
      const delay = reconnectDelay(2, 1000, 30_000);
      assert.ok(Number.isInteger(delay) && delay >= 1000 && delay < 4000, `got ${delay}`);
    }
  });

  it("reconnectDelay() gives 0 for a base of 0", () => {
    assert.equal(reconnectDelay(100, 0, 30_000, half), 0);
  });
});
