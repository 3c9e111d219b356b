/**
 * The `dashboard` option: the page and its files (content types, Content-Security-Policy,
 * caching), the stats stream behind the admin gate, and the reserved stats topic that carries
 * every process's snapshot (refused to publishers, never seen by ordinary subscribers, left out
 * of the figures it reports).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { DashboardStats } from "../../src/http/dashboard/stats-exchange.js";
import { STATS_TOPIC } from "../../src/http/dashboard/stats-exchange.js";
import { type FetchStream, openFetchStream } from "../helpers/fetch-stream.js";
import { waitFor } from "../helpers/wait-for.js";
import { startServer } from "./start-server.js";

const ADMIN_TOKEN = "a-long-admin-token-for-tests";

function statsOf(stream: FetchStream): DashboardStats[] {
  return stream.events
    .filter((event) => event.type === "stats")
    .map((event) => JSON.parse(event.data) as DashboardStats);
}

/** Waits for a stats event of `stream` that `matches`, and answers it. */
async function statsWhere(
  stream: FetchStream,
  what: string,
  matches: (stats: DashboardStats) => boolean,
): Promise<DashboardStats> {
  return waitFor(() => statsOf(stream).find(matches), what, { intervalMs: 20 });
}

async function openStatsStream(
  t: { after(fn: () => unknown): void },
  url: string,
  headers: Record<string, string> = {},
): Promise<FetchStream> {
  const stream = await openFetchStream(`${url}/admin/stats/stream`, headers);
  t.after(() => stream.close());
  return stream;
}

