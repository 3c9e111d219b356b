import assert from "node:assert/strict";
import { describe, it } from "node:test";
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
