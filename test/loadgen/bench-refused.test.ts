/**
 * Refused publishes in `ssehub bench`: a real run against an in-process hub behind a node:http
 * server that refuses some publishes with a 503 without applying them, and applies others but
 * answers 503 all the same. Their events are not counted lost: they are refusedNotDelivered or
 * refusedDelivered, and the counts still add up.
 */
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { describe, type TestContext, test } from "node:test";
import { createRequestHandler } from "../../src/http/handler.js";
import { createLogger } from "../../src/http/telemetry/logger.js";
import { createHub } from "../../src/hub/hub.js";
import { runBench } from "../../src/loadgen/bench.js";
import { formatResultText } from "../../src/loadgen/result-format.js";
import { HUNG_AFTER_MS } from "../helpers/wait-for.js";

/** Publishes a refusing server answered, by what it did with them. */
interface RefusalCounts {
  url: string;
  /** Answered 503, not applied. */
  dropped: number;
  /** Applied, yet answered 503 (a timeout after the write, as with a paused Redis). */
  appliedAnyway: number;
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => {
      body += chunk;
    });
    req.on("end", () => resolve(body));
    req.on("error", reject);
  });
}

/**
 * A hub whose publish endpoint refuses every `dropEvery`-th publish (503, not applied) and
 * answers 503 to every `applyEvery`-th after applying it; the rest go to the real handler.
 */
async function startRefusingHub(
  t: TestContext,
  dropEvery: number,
  applyEvery: number,
): Promise<RefusalCounts> {
  const hub = createHub();
  t.after(() => hub.close());
  const handler = createRequestHandler(hub, { logger: createLogger("silent") });
  t.after(() => handler.metrics.close());
  const counts: RefusalCounts = { url: "", dropped: 0, appliedAnyway: 0 };
  let publishes = 0;
  const refuse = async (
    req: http.IncomingMessage,
    res: http.ServerResponse,
    apply: boolean,
  ): Promise<void> => {
    const { topic, data } = JSON.parse(await readBody(req)) as { topic: string; data: string };
    if (apply) {
      await hub.publish({ topic, data });
      counts.appliedAnyway++;
    } else {
      counts.dropped++;
    }
    res.writeHead(503, { "Content-Type": "application/json" }).end('{"error":"unavailable"}');
  };
  const server = http.createServer((req, res) => {
    if (req.method === "POST" && req.url === "/publish") {
      publishes++;
      if (publishes % dropEvery === 0) return void refuse(req, res, false);
      if (publishes % applyEvery === 0) return void refuse(req, res, true);
    }
    handler(req, res);
  });
  server.listen(0, "127.0.0.1");
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  await new Promise((resolve) => server.once("listening", resolve));
  counts.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return counts;
}

describe("ssehub bench with refused publishes", () => {
  test("the events of refused publishes count as refusedNotDelivered or refusedDelivered, not lost", async (t) => {
    const server = await startRefusingHub(t, 5, 7);
    const subscribers = 8;
    const result = await runBench({
      scenario: "fanout",
      url: server.url,
      subscribers,
      rate: 100,
      durationSeconds: 1,
      // Bounds that only stop a hung test: the drain ends once the acknowledged events are in.
      drainMs: HUNG_AFTER_MS,
      connectTimeoutMs: HUNG_AFTER_MS,
    });
    const d = result.delivery;
    assert.ok(d !== null);
    assert.ok(server.dropped > 0 && server.appliedAnyway > 0, "both kinds of refusal happened");
    assert.equal(d.publishErrors, server.dropped + server.appliedAnyway);
    assert.equal(result.connections.established, subscribers);
    assert.equal(d.lost, 0, "every acknowledged event arrived");
    assert.equal(d.refusedNotDelivered, server.dropped * subscribers);
    assert.equal(d.refusedDelivered, server.appliedAnyway * subscribers);
    assert.equal(d.expected, (d.published + d.publishErrors) * subscribers);
    assert.equal(d.delivered - d.duplicated + d.lost + d.refusedNotDelivered, d.expected);
    assert.match(formatResultText(result), /^ {2}refused publishes +\S+ deliveries missing/m);
  });
});
