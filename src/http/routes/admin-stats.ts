/**
 * `GET /admin/stats`: one JSON snapshot of this process: the hub's counters (HubStats), the
 * process's memory and uptime. Behind the admin gate (access/admin-access.ts).
 * @module
 */
import { sendJson } from "../messages/send-json.js";
import type { Route } from "./route.js";

/** The admin stats route. */
export const adminStatsRoute: Route = {
  methods: ["GET", "HEAD"],
  handle({ hub, req, res, admin }) {
    admin.check(req);
    const memory = process.memoryUsage();
    sendJson(res, 200, {
      pid: process.pid,
      uptimeSeconds: process.uptime(),
      hub: hub.stats(),
      memory: { rss: memory.rss, heapUsed: memory.heapUsed, external: memory.external },
    });
  },
};
