/**
 * The Mercure protocol on `/.well-known/mercure` (draft-dunglas-mercure-07, as the Mercure v0.x
 * hubs implement it), beside ssehub's own API, over the same hub: a Mercure client and an
 * ssehub client see the same topics, events and ids.
 *
 * - `GET ?topic=<selector>` (repeatable): a selector is `*`, a URI template (RFC 6570) or a
 *   topic. Resume with the `Last-Event-ID` header or the `lastEventID` query parameter;
 *   `earliest` replays all the history kept. The answer's `Last-Event-ID` header names the
 *   newest event at the time of the request (`earliest` when there is none yet).
 * - `POST`, `application/x-www-form-urlencoded`: `topic` (repeatable: the first is the
 *   canonical topic, the others alternates; the event is delivered once to a subscriber of
 *   several), `data` (may be absent: empty data), `private` (present: private), `id` (the
 *   publisher's id, honoured), `type`, `retry`. Answers 200 `text/plain` with the event's id.
 *   An `Idempotency-Key` header (ssehub's addition) makes it safe to retry, as on POST /publish.
 *   The hub checks every field as for any publish; Mercure adds one rule of its own: the type
 *   `mercure` is refused (SSEHUB_ERR_EVENT_RESERVED_TYPE), Mercure keeps it for itself.
 *
 * Authorization is the hub's (see authorizer.ts): Mercure's `mercure.publish` and
 * `mercure.subscribe` claims, tokens from `Authorization: Bearer`, the `mercureAuthorization`
 * cookie, or the `authorization` query parameter when enabled. A request carrying a draft-08
 * access token gets draft-08's authorization instead (http/access/mercure-access.ts).
 *
 * With `subscriptionEvents`, each stream is registered in the handler's MercurePresence while it
 * is open, which publishes its subscription events (see presence.ts).
 * @see https://datatracker.ietf.org/doc/html/draft-dunglas-mercure-07
 * @module
 */
import { compileTopicSelector } from "../auth/index.js";
import { SsehubError } from "../errors.js";
import { guessedMercureAuthorizer } from "../http/access/mercure-access.js";
import { idempotencyKeyOf, withIdempotencyKey } from "../http/messages/idempotency-key.js";
import {
  decodeForm,
  FORM_MEDIA_TYPE,
  type FormPublishInput,
  formPublishInput,
  publishMediaType,
} from "../http/messages/publish-body.js";
import { readBody } from "../http/messages/read-body.js";
import { lastEventIdOf, openStream, type StreamEnd } from "../http/routes/events.js";
import type { Route, RouteContext } from "../http/routes/route.js";
import { withPublishSpan } from "../http/telemetry/publish-span.js";
import type { TopicPattern } from "../hub/subscriber.js";
import { EARLIEST } from "../hub/types.js";
import type { TraceContext } from "../protocol/trace-context.js";
import type { MercurePresence } from "./presence.js";

/** The event type a Mercure publisher may not use: Mercure keeps it for the protocol itself. */
export const MERCURE_RESERVED_EVENT = "mercure";

/** The path of the Mercure hub. */
export const MERCURE_PATH = "/.well-known/mercure";

/**
 * The value of a `Link` header that lets a client discover the hub serving a resource
 * (Mercure, section "Discovery"): send it with the resource, with the hub's public URL.
 * @example
 * res.setHeader("Link", mercureLink("https://example.com/.well-known/mercure"));
 */
export function mercureLink(hubUrl: string): string {
  return `<${hubUrl}>; rel="mercure"`;
}

/**
 * The Mercure hub route: subscribe with GET, publish with POST. With `presence` (Mercure's
 * active subscriptions), each stream is registered in it while it is open.
 */
export function createMercureHubRoute(presence: MercurePresence | undefined): Route {
  return {
    methods: ["GET", "POST"],
    handle(ctx) {
      return ctx.req.method === "POST" ? publish(ctx) : subscribe(ctx, presence);
    },
  };
}

