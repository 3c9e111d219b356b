import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { connectRedisEngine } from "../../src/bus/redis-engine.js";
import { createHub, type Hub } from "../../src/hub/hub.js";
import type { HubStatus } from "../../src/hub/types.js";
import { parseEventId } from "../../src/protocol/event-id.js";
import { RecordingSink } from "../helpers/recording-sink.js";
import { type RedisServer, redisCommand, startRedis } from "../helpers/redis-server.js";
import { requireTools } from "../helpers/require-tool.js";
import { HUNG_AFTER_MS, waitFor } from "../helpers/wait-for.js";

async function hubOn(t: TestContext, redis: RedisServer): Promise<Hub> {
  const engine = await connectRedisEngine({
    url: redis.url,
    prefix: "hub",
    historyMaxEvents: 100,
    historyMaxAgeMs: 60_000,
    logMaxEvents: 10_000,
    connectTimeoutMs: HUNG_AFTER_MS, // only against a hung test
  });
  const hub = createHub({ retryMs: 1000, shutdownRetryJitterMs: 0 }, engine);
  t.after(async () => {
    await hub.close();
    await engine.close();
  });
  return hub;
}

describe("Hub on Redis", { skip: requireTools(["redis-server"]) }, () => {
  it("is not ready while Redis is down, and ready again when it is back", async (t) => {
    const redis = await startRedis(t);
    const hub = await hubOn(t, redis);
    assert.equal(hub.isReady, true);
    await redis.stop();
    await waitFor(() => !hub.isReady, "not ready");
    await redis.start();
    await waitFor(() => hub.isReady, "ready again");
  });

  it("ends every stream with a retry hint when Redis loses its data, and ids move to the new epoch", async (t) => {
    const redis = await startRedis(t);
    const hub = await hubOn(t, redis);
    const statuses: HubStatus[] = [];
    hub.on("status", (status) => statuses.push(status));
    const sink = new RecordingSink();
    hub.subscribe({ topics: ["a"], sink });
    const before = await hub.publish({ topic: "a", data: "before" });
    await waitFor(() => sink.data().includes("before"), "the first event");
    assert.equal(await redisCommand(redis.port, ["FLUSHALL"]), "OK");
    const after = await hub.publish({ topic: "a", data: "after" });
    assert.ok(sink.isClosed, "the stream was ended so that its client resumes");
    assert.match(sink.text(), /retry: 1000\n\n$/);
    assert.ok(!sink.data().includes("after"), "nothing of the new epoch reached the old stream");
    assert.notEqual(parseEventId(after.id)?.epoch, parseEventId(before.id)?.epoch);
    assert.equal(hub.epoch, parseEventId(after.id)?.epoch);
    assert.deepEqual(
      statuses.map((s) => s.type),
      ["bus-restarted"],
    );

    // A client coming back with its old id learns that its epoch is gone, then gets what the
    // new epoch holds from its start: nothing published since Redis lost its data is skipped.
    const back = new RecordingSink();
    hub.subscribe({ topics: ["a"], sink: back, lastEventId: before.id });
    await waitFor(() => back.events().length > 1, "the reset and the new epoch's event");
    const [reset, replayed] = back.events();
    assert.equal(reset!.event, "ssehub-reset");
    assert.match(reset!.data, /"reason":"unknown-epoch"/);
    assert.deepEqual([replayed!.id, replayed!.data], [after.id, "after"]);
  });
});
