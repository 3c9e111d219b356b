import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { resolveBenchOptions } from "../../src/loadgen/bench-options.js";
import { createTarget, isLoopbackHost } from "../../src/loadgen/targets.js";

describe("createTarget", () => {
  test("ssehub subscribes by path for one topic and by query for several", () => {
    const target = createTarget({ name: "ssehub", url: "http://127.0.0.1:8080/hub/" });
    assert.equal(target.subscribePath(["a b"]), "/hub/events/a%20b");
    assert.equal(target.subscribePath(["a", "b"]), "/hub/events?topic=a&topic=b");
    const request = target.publishRequest("a", "s=1");
    assert.equal(request.path, "/hub/publish");
    assert.deepEqual(JSON.parse(request.body), { topic: "a", data: "s=1" });
    assert.equal(target.resume.name, "Last-Event-ID");
  });

  test("nchan and better-sse publish the data as the raw body", () => {
    const nchan = createTarget({ name: "nchan", url: "http://127.0.0.1:8081" });
    assert.equal(nchan.subscribePath(["t"]), "/sub/t");
    assert.equal(nchan.publishRequest("t", "s=1").path, "/pub/t");
    assert.equal(nchan.publishRequest("t", "s=1").body, "s=1");
    const betterSse = createTarget({ name: "better-sse", url: "http://localhost:8082" });
    assert.equal(betterSse.subscribePath(["t"]), "/events/t");
    assert.equal(betterSse.publishRequest("t", "s=1").path, "/publish/t");
    assert.equal(betterSse.subscribe.host, "127.0.0.1");
    assert.equal(betterSse.subscribe.hostHeader, "localhost:8082");
  });

  test("custom fills {topic} into both templates and can wrap the data as ssehub JSON", () => {
    const target = createTarget({
      name: "custom",
      url: "http://127.0.0.1:1",
      subscribeUrl: "http://127.0.0.1:9000/sse/{topic}?x=1",
      publishUrl: "http://127.0.0.2:9001/pub?topic={topic}",
      publishBody: "ssehub-json",
    });
    assert.equal(target.subscribe.port, 9000);
    assert.equal(target.subscribePath(["t/1"]), "/sse/t%2F1?x=1");
    assert.equal(target.publish.host, "127.0.0.2");
    assert.equal(target.publishRequest("t", "d").path, "/pub?topic=t");
    assert.deepEqual(JSON.parse(target.publishRequest("t", "d").body), { topic: "t", data: "d" });
  });

  test("a URL off loopback is refused with SSEHUB_ERR_OPTIONS_INVALID", () => {
    for (const url of ["http://10.0.0.1:8080", "http://example.com", "http://128.0.0.1"]) {
      assert.throws(
        () => createTarget({ name: "ssehub", url }),
        (error: Error & { code?: string }) =>
          error.code === "SSEHUB_ERR_OPTIONS_INVALID" &&
          /loopback addresses only/.test(error.message),
      );
    }
    assert.throws(
      () =>
        createTarget({
          name: "custom",
          url: "http://127.0.0.1",
          subscribeUrl: "http://127.0.0.1/{topic}",
          publishUrl: "http://192.168.1.1/{topic}",
        }),
      /loopback addresses only/,
    );
  });

  test("isLoopbackHost() accepts 127.0.0.0/8, ::1 and localhost only", () => {
    assert.ok(isLoopbackHost("127.0.0.1"));
    assert.ok(isLoopbackHost("127.255.1.9"));
    assert.ok(isLoopbackHost("[::1]"));
    assert.ok(isLoopbackHost("LOCALHOST"));
    assert.ok(!isLoopbackHost("127.0.0.256"));
    assert.ok(!isLoopbackHost("0.0.0.0"));
    assert.ok(!isLoopbackHost("::ffff:10.0.0.1"));
  });
});

