/**
 * Probes: `GET /healthz` answers 200 while the process serves HTTP at all (liveness);
 * `GET /readyz` answers 200 while the server takes new subscribers and 503 from the moment
 * shutdown starts (`stopping`), so that a load balancer stops sending clients before streams
 * end, or while the bus cannot order events (`bus-unavailable`: Redis is unreachable).
 * @module
 */

import { sendJson } from "../messages/send-json.js";
import type { Route } from "./route.js";

/** Liveness. */
export const healthRoute: Route = {
  methods: ["GET", "HEAD"],
  handle({ res }) {
    sendJson(res, 200, { status: "ok", pid: process.pid });
  },
};

/** Readiness. */
export const readyRoute: Route = {
  methods: ["GET", "HEAD"],
  handle({ hub, res, isReady }) {
    if (isReady()) sendJson(res, 200, { status: "ready" });
    else if (hub.isClosed || hub.isReady) sendJson(res, 503, { status: "stopping" });
    else sendJson(res, 503, { status: "bus-unavailable" });
  },
};
