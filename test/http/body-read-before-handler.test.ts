/**
 * A publish whose body a framework's parser read before the ssehub handler: the hub answers a
 * clear 400 at once (it never waits for a body that will not come), as docs/api.md says.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { createRequestHandler } from "../../src/http/handler.js";
import { createLogger } from "../../src/http/telemetry/logger.js";
import { createHub } from "../../src/hub/hub.js";

test("a publish whose body a parser already read answers 400 SSEHUB_ERR_PUBLISH_MALFORMED, as docs/api.md says", async (t) => {
  const hub = createHub();
  t.after(() => hub.close());
  const handler = createRequestHandler(hub, { logger: createLogger("silent") });
  t.after(() => handler.metrics.close());
  // A body parser in front of the handler, as express.json() would be.
  const server = http.createServer((req, res) => {
    req.resume();
    req.once("end", () => handler(req, res));
  });
  server.listen(0, "127.0.0.1");
  t.after(() => server.close());
  await new Promise((resolve) => server.once("listening", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const response = await fetch(`${url}/publish`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ topic: "a", data: "x" }),
  });
  assert.equal(response.status, 400);
  const body = (await response.json()) as { code: string; message: string };
  assert.equal(body.code, "SSEHUB_ERR_PUBLISH_MALFORMED");
  assert.match(body.message, /already read before the ssehub handler/);
  assert.equal(hub.stats().eventsPublished, 0);

  const page = readFileSync(new URL("../../../docs/api.md", import.meta.url), "utf8");
  const sentence = page.slice(page.indexOf("Mount it before any body parser"));
  assert.match(sentence.slice(0, 300), /400 SSEHUB_ERR_PUBLISH_MALFORMED/);
});
