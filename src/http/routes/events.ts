/**
 * `GET /events?topic=a&topic=b` and `GET /events/:topic`: the subscriber's stream.
 *
 * Everything that can fail is checked before a header leaves, so bad input gets a JSON error
 * with a status, never a stream that closes at once (which EventSource would retry forever).
 * @see https://html.spec.whatwg.org/multipage/server-sent-events.html
 * @module
 */
import { SsehubError } from "../../errors.js";
import { assertValidId } from "../../protocol/field-rules.js";
import { ResponseSink } from "../response-sink.js";
import type { Route, RouteContext } from "../route.js";

/**
 * The client's Last-Event-ID. The header wins over the query: a browser reconnects to the same
 * URL, still carrying the query parameter of its first request, with a fresh header naming
 * the last event it actually got. The query serves clients that cannot set headers;
 * `lastEventID` is Mercure's spelling.
 */
function lastEventIdOf(ctx: RouteContext): string | undefined {
  const header = ctx.req.headers["last-event-id"];
  const id =
    typeof header === "string" && header !== ""
      ? header
      : (ctx.query.get("lastEventId") ?? ctx.query.get("lastEventID") ?? undefined);
  if (id === undefined || id === "") return undefined;
  assertValidId(id);
  return id;
}

/**
 * The subscribe route: `/events` takes its topics from every `topic` query parameter,
 * `/events/:topic` from the path alone.
 */
export const eventsRoute: Route = {
  methods: ["GET"],
  handle(ctx) {
    const { hub, req, res, logger } = ctx;
    const asked = ctx.param === undefined ? ctx.query.getAll("topic") : [ctx.param];
    if (asked.length === 0) {
      throw new SsehubError(
        "SSEHUB_ERR_TOPIC_MISSING",
        "Cannot subscribe without a topic: add ?topic=<name> or use /events/<name>",
      );
    }
    const topics = hub.checkTopics(asked);
    const lastEventId = lastEventIdOf(ctx);

    res.statusCode = 200;
    res.setHeader("Content-Type", "text/event-stream; charset=utf-8");
    res.setHeader("Cache-Control", "no-cache");
    // nginx buffers proxied responses unless told not to, which would hold events back.
    res.setHeader("X-Accel-Buffering", "no");
    // A stream is idle for long stretches by design; only the heartbeat proves it alive.
    req.socket.setTimeout(0);

    const sink = new ResponseSink(res);
    // Throws (bad id, hub closed) before writing a byte: the error still becomes a status.
    const subscription = hub.subscribe({ topics, lastEventId, sink });
    if (res.destroyed) {
      subscription.close();
      return;
    }
    res.once("close", () => {
      subscription.close();
      logger.debug({ topics }, "Subscriber left");
    });
    // The hub wrote `retry:` already, which sent the headers; flush them in any case, so that
    // proxies and browsers see the stream open now.
    if (!res.headersSent) res.flushHeaders();
    logger.debug({ topics, lastEventId, remote: req.socket.remoteAddress }, "Subscriber joined");
  },
};
