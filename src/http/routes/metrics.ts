/**
 * `GET /metrics`: Prometheus text exposition of the server's metrics (see metrics.ts): of every
 * worker with `--workers N`, through the gather function the serve command gives.
 * @module
 */
import type { Route } from "./route.js";

/** The metrics route. */
export const metricsRoute: Route = {
  methods: ["GET", "HEAD"],
  async handle({ res, metrics }) {
    const text = await metrics.scrape();
    res.writeHead(200, {
      "Content-Type": metrics.contentType,
      "Content-Length": Buffer.byteLength(text),
      "Cache-Control": "no-store",
    });
    res.end(text);
  },
};
