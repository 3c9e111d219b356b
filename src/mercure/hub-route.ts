/**
 * The Mercure protocol on `/.well-known/mercure`, beside ssehub's own API, over the same hub: a
 * Mercure client and an ssehub client see the same topics, events and ids. It speaks
 * draft-dunglas-mercure-08 (Mercure hub 1.0) and draft-07 (Mercure hub 0.x), each request as the
 * draft it uses, within what `mercureProtocol` accepts (protocol-version.ts).
 *
 * - Subscribe: `GET` (both drafts) or `QUERY` with a form body (draft-08), with the matchers and
 *   resume parameters of subscribe-request.ts. The answer names where the replay starts in
 *   `Mercure-Last-Event-ID` (draft-08) or `Last-Event-ID` (draft-07): the id resumed from when
 *   history holds it, `earliest` when it does not (or when `earliest` was asked), and without
 *   any, the newest event at the time of the request (`earliest` when there is none yet): in
 *   each case the event before the first one the stream sends. With a token in the query
 *   (`authQueryParam`), the answer is `Cache-Control: private`.
 * - Publish: `POST`, `application/x-www-form-urlencoded`: `topic`, `data` (may be absent: empty
 *   data), `private` (present: private), `id` (the publisher's id, honoured; a reused one
 *   resumes from its earliest copy), `type`, `retry`. Answers 200 `text/plain` with the event's
 *   id. Draft-07 takes several `topic` (the first canonical, the others alternates; the event is
 *   delivered once to a subscriber of several) and refuses unknown fields; draft-08 takes one
 *   topic, refuses `*` as a topic, and ignores fields it does not know. Both refuse the type
 *   `mercure` (SSEHUB_ERR_EVENT_RESERVED_TYPE), Mercure keeps it for itself; the hub checks the
 *   rest as for any publish (the reserved namespace, control characters in ids and types). An
 *   `Idempotency-Key` header (ssehub's addition) makes it safe to retry, as on POST /publish.
 * - With CORS on, every answer lets scripts read `Link`, `Mercure-Last-Event-ID`,
 *   `Last-Event-ID` and `Accept-Query` (`Access-Control-Expose-Headers`). A draft-08 stream says
 *   `Accept-Query: application/x-www-form-urlencoded` (the header of the HTTP QUERY method).
 *
 * Authorization is the hub's (see authorizer.ts): Mercure's `mercure.publish` and
 * `mercure.subscribe` claims, tokens from `Authorization: Bearer`, the `mercureAuthorization`
 * cookie, or the `authorization` query parameter when enabled.
 *
 * With `subscriptionEvents`, each stream is registered in the handler's MercurePresence while it
 * is open, with the draft it speaks and one subscription per matcher, which publishes its
 * subscription events in that draft's shape (see presence.ts).
 * @see https://datatracker.ietf.org/doc/html/draft-dunglas-mercure-07
 * @module
 */
import { tokenFromRequest } from "../auth/token-source.js";
import { WILDCARD } from "../auth/topic-selector.js";
import { SsehubError } from "../errors.js";
import { mercureAuthorizerFor } from "../http/access/mercure-access.js";
import { idempotencyKeyOf, withIdempotencyKey } from "../http/messages/idempotency-key.js";
import {
  decodeForm,
  FORM_MEDIA_TYPE,
  type FormPublishInput,
  formPublishInput,
  publishMediaType,
} from "../http/messages/publish-body.js";
import { readBody } from "../http/messages/read-body.js";
import { openStream, type StreamEnd } from "../http/routes/events.js";
import { askPublishHook, askSubscribeHook, topicsRewritten } from "../http/routes/hook-checks.js";
import type { Route, RouteContext } from "../http/routes/route.js";
import { withPublishSpan } from "../http/telemetry/publish-span.js";
import type { PrivateAccess } from "../hub/subscriber.js";
import type { TraceContext } from "../protocol/trace-context.js";
import type { MercurePresence, SubscriptionMatcher } from "./presence.js";
import {
  type MercureDraft,
  type MercureProtocol,
  publishDraftOf,
  subscribeDraftOf,
  TOPIC_PARAMETER,
} from "./protocol-version.js";
import {
  type MercureSubscribeRequest,
  mercureSubscribeRequest,
  RESUME_HEADERS,
  subscribeParamsOf,
} from "./subscribe-request.js";
import { MERCURE_PATH } from "./subscription-path.js";

