import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type ParsedBenchArgs, parseBenchArgs } from "../../src/cli/commands/bench.js";
import { resolveBenchOptions } from "../../src/loadgen/bench-options.js";

function parsed(argv: string[]): ParsedBenchArgs {
  const result = parseBenchArgs(argv);
  assert.notEqual(result, "help");
  return result as ParsedBenchArgs;
}

describe("parseBenchArgs()", () => {
  test("parseBenchArgs() maps one --url onto a list of one", () => {
    const { options, format } = parsed(["fanout", "--url", "http://127.0.0.1:8090", "--json"]);
    assert.equal(options.scenario, "fanout");
    assert.deepEqual(options.urls, ["http://127.0.0.1:8090"]);
    assert.equal(options.url, undefined);
    assert.equal(format, "json");
    const resolved = resolveBenchOptions(options);
    assert.equal(resolved.target.url, "http://127.0.0.1:8090");
    assert.equal(resolved.targets.length, 1);
  });

  test("parseBenchArgs() keeps repeated --url flags in their order, the first to publish to", () => {
    const { options } = parsed([
      "churn",
      "--target",
      "ssehub",
      "--url",
      "http://127.0.0.1:8093",
      "--subscribers",
      "200",
      "--url",
      "http://127.0.0.1:8094",
      "--server-pid",
      "41",
      "--server-pid",
      "42",
    ]);
    assert.deepEqual(options.urls, ["http://127.0.0.1:8093", "http://127.0.0.1:8094"]);
    assert.deepEqual(options.serverPids, [41, 42]);
    assert.equal(options.subscribers, 200);
    const resolved = resolveBenchOptions(options);
    assert.equal(resolved.target.url, "http://127.0.0.1:8093");
    assert.deepEqual(
      resolved.targets.map((spec) => `${spec.name} ${spec.url}`),
      ["ssehub http://127.0.0.1:8093", "ssehub http://127.0.0.1:8094"],
    );
  });

  test("parseBenchArgs() without --url leaves the default to resolveBenchOptions()", () => {
    const { options } = parsed(["idle"]);
    assert.equal(options.urls, undefined);
    assert.deepEqual(
      resolveBenchOptions(options).targets.map((spec) => spec.url),
      ["http://127.0.0.1:8080"],
    );
  });

  test("parseBenchArgs() refuses a --url without a value and a bad --server-pid", () => {
    assert.throws(
      () => parseBenchArgs(["fanout", "--url"]),
      (error: Error & { code?: string }) =>
        error.code === "SSEHUB_ERR_OPTIONS_INVALID" && /--url/.test(error.message),
    );
    assert.throws(
      () => parseBenchArgs(["fanout", "--server-pid", "x"]),
      /Cannot use --server-pid "x": give a process id/,
    );
  });

  test("parseBenchArgs() answers help for --help", () => {
    assert.equal(parseBenchArgs(["--help"]), "help");
  });

  test("parseBenchArgs() maps the faults flags, and refuses an unknown fault or a Redis off loopback", () => {
    const { options } = parsed([
      "faults",
      "--faults",
      "pause-redis,kill-worker",
      "--fault-interval-ms",
      "3000",
      "--pause-ms",
      "1500",
      "--redis-url",
      "redis://127.0.0.1:6390",
      "--redis-pid",
      "4242",
      "--redis-restart-command",
      "redis-server --port 6390",
    ]);
    const resolved = resolveBenchOptions(options);
    assert.deepEqual(resolved.faults, ["pause-redis", "kill-worker"]);
    assert.equal(resolved.faultIntervalMs, 3000);
    assert.equal(resolved.pauseMs, 1500);
    assert.equal(resolved.redisUrl, "redis://127.0.0.1:6390");
    assert.equal(resolved.redisPid, 4242);
    assert.equal(resolved.redisRestartCommand, "redis-server --port 6390");
    assert.equal(resolved.maxLost, null, "faults report losses, they do not fail on them");

    const defaults = resolveBenchOptions(parsed(["faults"]).options);
    assert.deepEqual(defaults.faults, ["kill-worker", "pause-redis", "restart-redis"]);

    assert.throws(() => parseBenchArgs(["faults", "--faults", "kill-primary"]), /kill-primary/);
    assert.throws(() => parseBenchArgs(["faults", "--redis-pid", "1"]), /--redis-pid/);
    assert.throws(
      () => resolveBenchOptions(parsed(["faults", "--redis-url", "redis://10.1.2.3:6379"]).options),
      /not on loopback/,
    );
    assert.throws(
      () => resolveBenchOptions(parsed(["fanout", "--faults", "kill-worker"]).options),
      /faults apply to the faults scenario/,
    );
  });
});
