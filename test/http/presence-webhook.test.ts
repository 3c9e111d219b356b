import assert from "node:assert/strict";
import { createHmac, timingSafeEqual } from "node:crypto";
import { once } from "node:events";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import { describe, type TestContext, test } from "node:test";
import { SignJWT } from "jose";
import { Registry } from "prom-client";
import { createLogger } from "../../src/http/telemetry/logger.js";
import {
  type PresenceEvent,
  PresenceWebhook,
  type PresenceWebhookOptions,
} from "../../src/http/telemetry/presence-webhook.js";
import { waitFor } from "../helpers/wait-for.js";
import { openStream } from "./raw-stream.js";
import { startServer } from "./start-server.js";

const SECRET = "presence-secret";
const SUBSCRIBER_KEY = "subscriber-key-of-at-least-32-bytes!!";

/** One POST the backend received, whatever it answered. */
interface Delivery {
  readonly key: string;
  readonly signature: string;
  readonly body: string;
  readonly events: PresenceEvent[];
}

/**
 * A webhook backend on 127.0.0.1: records every POST, answers `status()` (200 by default).
 * `stop()` closes it (connections refused then); `start()` listens again on the same port.
 */
class Backend {
  readonly deliveries: Delivery[] = [];
  status: () => number = () => 200;
  port = 0;
  #server: http.Server | undefined;