/** The event type a Mercure publisher may not use: Mercure keeps it for the protocol itself. */
export const MERCURE_RESERVED_EVENT = "mercure";

export { MERCURE_PATH };

/** Response headers a cross-origin script may read on the Mercure route. */
export const MERCURE_EXPOSED_HEADERS = "Link, Mercure-Last-Event-ID, Last-Event-ID, Accept-Query";

/** What the Mercure hub route reads of the handler's options. */
export interface MercureRouteOptions {
  /** The drafts accepted (`mercureProtocol`). */
  readonly protocol: MercureProtocol;
  /** The cookie that may carry the token (`authCookieName`). */
  readonly authCookieName: string;
  /** The query parameter that may carry the token (`authQueryParam`); empty: none. */
  readonly authQueryParam: string;
}

/**
 * The value of a `Link` header that lets a client discover the hub serving a resource
 * (Mercure, section "Discovery"): send it with the resource, with the hub's public URL, and with
 * `lastEventId` (the hub's newest id when the resource was made, `hub.lastEventId`) so that the
 * client subscribes from there (`last_event_id`, draft-08; `lastEventID`, draft-07) and misses
 * nothing published in between.
 * @example
 * res.setHeader("Link", mercureLink("https://example.com/.well-known/mercure", hub.lastEventId));
 */
