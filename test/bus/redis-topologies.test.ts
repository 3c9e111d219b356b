/**
 * The Redis engine on the topologies docs/redis.md promises besides one server: a Redis Cluster
 * (`redis+cluster://`) and a master found through Sentinel (`redis+sentinel://`), each run for
 * real on loopback. The bus and history conformance suites pass on both; on the cluster every
 * key of a hub sits in one slot of one node; through Sentinel the engine uses the db of the URL
 * and follows a failover to the promoted replica.
 */
import assert from "node:assert/strict";
import { after, before, describe, it, type TestContext } from "node:test";
import type { BusRestartReason, BusStart } from "../../src/bus/bus.js";
import { connectRedisEngine, type RedisEngine } from "../../src/bus/redis-engine.js";
import { isSsehubError } from "../../src/errors.js";
import type { StoredEvent } from "../../src/history/history-store.js";
import { RedisKeys } from "../../src/history/redis-streams.js";
import type { SequencedEvent } from "../../src/history/stored-event.js";
import { toStoredEvent } from "../../src/history/stored-event.js";
import { runBusConformance } from "../conformance/bus.suite.js";
import { type HistoryFixture, runHistoryConformance } from "../conformance/history.suite.js";
import { RedisReplyError, redisCommand } from "../helpers/redis-server.js";
import {
  type RedisCluster,
  type RedisSentinel,
  sentinelMaster,
  startRedisCluster,
  startRedisSentinel,
  waitForReplicaToCatchUp,
} from "../helpers/redis-topologies.js";
import { requireTools } from "../helpers/require-tool.js";
import { HUNG_AFTER_MS, waitFor } from "../helpers/wait-for.js";

const skip = requireTools(["redis-server", "redis-cli"]);

/** Cleanups of what a suite starts once for all its tests (node:test's `before` has no `t`). */
function suiteScope(): { after(fn: () => unknown): void } {
  const cleanups: (() => unknown)[] = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });
  return { after: (fn) => cleanups.push(fn) };
}

let prefixes = 0;
/** A prefix no other fixture of this file uses: fixtures share one cluster or master. */
function freshPrefix(name: string): string {
  prefixes++;
  return `${name}-${prefixes}`;
}

interface EngineSettings {
  readonly historyMaxEvents?: number;
  readonly historyMaxAgeMs?: number;
}

function engineOptions(url: string, prefix: string, settings: EngineSettings = {}) {
  return {
    url,
    prefix,
    historyMaxEvents: settings.historyMaxEvents ?? 100,
    historyMaxAgeMs: settings.historyMaxAgeMs ?? 60_000,
    logMaxEvents: 10_000,
    // Only against a hung test: under load a connection may take long, and that is no failure.
    connectTimeoutMs: HUNG_AFTER_MS,
  };
}

async function engineOn(t: TestContext, url: string, prefix: string): Promise<RedisEngine> {
  const engine = await connectRedisEngine(engineOptions(url, prefix));
  t.after(() => engine.close());
  return engine;
}

function event(data: string, topics: string[] = ["t"]) {
  return { topics, data, event: undefined, retry: undefined };
}

/** A member that records what it is handed and when it starts over. */
function listen(engine: RedisEngine): {
  seen: SequencedEvent[];
  restarts: [BusStart, BusRestartReason][];
} {
  const seen: SequencedEvent[] = [];
  const restarts: [BusStart, BusRestartReason][] = [];
  engine.bus.start(
    (events) => seen.push(...events),
    (start, reason) => restarts.push([start, reason]),
  );
  return { seen, restarts };
}

