/**
 * `GET /admin/stalls`: the stall reports of this process (telemetry/stall-watcher.ts): the
 * threshold, the counts since start by phase, and the last reports kept, oldest first. Behind
 * the admin gate (access/admin-access.ts).
 * @module
 */
import { sendJson } from "../messages/send-json.js";
import type { Route } from "./route.js";

/** The stall reports route. */
export const adminStallsRoute: Route = {
  methods: ["GET", "HEAD"],
  handle({ req, res, admin, diagnosis }) {
    admin.check(req);
    const watcher = diagnosis.watcher;
    sendJson(res, 200, {
      pid: process.pid,
      thresholdMs: watcher.thresholdMs,
      total: watcher.total,
      byPhase: watcher.countsByPhase(),
      reports: watcher.reports(),
    });
  },
};
