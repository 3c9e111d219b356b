/**
 * `POST /publish`: one event or a batch, as JSON or as a Mercure-style form. Answers 200 with
 * `{"id", "topics"}` for one event and `{"ids": [...]}` for a batch. An `Idempotency-Key`
 * header makes the publish (a batch as a whole) safe to retry: the retry gets the same answer
 * and publishes nothing (messages/idempotency-key.ts, bus/idempotency.ts).
 *
 * The body is mapped onto PublishInputs (publish-body.ts), the token is checked for the topics
 * they name, then the hub checks every field as it publishes: a request without a valid token
 * learns nothing of its fields. A W3C `traceparent` joins the publish to a trace
 * (telemetry/publish-span.ts).
 * @module
 */
import { activity, PHASE_PUBLISH } from "../../diagnostics/activity.js";
import type { PublishInput } from "../../hub/publish-input.js";
import type { PublishResult } from "../../hub/types.js";
import { idempotencyKeyOf, withIdempotencyKey } from "../messages/idempotency-key.js";
import { parsePublishBody, publishMediaType } from "../messages/publish-body.js";
import { readBody } from "../messages/read-body.js";
import { sendJson } from "../messages/send-json.js";
import { withPublishSpan } from "../telemetry/publish-span.js";
import { askPublishHook, topicsRewritten } from "./hook-checks.js";
import type { Route } from "./route.js";

/** Every topic the inputs name (the hub checks them; unchecked entries are skipped here). */
function topicsOf(inputs: readonly PublishInput[]): string[] {
  const topics = new Set<string>();
  for (const input of inputs) {
    if (typeof input !== "object" || input === null) continue;
    if (typeof input.topic === "string") topics.add(input.topic);
    if (Array.isArray(input.topics)) {
      for (const topic of input.topics) if (typeof topic === "string") topics.add(topic);
    }
  }
  return [...topics];
}

/** The publish route. */
export const publishRoute: Route = {
  methods: ["POST"],
  handle(ctx) {
    return withPublishSpan(ctx.req, "/publish", async (trace) => {
      const { hub, req, res } = ctx;
      // Refuse a wrong type before reading a byte of its body.
      const mediaType = publishMediaType(req.headers["content-type"]);
      const body = await readBody(req, ctx.limits.maxBodyBytes);
      // Parsing and checking are timed for the stall watcher, in two pieces: the token check
      // between them may wait on a JWKS fetch.
      activity.begin(PHASE_PUBLISH, "", 0);
      let parsed: ReturnType<typeof parsePublishBody>;
      let inputs: readonly PublishInput[];
      let topics: string[];
      try {
        activity.bytesQueued = body.length;
        parsed = parsePublishBody(mediaType, body);
        inputs = parsed.batch ? parsed.inputs : [parsed.input];
        topics = topicsOf(inputs);
        activity.batchSize = inputs.length;
        activity.topic = topics[0] ?? "";
      } finally {
        activity.end();
      }
      const grant = await ctx.auth.publisher(req, ctx.query, topics);
      ctx.limits.takePublish(req, grant.tokenKey);
      const hooked = await askPublishHook(ctx, inputs);
      if (hooked !== inputs) {
        // The backend rewrote events: its topics pass the token check again.
        if (topicsRewritten(inputs, hooked))
          await ctx.auth.publisher(req, ctx.query, topicsOf(hooked));
        parsed = parsed.batch
          ? { ...parsed, inputs: hooked }
          : { ...parsed, input: hooked[0] as PublishInput };
        inputs = hooked;
      }
      const idempotencyKey = idempotencyKeyOf(req);
      activity.begin(PHASE_PUBLISH, topics[0] ?? "", inputs.length);
      let published: Promise<PublishResult[] | PublishResult>;
      try {
        activity.bytesQueued = body.length;
        published = parsed.batch
          ? hub.publishBatch(
              parsed.inputs,
              idempotencyKey === undefined ? { trace } : { idempotencyKey, trace },
            )
          : hub.publish(withIdempotencyKey(parsed.input, idempotencyKey), { trace });
      } finally {
        activity.end();
      }
      const outcome = await published;
      if (Array.isArray(outcome)) {
        sendJson(res, 200, { ids: outcome.map((result) => result.id) });
      } else {
        sendJson(res, 200, { id: outcome.id, topics: outcome.topics });
      }
      return { events: inputs.length, topics: topics.length };
    });
  },
};
