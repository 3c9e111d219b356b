/**
 * `GET /topics` (the topics the hub knows, one page at a time, as a JSON array of TopicInfo in
 * name order) and `GET /topics/:topic` (one TopicInfo, or 404 SSEHUB_ERR_TOPIC_NOT_FOUND).
 *
 * Paging: `?limit=` (default TOPICS_PAGE_DEFAULT, lowered to TOPICS_PAGE_MAX) and `?cursor=`.
 * When more topics follow, the answer has `Link: </topics?limit=..&cursor=..>; rel="next"`; the
 * body stays an array, so a client that ignores the header still reads the first page. The
 * cursor is the base64url of the page's last topic name: opaque to clients, and checked by
 * decoding it back (a cursor the hub did not write answers 400 SSEHUB_ERR_QUERY_INVALID).
 * @module
 */
import { SsehubError } from "../../errors.js";
import { sendJson } from "../messages/send-json.js";
import type { Route } from "./route.js";

/** Topics in a page when the request names no `limit`. */
export const TOPICS_PAGE_DEFAULT = 100;

/** Most topics in a page: a larger `limit` is lowered to it. */
export const TOPICS_PAGE_MAX = 1000;

/** The topics route. */
export const topicsRoute: Route = {
  methods: ["GET", "HEAD"],
  handle({ hub, res, param, query }) {
    if (param === undefined) {
      const limit = pageLimit(query.get("limit"));
      const cursor = query.get("cursor");
      const page = hub.topicsPage(cursor === null ? undefined : topicAfter(cursor), limit);
      if (page.next !== undefined) {
        const next = `/topics?limit=${limit}&cursor=${encodeCursor(page.next)}`;
        res.setHeader("Link", `<${next}>; rel="next"`);
      }
      sendJson(res, 200, page.topics);
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

function pageLimit(text: string | null): number {
  if (text === null) return TOPICS_PAGE_DEFAULT;
  const limit = /^\d{1,9}$/.test(text) ? Number(text) : 0;
  if (limit < 1) {
    throw new SsehubError(
      "SSEHUB_ERR_QUERY_INVALID",
      `Cannot list topics: limit ${JSON.stringify(text)} is not a whole number of at least 1`,
      { details: { field: "limit" } },
    );
  }
  return Math.min(limit, TOPICS_PAGE_MAX);
}

function encodeCursor(topic: string): string {
  return Buffer.from(topic, "utf8").toString("base64url");
}

/** The topic a cursor names; throws unless `cursor` is exactly what encodeCursor wrote. */
function topicAfter(cursor: string): string {
  const topic = Buffer.from(cursor, "base64url").toString("utf8");
  if (topic === "" || encodeCursor(topic) !== cursor) {
    throw new SsehubError(
      "SSEHUB_ERR_QUERY_INVALID",
      `Cannot list topics: cursor ${JSON.stringify(cursor.slice(0, 64))} was not written by this hub`,
      { details: { field: "cursor" } },
    );
  }
  return topic;
}
