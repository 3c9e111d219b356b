/**
 * The Express example of docs/api.md (apps/express-app.ts) serves the hub under `/sse`; a body
 * parser mounted in front of the hub instead gets a clear answer, not a hang.
 */
import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import express from "express";
import { createRequestHandler } from "../../../src/http/handler.js";
import { createLogger } from "../../../src/http/telemetry/logger.js";
import { createHub } from "../../../src/hub/hub.js";
import { describeFrameworkApp } from "./framework-cases.js";

describeFrameworkApp("Express", "express");

test("Express: express.json() in front of the hub makes a publish answer 400 naming the fix, and publishes nothing", async (t) => {
  const hub = createHub();
  t.after(() => hub.close());
  const ssehub = createRequestHandler(hub, { logger: createLogger("silent") });
  t.after(() => {
    ssehub.metrics.close();
    ssehub.diagnosis.close();
  });
  const app = express();
  app.use(express.json()); // the mistake: it reads the body before the hub can
  app.use("/sse", ssehub);
  const server = app.listen(0, "127.0.0.1");
  t.after(() => server.close());
  await new Promise((resolve) => server.once("listening", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const response = await fetch(`${url}/sse/publish`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ topic: "orders", data: "lost?" }),
  });
  const body = (await response.json()) as { code: string; message: string };
  assert.equal(response.status, 400);
  assert.equal(body.code, "SSEHUB_ERR_PUBLISH_MALFORMED");
  assert.match(body.message, /mount ssehub before any body parser/);
  assert.equal(hub.topic("orders"), undefined);
});
