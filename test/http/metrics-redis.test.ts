import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createServer } from "../../src/http/server.js";
import { createLogger } from "../../src/http/telemetry/logger.js";
import { startRedis } from "../helpers/redis-server.js";
import { requireTools } from "../helpers/require-tool.js";
import { startRedisHub } from "../helpers/start-hub.js";
import { waitFor } from "../helpers/wait-for.js";

describe("/metrics on Redis", {
  skip: requireTools(["redis-server"]),
}, () => {
  test("exposes the bus's connection, disconnects, lag and publish round trips", async (t) => {
    const redis = await startRedis(t);
    const { server, url } = await startRedisHub(t, redis.url, {
      prefix: "metrics",
      historyMaxEvents: 10,
    });
    for (let i = 0; i < 3; i++) await server.hub.publish({ topic: "a", data: String(i) });
    const scrape = async () => (await fetch(`${url}/metrics`)).text();
    const text = await scrape();
    assert.match(text, /^ssehub_bus_connected 1$/m);
    assert.match(text, /^ssehub_bus_disconnects_total 0$/m);
    assert.match(text, /^ssehub_bus_lag_seconds \d/m);
    assert.match(text, /^ssehub_bus_publish_round_trip_seconds_count 3$/m);

    await redis.stop();
    const down = await waitFor(
      async () => {
        const text = await scrape();
        return /^ssehub_bus_connected 0$/m.test(text) && text;
      },
      "ssehub_bus_connected 0",
      { intervalMs: 50 },
    );
    assert.match(down, /^ssehub_bus_disconnects_total [1-9]/m);
  });

  test("a hub without Redis has no bus metrics", async (t) => {
    const server = createServer({ host: "127.0.0.1", port: 0, logger: createLogger("silent") });
    t.after(() => server.close());
    const { url } = await server.listen();
    assert.doesNotMatch(await (await fetch(`${url}/metrics`)).text(), /ssehub_bus_/);
  });
});
