/**
 * `GET /admin/diagnosis`: one JSON document for `ssehub doctor --url` and the live page: the
 * event loop, stalls, GC, slow consumers, queues, hot topics, the bus, and verdicts in plain
 * words (telemetry/hub-diagnosis.ts; the type is diagnostics/diagnosis.ts). With `--workers`,
 * every worker's own diagnosis too. Behind the admin gate (access/admin-access.ts).
 * @module
 */
import { sendJson } from "../messages/send-json.js";
import type { Route } from "./route.js";

/** The diagnosis route. */
export const adminDiagnosisRoute: Route = {
  methods: ["GET", "HEAD"],
  async handle({ req, res, admin, diagnosis }) {
    admin.check(req);
    sendJson(res, 200, await diagnosis.buildAcrossWorkers());
  },
};