async function subscribe(ctx: RouteContext, presence: MercurePresence | undefined): Promise<void> {
  const { hub } = ctx;
  const selectors = ctx.query.getAll("topic");
  if (selectors.length === 0) {
    throw new SsehubError(
      "SSEHUB_ERR_TOPIC_MISSING",
      "Cannot subscribe without a topic: add ?topic=<topic or URI template>",
    );
  }
  const exact: string[] = [];
  const patterns: TopicPattern[] = [];
  for (const selector of selectors) {
    if (selector === "*" || selector.includes("{")) patterns.push(compileTopicSelector(selector));
    else exact.push(selector);
  }
  const topics = exact.length === 0 ? [] : hub.checkTopics(exact);
  const lastEventId = lastEventIdOf(ctx);
  const auth = guessedMercureAuthorizer(ctx.auth, ctx.req, ctx.query);
  const { payload, ...grant } = await auth.subscriber(ctx.req, ctx.query);
  const ended = await openStream(ctx, {
    topics,
    patterns,
    lastEventId,
    ...grant,
    headers: { "Last-Event-ID": hub.lastEventId ?? EARLIEST },
  });
  if (presence !== undefined && ended !== undefined) {
    registerWhileOpen(ctx, ended, presence, selectors, payload);
  }
}

/**
 * Registers the stream that openStream just opened for as long as it stays open: until
 * `ended` (what openStream said ends with the stream: the socket or TCP handle of a taken-over
 * stream, else `res`) emits `close`.
 */
function registerWhileOpen(
  ctx: RouteContext,
  ended: StreamEnd,
  presence: MercurePresence,
  selectors: readonly string[],
  payload: unknown,
): void {
  const { req, res } = ctx;
  // The client left while the stream opened: it was never active for anyone to see. (Over
  // HTTP/2, `req.socket` stands for the stream in `destroyed`, and `res` has no `destroyed`.)
  if (ended.destroyed === true || (ended === res && req.socket.destroyed)) return;
  const subscriber = presence.add(selectors, payload);
  ended.once("close", () => presence.remove(subscriber));
}

function publish(ctx: RouteContext): Promise<void> {
  return withPublishSpan(ctx.req, MERCURE_PATH, async (trace) => {
    const topics = await publishForm(ctx, trace);
    return { events: 1, topics };
  });
}

/** Publishes the form's event; answers how many topics it named. */
async function publishForm(ctx: RouteContext, trace: TraceContext | undefined): Promise<number> {
  const { hub, req, res } = ctx;
  const mediaType = publishMediaType(req.headers["content-type"]);
  if (mediaType !== FORM_MEDIA_TYPE) {
    throw new SsehubError(
      "SSEHUB_ERR_PUBLISH_UNSUPPORTED_MEDIA_TYPE",
      `Cannot publish to the Mercure hub a body of type ${JSON.stringify(mediaType)}: use ${FORM_MEDIA_TYPE}`,
      { details: { accepted: [FORM_MEDIA_TYPE] } },
    );
  }
  const body = await readBody(req, ctx.limits.maxBodyBytes);
  const input = parseMercureForm(body);
  const auth = guessedMercureAuthorizer(ctx.auth, req, ctx.query);
  const grant = await auth.publisher(req, ctx.query, input.topics);
  ctx.limits.takePublish(req, grant.tokenKey);
  // After the token, as the hub's own checks: a request without one learns nothing of its fields.
  if (input.event === MERCURE_RESERVED_EVENT) {
    throw new SsehubError(
      "SSEHUB_ERR_EVENT_RESERVED_TYPE",
      `Cannot publish the event with event type ${JSON.stringify(input.event)}: Mercure keeps it for itself`,
      { details: { reserved: MERCURE_RESERVED_EVENT } },
    );
  }
  const result = await hub.publish(withIdempotencyKey(input, idempotencyKeyOf(req)), { trace });
  const text = result.id;
  res.writeHead(200, {
    "Content-Type": "text/plain; charset=utf-8",
    "Content-Length": Buffer.byteLength(text),
    "Cache-Control": "no-store",
  });
  res.end(text);
  return result.topics.length;
}

/**
 * Reads a Mercure publish form: the form decoder and field names of POST /publish
 * (publish-body.ts), then Mercure's own rules, which are mapping, not checks: an absent `data` is
 * empty data, and an empty `id` or `type` is none (the hub then gives the id, and the type is
 * `message`). The hub checks the rest, as for every publish.
 */
export function parseMercureForm(body: Buffer): FormPublishInput {
  const { data, id, event, ...rest } = formPublishInput(decodeForm(body));
  return {
    ...rest,
    data: data ?? "",
    ...(id === undefined || id === "" ? {} : { id }),
    ...(event === undefined || event === "" ? {} : { event }),
  };
}