describe("resolveBenchOptions", () => {
  test("applies the scenario's defaults", () => {
    const options = resolveBenchOptions({ scenario: "fanout" });
    assert.equal(options.subscribers, 100);
    assert.equal(options.rate, 100);
    assert.equal(options.processes, 1);
    assert.deepEqual(options.sourceAddresses, ["127.0.0.1"]);
    assert.equal(options.maxLost, null);
    assert.equal(resolveBenchOptions({ scenario: "churn" }).maxLost, 0);
  });

  test("spreads many subscribers over processes and source addresses", () => {
    const options = resolveBenchOptions({ scenario: "idle", subscribers: 60_000 });
    assert.equal(options.processes, 4);
    assert.deepEqual(options.sourceAddresses, ["127.0.0.1", "127.0.0.2", "127.0.0.3"]);
    const ipv6 = resolveBenchOptions({ scenario: "idle", url: "http://[::1]:8080" });
    assert.deepEqual(ipv6.sourceAddresses, []);
  });

  test("reports every problem in one error", () => {
    assert.throws(
      () =>
        resolveBenchOptions({
          scenario: "idle",
          subscribers: 40_000,
          processes: 1,
          sizeBytes: 0,
          ladder: true,
        }),
      (error: Error & { code?: string }) =>
        error.code === "SSEHUB_ERR_OPTIONS_INVALID" &&
        /at most 18000 subscribers each/.test(error.message) &&
        /sizeBytes/.test(error.message) &&
        /ladder applies to fanout and topics/.test(error.message),
    );
  });

  test("starts topic names with bench- unless told, and refuses a prefix with spaces", () => {
    assert.equal(resolveBenchOptions({ scenario: "fanout" }).topicPrefix, "bench-");
    assert.equal(
      resolveBenchOptions({ scenario: "fanout", topicPrefix: "alerts/" }).topicPrefix,
      "alerts/",
    );
    assert.throws(
      () => resolveBenchOptions({ scenario: "fanout", topicPrefix: "a b" }),
      /topicPrefix must be at most 100 printable ASCII characters/,
    );
  });

  test("topics per subscriber are bounded by what the target accepts", () => {
    assert.throws(
      () =>
        resolveBenchOptions({
          scenario: "topics",
          target: "nchan",
          topics: 10,
          topicsPerSubscriber: 2,
        }),
      /topicsPerSubscriber must be an integer from 1 to 1/,
    );
  });
  test("takes several URLs of one target kind, the first one publishing", () => {
    const options = resolveBenchOptions({
      scenario: "churn",
      target: "nchan",
      urls: ["http://127.0.0.1:8093", "http://localhost:8094/hub"],
    });
    assert.deepEqual(
      options.targets.map((spec) => [spec.name, spec.url]),
      [
        ["nchan", "http://127.0.0.1:8093"],
        ["nchan", "http://localhost:8094/hub"],
      ],
    );
    assert.equal(options.target, options.targets[0]);
    assert.deepEqual(
      resolveBenchOptions({ scenario: "idle", url: "http://127.0.0.1:9000" }).targets.map(
        (spec) => spec.url,
      ),
      ["http://127.0.0.1:9000"],
    );
    assert.deepEqual(
      resolveBenchOptions({ scenario: "idle" }).targets.map((spec) => spec.url),
      ["http://127.0.0.1:8080"],
    );
  });

  test("refuses URL lists that cannot be spread over", () => {
    const refuses = (input: Parameters<typeof resolveBenchOptions>[0], pattern: RegExp): void => {
      assert.throws(
        () => resolveBenchOptions(input),
        (error: Error & { code?: string }) =>
          error.code === "SSEHUB_ERR_OPTIONS_INVALID" && pattern.test(error.message),
      );
    };
    refuses(
      { scenario: "idle", url: "http://127.0.0.1:1", urls: ["http://127.0.0.1:2"] },
      /give url or urls, not both/,
    );
    refuses({ scenario: "idle", urls: [] }, /at least one URL/);
    refuses(
      { scenario: "idle", urls: ["http://127.0.0.1:1", "http://127.0.0.1:1"] },
      /urls must differ: "http:\/\/127\.0\.0\.1:1" is given twice/,
    );
    refuses(
      { scenario: "idle", urls: ["http://127.0.0.1:1", "http://10.0.0.1:2"] },
      /loopback addresses only/,
    );
    refuses(
      { scenario: "idle", urls: ["http://127.0.0.1:1", "http://[::1]:2"] },
      /must all be IPv4 .* or all IPv6/,
    );
    refuses(
      {
        scenario: "idle",
        target: "custom",
        urls: ["http://127.0.0.1:1", "http://127.0.0.1:2"],
        subscribeUrl: "http://127.0.0.1:9000/sse/{topic}",
        publishUrl: "http://127.0.0.1:9000/pub/{topic}",
      },
      /custom target takes its URLs from --subscribe-url/,
    );
  });
});
