/**
 * A WHATWG-compliant client (the npm package `eventsource`) receives what is published over
 * HTTP, field for field, and resumes with Last-Event-ID when the server drops it.
 */
import assert from "node:assert/strict";
import type { Server as HttpServer } from "node:http";
import { describe, it } from "node:test";
import { EventSource } from "eventsource";
import { postJson, startHub } from "../helpers/start-hub.js";
import { waitFor } from "../helpers/wait-for.js";

interface Received {
  type: string;
  data: string;
  lastEventId: string;
}

function listen(source: EventSource, types: string[]): Received[] {
  const received: Received[] = [];
  for (const type of types) {
    source.addEventListener(type, (event: MessageEvent) => {
      received.push({ type: event.type, data: event.data, lastEventId: event.lastEventId });
    });
  }
  return received;
}

describe("the eventsource package as a client", () => {
  it("receives multi-line and Unicode data, event types and ids", async (t) => {
    const { url } = await startHub(t);
    const source = new EventSource(`${url}/events?topic=chat&topic=alerts`);
    t.after(() => source.close());
    const received = listen(source, ["message", "alert"]);
    await new Promise<void>((resolve) => source.addEventListener("open", () => resolve()));

    const sent = [
      { topic: "chat", data: "line one\nline two\r\nline three\rline four" },
      { topic: "chat", data: "héllo wörld ✓ 日本語 🎉" },
      { topic: "alerts", data: { level: "high", text: "über" }, event: "alert" },
      { topic: "chat", data: "" },
      { topic: "chat", data: " leading space and trailing space " },
    ];
    const ids: string[] = [];
    for (const event of sent) {
      const answer = await postJson(`${url}/publish`, event);
      assert.equal(answer.status, 200);
      ids.push(answer.body.id as string);
    }
    await waitFor(() => received.length === sent.length, "all events");
    assert.deepEqual(received, [
      { type: "message", data: "line one\nline two\nline three\nline four", lastEventId: ids[0] },
      { type: "message", data: "héllo wörld ✓ 日本語 🎉", lastEventId: ids[1] },
      { type: "alert", data: '{"level":"high","text":"über"}', lastEventId: ids[2] },
      { type: "message", data: "", lastEventId: ids[3] },
      { type: "message", data: " leading space and trailing space ", lastEventId: ids[4] },
    ]);
  });

  it("resumes with Last-Event-ID after the server drops the connection", async (t) => {
    const { url, server } = await startHub(t, { retryMs: 100 });
    const source = new EventSource(`${url}/events/orders`);
    t.after(() => source.close());
    const received = listen(source, ["message"]);
    let opens = 0;
    source.addEventListener("open", () => {
      opens++;
    });
    await waitFor(() => opens === 1, "first open");
    for (let i = 0; i < 5; i++) await postJson(`${url}/publish`, { topic: "orders", data: `${i}` });
    await waitFor(() => received.length === 5, "first five events");

    (server.server as HttpServer).closeAllConnections(); // the server drops every connection
    // New connections: the pooled ones were just dropped too.
    const publish = (data: string) =>
      postJson(`${url}/publish`, { topic: "orders", data }, { newConnection: true });
    for (let i = 5; i < 10; i++) await publish(`${i}`);
    await waitFor(() => opens === 2, "the reconnection");
    for (let i = 10; i < 12; i++) await publish(`${i}`);
    await waitFor(() => received.length === 12, "all twelve events");
    assert.deepEqual(
      received.map((e) => e.data),
      Array.from({ length: 12 }, (_, i) => `${i}`),
    );
  });
});