export function mercureLink(hubUrl: string, lastEventId?: string | null): string {
  const link = `<${hubUrl}>; rel="mercure"`;
  if (lastEventId === undefined || lastEventId === null) return link;
  return `${link}; last-event-id="${lastEventId.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;
}

/**
 * The Mercure hub route: subscribe with GET (and QUERY, draft-08), publish with POST. With
 * `presence` (Mercure's active subscriptions), each stream is registered in it while it is open.
 */
export function createMercureHubRoute(
  presence: MercurePresence | undefined,
  options: MercureRouteOptions,
): Route {
  return {
    methods: ["GET", "POST", "QUERY"],
    handle(ctx) {
      if (ctx.res.hasHeader("Access-Control-Allow-Origin")) {
        ctx.res.setHeader("Access-Control-Expose-Headers", MERCURE_EXPOSED_HEADERS);
      }
      return ctx.req.method === "POST"
        ? publish(ctx, options.protocol)
        : subscribe(ctx, presence, options);
    },
  };
}

async function subscribe(
  ctx: RouteContext,
  presence: MercurePresence | undefined,
  options: MercureRouteOptions,
): Promise<void> {
  const params = await subscribeParamsOf(ctx);
  const draft = subscribeDraftOf(params, ctx.req.method ?? "GET", options.protocol);
  let request = mercureSubscribeRequest(ctx, params, draft);
  const auth = mercureAuthorizerFor(ctx.auth, options.protocol, ctx.req, ctx.query);
  const { payload, payloadFor, ...tokenGrant } = await auth.subscriber(ctx.req, ctx.query);
  const hooked = await askSubscribeHook(
    ctx,
    request.matchers.map((matcher) => matcher.match),
    tokenGrant.access,
  );
  const grant = { ...tokenGrant, access: hooked.access };
  request = narrowedMercureRequest(request, hooked.topics);
  const headers: Record<string, string> = {
    [RESUME_HEADERS[draft]]: resumePointOf(ctx, request, grant.access),
  };
  // Tells a draft-08 client that the same subscription may be sent as a QUERY form.
  if (draft === "draft-08") headers["Accept-Query"] = FORM_MEDIA_TYPE;
  if (tokenInQuery(ctx, options)) headers["Cache-Control"] = "private, no-cache";
  const ended = await openStream(ctx, {
    topics: request.topics,
    patterns: request.patterns,
    lastEventId: request.lastEventId,
    ...grant,
    headers,
  });
  if (presence !== undefined && ended !== undefined) {
    // Each subscription shows the payload its token attaches to its matcher (draft-08 access
    // tokens), or the token's one `mercure.payload` (draft-07 claims).
    const subscriptions = request.matchers.map((matcher) => {
      const shown = payloadFor === undefined ? payload : payloadFor(matcher.match);
      return shown === undefined ? matcher : { ...matcher, payload: shown };
    });
    registerWhileOpen(ctx, ended, presence, draft, subscriptions);
  }
}

/**
 * `request` keeping only the matchers whose value is in `allowed` (what the subscribe hook
 * left of them): the exact topics, the patterns and the matchers shown by presence alike.
 */
function narrowedMercureRequest(
  request: MercureSubscribeRequest,
  allowed: readonly string[],
): MercureSubscribeRequest {
  if (allowed.length === request.matchers.length) return request;
  const kept = new Set(allowed);
  return {
    ...request,
    topics: request.topics.filter((topic) => kept.has(topic)),
    // A URL pattern's source is prefixed with its parameter's name (subscribe-request.ts).
    patterns: request.patterns.filter(
      (pattern) =>
        kept.has(pattern.source) || allowed.some((value) => pattern.source.endsWith(`=${value}`)),
    ),
    selectors: request.selectors.filter((selector) => kept.has(selector)),
    matchers: request.matchers.filter((matcher) => kept.has(matcher.match)),
  };
}

/**
 * The id of the event before the first one the stream sends (both drafts' rule): the id resumed
 * from when history holds it, else `earliest`; without one, the hub's newest id.
 */
function resumePointOf(
  ctx: RouteContext,
  request: MercureSubscribeRequest,
  access: PrivateAccess | undefined,
): string {
  const { hub } = ctx;
  if (request.lastEventId === undefined) return hub.newestReadableId(access);
  return hub.resumePointOf(request.lastEventId, access);
}

/**
 * True when the token comes in the query (RFC 6750, section 2.3): the answer then says
 * `Cache-Control: private`, so that no shared cache keeps what this token was allowed to read.
 */
function tokenInQuery(ctx: RouteContext, options: MercureRouteOptions): boolean {
  if (options.authQueryParam === "") return false;
  const found = tokenFromRequest(ctx.req.headers, ctx.query, {
    cookieName: options.authCookieName,
    queryParam: options.authQueryParam,
  });
  return found?.from === "query";
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
  draft: MercureDraft,
  subscriptions: readonly SubscriptionMatcher[],
): void {
  const { req, res } = ctx;
  // The client left while the stream opened: it was never active for anyone to see. (Over
  // HTTP/2, `req.socket` stands for the stream in `destroyed`, and `res` has no `destroyed`.)
  if (ended.destroyed === true || (ended === res && req.socket.destroyed)) return;
  const subscriber = presence.add(draft, subscriptions);
  ended.once("close", () => presence.remove(subscriber));
}

function publish(ctx: RouteContext, protocol: MercureProtocol): Promise<void> {
  return withPublishSpan(ctx.req, MERCURE_PATH, async (trace) => {
    const topics = await publishForm(ctx, protocol, trace);
    return { events: 1, topics };
  });
}

/** Publishes the form's event; answers how many topics it named. */
async function publishForm(
  ctx: RouteContext,
  protocol: MercureProtocol,
  trace: TraceContext | undefined,
): Promise<number> {
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
  const form = readMercureForm(body, protocol);
  const { draft } = form;
  let { input } = form;
  const auth = mercureAuthorizerFor(ctx.auth, protocol, req, ctx.query);
  const grant = await auth.publisher(req, ctx.query, input.topics);
  ctx.limits.takePublish(req, grant.tokenKey);
  const hooked = (await askPublishHook(ctx, [input]))[0] as typeof input;
  if (hooked !== input) {
    // The backend rewrote the event: its topics pass the token check again.
    if (topicsRewritten([input], [hooked])) await auth.publisher(req, ctx.query, hooked.topics);
    input = hooked;
  }
  // After the token, as the hub's own checks: a request without one learns nothing of its fields.
  if (draft === "draft-08") assertDraft08Topic(input.topics, hub.options.maxTopicLength);
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

/** Draft-08's topic rules: exactly one topic (no alternates), and not the wildcard `*`. */
function assertDraft08Topic(topics: readonly string[], maxTopicLength: number): void {
  if (topics.length > 1) {
    throw new SsehubError(
      "SSEHUB_ERR_PUBLISH_TOO_MANY_TOPICS",
      `Cannot publish the event: Mercure draft-08 takes one topic per update, not ${topics.length}: publish one update per topic`,
      { details: { max: 1 } },
    );
  }
  const topic = topics[0];
  if (topic !== undefined && topic.length > maxTopicLength) {
    // Draft-08 answers a field past its length limit with 413 (the hub's own API: 400).
    throw new SsehubError(
      "SSEHUB_ERR_PUBLISH_TOO_LARGE",
      `Cannot publish the update: its topic has ${topic.length} characters, more than maxTopicLength (${maxTopicLength})`,
      { details: { field: "topic", limit: maxTopicLength } },
    );
  }
  if (topic === WILDCARD) {
    throw new SsehubError(
      "SSEHUB_ERR_TOPIC_INVALID",
      'Cannot publish to topic "*": Mercure reserves it as the wildcard that matches every topic',
      { details: { topic: WILDCARD } },
    );
  }
}

/** The fields of a draft-08 publish form; others are ignored. */
const DRAFT_08_FIELDS: ReadonlySet<string> = new Set([
  TOPIC_PARAMETER,
  "data",
  "private",
  "id",
  "type",
  "retry",
]);

/**
 * Reads a Mercure publish form: the form decoder and field names of POST /publish
 * (publish-body.ts), then Mercure's own rules, which are mapping, not checks: an absent `data` is
 * empty data, and an empty `id` or `type` is none (the hub then gives the id, and the type is
 * `message`). A draft-08 form (see protocol-version.ts) drops the fields it does not know, as
 * draft-08 says; draft-07 refuses them. The hub checks the rest, as for every publish.
 */
export function parseMercureForm(
  body: Buffer,
  protocol: MercureProtocol = "both",
): FormPublishInput {
  return readMercureForm(body, protocol).input;
}

function readMercureForm(
  body: Buffer,
  protocol: MercureProtocol,
): { input: FormPublishInput; draft: MercureDraft } {
  let form = decodeForm(body);
  const draft = publishDraftOf(form, protocol);
  if (draft === "draft-08" && [...form.keys()].some((name) => !DRAFT_08_FIELDS.has(name))) {
    form = new URLSearchParams([...form].filter(([name]) => DRAFT_08_FIELDS.has(name)));
  }
  const { data, id, event, ...rest } = formPublishInput(form);
  if (id?.startsWith("#") === true) {
    // Both drafts: an update's id is an IRI, and one that starts with `#` would be read as a
    // fragment of the topic.
    throw new SsehubError(
      "SSEHUB_ERR_EVENT_INVALID_ID",
      `Cannot publish the update with the id ${JSON.stringify(id)}: a Mercure update's id must not start with #`,
    );
  }
  const input = {
    ...rest,
    data: data ?? "",
    ...(id === undefined || id === "" ? {} : { id }),
    ...(event === undefined || event === "" ? {} : { event }),
  };
  return { input, draft };
}
