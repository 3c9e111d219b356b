import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { SsehubError } from "../../src/errors.js";
import {
  type ConnectionLease,
  ConnectionLimiter,
  DEFAULT_CONNECTION_RETRY_AFTER_SECONDS,
} from "../../src/http/limits/connection-limits.js";

function acquire(limiter: ConnectionLimiter, address: string): ConnectionLease {
  const lease = limiter.tryAcquire(address);
  if (lease instanceof SsehubError) assert.fail(`expected a lease, got ${lease.message}`);
  return lease;
}

function refusal(limiter: ConnectionLimiter, address: string): SsehubError {
  const result = limiter.tryAcquire(address);
  assert.ok(result instanceof SsehubError, `expected a refusal for ${address}`);
  return result;
}

describe("ConnectionLimiter", () => {
  test("ConnectionLimiter.tryAcquire() refuses past maxPerAddress, naming the per-address limit", () => {
    const limiter = new ConnectionLimiter({ maxTotal: 0, maxPerAddress: 2 });
    acquire(limiter, "192.0.2.1");
    acquire(limiter, "192.0.2.1");
    const error = refusal(limiter, "192.0.2.1");
    assert.equal(error.code, "SSEHUB_ERR_TOO_MANY_CONNECTIONS");
    assert.equal(error.status, 429);
    assert.match(error.message, /^Cannot open another connection from 192\.0\.2\.1: .*per client/);
    assert.deepEqual(error.details, {
      limit: "per-address",
      max: 2,
      retryAfterSeconds: DEFAULT_CONNECTION_RETRY_AFTER_SECONDS,
    });
    // Another address is not affected.
    acquire(limiter, "192.0.2.2");
    assert.equal(limiter.total, 3);
  });

  test("ConnectionLimiter.tryAcquire() refuses past maxTotal, naming the total limit", () => {
    const limiter = new ConnectionLimiter({ maxTotal: 3, maxPerAddress: 0, retryAfterSeconds: 7 });
    for (const address of ["a", "b", "c"]) acquire(limiter, address);
    const error = refusal(limiter, "d");
    assert.equal(error.code, "SSEHUB_ERR_TOO_MANY_CONNECTIONS");
    assert.match(error.message, /in total/);
    assert.deepEqual(error.details, { limit: "total", max: 3, retryAfterSeconds: 7 });
    // A refusal counts nothing.
    assert.equal(limiter.total, 3);
    assert.equal(limiter.countOf("d"), 0);
    assert.equal(limiter.addressCount, 3);
  });

  test("ConnectionLimiter with both limits at 0 admits any number of connections", () => {
    const limiter = new ConnectionLimiter({ maxTotal: 0, maxPerAddress: 0 });
    const leases = Array.from({ length: 10_000 }, () => acquire(limiter, "192.0.2.1"));
    assert.equal(limiter.total, 10_000);
    for (const lease of leases) lease.release();
    assert.equal(limiter.total, 0);
  });

  test("ConnectionLease.release() frees the slot once, however often it is called", () => {
    const limiter = new ConnectionLimiter({ maxTotal: 2, maxPerAddress: 1 });
    const first = acquire(limiter, "x");
    const second = acquire(limiter, "y");
    first.release();
    first.release();
    first.release();
    assert.equal(first.isReleased, true);
    assert.equal(second.isReleased, false);
    assert.equal(limiter.total, 1);
    assert.equal(limiter.countOf("y"), 1);
    const again = acquire(limiter, "x");
    assert.equal(again.address, "x");
    // A double release of the old lease does not free the new one's slot.
    first.release();
    refusal(limiter, "x");
    refusal(limiter, "z");
  });

  test("ConnectionLimiter drops an address's entry when its last connection closes", () => {
    const limiter = new ConnectionLimiter({ maxTotal: 0, maxPerAddress: 5 });
    for (let i = 0; i < 50_000; i++) acquire(limiter, `198.51.${i >> 8}.${i & 255}`).release();
    assert.equal(limiter.addressCount, 0);
    assert.equal(limiter.total, 0);
    const a = acquire(limiter, "a");
    const b = acquire(limiter, "a");
    assert.equal(limiter.addressCount, 1);
    a.release();
    assert.equal(limiter.countOf("a"), 1);
    b.release();
    assert.equal(limiter.addressCount, 0);
  });

  test("ConnectionLimiter keeps its counts exact under random acquires and releases", () => {
    const limiter = new ConnectionLimiter({ maxTotal: 40, maxPerAddress: 4 });
    let state = 12345;
    const next = (n: number): number => {
      state = (state * 1103515245 + 12345) & 0x7fffffff;
      return state % n;
    };
    const open: ConnectionLease[] = [];
    const model = new Map<string, number>();
    for (let step = 0; step < 20_000; step++) {
      if (open.length > 0 && next(3) === 0) {
        const lease = open.splice(next(open.length), 1)[0]!;
        lease.release();
        if (next(4) === 0) lease.release(); // a second close path
        const held = model.get(lease.address)! - 1;
        if (held === 0) model.delete(lease.address);
        else model.set(lease.address, held);
      } else {
        const address = `addr-${next(16)}`;
        const held = model.get(address) ?? 0;
        const result = limiter.tryAcquire(address);
        const shouldAdmit = held < 4 && open.length < 40;
        assert.equal(!(result instanceof SsehubError), shouldAdmit, `step ${step}`);
        if (!(result instanceof SsehubError)) {
          open.push(result);
          model.set(address, held + 1);
        }
      }
      assert.equal(limiter.total, open.length);
      assert.equal(limiter.addressCount, model.size);
    }
  });

  test("ConnectionLimiter refuses limits that are not whole numbers from 0 up", () => {
    for (const limits of [
      { maxTotal: -1, maxPerAddress: 0 },
      { maxTotal: 1.5, maxPerAddress: 0 },
      { maxTotal: 0, maxPerAddress: Number.NaN },
      { maxTotal: 0, maxPerAddress: Number.POSITIVE_INFINITY },
      { maxTotal: "10" as unknown as number, maxPerAddress: 0 },
      { maxTotal: 0, maxPerAddress: 0, retryAfterSeconds: 0 },
      { maxTotal: 0, maxPerAddress: 0, retryAfterSeconds: 0.5 },
    ]) {
      assert.throws(() => new ConnectionLimiter(limits), { code: "SSEHUB_ERR_OPTIONS_INVALID" });
    }
  });

  test("ConnectionLimiter counts keys such as __proto__ like any other address", () => {
    const limiter = new ConnectionLimiter({ maxTotal: 0, maxPerAddress: 1 });
    const lease = acquire(limiter, "__proto__");
    refusal(limiter, "__proto__");
    acquire(limiter, "constructor").release();
    lease.release();
    assert.equal(limiter.addressCount, 0);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });
});
