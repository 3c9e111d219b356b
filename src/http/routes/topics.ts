/**
 * `GET /topics` (every topic the hub knows, as a JSON array of TopicInfo) and
 * `GET /topics/:topic` (one TopicInfo, or 404 SSEHUB_ERR_TOPIC_NOT_FOUND).
 * @module
 */
import { SsehubError } from "../../errors.js";
import { sendJson } from "../messages/send-json.js";
import type { Route } from "./route.js";

/** The topics route. */
export const topicsRoute: Route = {
  methods: ["GET", "HEAD"],
  handle({ hub, res, param }) {
    if (param === undefined) {
      sendJson(res, 200, hub.topics());
      return;
    }
    const [name = param] = hub.checkTopics([param]);
    const info = hub.topic(name);
    if (info === undefined) {
      throw new SsehubError(
        "SSEHUB_ERR_TOPIC_NOT_FOUND",
        `Cannot find topic ${JSON.stringify(name)}: it has no subscriber and no history`,
      );
    }
    sendJson(res, 200, info);
  },
};
