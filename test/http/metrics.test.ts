import assert from "node:assert/strict";
import diagnosticsChannel from "node:diagnostics_channel";
import { once } from "node:events";
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, type TestContext, test } from "node:test";
import { createRequestHandler } from "../../src/http/handler.js";
import { createLogger } from "../../src/http/telemetry/logger.js";
import {
  EVENT_LOOP_RESOLUTION_MS,
  realLoopDelaySeconds,
} from "../../src/http/telemetry/loop-delay.js";
import { HubMetrics } from "../../src/http/telemetry/metrics.js";
import { aggregateWorkers } from "../../src/http/telemetry/metrics-cluster.js";
import { INTERNALS_FALLBACK_CHANNEL } from "../../src/http/transport/internals-fallback.js";
import { SOCKET_TAKEOVER_ENV } from "../../src/http/transport/socket-takeover.js";
import { createHub } from "../../src/hub/hub.js";
import { waitFor } from "../helpers/wait-for.js";
import { openStream } from "./raw-stream.js";
import { startServer } from "./start-server.js";

/** The value of the series `series` (name and labels as written) in `text`, or undefined. */
function seriesValue(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

function scrape(url: string): Promise<string> {
  return fetch(`${url}/metrics`).then((response) => response.text());
}

/** A histogram of recorded timer delays, in ns, as monitorEventLoopDelay keeps them. */
function recorded(samplesMs: readonly number[]) {
  const sorted = [...samplesMs].sort((a, b) => a - b).map((ms) => ms * 1e6);
  return {
    count: sorted.length,
    max: sorted.at(-1) ?? 0,
    percentile: (p: number) =>
      sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0,
  };
}

describe("event-loop delay", () => {
  test("realLoopDelaySeconds() subtracts the sampler's resolution and never goes below 0", () => {
    const histogram = recorded([19.9, 20.1, 20.2, 20.4, 45]);
    assert.equal(realLoopDelaySeconds(histogram, 0.5, 20), 0.0002);
    assert.ok(Math.abs(realLoopDelaySeconds(histogram, 1, 20) - 0.025) < 1e-12);
    assert.equal(realLoopDelaySeconds(recorded([19.5]), 0.5, 20), 0, "a timer fired early");
    assert.equal(realLoopDelaySeconds(recorded([]), 0.99, 20), 0, "nothing recorded yet");
  });

  test("an idle server's median delay reads below the sampler's resolution", async (t) => {
    const { url } = await startServer(t);
    await scrape(url); // starts the sampler
    // A scrape whose window recorded something (its maximum reads above 0) and whose median
    // reads below the resolution. The uncorrected figures read at least the resolution on every
    // quantile once anything is recorded, so they never get there. On a busy machine a window
    // may hold a long tick: the next ones are asked for, rather than a time bound.
    const text = await waitFor(
      async () => {
        const text = await scrape(url);
        const max = seriesValue(text, 'ssehub_event_loop_delay_seconds{quantile="1"}') ?? 0;
        const median = seriesValue(text, 'ssehub_event_loop_delay_seconds{quantile="0.5"}') ?? 1;
        return max > 0 && median < EVENT_LOOP_RESOLUTION_MS / 1000 && text;
      },
      "a scrape whose median delay is below the resolution",
      { intervalMs: 200 },
    );
    const utilization = seriesValue(text, "ssehub_event_loop_utilization");
    assert.ok(utilization !== undefined && utilization >= 0 && utilization <= 1, text);
  });
});

describe("refusals", () => {
  test("every error answer counts in ssehub_http_refusals_total by status and code", async (t) => {
    const { url } = await startServer(t);
    assert.equal((await fetch(`${url}/nowhere`)).status, 404);
    assert.equal((await fetch(`${url}/nowhere`)).status, 404);
    assert.equal((await fetch(`${url}/events`)).status, 400);
    const text = await scrape(url);
    assert.equal(
      seriesValue(
        text,
        'ssehub_http_refusals_total{status="404",code="SSEHUB_ERR_ROUTE_NOT_FOUND"}',
      ),
      2,
    );
    assert.equal(
      seriesValue(text, 'ssehub_http_refusals_total{status="400",code="SSEHUB_ERR_TOPIC_MISSING"}'),
      1,
    );
  });
});

/** A node:http server on 127.0.0.1 running `before` on each request, then ssehub's handler. */
async function handlerServer(
  t: TestContext,
  before: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<string> {
  const hub = createHub();
  const handler = createRequestHandler(hub, { logger: createLogger("silent") });
  const server = http.createServer((req, res) => {
    before(req, res);
    handler(req, res);
  });
  handler.metrics.trackServer(server);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  t.after(async () => {
    await hub.close();
    server.closeAllConnections();
    server.close();
    handler.metrics.close();
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe("streams by transport", () => {
  test("a taken-over stream counts under transport socket, and no fallback is counted", async (t) => {
    const { url } = await startServer(t);
    const stream = await openStream(t, `${url}/events/a`);
    await stream.waitFor("retry:");
    const text = await scrape(url);
    assert.equal(seriesValue(text, 'ssehub_streams{transport="socket"}'), 1, text);
    assert.equal(seriesValue(text, 'ssehub_streams{transport="response"}'), 0);
    assert.equal(
      seriesValue(text, 'ssehub_node_internals_fallback_total{feature="socket-takeover"}'),
      0,
    );
    stream.close();
    await waitFor(
      async () => seriesValue(await scrape(url), 'ssehub_streams{transport="socket"}') === 0,
      "the stream to be counted closed",
    );
  });

  test("a stream with the takeover switched off counts under response, with reason disabled", async (t) => {
    const { url } = await startServer(t);
    process.env[SOCKET_TAKEOVER_ENV] = "off";
    t.after(() => delete process.env[SOCKET_TAKEOVER_ENV]);
    const stream = await openStream(t, `${url}/events/a`);
    await stream.waitFor("retry:");
    const text = await scrape(url);
    assert.equal(seriesValue(text, 'ssehub_streams{transport="response"}'), 1, text);
    assert.equal(seriesValue(text, 'ssehub_streams{transport="socket"}'), 0);
    assert.equal(seriesValue(text, 'ssehub_stream_takeover_fallbacks_total{reason="disabled"}'), 1);
    stream.close();
    await waitFor(
      async () => seriesValue(await scrape(url), 'ssehub_streams{transport="response"}') === 0,
      "the stream to be counted closed",
    );
  });

  test("when node:http's socket listeners are not found, the stream falls back and it is counted", async (t) => {
    // Node's own `timeout` listener goes: the takeover no longer finds every listener it
    // removes, as on a Node whose internals changed.
    const url = await handlerServer(t, (req) => {
      for (const listener of req.socket.listeners("timeout")) {
        if (listener.name === "socketOnTimeout") {
          req.socket.removeListener("timeout", listener as () => void);
        }
      }
    });
    const seen: unknown[] = [];
    const onFallback = (message: unknown): void => {
      seen.push(message);
    };
    diagnosticsChannel.subscribe(INTERNALS_FALLBACK_CHANNEL, onFallback);
    t.after(() => diagnosticsChannel.unsubscribe(INTERNALS_FALLBACK_CHANNEL, onFallback));
    const stream = await openStream(t, `${url}/events/a`);
    await stream.waitFor("retry:");
    const text = await scrape(url);
    assert.equal(seriesValue(text, 'ssehub_streams{transport="response"}'), 1, text);
    assert.equal(
      seriesValue(text, 'ssehub_stream_takeover_fallbacks_total{reason="internals"}'),
      1,
    );
    assert.equal(
      seriesValue(text, 'ssehub_node_internals_fallback_total{feature="socket-takeover"}'),
      1,
    );
    assert.deepEqual(seen, [
      { feature: "socket-takeover", reason: "node:http's socket listeners not found" },
    ]);
  });
});

describe("busiest topics", () => {
  test("names at most ten topics, busiest first, and counts the rest as other", async (t) => {
    const { ssehub, url } = await startServer(t);
    const stream = await openStream(t, `${url}/events/t0`);
    await stream.waitFor("retry:");
    await scrape(url); // starts a window
    // Topic ti gets 20 - i events: t0 is the busiest, t10 and t11 fall outside the ten.
    for (let i = 0; i < 12; i++) {
      for (let n = 0; n < 20 - i; n++) await ssehub.hub.publish({ topic: `t${i}`, data: n });
    }
    const text = await scrape(url);
    const named = text
      .split("\n")
      .filter((line) => line.startsWith("ssehub_topic_events_per_second{"))
      .map((line) => /topic="([^"]*)"/.exec(line)![1]);
    assert.deepEqual(
      named.sort(),
      [...Array.from({ length: 10 }, (_, i) => `t${i}`), "other"].sort(),
    );
    const rate = (topic: string) =>
      seriesValue(text, `ssehub_topic_events_per_second{topic="${topic}"}`)!;
    assert.ok(rate("t0") > rate("t9"));
    // other had 10 + 9 events in the same window as t0's 20.
    assert.ok(Math.abs(rate("other") / rate("t0") - 19 / 20) < 1e-9);
    assert.equal(seriesValue(text, 'ssehub_topic_subscribers{topic="t0"}'), 1);
    assert.equal(seriesValue(text, 'ssehub_topic_subscribers{topic="other"}'), 0);
    assert.ok(seriesValue(text, 'ssehub_topic_bytes_per_second{topic="t0"}')! > 0);
  });

  test("a slow-consumer action is labelled with its subscriber's topic once that topic is among the busiest", async (t) => {
    const hub = createHub();
    const metrics = new HubMetrics(hub);
    t.after(() => {
      metrics.close();
      return hub.close();
    });
    await hub.publish({ topic: "hot", data: 1 });
    await metrics.scrape(); // hot is among the busiest now
    hub.emit("status", { type: "slow-consumer-dropping", topics: ["cold", "hot"], queuedBytes: 1 });
    hub.emit("status", { type: "slow-consumer-disconnected", topics: ["cold"], queuedBytes: 1 });
    const text = await metrics.scrape();
    assert.equal(
      seriesValue(text, 'ssehub_slow_consumer_actions_total{policy="drop",topic="hot"}'),
      1,
    );
    assert.equal(
      seriesValue(text, 'ssehub_slow_consumer_actions_total{policy="disconnect",topic="other"}'),
      1,
    );
  });
});

describe("queue depths", () => {
  test("ssehub_subscriber_queued_bytes holds one observation per subscriber at scrape time", async (t) => {
    const { url } = await startServer(t);
    for (const topic of ["a", "b"]) {
      const stream = await openStream(t, `${url}/events/${topic}`);
      await stream.waitFor("retry:");
    }
    const text = await scrape(url);
    assert.equal(seriesValue(text, "ssehub_subscriber_queued_bytes_count"), 2, text);
    assert.equal(seriesValue(text, 'ssehub_subscriber_queued_bytes_bucket{le="4194304"}'), 2);
  });
});

describe("aggregateWorkers()", () => {
  test("sums hub figures, keeps per-process figures per worker, and takes the maximum of shared ones", async (t) => {
    const registries = await Promise.all(
      [3, 5].map(async (subscribers) => {
        const hub = createHub();
        const metrics = new HubMetrics(hub);
        t.after(() => {
          metrics.close();
          return hub.close();
        });
        for (let i = 0; i < subscribers; i++) {
          hub.subscribe({
            topics: ["a"],
            sink: { write() {}, queuedBytes: 0, isClosed: false, close() {}, destroy() {} },
          });
        }
        await hub.publish({ topic: "a", data: 1 });
        return metrics.snapshot();
      }),
    );
    const prom = (await import("prom-client")).default;
    const text = await aggregateWorkers(prom, [
      { worker: 1, pid: 101, payload: registries[0] },
      { worker: 2, pid: 102, payload: registries[1] },
    ]).metrics();
    assert.equal(seriesValue(text, "ssehub_subscribers"), 8);
    assert.equal(
      seriesValue(text, "ssehub_events_published_total"),
      1,
      "every worker saw the same event",
    );
    assert.equal(seriesValue(text, 'ssehub_connections{worker="1"}'), 0);
    assert.ok(seriesValue(text, 'ssehub_process_memory_bytes{kind="rss",worker="2"}')! > 0);
    assert.ok(seriesValue(text, 'process_resident_memory_bytes{worker="1"}')! > 0);
    assert.equal(seriesValue(text, 'ssehub_worker_info{worker="2",pid="102"}'), 1);
    assert.equal(seriesValue(text, "ssehub_workers"), 2);
  });
});

describe("HubMetrics with a gather function", () => {
  test("scrape() merges what gather answers, and shows this process alone when nobody answered", async (t) => {
    const hub = createHub();
    let rows: { worker: number; pid: number; payload: unknown }[] = [];
    const asked: string[] = [];
    const metrics = new HubMetrics(hub, {
      gather: async (name) => {
        asked.push(name);
        return rows;
      },
    });
    t.after(() => {
      metrics.close();
      return hub.close();
    });
    const alone = await metrics.scrape();
    assert.equal(seriesValue(alone, "ssehub_workers"), undefined);
    assert.equal(seriesValue(alone, "ssehub_connections"), 0);
    rows = [
      { worker: 1, pid: 11, payload: await metrics.snapshot() },
      { worker: 2, pid: 12, payload: await metrics.snapshot() },
    ];
    const merged = await metrics.scrape();
    assert.equal(seriesValue(merged, "ssehub_workers"), 2);
    assert.equal(seriesValue(merged, 'ssehub_connections{worker="2"}'), 0);
    assert.deepEqual(asked, ["metrics", "metrics"]);
  });
});
