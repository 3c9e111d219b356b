import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { JWT_ALGORITHMS } from "../src/auth/jwt-algorithms.js";
import { SsehubError } from "../src/errors.js";
import { DEFAULTS, resolveOptions } from "../src/options.js";

describe("resolveOptions()", () => {
  it("returns the defaults, frozen, for no input", () => {
    const options = resolveOptions();
    assert.deepEqual(options, DEFAULTS);
    assert.ok(Object.isFrozen(options));
    assert.ok(Object.isFrozen(options.corsOrigins));
  });

  it("merges given options over the defaults", () => {
    const options = resolveOptions({ port: 0, corsOrigins: ["*"], slowConsumerPolicy: "drop" });
    assert.equal(options.port, 0);
    assert.deepEqual(options.corsOrigins, ["*"]);
    assert.equal(options.slowConsumerPolicy, "drop");
    assert.equal(options.heartbeatMs, DEFAULTS.heartbeatMs);
  });

  it("reports every problem in one error, with a hint for renamed options", () => {
    try {
      resolveOptions({ port: -1, heartbeat: 5, slowConsumerPolicy: "panic", maxQueueBytes: 1.5 });
      assert.fail("expected an error");
    } catch (error) {
      assert.ok(error instanceof SsehubError);
      assert.equal(error.code, "SSEHUB_ERR_OPTIONS_INVALID");
      assert.equal(error.name, "TypeError");
      const problems = error.details?.problems as string[];
      assert.deepEqual(problems, [
        "unknown option heartbeat: use heartbeatMs instead",
        "port must be between 0 and 65535: got -1",
        "maxQueueBytes must be an integer: got 1.5",
        'slowConsumerPolicy must be one of disconnect, drop, conflate: got "panic"',
      ]);
      assert.match(error.message, /^Cannot use options: unknown option heartbeat/);
    }
  });

  it("accepts every algorithm the token verifier accepts, Ed25519 included, and no other", () => {
    for (const algorithm of JWT_ALGORITHMS) {
      const options = resolveOptions({
        publisherJwtAlgorithm: algorithm,
        subscriberJwtAlgorithm: algorithm,
      });
      assert.equal(options.publisherJwtAlgorithm, algorithm);
    }
    assert.ok((JWT_ALGORITHMS as readonly string[]).includes("Ed25519"));
    assert.throws(() => resolveOptions({ publisherJwtAlgorithm: "none" as never }), {
      code: "SSEHUB_ERR_OPTIONS_INVALID",
    });
  });

  it("rejects input that is not an object", () => {
    assert.throws(() => resolveOptions("port=1"), { code: "SSEHUB_ERR_OPTIONS_INVALID" });
  });
});
