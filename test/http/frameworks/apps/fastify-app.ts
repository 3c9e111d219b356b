import http from "node:http";
import Fastify from "fastify";
import { createHub, createRequestHandler } from "ssehub";

const hub = createHub();
const ssehub = createRequestHandler(hub);
const app = Fastify({
  // The hub's requests reach the hub before Fastify reads their bodies.
  serverFactory: (fastifyHandler) =>
    http.createServer((req, res) => {
      if (req.url?.startsWith("/sse/")) {
        req.url = req.url.slice("/sse".length); // GET /sse/events?topic=orders -> /events?topic=orders
        ssehub(req, res);
      } else {
        fastifyHandler(req, res);
      }
    }),
});
app.post("/orders", async (request, reply) => {
  const { id } = await hub.publish({ topic: "orders", data: request.body });
  return reply.code(201).send({ id });
});

const address = await app.listen({ port: Number(process.env.PORT ?? 8080), host: "127.0.0.1" });
console.log(`listening on ${address}`);

process.once("SIGTERM", async () => {
  await hub.close(); // every stream gets retry: and ends
  ssehub.metrics.close();
  ssehub.diagnosis.close();
  await app.close();
});
