/**
 * The dashboard's stats stream sees every process of a hub, whichever process answers it: the
 * workers of `ssehub serve --workers 2` (one row each, one node), and the nodes of a hub on
 * Redis (one node each). Every process publishes its snapshot on the reserved stats topic and
 * the bus carries it to the others (src/http/dashboard/stats-exchange.ts).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { DashboardStats } from "../../src/http/dashboard/stats-exchange.js";
import { type FetchStream, openFetchStream } from "../helpers/fetch-stream.js";
import { startRedisNodes } from "../helpers/hub-nodes.js";
import { startRedis } from "../helpers/redis-server.js";
import { requireTools } from "../helpers/require-tool.js";
import { listeningUrl, logLine, ssehub } from "../helpers/ssehub-process.js";
import { waitFor } from "../helpers/wait-for.js";

/** Waits for a stats event of `stream` that `matches`, and answers it. */
function statsWhere(
  stream: FetchStream,
  what: string,
  matches: (stats: DashboardStats) => boolean,
): Promise<DashboardStats> {
  return waitFor(
    () =>
      stream.events
        .filter((event) => event.type === "stats")
        .map((event) => JSON.parse(event.data) as DashboardStats)
        .find(matches),
    what,
    { intervalMs: 20 },
  );
}

function totalConnections(stats: DashboardStats): number {
  return stats.processes.reduce((sum, row) => sum + row.connections, 0);
}

async function subscribe(
  t: { after(fn: () => unknown): void },
  url: string,
  topic: string,
): Promise<FetchStream> {
  const stream = await openFetchStream(`${url}/events?topic=${topic}`);
  t.after(() => stream.close());
  return stream;
}

describe("the dashboard's stats stream across processes", () => {
  it("shows one row per worker of --workers 2, both in one node", async (t) => {
    const run = ssehub(t, ["serve", "--port", "0", "--workers", "2", "--dashboard"]);
    const url = await listeningUrl(run);
    await logLine(run, (e) => e.msg?.includes("cluster of 2 workers") === true);
    const stream = await openFetchStream(`${url}/admin/stats/stream`);
    t.after(() => stream.close());
    assert.equal(stream.status, 200);

    const both = await statsWhere(stream, "rows of both workers", (s) => s.processes.length === 2);
    const [first, second] = both.processes;
    assert.notEqual(first!.pid, second!.pid);
    assert.equal(first!.node, second!.node, "workers of one machine are one node");
    assert.deepEqual(
      both.processes.map((row) => typeof row.worker),
      ["number", "number"],
    );
    assert.ok(
      both.processes.some((row) => row.process === both.self),
      "the answering worker is one of the rows",
    );

    // New connections land on either worker; the rows add up to all of them.
    for (let i = 0; i < 4; i++) await subscribe(t, url, "orders");
    const busy = await statsWhere(stream, "4 connections in all", (s) => totalConnections(s) === 4);
    assert.equal(busy.processes.length, 2);
  });

  it("shows one row per node of a hub on Redis, on whichever node answers", {
    skip: requireTools(["redis-server"]),
  }, async (t) => {
    const redis = await startRedis(t);
    const [nodeA, nodeB] = await startRedisNodes(t, [redis.url, redis.url], ["--dashboard"]);
    const stream = await openFetchStream(`${nodeA!.url}/admin/stats/stream`);
    t.after(() => stream.close());

    const both = await statsWhere(stream, "rows of both nodes", (s) => s.processes.length === 2);
    assert.notEqual(both.processes[0]!.node, both.processes[1]!.node);

    // A subscriber on node B, a publish on node A: node B's row shows the delivery.
    const subscriber = await subscribe(t, nodeB!.url, "orders");
    await statsWhere(stream, "node B's connection", (s) => totalConnections(s) === 1);
    const published = await fetch(`${nodeA!.url}/publish`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ topic: "orders", data: "one" }),
    });
    assert.equal(published.status, 200);
    await subscriber.waitForEvents(1);
    const delivered = await statsWhere(stream, "the delivery on node B", (s) =>
      s.processes.some((row) => row.process !== s.self && row.totals.deliveries === 1),
    );
    const onA = delivered.processes.find((row) => row.process === delivered.self);
    assert.equal(onA?.totals.deliveries, 0, "node A has no subscriber");
    // Every node takes every event; each counts the one real event, not the snapshots.
    await statsWhere(stream, "both nodes to count the one event", (s) =>
      s.processes.every((row) => row.totals.events === 1),
    );
  });
});
