/**
 * The Idempotency-Key header on POST /publish and on the Mercure publish: a retry gets the same
 * status and body and publishes nothing (subscribers count one event), the same key with another
 * body answers 422, and a malformed key 400.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { SseReader } from "../helpers/sse-reader.js";
import { startServer } from "./start-server.js";

function publish(
  url: string,
  body: unknown,
  key: string | undefined,
  contentType = "application/json",
): Promise<Response> {
  return fetch(`${url}/publish`, {
    method: "POST",
    headers: {
      "Content-Type": contentType,
      ...(key === undefined ? {} : { "Idempotency-Key": key }),
    },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

async function answer(response: Response): Promise<[number, string]> {
  return [response.status, await response.text()];
}

describe("Idempotency-Key on POST /publish", () => {
  test("a retry answers the same status and body and publishes nothing", async (t) => {
    const server = await startServer(t);
    const reader = await SseReader.open(`${server.url}/events/orders`);
    t.after(() => reader.close());
    const body = { topic: "orders", data: { n: 1 } };
    const first = await answer(await publish(server.url, body, "order-1"));
    assert.equal(first[0], 200);
    assert.deepEqual(await answer(await publish(server.url, body, "order-1")), first);
    // The Structured Field form of the draft names the same key.
    assert.deepEqual(await answer(await publish(server.url, body, '"order-1"')), first);
    // A batch is one unit under its key.
    const batch = [
      { topic: "orders", data: "b1" },
      { topic: "orders", data: "b2" },
    ];
    const batchFirst = await answer(await publish(server.url, batch, "batch-1"));
    assert.equal(batchFirst[0], 200);
    assert.deepEqual(await answer(await publish(server.url, batch, "batch-1")), batchFirst);
    await publish(server.url, { topic: "orders", data: "end" }, undefined);
    await reader.waitForEvents(4);
    assert.deepEqual(
      reader.events.map((e) => e.data),
      ['{"n":1}', "b1", "b2", "end"],
    );
  });

  test("the same key with another body answers 422 and publishes nothing", async (t) => {
    const server = await startServer(t);
    const reader = await SseReader.open(`${server.url}/events/a`);
    t.after(() => reader.close());
    assert.equal((await publish(server.url, { topic: "a", data: "x" }, "k")).status, 200);
    const refused = await publish(server.url, { topic: "a", data: "y" }, "k");
    assert.equal(refused.status, 422);
    const error = (await refused.json()) as { code: string; message: string };
    assert.equal(error.code, "SSEHUB_ERR_PUBLISH_IDEMPOTENCY_KEY_REUSED");
    assert.match(error.message, /"k"/);
    // A form with the same event is the same publish.
    const form = await publish(
      server.url,
      "topic=a&data=x",
      "k",
      "application/x-www-form-urlencoded",
    );
    assert.equal(form.status, 200);
    await publish(server.url, { topic: "a", data: "end" }, undefined);
    await reader.waitForEvents(2);
    assert.deepEqual(
      reader.events.map((e) => e.data),
      ["x", "end"],
    );
  });

  test("a malformed key answers 400 with the rule, before anything is published", async (t) => {
    const server = await startServer(t);
    for (const key of ["a b", "x".repeat(256), "a, b"]) {
      const response = await publish(server.url, { topic: "a", data: "x" }, key);
      assert.equal(response.status, 400, key);
      const error = (await response.json()) as { code: string; message: string };
      assert.equal(error.code, "SSEHUB_ERR_PUBLISH_IDEMPOTENCY_KEY_INVALID");
      assert.match(error.message, /1 to 255 characters/);
    }
    const both = await publish(server.url, { topic: "a", data: "x", idempotencyKey: "b" }, "c");
    assert.equal(both.status, 400);
    assert.equal(((await both.json()) as { code: string }).code, "SSEHUB_ERR_PUBLISH_MALFORMED");
    const inBatch = await publish(
      server.url,
      [{ topic: "a", data: "x", idempotencyKey: "b" }],
      undefined,
    );
    assert.equal(inBatch.status, 400);
    assert.equal(server.ssehub.hub.stats().eventsPublished, 0);
  });

  test("Idempotency-Key on the Mercure publish answers the first id as text/plain", async (t) => {
    const server = await startServer(t, { anonymousPublish: true });
    const send = (data: string) =>
      fetch(`${server.url}/.well-known/mercure`, {
        method: "POST",
        headers: {
          "Content-Type": "application/x-www-form-urlencoded",
          "Idempotency-Key": "m-1",
        },
        body: `topic=${encodeURIComponent("https://example.com/a")}&data=${data}`,
      });
    const first = await answer(await send("x"));
    assert.equal(first[0], 200);
    assert.deepEqual(await answer(await send("x")), first);
    assert.equal((await send("y")).status, 422);
    assert.equal(server.ssehub.hub.stats().eventsPublished, 1);
  });
});