/** Runs both conformance suites against the Redis at `url()` (known once `before` ran). */
function runConformance(name: string, url: () => string): void {
  runBusConformance(
    `RedisBus ${name}`,
    async (members, t) => {
      const prefix = freshPrefix("bus");
      const engines = await Promise.all(
        Array.from({ length: members }, () => engineOn(t, url(), prefix)),
      );
      return {
        buses: engines.map((engine) => engine.bus),
        close: async () => {
          await Promise.all(engines.map((engine) => engine.close()));
        },
      };
    },
    3,
  );

  runHistoryConformance(
    `RedisHistory ${name} (through the node that published, and one that joined later)`,
    async (limits): Promise<HistoryFixture> => {
      const options = engineOptions(url(), freshPrefix("history"), {
        historyMaxEvents: limits.maxEvents,
        historyMaxAgeMs: limits.maxAgeMs,
      });
      const engines: RedisEngine[] = [await connectRedisEngine(options)];
      const publisher = engines[0]!;
      const stored: StoredEvent[] = [];
      publisher.bus.start((events) => {
        for (const event of events) {
          const kept = toStoredEvent(publisher.bus.epoch, event);
          publisher.history.append(kept);
          stored.push(kept);
        }
      });
      return {
        async publish(events) {
          const first = await publisher.bus.publish(events);
          return stored.filter((e) => e.seq >= first);
        },
        async readers() {
          const late = await connectRedisEngine(options);
          engines.push(late);
          return [publisher.history, late.history];
        },
        close: async () => {
          await Promise.all(engines.map((engine) => engine.close()));
        },
      };
    },
  );
}

describe("The Redis engine on a Redis Cluster of 3 masters", { skip }, () => {
  const scope = suiteScope();
  let cluster: RedisCluster;
  before(async () => {
    cluster = await startRedisCluster(scope, { masters: 3 });
  });

  runConformance("on Redis Cluster", () => cluster.url);

  it("keeps every key of a hub in the slot of its prefix, on one node, however many topics", async (t) => {
    const prefix = freshPrefix("slot");
    const keys = new RedisKeys(prefix);
    const topics = Array.from({ length: 40 }, (_, i) => `topic-${i}`);
    const engine = await engineOn(t, cluster.url, prefix);
    listen(engine);
    await engine.bus.publish(topics.map((topic) => event(topic, [topic])));
    await engine.bus.publish([event("everywhere", topics)]);

    const [port] = cluster.ports;
    const keyslot = (key: string) => redisCommand(port!, ["CLUSTER", "KEYSLOT", key]);
    const slot = await keyslot(`{${prefix}}`);
    assert.equal(typeof slot, "number");
    const hubKeys = [keys.meta, keys.log, ...topics.map((topic) => keys.topic(topic))];
    for (const key of hubKeys) assert.equal(await keyslot(key), slot, `the slot of ${key}`);
    const untagged = new Set(await Promise.all(topics.map((topic) => keyslot(`t:${topic}`))));
    assert.ok(untagged.size > 1, "without the hash tag the topics would spread over slots");

    // One node holds them all; the others hold none of that slot and redirect to the owner.
    const counts = await Promise.all(
      cluster.ports.map((p) => redisCommand(p, ["CLUSTER", "COUNTKEYSINSLOT", String(slot)])),
    );
    assert.deepEqual(
      [...counts].sort((a, b) => Number(b) - Number(a)),
      [hubKeys.length, 0, 0],
      `keys of slot ${slot} per node: ${counts.join(", ")}`,
    );
    const owner = cluster.ports[counts.indexOf(hubKeys.length)]!;
    for (const key of hubKeys) {
      for (const p of cluster.ports) {
        const reply = await redisCommand(p, ["EXISTS", key]);
        if (p === owner) assert.equal(reply, 1, `${key} on its node`);
        else {
          assert.ok(reply instanceof RedisReplyError, `${key} is not on 127.0.0.1:${p}`);
          assert.equal(reply.message, `MOVED ${slot} 127.0.0.1:${owner}`);
        }
      }
    }
  });

  it("serves hubs whose slots lie on different nodes, each on its own", async (t) => {
    // Prefixes whose slots the three masters own in turn (slots 0-5460, 5461-10922, 10923-).
    const [port] = cluster.ports;
    const found = new Map<number, string>();
    for (let i = 0; found.size < 3 && i < 1000; i++) {
      const prefix = `spread-${i}`;
      const slot = Number(await redisCommand(port!, ["CLUSTER", "KEYSLOT", `{${prefix}}`]));
      const third = slot <= 5460 ? 0 : slot <= 10_922 ? 1 : 2;
      if (!found.has(third)) found.set(third, prefix);
    }
    assert.equal(found.size, 3);
    for (const prefix of found.values()) {
      const engine = await engineOn(t, cluster.url, prefix);
      const { seen } = listen(engine);
      const first = await engine.bus.publish([event(`${prefix}:a`), event(`${prefix}:b`)]);
      assert.equal(first, 1, "each hub has seqs of its own");
      assert.deepEqual(
        seen.map((e) => e.data),
        [`${prefix}:a`, `${prefix}:b`],
      );
      // A node that joins later reads the hub's history from that hub's node.
      const late = await engineOn(t, cluster.url, prefix);
      const read = await late.history.readAfter(["t"], 0);
      assert.deepEqual(
        read.events.map((e) => e.data),
        [`${prefix}:a`, `${prefix}:b`],
      );
    }
  });
});

