import assert from "node:assert/strict";
import { once } from "node:events";
import net from "node:net";
import { describe, test } from "node:test";
import { waitFor, within } from "../helpers/wait-for.js";
import { expectError } from "./expect-error.js";
import { openStream } from "./raw-stream.js";
import { startServer } from "./start-server.js";

describe("routing", () => {
  test("an unknown route answers 404 SSEHUB_ERR_ROUTE_NOT_FOUND", async (t) => {
    const { url } = await startServer(t);
    await expectError(`${url}/nowhere`, 404, "SSEHUB_ERR_ROUTE_NOT_FOUND");
    await expectError(`${url}/`, 404, "SSEHUB_ERR_ROUTE_NOT_FOUND");
    await expectError(`${url}/eventsx?topic=a`, 404, "SSEHUB_ERR_ROUTE_NOT_FOUND");
  });

  test("a wrong method answers 405 SSEHUB_ERR_METHOD_NOT_ALLOWED with an Allow header", async (t) => {
    const { url } = await startServer(t);
    const publish = await expectError(`${url}/publish`, 405, "SSEHUB_ERR_METHOD_NOT_ALLOWED");
    assert.equal(publish.headers.get("allow"), "POST, OPTIONS");
    const events = await expectError(
      `${url}/events?topic=a`,
      405,
      "SSEHUB_ERR_METHOD_NOT_ALLOWED",
      {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: "{}",
      },
    );
    assert.equal(events.headers.get("allow"), "GET, OPTIONS");
    const topics = await expectError(`${url}/topics/a`, 405, "SSEHUB_ERR_METHOD_NOT_ALLOWED", {
      method: "DELETE",
    });
    assert.equal(topics.headers.get("allow"), "GET, HEAD, OPTIONS");
  });

  test("OPTIONS without a preflight answers 204 with an Allow header", async (t) => {
    const { url } = await startServer(t);
    const response = await fetch(`${url}/publish`, { method: "OPTIONS" });
    assert.equal(response.status, 204);
    assert.equal(response.headers.get("allow"), "POST, OPTIONS");
  });

  test("the server keeps serving after 404, 405 and 400 answers", async (t) => {
    const { ssehub, url } = await startServer(t);
    await expectError(`${url}/nowhere`, 404, "SSEHUB_ERR_ROUTE_NOT_FOUND");
    await expectError(`${url}/publish`, 405, "SSEHUB_ERR_METHOD_NOT_ALLOWED");
    const stream = await openStream(t, `${url}/events/after`);
    await stream.waitFor("retry:");
    const response = await fetch(`${url}/publish`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ topic: "after", data: "ok" }),
    });
    const { id } = (await response.json()) as { id: string };
    await stream.waitFor(`id: ${id}\ndata: ok\n\n`);
    assert.equal(ssehub.hub.stats().deliveries, 1);
  });
});

describe("GET /topics", () => {
  test("GET /topics lists every topic with its subscribers and history", async (t) => {
    const { ssehub, url } = await startServer(t);
    const stream = await openStream(t, `${url}/events?topic=live`);
    await stream.waitFor("retry:");
    const { id } = await ssehub.hub.publish({ topic: "kept", data: 1 });
    const response = await fetch(`${url}/topics`);
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), [
      { topic: "kept", subscribers: 0, historySize: 1, lastEventId: id },
      { topic: "live", subscribers: 1, historySize: 0, lastEventId: null },
    ]);
  });

  test("GET /topics/:topic answers one topic", async (t) => {
    const { ssehub, url } = await startServer(t);
    const { id } = await ssehub.hub.publish({ topic: "a/b", data: 1 });
    const response = await fetch(`${url}/topics/${encodeURIComponent("a/b")}`);
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), {
      topic: "a/b",
      subscribers: 0,
      historySize: 1,
      lastEventId: id,
    });
  });

  test("GET /topics/:topic of an unknown topic answers 404 SSEHUB_ERR_TOPIC_NOT_FOUND", async (t) => {
    const { url } = await startServer(t);
    await expectError(`${url}/topics/unknown`, 404, "SSEHUB_ERR_TOPIC_NOT_FOUND");
  });
});

