/**
 * `POST /publish`: one event or a batch, as JSON or as a Mercure-style form. Answers 200 with
 * `{"id", "topics"}` for one event and `{"ids": [...]}` for a batch.
 * @module
 */
import { parsePublishBody, publishMediaType } from "../publish-body.js";
import { readBody } from "../read-body.js";
import type { Route } from "../route.js";
import { sendJson } from "../send-json.js";

/** The publish route. */
export const publishRoute: Route = {
  methods: ["POST"],
  async handle({ hub, req, res }) {
    // Refuse a wrong type before reading a byte of its body.
    const mediaType = publishMediaType(req.headers["content-type"]);
    const body = await readBody(req, hub.options.maxBodyBytes);
    const parsed = parsePublishBody(mediaType, body);
    if (parsed.batch) {
      const results = await hub.publishBatch(parsed.inputs);
      sendJson(res, 200, { ids: results.map((result) => result.id) });
    } else {
      const result = await hub.publish(parsed.input);
      sendJson(res, 200, { id: result.id, topics: result.topics });
    }
  },
};
