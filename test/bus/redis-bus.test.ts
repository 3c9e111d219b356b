import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import type { BusRestartReason, BusStart } from "../../src/bus/bus.js";
import { connectRedisEngine, type RedisEngine } from "../../src/bus/redis-engine.js";
import { isSsehubError } from "../../src/errors.js";
import { RedisKeys } from "../../src/history/redis-streams.js";
import type { SequencedEvent } from "../../src/history/stored-event.js";
import { runBusConformance } from "../conformance/bus.suite.js";
import { type RedisServer, redisCommand, startRedis } from "../helpers/redis-server.js";
import { requireTools } from "../helpers/require-tool.js";
import { startTcpProxy } from "../helpers/tcp-proxy.js";
import { HUNG_AFTER_MS, waitFor } from "../helpers/wait-for.js";

const skip = requireTools(["redis-server"]);

interface EngineSettings {
  readonly prefix?: string;
  readonly logMaxEvents?: number;
}

async function engineOn(
  t: TestContext,
  url: string,
  settings: EngineSettings = {},
): Promise<RedisEngine> {
  const engine = await connectRedisEngine({
    url,
    prefix: settings.prefix ?? "bus",
    historyMaxEvents: 100,
    historyMaxAgeMs: 60_000,
    logMaxEvents: settings.logMaxEvents ?? 10_000,
    connectTimeoutMs: HUNG_AFTER_MS, // only against a hung test
  });
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

describe("RedisBus", { skip }, () => {
  runBusConformance(
    "RedisBus",
    async (members, t) => {
      const redis = await startRedis(t);
      const engines = await Promise.all(
        Array.from({ length: members }, () => engineOn(t, redis.url)),
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

  it("puts every key of a hub under one hash tag, so one Lua step touches one cluster slot", () => {
    const keys = new RedisKeys("app");
    const tags = [keys.meta, keys.log, keys.topic("a"), keys.topic("{odd}:b")].map(
      (key) => /^\{([^}]*)\}/.exec(key)?.[1],
    );
    assert.deepEqual(tags, ["app", "app", "app", "app"]);
  });

  it("writes each event to the topic streams with its id, so a node joining later can read it", async (t) => {
    const redis = await startRedis(t);
    const first = await engineOn(t, redis.url);
    listen(first);
    const seq = await first.bus.publish([event("x", ["a", "b"])]);
    const late = await engineOn(t, redis.url);
    const start = late.bus.start(() => {});
    assert.equal(start.joinedAfterSeq, seq);
    assert.equal(start.historyFloor, 0, "the shared history answers for events before the join");
    const read = await late.history.readAfter(["a", "b"], 0);
    assert.deepEqual(
      read.events.map((e) => [e.seq, e.data, e.topics]),
      [[seq, "x", ["a", "b"]]],
    );
  });

  it("refuses publishes at once with SSEHUB_ERR_BUS_UNAVAILABLE while Redis is down, and recovers", async (t) => {
    const redis = await startRedis(t);
    const engine = await engineOn(t, redis.url);
    const { seen } = listen(engine);
    const before = await engine.bus.publish([event("before")]);
    await redis.stop();
    await waitFor(() => !engine.bus.isReady, "the bus to notice");
    const during = engine.bus.publish([event("during")]);
    assert.equal(engine.bus.backlog, 0, "refused at once, not queued");
    await assert.rejects(during, (error) => {
      assert.ok(isSsehubError(error));
      assert.equal(error.code, "SSEHUB_ERR_BUS_UNAVAILABLE");
      assert.equal(error.status, 503);
      return true;
    });
    assert.equal(engine.bus.backlog, 0);
    await redis.start();
    await waitFor(() => engine.bus.isReady, "the bus to be ready again");
    const after = await engine.bus.publish([event("after")]);
    assert.equal(after, before + 1, "the refused publish took no seq");
    assert.deepEqual(
      seen.map((e) => e.data),
      ["before", "after"],
    );
    assert.ok(engine.bus.metrics.disconnects >= 1);
  });

  it("a node cut off from Redis catches up, in order, with what others published meanwhile", async (t) => {
    const redis = await startRedis(t);
    const proxy = await startTcpProxy(t, redis.port);
    const publisher = await engineOn(t, redis.url);
    listen(publisher);
    const cutOff = await engineOn(t, `redis://127.0.0.1:${proxy.port}`);
    const { seen, restarts } = listen(cutOff);
    await publisher.bus.publish([event("0")]);
    await waitFor(() => seen.length === 1, "the first event");
    proxy.cut();
    await waitFor(() => !cutOff.bus.isReady, "the cut to be noticed");
    for (let i = 1; i <= 50; i++) await publisher.bus.publish([event(String(i))]);
    proxy.restore();
    await waitFor(() => seen.length === 51, "the catch-up");
    assert.deepEqual(
      seen.map((e) => e.data),
      Array.from({ length: 51 }, (_, i) => String(i)),
    );
    for (let i = 1; i < seen.length; i++) assert.equal(seen[i]!.seq, seen[i - 1]!.seq + 1);
    assert.deepEqual(restarts, []);
  });

  it("a node that fell behind the log's retention starts over with reason gap", async (t) => {
    const redis = await startRedis(t);
    const proxy = await startTcpProxy(t, redis.port);
    const publisher = await engineOn(t, redis.url, { logMaxEvents: 100 });
    listen(publisher);
    const cutOff = await engineOn(t, `redis://127.0.0.1:${proxy.port}`, { logMaxEvents: 100 });
    const { seen, restarts } = listen(cutOff);
    proxy.cut();
    await waitFor(() => !cutOff.bus.isReady, "the cut to be noticed");
    // MAXLEN ~ trims whole nodes of the stream: publish well past 100 entries.
    for (let i = 0; i < 20; i++) {
      await publisher.bus.publish(Array.from({ length: 50 }, (_, j) => event(`${i}:${j}`)));
    }
    proxy.restore();
    await waitFor(() => restarts.length === 1, "the restart");
    const [start, reason] = restarts[0]!;
    assert.equal(reason, "gap");
    assert.equal(start.epoch, publisher.bus.epoch);
    assert.ok(start.joinedAfterSeq > 1, "it starts past the events it can no longer be handed");
    await waitFor(() => seen.at(-1)?.data === "19:49", "the events after the gap");
    assert.equal(seen[0]!.seq, start.joinedAfterSeq + 1);
  });

  it("when Redis loses its data, nodes start over in a new epoch", async (t) => {
    const redis: RedisServer = await startRedis(t);
    const engine = await engineOn(t, redis.url);
    const { restarts } = listen(engine);
    await engine.bus.publish([event("a"), event("b")]);
    const oldEpoch = engine.bus.epoch;
    assert.equal(await redisCommand(redis.port, ["FLUSHALL"]), "OK");
    // Its next publish takes seq 1 of a new epoch, and resolves only once this node has started
    // over in that epoch, so the id it answers with is never an old epoch's.
    const seq = await engine.bus.publish([event("c")]);
    assert.equal(restarts.length, 1);
    const [start, reason] = restarts[0]!;
    assert.equal(reason, "new-epoch");
    assert.notEqual(start.epoch, oldEpoch);
    assert.equal(engine.bus.epoch, start.epoch);
    assert.equal(seq, 1);
    const next = await engine.bus.publish([event("d")]);
    assert.equal(next, start.joinedAfterSeq + 1);
  });
});
