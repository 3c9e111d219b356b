import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import { describe, test } from "node:test";
import { createRequestHandler } from "../../src/http/handler.js";
import { createLogger } from "../../src/http/telemetry/logger.js";
import { createHub } from "../../src/hub/hub.js";
import { openStream } from "./raw-stream.js";

describe("createRequestHandler()", () => {
  test("createRequestHandler() mounts the hub on an app's own node:http server", async (t) => {
    const hub = createHub({ retryMs: 1234 });
    t.after(() => hub.close());
    const handler = createRequestHandler(hub, { logger: createLogger("silent") });
    t.after(() => handler.metrics.close());
    const server = http.createServer((req, res) => {
      if (req.url === "/app") {
        res.end("the app's own route");
        return;
      }
      handler(req, res);
    });
    server.listen(0, "127.0.0.1");
    t.after(() => {
      server.closeAllConnections();
      server.close();
    });
    await new Promise((resolve) => server.once("listening", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    assert.equal(await (await fetch(`${url}/app`)).text(), "the app's own route");
    const stream = await openStream(t, `${url}/events/chat`);
    await stream.waitFor("retry: 1234\n\n");
    const response = await fetch(`${url}/publish`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ topic: "chat", data: "hi" }),
    });
    const { id } = (await response.json()) as { id: string };
    await stream.waitFor(`id: ${id}\ndata: hi\n\n`);
    const ready = await fetch(`${url}/readyz`);
    assert.equal(ready.status, 200);
    await hub.close();
    const notReady = await fetch(`${url}/readyz`);
    assert.equal(notReady.status, 503);
  });

  test("createRequestHandler() takes its own server options: CORS origins and body size", async (t) => {
    const hub = createHub();
    t.after(() => hub.close());
    const handler = createRequestHandler(hub, {
      logger: createLogger("silent"),
      corsOrigins: ["https://app.example"],
      maxBodyBytes: 64,
    });
    t.after(() => handler.metrics.close());
    const server = http.createServer(handler);
    server.listen(0, "127.0.0.1");
    t.after(() => server.close());
    await new Promise((resolve) => server.once("listening", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    const topics = await fetch(`${url}/topics`, { headers: { Origin: "https://app.example" } });
    assert.equal(topics.headers.get("access-control-allow-origin"), "https://app.example");
    await topics.arrayBuffer();
    const tooLarge = await fetch(`${url}/publish`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ topic: "chat", data: "x".repeat(100) }),
    });
    assert.equal(tooLarge.status, 413);
    assert.equal(
      ((await tooLarge.json()) as { code: string }).code,
      "SSEHUB_ERR_PUBLISH_TOO_LARGE",
    );
  });

  test("an unexpected error answers a generic 500 and its cause goes to the log only", async (t) => {
    const hub = createHub();
    t.after(() => hub.close());
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        lines.push(chunk.toString("utf8"));
        callback();
      },
    });
    const handler = createRequestHandler(hub, { logger: createLogger("info", destination) });
    t.after(() => handler.metrics.close());
    hub.topicsPage = () => {
      throw new Error("disk on fire at /srv/secret");
    };
    const server = http.createServer(handler);
    server.listen(0, "127.0.0.1");
    t.after(() => server.close());
    await new Promise((resolve) => server.once("listening", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    const response = await fetch(`${url}/topics`);
    assert.equal(response.status, 500);
    const body = (await response.json()) as { code: string; message: string };
    assert.equal(body.code, "SSEHUB_ERR_INTERNAL");
    assert.doesNotMatch(body.message, /disk on fire/);
    const logged = lines.map(
      (line) => JSON.parse(line) as { level: number; err?: { message: string } },
    );
    assert.ok(
      logged.some((entry) => entry.level === 50 && entry.err?.message.includes("disk on fire")),
    );
  });
});
