/**
 * The `redis` option: every URL form of the table in src/bus/redis-connection.ts parsed to its
 * target, each refusal with its reason, and the password masked wherever the URL is shown.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseRedisUrl, type RedisTarget, redactPassword } from "../../src/bus/redis-connection.js";
import { SsehubError } from "../../src/errors.js";

/** The error parseRedisUrl throws for `url` (fails the test if it parses). */
function refusal(url: string): SsehubError {
  try {
    parseRedisUrl(url);
  } catch (error) {
    assert.ok(error instanceof SsehubError, `a SsehubError, got ${String(error)}`);
    return error;
  }
  assert.fail(`expected ${JSON.stringify(url)} to be refused`);
}

const ANY_FORM =
  "redis must be redis://host:port, rediss://, redis+sentinel://host:port,.../master or " +
  "redis+cluster://host:port,...";

describe("parseRedisUrl()", () => {
  it("reads each form of the table to its target", () => {
    const cases: [string, RedisTarget][] = [
      ["redis://127.0.0.1:6379", { kind: "single", url: "redis://127.0.0.1:6379", tls: false }],
      [
        "redis://user:secret@10.0.0.5:6380/2",
        { kind: "single", url: "redis://user:secret@10.0.0.5:6380/2", tls: false },
      ],
      [
        "rediss://cache.example:6380",
        { kind: "single", url: "rediss://cache.example:6380", tls: true },
      ],
      [
        "redis+sentinel://10.0.0.1:26379/mymaster",
        {
          kind: "sentinel",
          sentinels: [{ host: "10.0.0.1", port: 26379 }],
          master: "mymaster",
          db: 0,
          username: undefined,
          password: undefined,
        },
      ],
      [
        "redis+sentinel://user:secret@s1:26379,s2:26380,s3:26381/mymaster/3",
        {
          kind: "sentinel",
          sentinels: [
            { host: "s1", port: 26379 },
            { host: "s2", port: 26380 },
            { host: "s3", port: 26381 },
          ],
          master: "mymaster",
          db: 3,
          username: "user",
          password: "secret",
        },
      ],
      [
        "redis+cluster://10.0.0.1:7000",
        {
          kind: "cluster",
          nodes: [{ host: "10.0.0.1", port: 7000 }],
          username: undefined,
          password: undefined,
        },
      ],
      [
        "redis+cluster://user:secret@n1:7000,n2:7001,n3:7002",
        {
          kind: "cluster",
          nodes: [
            { host: "n1", port: 7000 },
            { host: "n2", port: 7001 },
            { host: "n3", port: 7002 },
          ],
          username: "user",
          password: "secret",
        },
      ],
    ];
    for (const [url, target] of cases) assert.deepEqual(parseRedisUrl(url), target, url);
  });

  it("takes the scheme in any case", () => {
    assert.deepEqual(parseRedisUrl("REDISS://h:6380"), {
      kind: "single",
      url: "REDISS://h:6380",
      tls: true,
    });
    assert.equal(parseRedisUrl("Redis+Cluster://h:7000").kind, "cluster");
    assert.equal(parseRedisUrl("REDIS+SENTINEL://h:26379/m").kind, "sentinel");
  });

  it("percent-decodes the user, the password and the master name", () => {
    assert.deepEqual(
      parseRedisUrl("redis+sentinel://us%3Aer:p%40ss%2Fw%3Ard%25@h:26379/my%20master"),
      {
        kind: "sentinel",
        sentinels: [{ host: "h", port: 26379 }],
        master: "my master",
        db: 0,
        username: "us:er",
        password: "p@ss/w:rd%",
      },
    );
    const cluster = parseRedisUrl("redis+cluster://%C3%A9l%C3%A8ve:%E2%82%AC%20x@h:7000");
    assert.ok(cluster.kind === "cluster");
    assert.equal(cluster.username, "élève");
    assert.equal(cluster.password, "€ x");
  });

  it("reads a password alone, a user alone, and an unencoded @ in the password", () => {
    const passwordOnly = parseRedisUrl("redis+cluster://:secret@h:7000");
    assert.ok(passwordOnly.kind === "cluster");
    assert.deepEqual([passwordOnly.username, passwordOnly.password], [undefined, "secret"]);
    const userOnly = parseRedisUrl("redis+sentinel://alice@h:26379/m");
    assert.ok(userOnly.kind === "sentinel");
    assert.deepEqual([userOnly.username, userOnly.password], ["alice", undefined]);
    // The credentials run to the last @.
    const rawAt = parseRedisUrl("redis+sentinel://u:p@ss@h:26379/m");
    assert.ok(rawAt.kind === "sentinel");
    assert.deepEqual([rawAt.username, rawAt.password], ["u", "p@ss"]);
  });

  it("takes IPv6 addresses in brackets, without the brackets in the target", () => {
    assert.deepEqual(parseRedisUrl("redis+cluster://[::1]:7000,[fe80::1]:7001"), {
      kind: "cluster",
      nodes: [
        { host: "::1", port: 7000 },
        { host: "fe80::1", port: 7001 },
      ],
      username: undefined,
      password: undefined,
    });
    const sentinel = parseRedisUrl("redis+sentinel://[2001:db8::7]:26379,10.0.0.2:26379/m");
    assert.ok(sentinel.kind === "sentinel");
    assert.deepEqual(sentinel.sentinels, [
      { host: "2001:db8::7", port: 26379 },
      { host: "10.0.0.2", port: 26379 },
    ]);
    assert.deepEqual(parseRedisUrl("redis://[::1]:6379"), {
      kind: "single",
      url: "redis://[::1]:6379",
      tls: false,
    });
  });

  it("takes a trailing slash after a cluster's seed nodes", () => {
    assert.deepEqual(
      parseRedisUrl("redis+cluster://h:7000/"),
      parseRedisUrl("redis+cluster://h:7000"),
    );
  });

  it("takes ports 1 to 65535", () => {
    const target = parseRedisUrl("redis+cluster://a:1,b:65535");
    assert.ok(target.kind === "cluster");
    assert.deepEqual(
      target.nodes.map((n) => n.port),
      [1, 65535],
    );
  });

  it("refuses each malformed URL with SSEHUB_ERR_OPTIONS_INVALID and its reason", () => {
    const cases: [string, string][] = [
      ["http://h:6379", "unknown scheme"],
      ["h:6379", "unknown scheme"],
      ["redis+tls://h:6379", "unknown scheme"],
      ["", "unknown scheme"],
      ["redis://", "no host"],
      ["redis://h:99999", "not a URL"],
      ["redis+cluster://", '"" is not host:port'],
      ["redis+cluster://h", '"h" is not host:port'],
      ["redis+cluster://h:7000,", '"" is not host:port'],
      ["redis+cluster://h:0", '"h:0" is not host:port'],
      ["redis+cluster://h:65536", '"h:65536" is not host:port'],
      ["redis+cluster://h:port", '"h:port" is not host:port'],
      ["redis+cluster://::1:7000", '"::1:7000" is not host:port'],
      ["redis+cluster://[::1:7000", '"[::1:7000" is not host:port'],
      ["redis+cluster://h:7000/0", "a cluster URL has no path (Redis Cluster has no db)"],
      ["redis+sentinel://h:26379", "no master name"],
      ["redis+sentinel://h:26379/", "no master name"],
      ["redis+sentinel://h:26379//0", "no master name"],
      ["redis+sentinel://h:26379/m/x", "the path must be /master[/db]"],
      ["redis+sentinel://h:26379/m/-1", "the path must be /master[/db]"],
      ["redis+sentinel://h:26379/m/0/1", "the path must be /master[/db]"],
      ["redis+sentinel://h/m", '"h" is not host:port'],
      ["redis+sentinel://h:26379/m%zz", "the master name has a malformed percent-escape"],
      ["redis+sentinel://u%zz@h:26379/m", "the user has a malformed percent-escape"],
      ["redis+cluster://u:%zz@h:7000", "the password has a malformed percent-escape"],
    ];
    for (const [url, reason] of cases) {
      const error = refusal(url);
      assert.equal(error.code, "SSEHUB_ERR_OPTIONS_INVALID", url);
      assert.equal(
        error.message,
        `${ANY_FORM}: ${reason} in ${JSON.stringify(redactPassword(url))}`,
      );
    }
  });

  it("never puts the password in the error message", () => {
    const password = "Sup3r/S@cret:pw";
    const encoded = encodeURIComponent(password);
    const urls = [
      `redis+cluster://user:${encoded}@h`,
      `redis+cluster://user:${encoded}@h:7000/0`,
      `redis+sentinel://user:${encoded}@h:26379`,
      `redis+sentinel://:${encoded}@h:26379/m/x`,
      `redis://user:${encoded}@`,
      `rediss://user:${encoded}@h:99999`,
      `http://user:${encoded}@h:6379`,
      // Unencoded, the password's own @, / and : must not let part of it through.
      `redis+cluster://user:${password}@h`,
      `redis+sentinel://user:${password}@h:26379/m/x`,
      `redis://user:${password}@h:6379`,
      `user:${password}@h:6379`,
      `redis+cluster://user:${encoded}%zz@h:7000`,
    ];
    const pieces = ["Sup3r", "cret", encoded];
    for (const url of urls) {
      const { message } = refusal(url);
      for (const piece of pieces) {
        assert.ok(!message.includes(piece), `${JSON.stringify(piece)} in: ${message}`);
      }
      assert.match(message, /:\*\*\*@/, message);
    }
  });
});

