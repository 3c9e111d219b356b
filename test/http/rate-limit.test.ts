import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { describe, test } from "node:test";
import { RateLimiter } from "../../src/http/limits/rate-limit.js";
import { HUNG_AFTER_MS } from "../helpers/wait-for.js";

/** A clock the test moves by hand, in ms. */
function manualClock(start = 1000): { now: () => number; advance: (ms: number) => void } {
  let time = start;
  return {
    now: () => time,
    advance: (ms) => {
      time += ms;
    },
  };
}

describe("RateLimiter", () => {
  test("RateLimiter.take() allows a burst, then refuses with the seconds until the next token", (t) => {
    const clock = manualClock();
    const limiter = new RateLimiter({ perSecond: 2, burst: 3, now: clock.now });
    t.after(() => limiter.close());
    assert.equal(limiter.take("a"), true);
    assert.equal(limiter.take("a"), true);
    assert.equal(limiter.take("a"), true);
    assert.equal(limiter.take("a"), 1);
    // Another key has its own bucket.
    assert.equal(limiter.take("b"), true);
    clock.advance(499);
    assert.equal(limiter.take("a"), 1);
    clock.advance(1);
    assert.equal(limiter.take("a"), true);
    assert.equal(limiter.take("a"), 1);
  });

  test("RateLimiter.take() refills lazily and never above burst", (t) => {
    const clock = manualClock();
    const limiter = new RateLimiter({ perSecond: 10, burst: 5, now: clock.now });
    t.after(() => limiter.close());
    for (let i = 0; i < 5; i++) assert.equal(limiter.take("k"), true);
    assert.notEqual(limiter.take("k"), true);
    clock.advance(3_600_000); // an hour: still only `burst` tokens
    for (let i = 0; i < 5; i++) assert.equal(limiter.take("k"), true, `take ${i}`);
    assert.notEqual(limiter.take("k"), true);
    // Over a long run the rate is perSecond: 10 per second for 10 s after the burst.
    let allowed = 0;
    for (let ms = 0; ms < 10_000; ms += 10) {
      clock.advance(10);
      if (limiter.take("k") === true) allowed++;
    }
    assert.equal(allowed, 100);
  });

  test("RateLimiter.take() answers whole seconds of at least 1 for slow rates", (t) => {
    const clock = manualClock();
    const limiter = new RateLimiter({ perSecond: 0.1, burst: 1, now: clock.now });
    t.after(() => limiter.close());
    assert.equal(limiter.take("slow"), true);
    assert.equal(limiter.take("slow"), 10);
    clock.advance(2500);
    assert.equal(limiter.take("slow"), 8);
    clock.advance(7499);
    assert.equal(limiter.take("slow"), 1);
    clock.advance(1);
    assert.equal(limiter.take("slow"), true);
    assert.equal(limiter.take("slow"), 10);
  });

  test("RateLimiter.take() keeps counting refusals against a key that keeps asking", (t) => {
    const clock = manualClock();
    const limiter = new RateLimiter({ perSecond: 1, burst: 1, now: clock.now });
    t.after(() => limiter.close());
    assert.equal(limiter.take("flood"), true);
    let allowed = 0;
    for (let i = 0; i < 1000; i++) {
      clock.advance(5);
      if (limiter.take("flood") === true) allowed++;
    }
    assert.equal(allowed, 5); // 5 s of asking every 5 ms: 5 tokens
  });

  test("RateLimiter with perSecond 0 allows everything and keeps nothing", (t) => {
    const limiter = new RateLimiter({ perSecond: 0, burst: 1 });
    t.after(() => limiter.close());
    for (let i = 0; i < 1000; i++) assert.equal(limiter.take(`k${i}`), true);
    assert.equal(limiter.size, 0);
    assert.equal(limiter.isSweeping, false);
  });

  test("RateLimiter.sweep() drops buckets that are full again and stops the timer when none is left", (t) => {
    const clock = manualClock();
    const limiter = new RateLimiter({ perSecond: 1, burst: 2, now: clock.now });
    t.after(() => limiter.close());
    assert.equal(limiter.isSweeping, false);
    limiter.take("a");
    limiter.take("a");
    assert.equal(limiter.isSweeping, true);
    clock.advance(1500);
    limiter.take("b");
    clock.advance(500);
    // "a" spent 2 tokens 2 s ago: full again. "b" spent 1 token 0.5 s ago: not yet.
    assert.equal(limiter.sweep(), 1);
    assert.equal(limiter.size, 1);
    clock.advance(500);
    assert.equal(limiter.sweep(), 1);
    assert.equal(limiter.size, 0);
    assert.equal(limiter.isSweeping, false);
    // A key that was dropped starts over with a full bucket, as it would have had anyway.
    assert.equal(limiter.take("a"), true);
    assert.equal(limiter.take("a"), true);
    assert.notEqual(limiter.take("a"), true);
  });

  test("RateLimiter.sweep() stops at the first bucket, seen longest ago, that is not full yet", (t) => {
    const clock = manualClock();
    const limiter = new RateLimiter({ perSecond: 1, burst: 5, now: clock.now });
    t.after(() => limiter.close());
    for (let i = 0; i < 5; i++) limiter.take("busy");
    limiter.take("light");
    clock.advance(2000);
    assert.equal(limiter.sweep(), 0);
    assert.equal(limiter.size, 2);
    clock.advance(3000);
    assert.equal(limiter.sweep(), 2);
  });

  test("RateLimiter holds at most maxKeys keys and forgets the least recently seen", (t) => {
    const clock = manualClock();
    const limiter = new RateLimiter({ perSecond: 1, burst: 1, maxKeys: 1000, now: clock.now });
    t.after(() => limiter.close());
    limiter.take("hot");
    for (let i = 0; i < 100_000; i++) {
      limiter.take(`cold-${i}`);
      if (i % 500 === 0) assert.notEqual(limiter.take("hot"), true, "hot stays limited");
      assert.ok(limiter.size <= 1000);
    }
    assert.equal(limiter.size, 1000);
    // cold-0 was forgotten long ago: it starts over.
    assert.equal(limiter.take("cold-0"), true);
    // The newest cold keys are still limited.
    assert.notEqual(limiter.take("cold-99999"), true);
  });

  test("RateLimiter's sweep timer does not keep the process alive", async () => {
    const moduleUrl = new URL("../../src/http/limits/rate-limit.js", import.meta.url).href;
    const script = [
      `import { RateLimiter } from ${JSON.stringify(moduleUrl)};`,
      "const limiter = new RateLimiter({ perSecond: 1, burst: 1, sweepIntervalMs: 600000 });",
      'limiter.take("k");',
      "if (!limiter.isSweeping) process.exit(2);",
    ].join("\n");
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
      stdio: "inherit",
    });
    // Only against a hung test: a loaded machine may take long to start a process.
    const timer = setTimeout(() => child.kill("SIGKILL"), HUNG_AFTER_MS);
    const [code, signal] = (await once(child, "exit")) as [number | null, string | null];
    clearTimeout(timer);
    assert.equal(signal, null, "the process had to be killed: the timer kept it alive");
    assert.equal(code, 0);
  });

  test("RateLimiter's timer sweeps by itself", (t) => {
    // The sweep is a setInterval: mocked, and the buckets' clock moved by hand.
    t.mock.timers.enable({ apis: ["setInterval"] });
    const clock = manualClock();
    const limiter = new RateLimiter({
      perSecond: 1000,
      burst: 1,
      sweepIntervalMs: 10,
      now: clock.now,
    });
    t.after(() => limiter.close());
    for (let i = 0; i < 100; i++) limiter.take(`k${i}`);
    clock.advance(1); // every bucket is full again
    t.mock.timers.tick(9);
    assert.equal(limiter.size, 100, "not before the sweep interval");
    t.mock.timers.tick(1);
    assert.equal(limiter.size, 0);
    assert.equal(limiter.isSweeping, false);
  });

  test("RateLimiter.error() is a 429 SSEHUB_ERR_RATE_LIMITED with retryAfterSeconds", () => {
    const limiter = new RateLimiter({ perSecond: 5, burst: 10 });
    const error = limiter.error(3);
    assert.equal(error.code, "SSEHUB_ERR_RATE_LIMITED");
    assert.equal(error.status, 429);
    assert.match(error.message, /^Cannot publish now: .*retry after 3 s$/);
    assert.deepEqual(error.details, { perSecond: 5, burst: 10, retryAfterSeconds: 3 });
    assert.match(limiter.error(1, "subscribe").message, /^Cannot subscribe now/);
  });

  test("RateLimiter treats keys such as __proto__ like any other key", (t) => {
    const clock = manualClock();
    const limiter = new RateLimiter({ perSecond: 1, burst: 1, now: clock.now });
    t.after(() => limiter.close());
    assert.equal(limiter.take("__proto__"), true);
    assert.equal(limiter.take("__proto__"), 1);
    assert.equal(limiter.take("constructor"), true);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  test("RateLimiter refuses invalid options", () => {
    for (const options of [
      { perSecond: -1, burst: 1 },
      { perSecond: Number.NaN, burst: 1 },
      { perSecond: Number.POSITIVE_INFINITY, burst: 1 },
      { perSecond: 1, burst: 0 },
      { perSecond: 1, burst: 0.5 },
      { perSecond: 1, burst: 1, maxKeys: 0 },
      { perSecond: 1, burst: 1, maxKeys: 1.5 },
      { perSecond: 1, burst: 1, sweepIntervalMs: 0 },
      { perSecond: "1" as unknown as number, burst: 1 },
    ]) {
      assert.throws(() => new RateLimiter(options), { code: "SSEHUB_ERR_OPTIONS_INVALID" });
    }
  });
});
