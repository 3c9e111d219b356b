/**
 * The start-up line of `ssehub serve`, read from the first lines of a real process, and the
 * facts it is made of.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SERVE_COMMAND_OPTIONS } from "../../src/cli/serve-options.js";
import {
  redactUrlPassword,
  STARTUP_MESSAGE_PREFIX,
  startupFacts,
  startupMessage,
} from "../../src/cli/startup-line.js";
import { logLine, ssehub } from "../helpers/ssehub-process.js";

function isStartupLine(entry: { msg?: string }): boolean {
  return entry.msg?.startsWith(STARTUP_MESSAGE_PREFIX) === true;
}

describe("the start-up line", () => {
  it("says what runs, among the first lines of ssehub serve", async (t) => {
    const run = ssehub(t, [
      "serve",
      "--port",
      "0",
      "--publisher-jwt-key",
      "a-secret-of-at-least-32-bytes-long!!",
      "--anonymous-subscribe",
      "false",
      "--cors-origins",
      "https://app.example",
      "--max-connections",
      "100",
      "--max-publishes-per-second",
      "50",
      "--access-log",
    ]);
    const line = await logLine(run, isStartupLine);
    assert.ok(run.stdout.findIndex((l) => isStartupLine(JSON.parse(l))) < 3, run.stdout.join("\n"));
    assert.match(String(line.url), /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(line.workers, 1);
    assert.equal(line.bus, "local");
    assert.deepEqual(line.history, {
      store: "memory",
      maxEventsPerTopic: 1000,
      maxAgeMs: 3_600_000,
    });
    assert.deepEqual(line.auth, {
      publish: "jwt-key",
      anonymousPublish: false,
      subscribe: "off",
      anonymousSubscribe: false,
    });
    assert.deepEqual(line.corsOrigins, ["https://app.example"]);
    assert.deepEqual(line.limits, {
      maxConnections: 100,
      maxConnectionsPerIp: 0,
      maxPublishesPerSecond: 50,
      maxBodyBytes: 1_048_576,
    });
    assert.equal(line.admin, "closed");
    assert.equal(line.tls, false);
    assert.equal(line.accessLog, true);
    assert.ok(!run.stdout.join("\n").includes("a-secret-of"), "no key in the log");
    assert.match(
      String(line.msg),
      /1 process; bus local; history memory \(1000 events per topic, 1 h\)/,
    );
    assert.match(String(line.msg), /publish: token \(JWT key\); subscribe: no token needed/);
    assert.match(String(line.msg), /admin closed; TLS off$/);
  });

  it("comes once from the primary of --workers, when every worker listens", async (t) => {
    const run = ssehub(t, ["serve", "--port", "0", "--workers", "2"]);
    const line = await logLine(run, isStartupLine);
    assert.equal(line.workers, 2);
    assert.equal(line.bus, "cluster");
    assert.equal(line.admin, "open");
    assert.match(String(line.url), /^http:\/\/127\.0\.0\.1:[1-9]\d*$/);
    assert.equal(run.stdout.filter((l) => isStartupLine(JSON.parse(l))).length, 1);
  });

  it("names the Redis bus and store without the URL's password", () => {
    const options = SERVE_COMMAND_OPTIONS.defaults;
    const facts = startupFacts(
      { ...options, redis: "redis://user:hunter2@redis.internal:6379/0", redisPrefix: "app" },
      "http://127.0.0.1:8080",
    );
    assert.equal(facts.bus, "redis");
    assert.equal(facts.history.store, "redis");
    assert.deepEqual(facts.redis, {
      url: "redis://user:***@redis.internal:6379/0",
      prefix: "app",
      logMaxEvents: 100_000,
    });
    assert.ok(!startupMessage(facts).includes("hunter2"));
    assert.match(startupMessage(facts), /bus redis redis:\/\/user:\*\*\*@redis\.internal:6379\/0/);
  });

  it("names the data directory when history is on disk", () => {
    const facts = startupFacts(
      { ...SERVE_COMMAND_OPTIONS.defaults, dataDir: "/var/lib/ssehub" },
      "http://127.0.0.1:8080",
    );
    assert.deepEqual(
      [facts.bus, facts.history.store, facts.history.dataDir],
      ["local", "disk", "/var/lib/ssehub"],
    );
    assert.match(startupMessage(facts), /bus local; history disk \/var\/lib\/ssehub \(1000 events/);
  });

  it("redacts the password of every form of Redis URL", () => {
    const cases: [string, string][] = [
      ["redis://127.0.0.1:6379", "redis://127.0.0.1:6379"],
      ["redis://:pw@h:1", "redis://:***@h:1"],
      ["rediss://u:p@ss@h:1", "rediss://u:***@h:1"],
      ["redis+sentinel://:pw@h1:1,h2:2/main", "redis+sentinel://:***@h1:1,h2:2/main"],
      ["redis+cluster://u:pw@h1:1,h2:2", "redis+cluster://u:***@h1:1,h2:2"],
    ];
    for (const [url, redacted] of cases) assert.equal(redactUrlPassword(url), redacted, url);
  });
});
