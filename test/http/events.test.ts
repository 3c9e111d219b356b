import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { waitFor } from "../helpers/wait-for.js";
import { expectError } from "./expect-error.js";
import { openStream } from "./raw-stream.js";
import { startServer } from "./start-server.js";

describe("GET /events", () => {
  test("GET /events answers an event stream whose retry line leaves at once", async (t) => {
    const { url } = await startServer(t, { retryMs: 2500 });
    const stream = await openStream(t, `${url}/events?topic=news`);
    assert.equal(stream.response.statusCode, 200);
    assert.equal(stream.response.headers["content-type"], "text/event-stream; charset=utf-8");
    assert.equal(stream.response.headers["cache-control"], "no-cache");
    assert.equal(stream.response.headers["x-accel-buffering"], "no");
    assert.equal(stream.response.headers["content-length"], undefined);
    await stream.waitFor("retry: 2500\n\n");
    assert.ok(stream.text.startsWith("retry: 2500\n\n"), JSON.stringify(stream.text));
  });

  test("GET /events delivers events of every topic asked in the query", async (t) => {
    const { ssehub, url } = await startServer(t);
    const stream = await openStream(t, `${url}/events?topic=a&topic=b`);
    await stream.waitFor("retry:");
    const first = await ssehub.hub.publish({ topic: "a", data: "one" });
    const second = await ssehub.hub.publish({ topic: "b", data: { n: 2 }, event: "count" });
    ssehub.hub.publish({ topic: "c", data: "not for us" });
    await stream.waitFor(`id: ${second.id}\nevent: count\ndata: {"n":2}\n\n`);
    assert.ok(stream.text.includes(`id: ${first.id}\ndata: one\n\n`));
    assert.ok(!stream.text.includes("not for us"));
  });

  test("GET /events/:topic subscribes to the percent-decoded topic", async (t) => {
    const { ssehub, url } = await startServer(t);
    const topic = "https://example.com/books/1";
    const stream = await openStream(t, `${url}/events/${encodeURIComponent(topic)}`);
    await stream.waitFor("retry:");
    const { id } = await ssehub.hub.publish({ topic, data: "updated" });
    await stream.waitFor(`id: ${id}\ndata: updated\n\n`);
    assert.deepEqual(ssehub.hub.topic(topic)?.subscribers, 1);
  });

  test("GET /events resumes after the Last-Event-ID header", async (t) => {
    const { ssehub, url } = await startServer(t);
    const first = await ssehub.hub.publish({ topic: "t", data: "first" });
    const second = await ssehub.hub.publish({ topic: "t", data: "second" });
    const stream = await openStream(t, `${url}/events?topic=t`, { "Last-Event-ID": first.id });
    await stream.waitFor(`id: ${second.id}\ndata: second\n\n`);
    assert.ok(!stream.text.includes("data: first"));
  });

  test("GET /events resumes after the lastEventId or lastEventID query parameter", async (t) => {
    const { ssehub, url } = await startServer(t);
    const first = await ssehub.hub.publish({ topic: "t", data: "first" });
    const second = await ssehub.hub.publish({ topic: "t", data: "second" });
    for (const name of ["lastEventId", "lastEventID"]) {
      const stream = await openStream(t, `${url}/events?topic=t&${name}=${first.id}`);
      await stream.waitFor(`id: ${second.id}\ndata: second\n\n`);
      assert.ok(!stream.text.includes("data: first"), name);
      stream.close();
    }
  });

  test("GET /events prefers the Last-Event-ID header over the query parameter", async (t) => {
    const { ssehub, url } = await startServer(t);
    const first = await ssehub.hub.publish({ topic: "t", data: "first" });
    const second = await ssehub.hub.publish({ topic: "t", data: "second" });
    const third = await ssehub.hub.publish({ topic: "t", data: "third" });
    // A browser reconnecting keeps the old query parameter and sends a newer header.
    const stream = await openStream(t, `${url}/events?topic=t&lastEventId=${first.id}`, {
      "Last-Event-ID": second.id,
    });
    await stream.waitFor(`id: ${third.id}\ndata: third\n\n`);
    assert.ok(!stream.text.includes("data: second"));
  });

  test("GET /events unregisters the subscriber when the client goes away", async (t) => {
    const { ssehub, url } = await startServer(t);
    const stream = await openStream(t, `${url}/events?topic=gone`);
    await stream.waitFor("retry:");
    assert.equal(ssehub.hub.stats().subscribers, 1);
    stream.close();
    await waitFor(() => ssehub.hub.stats().subscribers === 0, "the subscriber to be unregistered");
  });

  test("GET /events without a topic answers 400 SSEHUB_ERR_TOPIC_MISSING", async (t) => {
    const { url } = await startServer(t);
    await expectError(`${url}/events`, 400, "SSEHUB_ERR_TOPIC_MISSING");
  });

  test("GET /events with an invalid topic answers 400 SSEHUB_ERR_TOPIC_INVALID", async (t) => {
    const { url } = await startServer(t);
    await expectError(`${url}/events?topic=a%20b`, 400, "SSEHUB_ERR_TOPIC_INVALID");
    await expectError(`${url}/events/%E0%A4%A`, 400, "SSEHUB_ERR_TOPIC_INVALID");
  });

  test("GET /events with too many topics answers 400 SSEHUB_ERR_SUBSCRIBE_TOO_MANY_TOPICS", async (t) => {
    const { url } = await startServer(t, { maxTopicsPerSubscription: 2 });
    const { body } = await expectError(
      `${url}/events?topic=a&topic=b&topic=c`,
      400,
      "SSEHUB_ERR_SUBSCRIBE_TOO_MANY_TOPICS",
    );
    assert.deepEqual(body.details, { limit: 2 });
  });

  test("GET /events with a line break in lastEventId answers 400 SSEHUB_ERR_EVENT_INVALID_ID", async (t) => {
    const { ssehub, url } = await startServer(t);
    await expectError(
      `${url}/events?topic=a&lastEventId=x%0Aevent:%20forged`,
      400,
      "SSEHUB_ERR_EVENT_INVALID_ID",
    );
    assert.equal(ssehub.hub.stats().subscribers, 0);
  });

  test("GET /events keeps serving after refusing bad requests", async (t) => {
    const { ssehub, url } = await startServer(t, { maxTopicsPerSubscription: 1 });
    await expectError(`${url}/events?topic=a&topic=b`, 400, "SSEHUB_ERR_SUBSCRIBE_TOO_MANY_TOPICS");
    await expectError(`${url}/events`, 400, "SSEHUB_ERR_TOPIC_MISSING");
    const stream = await openStream(t, `${url}/events?topic=a`);
    await stream.waitFor("retry:");
    const { id } = await ssehub.hub.publish({ topic: "a", data: "still here" });
    await stream.waitFor(`id: ${id}\ndata: still here\n\n`);
  });

  test("GET /events answers 503 SSEHUB_ERR_HUB_CLOSED once the hub is closed", async (t) => {
    const { ssehub, url } = await startServer(t);
    await ssehub.hub.close();
    await expectError(`${url}/events?topic=a`, 503, "SSEHUB_ERR_HUB_CLOSED");
  });
});