describe("The Redis engine through Sentinel (2 sentinels)", { skip }, () => {
  const scope = suiteScope();
  let sentinel: RedisSentinel;
  before(async () => {
    sentinel = await startRedisSentinel(scope, { sentinels: 2 });
  });

  runConformance("through Sentinel", () => sentinel.url);

  it("writes to the master the sentinels name, in the db of the URL", async (t) => {
    assert.match(sentinel.url, /^redis\+sentinel:\/\/127\.0\.0\.1:\d+,127\.0\.0\.1:\d+\/mymaster$/);
    const prefix = freshPrefix("db");
    const engine = await engineOn(t, `${sentinel.url}/5`, prefix);
    listen(engine);
    await engine.bus.publish([event("x", ["a", "b"])]);
    const keyspace = await redisCommand(sentinel.masterPort, ["INFO", "keyspace"]);
    // meta, log and the two topic streams: db 5 holds only this hub.
    assert.match(String(keyspace), /^db5:keys=4,/m);
  });

  it("skips a listed sentinel that is down", async (t) => {
    // Port 1 of loopback: nothing listens there, so ioredis moves on to the next sentinel.
    const url = sentinel.url.replace("redis+sentinel://", "redis+sentinel://127.0.0.1:1,");
    const engine = await engineOn(t, url, freshPrefix("skip"));
    listen(engine);
    assert.equal(await engine.bus.publish([event("x")]), 1);
  });

  it("follows a failover: once the master dies, publishes go on, same epoch, on the promoted replica", async (t) => {
    const setup = await startRedisSentinel(t, { replicas: 1 });
    const replica = setup.replicas[0]!;
    const engine = await engineOn(t, setup.url, "failover");
    const { seen, restarts } = listen(engine);
    const epoch = engine.bus.epoch;
    const before = await engine.bus.publish([event("before")]);
    // Replication is asynchronous: make sure the replica has the event before the master dies.
    await waitForReplicaToCatchUp(setup.masterPort, replica.port);
    await setup.master.kill();
    await waitFor(
      async () =>
        (await sentinelMaster(setup.sentinelPorts[0]!, setup.masterName))?.port === replica.port,
      "the sentinel to promote the replica",
      { intervalMs: 20 },
    );
    let after = 0;
    await waitFor(
      async () => {
        try {
          after = await engine.bus.publish([event("after")]);
          return true;
        } catch (error) {
          if (!(isSsehubError(error) && error.code === "SSEHUB_ERR_BUS_UNAVAILABLE")) throw error;
          return false;
        }
      },
      "a publish to go through on the new master",
      { intervalMs: 20 },
    );
    assert.equal(after, before + 1, "the seqs go on from the replica's copy");
    assert.equal(engine.bus.epoch, epoch);
    assert.deepEqual(
      seen.map((e) => e.data),
      ["before", "after"],
    );
    assert.deepEqual(restarts, []);
    assert.equal(engine.bus.isReady, true);
  });
});
