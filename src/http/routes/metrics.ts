/**
 * `GET /metrics`: Prometheus text exposition of the server's own registry (see metrics.ts).
 * @module
 */
import type { Route } from "./route.js";

/** The metrics route. */
export const metricsRoute: Route = {
  methods: ["GET", "HEAD"],
  async handle({ res, metrics }) {
    const text = await metrics.registry.metrics();
    res.writeHead(200, {
      "Content-Type": metrics.registry.contentType,
      "Content-Length": Buffer.byteLength(text),
      "Cache-Control": "no-store",
    });
    res.end(text);
  },
};