describe("health and metrics", () => {
  test("GET /healthz answers 200 ok", async (t) => {
    const { url } = await startServer(t);
    const response = await fetch(`${url}/healthz`);
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { status: "ok", pid: process.pid });
  });

  test("GET /readyz answers 200 while serving and 503 once shutdown started", async (t) => {
    const { ssehub, url, port } = await startServer(t);
    const ready = await fetch(`${url}/readyz`);
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { status: "ready" });
    // A request half sent when shutdown starts is still answered, and answered 503.
    const accepted = once(ssehub.server, "connection") as Promise<[net.Socket]>;
    const socket = net.connect(port, "127.0.0.1");
    t.after(() => socket.destroy());
    const [serverSide] = await accepted;
    const half = "GET /readyz HTTP/1.1\r\nHost: x\r\n";
    socket.write(half);
    await waitFor(() => serverSide.bytesRead >= half.length, "the server to read the half request");
    const closing = ssehub.close();
    assert.equal(ssehub.isReady, false);
    let received = "";
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      received += chunk;
    });
    socket.write("\r\n");
    await within(once(socket, "close"), "the answer and the close");
    assert.match(received, /^HTTP\/1\.1 503 /);
    assert.match(received, /"status":"stopping"/);
    await closing;
  });

  test("GET /metrics answers Prometheus text with the ssehub_ metrics", async (t) => {
    const { ssehub, url } = await startServer(t);
    const stream = await openStream(t, `${url}/events?topic=a&topic=b`);
    await stream.waitFor("retry:");
    const { id } = await ssehub.hub.publish({ topics: ["a"], data: "x" });
    await stream.waitFor(id);
    const response = await fetch(`${url}/metrics`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type") ?? "", /^text\/plain/);
    const text = await response.text();
    const value = (name: string): number => {
      const line = text.split("\n").find((l) => l.startsWith(`${name} `));
      assert.ok(line, `${name} is missing from:\n${text}`);
      return Number(line.slice(name.length + 1));
    };
    assert.ok(value("ssehub_connections") >= 2);
    assert.equal(value("ssehub_subscribers"), 1);
    assert.equal(value("ssehub_subscriptions"), 2);
    assert.equal(value("ssehub_events_published_total"), 1);
    assert.equal(value("ssehub_deliveries_total"), 1);
    assert.ok(value("ssehub_bytes_written_total") > 0);
    assert.equal(value("ssehub_history_events"), 1);
    assert.equal(value('ssehub_slow_consumer_total{reason="disconnect"}'), 0);
    assert.equal(value('ssehub_slow_consumer_total{reason="drop"}'), 0);
    assert.ok(value('ssehub_event_loop_delay_seconds{quantile="0.99"}') >= 0);
    assert.ok(value('ssehub_process_memory_bytes{kind="rss"}') > 0);
    // ssehub's own names, and prom-client's process metrics under their usual names.
    for (const line of text.split("\n")) {
      if (line === "" || line.startsWith("#")) continue;
      assert.match(line, /^(?:ssehub_|process_|nodejs_)/);
      assert.doesNotMatch(line, /^nodejs_eventloop_lag/, "biased by its sampler's resolution");
    }
    assert.ok(value("process_resident_memory_bytes") > 0);
    assert.ok(value("process_cpu_seconds_total") >= 0);
  });

  test("GET /metrics counters keep growing across scrapes", async (t) => {
    const { ssehub, url } = await startServer(t);
    const scrape = async (): Promise<number> => {
      const text = await (await fetch(`${url}/metrics`)).text();
      const line = text.split("\n").find((l) => l.startsWith("ssehub_events_published_total "));
      return Number(line?.split(" ")[1]);
    };
    ssehub.hub.publish({ topic: "a", data: 1 });
    assert.equal(await scrape(), 1);
    ssehub.hub.publish({ topic: "a", data: 2 });
    ssehub.hub.publish({ topic: "a", data: 3 });
    assert.equal(await scrape(), 3);
    assert.equal(await scrape(), 3);
  });
});
