import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { firstUrlIndex, nextUrlIndex } from "../../src/loadgen/subscriber.js";

describe("spreading subscribers over URLs", () => {
  test("firstUrlIndex() gives subscriber i URL i mod n", () => {
    assert.deepEqual(
      Array.from({ length: 7 }, (_, i) => firstUrlIndex(i, 3)),
      [0, 1, 2, 0, 1, 2, 0],
    );
    assert.deepEqual(
      Array.from({ length: 4 }, (_, i) => firstUrlIndex(i, 1)),
      [0, 0, 0, 0],
    );
  });

  test("firstUrlIndex() gives every URL the same share within one, however workers split the subscribers", () => {
    for (const [subscribers, processes, urls] of [
      [200, 1, 2],
      [201, 3, 2],
      [1000, 7, 3],
      [5, 4, 8],
    ] as const) {
      const counts = new Array<number>(urls).fill(0);
      // The split of bench-session.ts: worker w holds [floor(S*w/P), floor(S*(w+1)/P)).
      for (let w = 0; w < processes; w++) {
        const from = Math.floor((subscribers * w) / processes);
        const to = Math.floor((subscribers * (w + 1)) / processes);
        for (let i = from; i < to; i++) counts[firstUrlIndex(i, urls)]!++;
      }
      assert.equal(
        counts.reduce((a, b) => a + b, 0),
        subscribers,
      );
      assert.ok(
        Math.max(...counts) - Math.min(...counts) <= 1,
        `${subscribers} subscribers over ${urls} URLs: ${counts.join(", ")}`,
      );
    }
  });

  test("nextUrlIndex() moves a reconnect to the next URL and wraps around", () => {
    assert.equal(nextUrlIndex(0, 2), 1);
    assert.equal(nextUrlIndex(1, 2), 0);
    assert.equal(nextUrlIndex(2, 3), 0);
    assert.equal(nextUrlIndex(0, 1), 0);
    // n reconnects bring a subscriber back to its first URL, after visiting every other one.
    const seen = new Set<number>();
    let at = firstUrlIndex(5, 4);
    for (let i = 0; i < 4; i++) {
      seen.add(at);
      at = nextUrlIndex(at, 4);
    }
    assert.equal(at, firstUrlIndex(5, 4));
    assert.equal(seen.size, 4);
  });
});