describe("the dashboard option", () => {
  it("is off by default: /dashboard and /admin/stats/stream answer 404 as unknown routes", async (t) => {
    const { url } = await startServer(t);
    for (const path of ["/dashboard", "/dashboard/app.js", "/admin/stats/stream"]) {
      const response = await fetch(`${url}${path}`);
      assert.equal(response.status, 404, path);
      assert.equal(
        ((await response.json()) as { code: string }).code,
        "SSEHUB_ERR_ROUTE_NOT_FOUND",
      );
    }
  });

  it("serves the page, its script and its style with their content types and a strict CSP", async (t) => {
    const { url } = await startServer(t, { dashboard: true });
    const page = await fetch(`${url}/dashboard`);
    assert.equal(page.status, 200);
    assert.equal(page.headers.get("content-type"), "text/html; charset=utf-8");
    const csp = page.headers.get("content-security-policy") ?? "";
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.equal(page.headers.get("x-content-type-options"), "nosniff");
    assert.equal(page.headers.get("cache-control"), "no-cache");
    const html = await page.text();
    const script = /src="(dashboard\/app\.js\?v=[\w-]+)"/.exec(html)?.[1];
    const style = /href="(dashboard\/app\.css\?v=[\w-]+)"/.exec(html)?.[1];
    assert.ok(script !== undefined && style !== undefined, html);
    assert.doesNotMatch(html, /<script>|style="/, "nothing inline, which the CSP would block");

    const js = await fetch(`${url}/${script}`);
    assert.equal(js.status, 200);
    assert.equal(js.headers.get("content-type"), "text/javascript; charset=utf-8");
    assert.equal(js.headers.get("cache-control"), "public, max-age=31536000, immutable");
    assert.match(await js.text(), /admin\/stats\/stream/);
    const css = await fetch(`${url}/${style}`);
    assert.equal(css.headers.get("content-type"), "text/css; charset=utf-8");
    assert.equal(css.headers.get("cache-control"), "public, max-age=31536000, immutable");
    await css.arrayBuffer();

    // Without the version, or another one, the file is revalidated instead of kept.
    const unversioned = await fetch(`${url}/dashboard/app.js?v=old`);
    assert.equal(unversioned.headers.get("cache-control"), "no-cache");
    const etag = unversioned.headers.get("etag") ?? "";
    await unversioned.arrayBuffer();
    const again = await fetch(`${url}/dashboard/app.js`, { headers: { "if-none-match": etag } });
    assert.equal(again.status, 304);
    const head = await fetch(`${url}/dashboard`, { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), "");
  });

  it("streams one stats event per interval, the dashboard's own traffic left out", async (t) => {
    const { url } = await startServer(t, { dashboard: true });
    const stream = await openStatsStream(t, url);
    assert.equal(stream.status, 200);
    assert.equal(stream.headers.get("content-type"), "text/event-stream; charset=utf-8");
    const idle = await statsWhere(stream, "a row of this process", (s) => s.processes.length > 0);
    assert.equal(idle.processes.length, 1);
    const row = idle.processes[0]!;
    assert.equal(row.process, idle.self);
    assert.equal(row.pid, process.pid);
    assert.equal(row.worker, null);
    assert.equal(row.connections, 0, "the internal subscription is not a connection");
    assert.equal(row.topics, 0, "the reserved stats topic is not counted");
    assert.equal(typeof row.stalls, "number", "the stall watcher counts stalls");

    // Snapshots keep flowing, yet the events and deliveries they count stay zero.
    const seq = row.seq;
    const later = await statsWhere(stream, "two more snapshots", (s) =>
      s.processes.some((p) => p.seq >= seq + 2),
    );
    assert.equal(later.processes[0]!.totals.events, 0);
    assert.equal(later.processes[0]!.totals.deliveries, 0);
    assert.equal(later.processes[0]!.totals.bytesWritten, 0);
    assert.equal(later.processes[0]!.eventsPerSecond, 0);

    // A real subscriber and a real publish show.
    const subscriber = await openFetchStream(`${url}/events?topic=orders`);
    t.after(() => subscriber.close());
    await statsWhere(stream, "one connection", (s) => s.processes[0]?.connections === 1);
    const published = await fetch(`${url}/publish`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ topic: "orders", data: "one" }),
    });
    assert.equal(published.status, 200);
    const busy = await statsWhere(
      stream,
      "the publish and its delivery",
      (s) => s.processes[0]?.totals.events === 1 && s.processes[0]?.totals.deliveries === 1,
    );
    assert.deepEqual(busy.processes[0]!.topTopics, [{ topic: "orders", subscribers: 1 }]);
  });

  it("puts the stats stream behind the admin gate", async (t) => {
    const { url } = await startServer(t, {
      dashboard: true,
      subscriberJwtKey: "a-subscriber-key-of-32-bytes-at-least",
      adminToken: ADMIN_TOKEN,
    });
    const missing = await fetch(`${url}/admin/stats/stream`);
    assert.equal(missing.status, 401);
    assert.equal(((await missing.json()) as { code: string }).code, "SSEHUB_ERR_AUTH_MISSING");
    const wrong = await fetch(`${url}/admin/stats/stream`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}x` },
    });
    assert.equal(wrong.status, 401);
    await wrong.arrayBuffer();
    const right = await openStatsStream(t, url, { authorization: `Bearer ${ADMIN_TOKEN}` });
    assert.equal(right.status, 200);
    await statsWhere(right, "a row", (s) => s.processes.length === 1);
    // The page itself holds no data: it loads without the token, and asks for it.
    assert.equal((await fetch(`${url}/dashboard`)).status, 200);
  });

  it("refuses the stats topic to publishers and never shows it to ordinary subscribers", async (t) => {
    const { url } = await startServer(t, { dashboard: true });
    const forged = await fetch(`${url}/publish`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ topic: STATS_TOPIC, event: "stats", data: "{}" }),
    });
    assert.equal(forged.status, 403);
    assert.equal(((await forged.json()) as { code: string }).code, "SSEHUB_ERR_TOPIC_RESERVED");

    const snooper = await openFetchStream(
      `${url}/events?topic=${encodeURIComponent(STATS_TOPIC)}&topic=marker`,
    );
    t.after(() => snooper.close());
    const stream = await openStatsStream(t, url);
    const first = await statsWhere(stream, "a snapshot", (s) => s.processes.length > 0);
    await statsWhere(stream, "two later snapshots", (s) =>
      s.processes.some((p) => p.seq >= first.processes[0]!.seq + 2),
    );
    await fetch(`${url}/publish`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ topic: "marker", data: "after the snapshots" }),
    });
    await snooper.waitForEvents(1);
    assert.deepEqual(
      snooper.events.map((event) => event.data),
      ["after the snapshots"],
      "the snapshots published before the marker are private",
    );
  });

  it("ends the stats stream when the server shuts down", async (t) => {
    const { url, ssehub } = await startServer(t, { dashboard: true });
    const stream = await openStatsStream(t, url);
    await statsWhere(stream, "a stats event", () => true);
    await ssehub.close();
    await stream.ended;
  });
});
