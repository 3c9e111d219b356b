import http from "node:http";
import type { AddressInfo } from "node:net";
import { getRequestListener } from "@hono/node-server";
import { Hono } from "hono";
import { createHub, createRequestHandler } from "ssehub";

const hub = createHub();
const ssehub = createRequestHandler(hub);
const app = new Hono();
app.post("/orders", async (c) => {
  const { id } = await hub.publish({ topic: "orders", data: await c.req.json() });
  return c.json({ id }, 201);
});
const hono = getRequestListener(app.fetch);

// The hub's requests reach the hub as node:http's request and response; the rest go to Hono.
const server = http.createServer((req, res) => {
  if (req.url?.startsWith("/sse/")) {
    req.url = req.url.slice("/sse".length); // GET /sse/events?topic=orders -> /events?topic=orders
    ssehub(req, res);
  } else {
    hono(req, res);
  }
});
server.listen(Number(process.env.PORT ?? 8080), "127.0.0.1", () => {
  console.log(`listening on http://127.0.0.1:${(server.address() as AddressInfo).port}`);
});

process.once("SIGTERM", async () => {
  await hub.close(); // every stream gets retry: and ends
  ssehub.metrics.close();
  ssehub.diagnosis.close();
  server.close();
});