describe("redactPassword()", () => {
  it("masks the password of every form, and only the password", () => {
    const cases: [string, string][] = [
      ["redis://user:secret@h:6379/0", "redis://user:***@h:6379/0"],
      ["rediss://:secret@h:6380", "rediss://:***@h:6380"],
      [
        "redis+sentinel://u:secret@s1:26379,s2:26379/m/1",
        "redis+sentinel://u:***@s1:26379,s2:26379/m/1",
      ],
      ["redis+cluster://u:p%40ss@n1:7000,n2:7001", "redis+cluster://u:***@n1:7000,n2:7001"],
      ["redis://u:secret@[::1]:6379", "redis://u:***@[::1]:6379"],
      // The credentials run to the last @, as parseRedisUrl reads them.
      ["redis+cluster://u:p@ss/w:rd@n1:7000", "redis+cluster://u:***@n1:7000"],
      // Without a scheme, from the start.
      ["u:secret@h:6379", "u:***@h:6379"],
    ];
    for (const [url, redacted] of cases) assert.equal(redactPassword(url), redacted, url);
  });

  it("leaves a URL without a password as it is", () => {
    for (const url of [
      "redis://h:6379",
      "redis://user@h:6379",
      "redis+sentinel://alice@s1:26379,s2:26379/m",
      "redis+cluster://[::1]:7000,[::1]:7001",
      "rediss://h",
      "",
    ]) {
      assert.equal(redactPassword(url), url);
    }
  });
});
