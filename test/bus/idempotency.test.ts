import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  claimIdempotency,
  fingerprintOf,
  IdempotencyMemory,
  KEY_REUSED,
  NEW_KEY,
} from "../../src/bus/idempotency.js";
import { LocalBus } from "../../src/bus/local-bus.js";
import type { IdempotencyClaim, PreparedEvent } from "../../src/history/stored-event.js";

function event(data: string, more: Partial<PreparedEvent> = {}): PreparedEvent {
  return { topics: ["t"], data, event: undefined, retry: undefined, ...more };
}

function claim(key: string, fingerprint = "f", windowMs = 1000): IdempotencyClaim {
  return { key, fingerprint, windowMs };
}

describe("IdempotencyMemory", () => {
  it("recall() remembers a new key with the seq it is given and answers it within the window", () => {
    let now = 0;
    const memory = new IdempotencyMemory(10, () => now);
    assert.equal(memory.recall(claim("a"), 7), NEW_KEY);
    now = 999;
    assert.equal(memory.recall(claim("a"), 8), 7);
    assert.equal(memory.recall(claim("a", "other"), 8), KEY_REUSED);
  });

  it("recall() forgets a key once its window has passed", () => {
    let now = 0;
    const memory = new IdempotencyMemory(10, () => now);
    memory.recall(claim("a"), 7);
    now = 1000;
    assert.equal(memory.recall(claim("a", "other"), 9), NEW_KEY);
    assert.equal(memory.recall(claim("a", "other"), 10), 9);
  });

  it("sweeps expired keys as new ones come, with no timer", () => {
    let now = 0;
    const memory = new IdempotencyMemory(100, () => now);
    for (let i = 0; i < 5; i++) memory.recall(claim(`k${i}`), i + 1);
    now = 5000;
    memory.recall(claim("fresh"), 6);
    assert.equal(memory.size, 1);
  });

  it("keeps at most maxKeys keys, forgetting the oldest first", () => {
    const memory = new IdempotencyMemory(3, () => 0);
    for (let i = 1; i <= 4; i++) memory.recall(claim(`k${i}`), i);
    assert.equal(memory.size, 3);
    assert.equal(memory.recall(claim("k4"), 9), 4, "the newest is kept");
    assert.equal(memory.recall(claim("k1"), 9), NEW_KEY, "the oldest was forgotten");
  });
});

describe("fingerprintOf()", () => {
  it("tells apart publishes that differ in any field, and in shape", () => {
    const base = [event("x")];
    const variants: PreparedEvent[][] = [
      [event("y")],
      [event("x", { topics: ["u"] })],
      [event("x", { topics: ["t", "u"] })],
      [event("x", { event: "e" })],
      [event("x", { retry: 5 })],
      [event("x", { key: "k" })],
      [event("x", { private: true })],
      [event("x", { id: "urn:1" })],
      [event("x"), event("x")],
    ];
    const prints = new Set([fingerprintOf(base, "event"), fingerprintOf(base, "batch")]);
    for (const variant of variants) prints.add(fingerprintOf(variant, "event"));
    assert.equal(prints.size, variants.length + 2);
    assert.equal(fingerprintOf([event("x")], "event"), fingerprintOf(base, "event"));
  });
});

describe("claimIdempotency()", () => {
  it("returns the same events without a key, and puts the claim on the first event with one", () => {
    const events = [event("a"), event("b")];
    assert.equal(claimIdempotency(events, undefined, "batch", 10), events);
    const claimed = claimIdempotency(events, "k", "batch", 10);
    assert.deepEqual(claimed[0]?.idempotency, {
      key: "k",
      fingerprint: fingerprintOf(events, "batch"),
      windowMs: 10,
    });
    assert.equal(claimed[1], events[1]);
  });
});

describe("LocalBus with an idempotency key", () => {
  it("answers the first seq within the window, and orders anew after it (injected clock)", async () => {
    let now = 0;
    const bus = new LocalBus("e", { now: () => now });
    const delivered: string[] = [];
    bus.start((events) => delivered.push(...events.map((e) => `${e.seq}:${e.data}`)));
    const publish = () => bus.publish(claimIdempotency([event("a")], "k", "event", 100));
    assert.equal(await publish(), 1);
    now = 99;
    assert.equal(await publish(), 1);
    now = 100;
    assert.equal(await publish(), 2);
    assert.deepEqual(delivered, ["1:a", "2:a"]);
  });
});
