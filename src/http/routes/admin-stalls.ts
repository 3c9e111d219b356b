/**
 * `GET /admin/stalls`: the stall reports of this process (telemetry/stall-watcher.ts): the
 * threshold, the counts since start by phase, the last reports kept (oldest first), and the
 * latest CPU profile taken after a stall, when `stallProfileMs` is set.
 * `GET /admin/stalls/profile`: that profile, as a `.cpuprofile` file (404 before the first).
 * Both behind the admin gate (access/admin-access.ts).
 * @module
 */
import { SsehubError } from "../../errors.js";
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
      profile: watcher.profiler.info ?? null,
    });
  },
};

/** The route of the latest CPU profile taken after a stall. */
export const adminStallProfileRoute: Route = {
  methods: ["GET", "HEAD"],
  handle({ req, res, admin, diagnosis }) {
    admin.check(req);
    const profile = diagnosis.watcher.profiler.profile;
    if (profile === undefined) {
      throw new SsehubError(
        "SSEHUB_ERR_ROUTE_NOT_FOUND",
        "Cannot find a CPU profile: none was taken yet; set stallProfileMs (--stall-profile-ms) to take one after a stall",
      );
    }
    const body = Buffer.from(profile);
    res.writeHead(200, {
      "Content-Type": "application/json",
      "Content-Length": String(body.length),
      "Content-Disposition": `attachment; filename="ssehub-${process.pid}.cpuprofile"`,
      "Cache-Control": "no-store",
    });
    res.end(req.method === "HEAD" ? undefined : body);
  },
};
