import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createHub } from "../../src/hub/hub.js";
import {
  HOLD_FACTOR,
  MIN_BUSY_MS,
  MIN_FAN_OUT,
  WriteCoalescer,
} from "../../src/hub/write-coalescer.js";

describe("WriteCoalescer", () => {
  it("holds nothing back after a fan-out shorter than MIN_BUSY_MS", () => {
    const coalescer = new WriteCoalescer(10);
    coalescer.fanOutEnded(MIN_BUSY_MS / 2, 1000, 100);
    assert.equal(coalescer.holdUntil, Number.NEGATIVE_INFINITY);
  });

  it("holds the next fan-out HOLD_FACTOR times the busy time after the end", () => {
    const coalescer = new WriteCoalescer(10);
    coalescer.fanOutEnded(2, 1000, 100);
    assert.equal(coalescer.holdUntil, 100 + HOLD_FACTOR * 2);
  });

  it("caps the hold at maxHoldMs", () => {
    const coalescer = new WriteCoalescer(10);
    coalescer.fanOutEnded(80, 1000, 100);
    assert.equal(coalescer.holdUntil, 110);
  });

  it("holds nothing after a fan-out to fewer than MIN_FAN_OUT subscribers", () => {
    const coalescer = new WriteCoalescer(10);
    coalescer.fanOutEnded(80, MIN_FAN_OUT - 1, 100);
    assert.equal(coalescer.holdUntil, Number.NEGATIVE_INFINITY);
  });

  it("reckons a worker's hold from the whole hub's cost: its share of the subscribers", () => {
    // One of two workers: its fan-out of 500 subscribers took 1.5 ms, the hub's 3 ms.
    const worker = new WriteCoalescer(10, MIN_FAN_OUT, 1 / 2);
    assert.equal(worker.holdAfter(1.5, 500), HOLD_FACTOR * 3);
    assert.equal(new WriteCoalescer(10).holdAfter(1.5, 500), HOLD_FACTOR * 1.5);
    // Both minimums apply to the whole hub: 60 subscribers and 0.6 ms of each of 2 workers.
    assert.equal(worker.holdAfter(0.6, 60), HOLD_FACTOR * 1.2);
    assert.equal(new WriteCoalescer(10).holdAfter(0.6, 60), 0);
    assert.equal(worker.holdAfter(8, 1000), 10, "capped as before");
  });

  it("a hub refuses a fan-out share outside (0, 1]", () => {
    for (const fanOutShare of [0, -1, 1.5, Number.NaN]) {
      assert.throws(
        () => createHub({}, { fanOutShare }),
        (error: Error & { code?: string }) => error.code === "SSEHUB_ERR_OPTIONS_INVALID",
        String(fanOutShare),
      );
    }
    createHub({}, { fanOutShare: 0.25 }).close();
  });

  it("holds nothing when maxHoldMs is 0", () => {
    const coalescer = new WriteCoalescer(0);
    coalescer.fanOutEnded(80, 1000, 100);
    assert.equal(coalescer.holdUntil, Number.NEGATIVE_INFINITY);
  });

  it("forgets the hold after a cheap fan-out", () => {
    const coalescer = new WriteCoalescer(10);
    coalescer.fanOutEnded(4, 1000, 100);
    coalescer.fanOutEnded(0.1, 1000, 120);
    assert.equal(coalescer.holdUntil, Number.NEGATIVE_INFINITY);
  });
});
