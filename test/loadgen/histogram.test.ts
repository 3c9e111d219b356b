import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Histogram } from "../../src/loadgen/histogram.js";

/** The exact percentile of sorted values, by the nearest-rank method. */
function exactPercentile(sorted: readonly number[], percent: number): number {
  const rank = Math.max(1, Math.ceil((percent / 100) * sorted.length));
  return sorted[rank - 1]!;
}

/** A deterministic pseudo-random generator (mulberry32). */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("Histogram", () => {
  test("an empty histogram reports zeros", () => {
    const h = new Histogram();
    assert.equal(h.count, 0);
    assert.equal(h.percentile(99), 0);
    assert.equal(h.min, 0);
    assert.equal(h.max, 0);
    assert.equal(h.mean, 0);
  });

  test("values below 256 are exact", () => {
    const h = new Histogram();
    for (let v = 1; v <= 100; v++) h.record(v);
    assert.equal(h.percentile(50), 50);
    assert.equal(h.percentile(90), 90);
    assert.equal(h.percentile(99), 99);
    assert.equal(h.percentile(100), 100);
    assert.equal(h.min, 1);
    assert.equal(h.max, 100);
    assert.equal(h.mean, 50.5);
  });

  test("percentiles are within 1/128 above the exact value over a wide range", () => {
    const next = random(42);
    const values: number[] = [];
    const h = new Histogram();
    for (let i = 0; i < 50_000; i++) {
      // Log-uniform from 1 µs to about 100 s.
      const v = Math.floor(Math.exp(next() * Math.log(1e8)));
      values.push(v);
      h.record(v);
    }
    values.sort((a, b) => a - b);
    for (const p of [1, 10, 50, 90, 99, 99.9, 100]) {
      const exact = exactPercentile(values, p);
      const reported = h.percentile(p);
      assert.ok(reported >= exact, `p${p}: ${reported} < exact ${exact}`);
      assert.ok(reported <= exact * (1 + 1 / 128) + 1, `p${p}: ${reported} too far above ${exact}`);
    }
    assert.equal(h.max, values.at(-1));
    assert.equal(h.min, values[0]);
  });

  test("record() counts a value several times, rounds down and clamps negatives to 0", () => {
    const h = new Histogram();
    h.record(10.9, 3);
    h.record(-5);
    assert.equal(h.count, 4);
    assert.equal(h.min, 0);
    assert.equal(h.max, 10);
    assert.equal(h.percentile(100), 10);
  });

  test("huge values land in the last bucket and the maximum stays exact", () => {
    const h = new Histogram();
    h.record(2 ** 45);
    assert.equal(h.max, 2 ** 45);
    assert.equal(h.percentile(100), 2 ** 45);
  });

  test("merge() gives the same percentiles as recording everything in one histogram", () => {
    const next = random(7);
    const all = new Histogram();
    const parts = [new Histogram(), new Histogram(), new Histogram()];
    for (let i = 0; i < 30_000; i++) {
      const v = Math.floor(next() * next() * 200_000);
      all.record(v);
      parts[i % 3]!.record(v);
    }
    const merged = new Histogram();
    for (const part of parts) merged.merge(part);
    assert.equal(merged.count, all.count);
    assert.equal(merged.min, all.min);
    assert.equal(merged.max, all.max);
    assert.equal(merged.mean, all.mean);
    for (const p of [50, 90, 99, 99.9]) assert.equal(merged.percentile(p), all.percentile(p));
  });

  test("a snapshot crosses a process boundary as JSON and merges back", () => {
    const h = new Histogram();
    for (const v of [5, 500, 5000, 50_000, 500_000]) h.record(v);
    const wire = JSON.parse(JSON.stringify(h.toJSON()));
    const copy = Histogram.from(wire);
    assert.deepEqual(copy.toJSON(), h.toJSON());
    copy.mergeSnapshot(wire);
    assert.equal(copy.count, 10);
    assert.equal(copy.percentile(50), h.percentile(50));
  });

  test("reset() forgets every value", () => {
    const h = new Histogram();
    h.record(1000);
    h.reset();
    assert.equal(h.count, 0);
    assert.deepEqual(h.toJSON().buckets, []);
  });
});
