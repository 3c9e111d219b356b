/**
 * `redisWaitReplicas` on real Redis replicas (a master, one replica and a sentinel from
 * test/helpers/redis-topologies.ts): a publish is acknowledged only once N replicas hold it, is
 * refused with 503 when fewer do within the deadline, and every acknowledged event survives the
 * master's death and the promotion of its replica.
 */
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { connectRedisEngine, type RedisEngine } from "../../src/bus/redis-engine.js";
import { isSsehubError } from "../../src/errors.js";
import { RedisKeys } from "../../src/history/redis-streams.js";
import { redisCommand } from "../helpers/redis-server.js";
import { sentinelMaster, startRedisSentinel } from "../helpers/redis-topologies.js";
import { requireTools } from "../helpers/require-tool.js";
import { HUNG_AFTER_MS, waitFor } from "../helpers/wait-for.js";

const skip = requireTools(["redis-server"]);

/**
 * The deadline of Redis calls here (`redisTimeoutMs`): short, to keep the refusals short, and
 * long enough for a replica's acknowledgement on a loaded machine.
 */
const TIMEOUT_MS = 2000;

async function engineOn(
  t: TestContext,
  url: string,
  prefix: string,
  waitReplicas: number,
): Promise<RedisEngine> {
  const engine = await connectRedisEngine({
    url,
    prefix,
    historyMaxEvents: 1000,
    historyMaxAgeMs: 60_000,
    logMaxEvents: 10_000,
    connectTimeoutMs: HUNG_AFTER_MS, // only against a hung test
    timeoutMs: TIMEOUT_MS,
    waitReplicas,
  });
  engine.bus.start(() => {});
  t.after(() => engine.close());
  return engine;
}

function event(data: string) {
  return { topics: ["t"], data, event: undefined, retry: undefined };
}

describe("RedisBus waiting for replicas (redisWaitReplicas)", { skip }, () => {
  it("acknowledges a publish once the replica holds it, and refuses with 503 while it cannot", async (t) => {
    const setup = await startRedisSentinel(t, { replicas: 1 });
    const replica = setup.replicas[0]!;
    const engine = await engineOn(t, setup.url, "wait", 1);
    const log = new RedisKeys("wait").log;
    for (let i = 1; i <= 20; i++) {
      await engine.bus.publish([event(`${i}`)]);
      // Asked at once, with no wait: WAIT made the publish resolve only once the replica had it.
      assert.equal(await redisCommand(replica.port, ["XLEN", log]), i, `event ${i} on the replica`);
    }

    const pid = replica.pid!;
    process.kill(pid, "SIGSTOP");
    t.after(() => {
      if (replica.isRunning) process.kill(pid, "SIGCONT");
    });
    await assert.rejects(engine.bus.publish([event("unconfirmed")]), (error) => {
      assert.ok(isSsehubError(error));
      assert.equal(error.code, "SSEHUB_ERR_BUS_UNAVAILABLE");
      assert.equal(error.status, 503);
      assert.match(error.message, /(0|not all) of the 1 replicas/);
      return true;
    });
    process.kill(pid, "SIGCONT");
    await waitFor(async () => {
      try {
        await engine.bus.publish([event("after")]);
        return true;
      } catch (error) {
        if (!(isSsehubError(error) && error.code === "SSEHUB_ERR_BUS_UNAVAILABLE")) throw error;
        return false;
      }
    }, "a confirmed publish once the replica answers again");
  });

  it("refuses a WAIT for more replicas than the master has, past the deadline", async (t) => {
    const setup = await startRedisSentinel(t, { replicas: 1 });
    const engine = await engineOn(t, setup.url, "two", 2);
    await assert.rejects(engine.bus.publish([event("x")]), /(1|not all) of the 2 replicas/);
  });

  it("keeps every acknowledged event through a failover: the promoted replica had them all", async (t) => {
    const setup = await startRedisSentinel(t, { replicas: 1 });
    const replica = setup.replicas[0]!;
    const engine = await engineOn(t, setup.url, "failover", 1);
    const acknowledged: number[] = [];
    for (let i = 0; i < 50; i++) acknowledged.push(await engine.bus.publish([event(`${i}`)]));
    // The master dies at once after the last acknowledgement: no time to replicate more.
    await setup.master.kill();
    await waitFor(
      async () =>
        (await sentinelMaster(setup.sentinelPorts[0]!, setup.masterName))?.port === replica.port,
      "the sentinel to promote the replica",
      { intervalMs: 20 },
    );
    const kept = await waitFor(async () => {
      try {
        return (await engine.history.readFromRedis(["t"], 0)).events.map((e) => e.seq);
      } catch {
        return undefined;
      }
    }, "the history on the new master");
    assert.deepEqual(kept, acknowledged);
    // The new master has no replica: a publish that asks for one is refused, not acknowledged.
    await assert.rejects(engine.bus.publish([event("alone")]), (error) => {
      assert.ok(isSsehubError(error));
      assert.equal(error.code, "SSEHUB_ERR_BUS_UNAVAILABLE");
      return true;
    });
  });

  it("refuses redisWaitReplicas with a Redis Cluster, before connecting", async () => {
    await assert.rejects(
      connectRedisEngine({
        url: "redis+cluster://127.0.0.1:1",
        prefix: "c",
        historyMaxEvents: 10,
        historyMaxAgeMs: 1000,
        logMaxEvents: 1000,
        waitReplicas: 1,
      }),
      (error) => {
        assert.ok(isSsehubError(error));
        assert.equal(error.code, "SSEHUB_ERR_OPTIONS_INVALID");
        return true;
      },
    );
  });
});