  async start(t: TestContext): Promise<void> {
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        const body = Buffer.concat(chunks).toString("utf8");
        this.deliveries.push({
          key: String(req.headers["idempotency-key"]),
          signature: String(req.headers["x-ssehub-signature"]),
          body,
          events: JSON.parse(body) as PresenceEvent[],
        });
        res.writeHead(this.status()).end();
      });
    });
    this.#server = server;
    server.listen(this.port, "127.0.0.1");
    await once(server, "listening");
    this.port = (server.address() as AddressInfo).port;
    t.after(() => this.stop());
  }

  async stop(): Promise<void> {
    const server = this.#server;
    if (server === undefined) return;
    this.#server = undefined;
    const closed = once(server, "close");
    server.close();
    server.closeAllConnections();
    await closed;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/presence`;
  }

  /** Every event received, duplicates of retried batches dropped by their id, in arrival order. */
  get unique(): PresenceEvent[] {
    const seen = new Set<string>();
    const events: PresenceEvent[] = [];
    for (const delivery of this.deliveries) {
      for (const event of delivery.events) {
        if (seen.has(event.id)) continue;
        seen.add(event.id);
        events.push(event);
      }
    }
    return events;
  }
}

/** What a backend does to check a delivery: the HMAC of the raw body, compared in constant time. */
function isSignedBy(secret: string, body: string, header: string): boolean {
  const expected = Buffer.from(`sha256=${createHmac("sha256", secret).update(body).digest("hex")}`);
  const given = Buffer.from(header);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** A logger whose lines are kept, parsed. */
function recordingLogger(): { logger: ReturnType<typeof createLogger>; lines: { msg: string }[] } {
  const lines: { msg: string }[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString("utf8").split("\n")) {
        if (line !== "") lines.push(JSON.parse(line) as { msg: string });
      }
      done();
    },
  });
  return { logger: createLogger("info", destination), lines };
}

function webhookFor(
  t: TestContext,
  url: string,
  options: Partial<PresenceWebhookOptions> = {},
): PresenceWebhook {
  const webhook = new PresenceWebhook({
    url,
    secret: SECRET,
    debounceMs: 20,
    timeoutMs: 2000,
    queueEvents: 1000,
    logger: createLogger("silent"),
    retryBaseMs: 10,
    retryCapMs: 80,
    random: () => 0.5,
    ...options,
  });
  t.after(() => webhook.close(Date.now()));
  return webhook;
}

const subscriber = { topics: ["room"], clientAddress: "127.0.0.1" };

describe("presence webhook", () => {
  test("a subscriber's stream is reported, signed, with its topics, address, subject and no token", async (t) => {
    const backend = new Backend();
    await backend.start(t);
    const { url } = await startServer(t, {
      presenceWebhookUrl: backend.url,
      presenceWebhookSecret: SECRET,
      presenceWebhookDebounceMs: 50,
      subscriberJwtKey: SUBSCRIBER_KEY,
    });
    const token = await new SignJWT({ mercure: { subscribe: ["*"] } })
      .setProtectedHeader({ alg: "HS256" })
      .setSubject("alice")
      .sign(new TextEncoder().encode(SUBSCRIBER_KEY));
    const stream = await openStream(t, `${url}/events?topic=room&topic=lobby`, {
      Authorization: `Bearer ${token}`,
    });
    await stream.waitFor("retry:");
    const [opened] = await waitFor(
      () => backend.unique.length === 1 && backend.unique,
      "subscribe",
    );
    assert.ok(opened !== undefined);
    assert.equal(opened.type, "subscribe");
    assert.deepEqual(opened.topics, ["room", "lobby"]);
    assert.equal(opened.subject, "alice");
    assert.equal(opened.clientAddress, "127.0.0.1");
    assert.ok(!Number.isNaN(Date.parse(opened.timestamp)));
    assert.match(opened.id, /^[0-9a-f-]{36}$/);
    stream.close();
    const events = await waitFor(() => backend.unique.length === 2 && backend.unique, "unsub");
    const closed = events[1] as PresenceEvent;
    assert.equal(closed.type, "unsubscribe");
    assert.equal(closed.connectionId, opened.connectionId);
    assert.notEqual(closed.id, opened.id);
    for (const delivery of backend.deliveries) {
      assert.ok(isSignedBy(SECRET, delivery.body, delivery.signature), delivery.signature);
      assert.ok(!isSignedBy("another secret", delivery.body, delivery.signature));
      assert.match(delivery.key, /^[0-9a-f-]{36}$/);
      assert.ok(!delivery.body.includes(token), "no token in the payload");
    }
  });

  test("a Mercure subscriber's stream is reported too, its selectors as written", async (t) => {
    const backend = new Backend();
    await backend.start(t);
    const { url } = await startServer(t, {
      presenceWebhookUrl: backend.url,
      presenceWebhookDebounceMs: 20,
    });
    const topic = "https://example.com/books/1";
    const stream = await openStream(
      t,
      `${url}/.well-known/mercure?topic=${encodeURIComponent(topic)}`,
    );
    await waitFor(() => stream.response.statusCode === 200, "the stream");
    const [opened] = await waitFor(
      () => backend.unique.length === 1 && backend.unique,
      "subscribe",
    );
    assert.equal(opened?.type, "subscribe");
    assert.deepEqual(opened?.topics, [topic]);
    stream.close();
    await waitFor(() => backend.unique.length === 2, "the unsubscribe");
    assert.equal(backend.unique[1]?.type, "unsubscribe");
  });

  test("the events of one window leave in one POST, and a stream opened and closed within it in none", async (t) => {
    const backend = new Backend();
    await backend.start(t);
    const webhook = webhookFor(t, backend.url);
    const first = webhook.subscribed(subscriber);
    const second = webhook.subscribed({ ...subscriber, topics: ["a", "b"], subject: "bob" });
    const brief = webhook.subscribed(subscriber);
    webhook.unsubscribed(brief, subscriber);
    await waitFor(() => backend.deliveries.length === 1, "the batch");
    const [delivery] = backend.deliveries;
    assert.deepEqual(
      delivery?.events.map((event) => [event.type, event.connectionId, event.subject]),
      [
        ["subscribe", first, undefined],
        ["subscribe", second, "bob"],
      ],
    );
    webhook.unsubscribed(first, subscriber);
    webhook.unsubscribed(second, subscriber);
    await waitFor(() => backend.deliveries.length === 2, "the second batch");
    assert.deepEqual(
      backend.deliveries[1]?.events.map((event) => [event.type, event.connectionId]),
      [
        ["unsubscribe", first],
        ["unsubscribe", second],
      ],
    );
  });

  test("a backend answering 503, then refusing connections, then back gets every event once, in order", async (t) => {
    const backend = new Backend();
    backend.status = () => 503;
    await backend.start(t);
    const webhook = webhookFor(t, backend.url);
    const a = webhook.subscribed(subscriber);
    const b = webhook.subscribed(subscriber);
    await waitFor(() => backend.deliveries.length >= 3, "retries answered 503");
    // Every retry of a batch carries the same key and the same events.
    assert.equal(new Set(backend.deliveries.map((d) => d.key)).size, 1);
    assert.equal(new Set(backend.deliveries.map((d) => d.body)).size, 1);

    await backend.stop();
    const failedBefore = webhook.deliveries.failed;
    webhook.unsubscribed(a, subscriber);
    const c = webhook.subscribed(subscriber);
    webhook.unsubscribed(b, subscriber);
    await waitFor(() => webhook.deliveries.failed >= failedBefore + 3, "refused connections");

    backend.status = () => 200;
    await backend.start(t);
    await waitFor(() => webhook.queued === 0, "the queue to drain");
    const events = backend.unique;
    assert.deepEqual(
      events.map((event) => [event.type, event.connectionId]),
      [
        ["subscribe", a],
        ["subscribe", b],
        ["unsubscribe", a],
        ["subscribe", c],
        ["unsubscribe", b],
      ],
    );
    assert.equal(webhook.dropped.queue_full, 0);
  });

  test("past presenceWebhookQueueEvents the oldest events are dropped, counted and logged", async (t) => {
    // A port nobody listens on: every POST is refused.
    const backend = new Backend();
    await backend.start(t);
    await backend.stop();
    const { logger, lines } = recordingLogger();
    const registry = new Registry();
    const webhook = webhookFor(t, backend.url, { queueEvents: 3, logger });
    webhook.registerMetrics(registry);
    const ids = Array.from({ length: 10 }, () => webhook.subscribed(subscriber));
    assert.equal(webhook.dropped.queue_full, 7);
    assert.equal(webhook.queued, 3);
    assert.ok(lines.some((line) => line.msg.includes("dropped the oldest events")));
    const metrics = await registry.metrics();
    assert.match(metrics, /ssehub_presence_webhook_events_dropped_total\{reason="queue_full"\} 7/);

    // The newest three are kept: they arrive once the backend is back.
    await backend.start(t);
    await waitFor(() => webhook.queued === 0, "the queue to drain");
    assert.deepEqual(
      backend.unique.map((event) => event.connectionId),
      ids.slice(7),
    );
    assert.match(
      await registry.metrics(),
      /ssehub_presence_webhook_deliveries_total\{outcome="ok"\} 1/,
    );
  });

  test("close() sends what is left before the deadline, and counts what it could not", async (t) => {
    const backend = new Backend();
    await backend.start(t);
    const webhook = webhookFor(t, backend.url, { debounceMs: 60_000 });
    const id = webhook.subscribed(subscriber);
    await webhook.close(Date.now() + 30_000);
    assert.deepEqual(
      backend.unique.map((event) => [event.type, event.connectionId]),
      [["subscribe", id]],
    );
    webhook.unsubscribed(id, subscriber);
    assert.equal(webhook.dropped.shutdown, 1);

    await backend.stop();
    const refused = webhookFor(t, backend.url, { debounceMs: 60_000 });
    refused.subscribed(subscriber);
    await refused.close(Date.now() + 100);
    assert.equal(refused.dropped.shutdown, 1);
    assert.equal(refused.queued, 0);
  });

  test("the server's shutdown flushes the unsubscribe of every stream it ends", async (t) => {
    const backend = new Backend();
    await backend.start(t);
    const { ssehub, url } = await startServer(t, {
      presenceWebhookUrl: backend.url,
      presenceWebhookDebounceMs: 20,
      shutdownTimeoutMs: 30_000,
    });
    const stream = await openStream(t, `${url}/events/room`);
    await stream.waitFor("retry:");
    await waitFor(() => backend.unique.length === 1, "the subscribe");
    await ssehub.close();
    assert.deepEqual(
      backend.unique.map((event) => [event.type, event.topics]),
      [
        ["subscribe", ["room"]],
        ["unsubscribe", ["room"]],
      ],
    );
  });
});
