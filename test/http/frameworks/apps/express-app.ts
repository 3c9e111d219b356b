import type { AddressInfo } from "node:net";
import express from "express";
import { createHub, createRequestHandler } from "ssehub";

const hub = createHub();
const ssehub = createRequestHandler(hub);
const app = express();
app.use("/sse", ssehub); // GET /sse/events?topic=orders, POST /sse/publish, ...
app.use(express.json()); // after the hub, which reads its own request bodies
app.post("/orders", async (req, res) => {
  const { id } = await hub.publish({ topic: "orders", data: req.body });
  res.status(201).json({ id });
});

const server = app.listen(Number(process.env.PORT ?? 8080), "127.0.0.1", () => {
  console.log(`listening on http://127.0.0.1:${(server.address() as AddressInfo).port}`);
});

process.once("SIGTERM", async () => {
  await hub.close(); // every stream gets retry: and ends
  ssehub.metrics.close();
  ssehub.diagnosis.close();
  server.close();
});
