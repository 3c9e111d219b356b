/**
 * hub.publish() and hub.publishBatch() with an idempotency key, in one process: a retry within
 * the window answers the first ids and publishes nothing; the same key with another event is
 * refused; after the window the key is new again.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createHub, type Hub } from "../../src/hub/hub.js";
import type { HubOptions } from "../../src/hub/hub-options.js";
import { nextTurn, RecordingSink } from "../helpers/recording-sink.js";
import { waitFor } from "../helpers/wait-for.js";

function hubFor(t: { after(fn: () => unknown): void }, options: HubOptions = {}): Hub {
  const hub = createHub(options);
  t.after(() => hub.close());
  return hub;
}

function subscribe(hub: Hub, topic: string): RecordingSink {
  const sink = new RecordingSink();
  hub.subscribe({ topics: [topic], sink });
  return sink;
}

describe("Hub.publish() with an idempotencyKey", () => {
  it("answers a retry with the first publish's id and publishes nothing", async (t) => {
    const hub = hubFor(t);
    const sink = subscribe(hub, "orders");
    const input = { topic: "orders", data: { n: 1 }, idempotencyKey: "order-1" };
    const first = await hub.publish(input);
    const retry = await hub.publish({ ...input });
    assert.deepEqual(retry, first);
    const other = await hub.publish({ ...input, idempotencyKey: "order-2" });
    assert.notEqual(other.id, first.id);
    await nextTurn();
    assert.deepEqual(sink.data(), ['{"n":1}', '{"n":1}']);
    assert.equal(hub.stats().eventsPublished, 2);
  });

  it("answers the publisher's own id on a retry", async (t) => {
    const hub = hubFor(t);
    const input = { topic: "a", data: "x", id: "urn:x", idempotencyKey: "k" };
    assert.equal((await hub.publish(input)).id, "urn:x");
    assert.equal((await hub.publish(input)).id, "urn:x");
    assert.equal(hub.stats().eventsPublished, 1);
  });

  it("refuses the same key with another event, and publishes nothing", async (t) => {
    const hub = hubFor(t);
    await hub.publish({ topic: "a", data: "x", idempotencyKey: "k" });
    for (const changed of [
      { topic: "a", data: "y" },
      { topic: "b", data: "x" },
      { topic: "a", data: "x", event: "e" },
    ]) {
      await assert.rejects(hub.publish({ ...changed, idempotencyKey: "k" }), {
        code: "SSEHUB_ERR_PUBLISH_IDEMPOTENCY_KEY_REUSED",
        status: 422,
      });
    }
    assert.equal(hub.stats().eventsPublished, 1);
  });

  it("publishes anew once the window has passed", async (t) => {
    const hub = hubFor(t, { idempotencyWindowMs: 20 });
    const input = { topic: "a", data: "x", idempotencyKey: "k" };
    const first = await hub.publish(input);
    // Retry until the key is forgotten: each retry within the window answers the first id.
    const later = await waitFor(async () => {
      const answer = await hub.publish(input);
      return answer.id === first.id ? undefined : answer;
    }, "the key to be forgotten");
    assert.notEqual(later.id, first.id);
    assert.equal(hub.stats().eventsPublished, 2);
  });

  it("refuses a key that is not 1 to 255 characters of the allowed set", async (t) => {
    const hub = hubFor(t);
    for (const key of ["", "a b", "x".repeat(256), "é", "a,b", '"q"', 42]) {
      await assert.rejects(
        hub.publish({ topic: "a", data: "x", idempotencyKey: key as string }),
        { code: "SSEHUB_ERR_PUBLISH_IDEMPOTENCY_KEY_INVALID", status: 400 },
        JSON.stringify(key),
      );
    }
    for (const key of [
      "8e03978e-40d5-43e8-bc93-6894a57f9324",
      "order:42",
      "a+b/c=@~_.",
      "x".repeat(255),
    ]) {
      await hub.publish({ topic: "a", data: "x", idempotencyKey: key });
    }
  });
});

describe("Hub.publishBatch() with an idempotencyKey", () => {
  it("takes the batch as one unit: a retry answers the same ids and publishes nothing", async (t) => {
    const hub = hubFor(t);
    const sink = subscribe(hub, "a");
    const batch = [
      { topic: "a", data: "1" },
      { topic: "a", data: "2" },
    ];
    const first = await hub.publishBatch(batch, { idempotencyKey: "b1" });
    assert.deepEqual(await hub.publishBatch(batch, { idempotencyKey: "b1" }), first);
    await assert.rejects(hub.publishBatch([batch[0]!], { idempotencyKey: "b1" }), {
      code: "SSEHUB_ERR_PUBLISH_IDEMPOTENCY_KEY_REUSED",
    });
    // One event alone is another request than a batch of it.
    await hub.publishBatch([batch[0]!], { idempotencyKey: "b2" });
    await assert.rejects(hub.publish({ ...batch[0]!, idempotencyKey: "b2" }), {
      code: "SSEHUB_ERR_PUBLISH_IDEMPOTENCY_KEY_REUSED",
    });
    await nextTurn();
    assert.deepEqual(sink.data(), ["1", "2", "1"]);
  });

  it("refuses a key on an event of a batch, naming the batch's option", async (t) => {
    const hub = hubFor(t);
    await assert.rejects(
      hub.publishBatch([
        { topic: "a", data: "1" },
        { topic: "a", data: "2", idempotencyKey: "k" },
      ]),
      (error: Error & { code?: string }) =>
        error.code === "SSEHUB_ERR_PUBLISH_MALFORMED" &&
        error.message.includes("event 1") &&
        error.message.includes("Idempotency-Key header"),
    );
    assert.equal(hub.stats().eventsPublished, 0);
  });
});
