import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { connectRedisEngine } from "../../src/bus/redis-engine.js";
import { createLogger } from "../../src/http/telemetry/logger.js";
import { StallWatcher } from "../../src/http/telemetry/stall-watcher.js";
import { createHub } from "../../src/hub/hub.js";
import { startRedis } from "../helpers/redis-server.js";
import { requireTools } from "../helpers/require-tool.js";
import { HUNG_AFTER_MS, waitFor } from "../helpers/wait-for.js";

describe("stall reports on Redis", { skip: requireTools(["redis-server"]) }, () => {
  it("a node taking a large batch of events from the Redis log is reported as bus-catch-up", async (t) => {
    const redis = await startRedis(t);
    const engine = await connectRedisEngine({
      url: redis.url,
      prefix: "stalls",
      historyMaxEvents: 10_000,
      historyMaxAgeMs: 60_000,
      logMaxEvents: 100_000,
      connectTimeoutMs: HUNG_AFTER_MS, // only against a hung test
    });
    const hub = createHub({ maxBatchEvents: 1000, maxPublishBacklog: 100_000 }, engine);
    t.after(async () => {
      await hub.close();
      await engine.close();
    });
    const watcher = new StallWatcher({ thresholdMs: 1, logger: createLogger("silent") });
    t.after(() => watcher.close());
    const batch = Array.from({ length: 1000 }, (_, i) => ({
      topic: `t${i % 10}`,
      data: "x".repeat(500),
    }));
    // Each batch reaches the log in one step, and the reader takes it in one turn: publish
    // until one such turn blocks past 1 ms.
    const report = await waitFor(async () => {
      await hub.publishBatch(batch);
      return watcher.reports().find((r) => r.phase === "bus-catch-up");
    }, "a bus-catch-up stall report");
    assert.ok(report.batchSize > 1, `batchSize ${report.batchSize}`);
    assert.equal(report.topic, null);
    assert.match(report.summary, /Taking \d+ event\(s\) from the bus in one turn/);
  });
});
