/**
 * `GET /events?topic=a&topic=b` and `GET /events/:topic`: the subscriber's stream.
 *
 * Everything that can fail is checked before a header leaves, so bad input gets a JSON error
 * with a status, never a stream that closes at once (which EventSource would retry forever).
 *
 * Two ways to stream (DESIGN principle 7, "small idle footprint"):
 * - socket takeover (node:http over plain HTTP/1.x, the usual case): once the request is
 *   checked, node:http lets go of the connection (socket-takeover.ts), the route writes the
 *   response head itself, with `Connection: close` and no chunked encoding, and the hub writes
 *   raw event bytes to the socket (SocketSink). An idle subscriber then holds its socket and
 *   the hub's records, not the request, response and parser of its handshake.
 * - the public path otherwise (TLS, HTTP/2, a framework's response, a Node without the
 *   internals the takeover needs): the hub writes through `res.write` (ResponseSink). Over
 *   HTTP/2 (secure-server.ts) `req` and `res` are node:http2's compat objects: `req.socket`
 *   stands for the session, shared by every stream of the connection, so the route touches
 *   only what is this stream's (`req.setTimeout`, `once("close")` of the stream).
 * @see https://html.spec.whatwg.org/multipage/server-sent-events.html
 * @module
 */
import type { ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { SsehubError } from "../../errors.js";
import type { Sink } from "../../hub/sink.js";
import type { PrivateAccess, TopicPattern } from "../../hub/subscriber.js";
import type { SubscribeRequest, Subscription } from "../../hub/types.js";
import { encodeRetry } from "../../protocol/encode.js";
import { assertValidId } from "../../protocol/field-rules.js";
import type { ConnectionLease } from "../limits/connection-limits.js";
import type { Logger } from "../telemetry/logger.js";
import type { PresenceSubscriber, PresenceWebhook } from "../telemetry/presence-webhook.js";
import { isResponseClosed, ResponseSink } from "../transport/response-sink.js";
import { SocketSink } from "../transport/socket-sink.js";
import {
  type TakenOverConnection,
  takeOverSocket,
  takeoverBlocker,
  trackTakenOverSocket,
} from "../transport/socket-takeover.js";
import { adoptTcpHandle } from "../transport/tcp-handle-stream.js";
import { askSubscribeHook } from "./hook-checks.js";
import type { Route, RouteContext } from "./route.js";

/** The headers of every stream, as the public path sets them on `res`. */
const STREAM_HEADERS: readonly (readonly [name: string, value: string])[] = [
  ["Content-Type", "text/event-stream; charset=utf-8"],
  ["Cache-Control", "no-cache"],
  // nginx buffers proxied responses unless told not to, which would hold events back.
  ["X-Accel-Buffering", "no"],
];

/**
 * The start of the head written on a taken-over socket. `Connection: close` because the
 * connection carries this response and nothing after it; the body has neither a length nor
 * chunked framing and ends when the connection closes (RFC 9112, section 6.3).
 */
const TAKEOVER_HEAD_START = `HTTP/1.1 200 OK\r\n${STREAM_HEADERS.map(
  ([name, value]) => `${name}: ${value}\r\n`,
).join("")}Connection: close\r\n`;

/** The head when no other header was set on `res`: one Buffer shared by every stream. */
const TAKEOVER_HEAD = Buffer.from(`${TAKEOVER_HEAD_START}\r\n`, "latin1");

/** Headers of `res` the takeover head leaves out: its own, and those that frame a body. */
const HEAD_SKIPS = new Set([
  ...STREAM_HEADERS.map(([name]) => name.toLowerCase()),
  "connection",
  "keep-alive",
  "content-length",
  "transfer-encoding",
]);

/** The Cache-Control line of the takeover head, which a route may replace (see takeoverHead). */
const NO_CACHE_LINE = "Cache-Control: no-cache\r\n";

/**
 * The head of a taken-over stream: the stream headers, `Connection: close`, then any other
 * header set on `res` before the route ran (CORS: `Access-Control-Allow-Origin`, `Vary`).
 * A Cache-Control the route set (Mercure's `private`, for a token in the query) replaces the
 * stream's. node:http checked those values when they were set; latin1 is how it writes them.
 */
function takeoverHead(res: ServerResponse): Buffer {
  const cacheControl = res.getHeader("cache-control");
  const start =
    typeof cacheControl !== "string" || cacheControl === "no-cache"
      ? TAKEOVER_HEAD_START
      : TAKEOVER_HEAD_START.replace(NO_CACHE_LINE, `Cache-Control: ${cacheControl}\r\n`);
  let extra = "";
  // getRawHeaderNames (the names as set) is on every OutgoingMessage since Node 15.13, though
  // @types/node declares it on ClientRequest only.
  const raw = (res as { getRawHeaderNames?: () => string[] }).getRawHeaderNames;
  const names = typeof raw === "function" ? raw.call(res) : res.getHeaderNames();
  for (const name of names) {
    if (HEAD_SKIPS.has(name.toLowerCase())) continue;
    const value = res.getHeader(name);
    if (value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value]) extra += `${name}: ${item}\r\n`;
  }
  return extra === "" && start === TAKEOVER_HEAD_START
    ? TAKEOVER_HEAD
    : Buffer.from(`${start}${extra}\r\n`, "latin1");
}

/**
 * The client's Last-Event-ID. The header wins over the query: a browser reconnects to the same
 * URL, still carrying the query parameter of its first request, with a fresh header naming
 * the last event it actually got. The query serves clients that cannot set headers;
 * `lastEventID` is Mercure's spelling.
 */
export function lastEventIdOf(ctx: RouteContext): string | undefined {
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
  async handle(ctx) {
    const { hub } = ctx;
    const asked = ctx.param === undefined ? ctx.query.getAll("topic") : [ctx.param];
    if (asked.length === 0) {
      throw new SsehubError(
        "SSEHUB_ERR_TOPIC_MISSING",
        "Cannot subscribe without a topic: add ?topic=<name> or use /events/<name>",
      );
    }
    const topics = hub.checkTopics(asked);
    const lastEventId = lastEventIdOf(ctx);
    const grant = await ctx.auth.subscriber(ctx.req, ctx.query);
    const hooked = await askSubscribeHook(ctx, topics, grant.access);
    await openStream(ctx, { lastEventId, ...grant, ...hooked });
  },
};

/**
 * What ends with an open stream: it emits `close` once, when the stream ends. The socket or the
 * TCP handle of a taken-over stream, else the response.
 */
export interface StreamEnd {
  /** True once it has closed (then it emits `close` no more). */
  readonly destroyed?: boolean;
  once(event: "close", listener: () => void): unknown;
}

/** What a stream subscribes to, and what its client may receive. */
export interface StreamRequest {
  readonly topics: readonly string[];
  readonly patterns?: readonly TopicPattern[];
  readonly lastEventId: string | undefined;
  readonly access?: PrivateAccess | undefined;
  /** When the client's token expires (ms since the epoch): the stream ends then. */
  readonly expiresAt?: number | undefined;
  /** Headers of the answer besides the stream's own (Mercure's Last-Event-ID); a Cache-Control replaces the stream's. */
  readonly headers?: Readonly<Record<string, string>>;
  /** The `sub` of the client's token: what presence webhooks report of it. */
  readonly subject?: string | undefined;
}

/** A stream request with the slot it holds under the connection limits. */
interface LeasedStreamRequest extends StreamRequest {
  readonly lease: ConnectionLease;
  /** The socket's `close` listener that releases the lease, until a takeover takes it on. */
  readonly releaseLease: () => void;
}

/**
 * Opens the stream of a checked request: sets the stream headers and subscribes, over the
 * taken-over socket when possible, else through `res`. Throws before anything is written when
 * the hub refuses the subscription. The presence webhook, when on, is told of the stream.
 */
export function openStream(
  ctx: RouteContext,
  streamRequest: StreamRequest,
): Promise<StreamEnd | undefined> | StreamEnd | undefined {
  const webhook = ctx.presenceWebhook;
  if (webhook === undefined) return openSubscribedStream(ctx, streamRequest);
  const subscriber = {
    // A Mercure selector (URI template, pattern) is reported as the client wrote it.
    topics: [...streamRequest.topics, ...(streamRequest.patterns ?? []).map((p) => p.source)],
    clientAddress: ctx.limits.clientAddress(ctx.req),
    subject: streamRequest.subject,
  };
  const opened = openSubscribedStream(ctx, streamRequest);
  if (opened instanceof Promise) {
    return opened.then((ended) => reportPresence(webhook, subscriber, ended));
  }
  return reportPresence(webhook, subscriber, opened);
}

/** Reports the stream that `ended` ends with: `subscribe` now, `unsubscribe` when it closes. */
function reportPresence(
  webhook: PresenceWebhook,
  subscriber: PresenceSubscriber,
  ended: StreamEnd | undefined,
): StreamEnd | undefined {
  if (ended === undefined || ended.destroyed === true) return ended;
  const connectionId = webhook.subscribed(subscriber);
  ended.once("close", () => webhook.unsubscribed(connectionId, subscriber));
  return ended;
}

function openSubscribedStream(
  ctx: RouteContext,
  streamRequest: StreamRequest,
): Promise<StreamEnd | undefined> | StreamEnd | undefined {
  const { req, res } = ctx;
  // Counted from here until the connection closes; refused (429) past the limits.
  const lease = ctx.limits.acquireStream(req);
  const releaseLease = (): void => lease.release();
  req.socket.once("close", releaseLease);
  const request: LeasedStreamRequest = { ...streamRequest, lease, releaseLease };
  res.statusCode = 200;
  for (const [name, value] of STREAM_HEADERS) res.setHeader(name, value);
  if (request.headers !== undefined) {
    for (const [name, value] of Object.entries(request.headers)) res.setHeader(name, value);
  }
  // A stream is idle for long stretches by design; only the heartbeat proves it alive.
  // `req.setTimeout`, not `req.socket.setTimeout`: over HTTP/2, `req.socket` stands for the
  // whole session (its setTimeout is the session's), while `req.setTimeout` is this stream's.
  req.setTimeout(0);

  const blocker = takeoverBlocker(req, res);
  if (blocker === undefined) return streamOverSocket(ctx, request);
  ctx.metrics.takeoverFellBack(blocker);
  return streamOverResponse(ctx, request);
}

function subscribeRequest(request: StreamRequest, sink: Sink): SubscribeRequest {
  return {
    topics: request.topics,
    lastEventId: request.lastEventId,
    sink,
    ...(request.patterns === undefined ? {} : { patterns: request.patterns }),
    ...(request.access === undefined ? {} : { access: request.access }),
  };
}

/**
 * Ends the stream when the client's token expires, or when it has been open
 * `maxConnectionLifetimeMs` (like Mercure's `write_timeout`), whichever comes first; none of
 * either, no timer. At the end of its lifetime the client is told when to come back (`retry:` of
 * retryMs plus a random share of shutdownRetryJitterMs, as at shutdown, so that streams opened
 * together do not all return together); at its token's expiry it needs a new token first. The
 * timer is unref'd and cleared when the stream closes first.
 */
function endWhenDue(
  ctx: RouteContext,
  expiresAt: number | undefined,
  subscription: Subscription,
  sink: Sink,
  onClose: (listener: () => void) => void,
): void {
  const lifetime = ctx.limits.maxConnectionLifetimeMs;
  const lifetimeEnd = lifetime === 0 ? undefined : Date.now() + lifetime;
  if (expiresAt === undefined && lifetimeEnd === undefined) return;
  const byLifetime =
    lifetimeEnd !== undefined && (expiresAt === undefined || lifetimeEnd < expiresAt);
  const endsAt = byLifetime ? lifetimeEnd : (expiresAt as number);
  const { retryMs, shutdownRetryJitterMs } = ctx.hub.options;
  const timer = setTimeout(
    () => {
      subscription.close();
      if (byLifetime) {
        sink.write(encodeRetry(retryMs + Math.floor(Math.random() * (shutdownRetryJitterMs + 1))));
      }
      sink.close();
    },
    Math.max(0, endsAt - Date.now()),
  );
  timer.unref();
  onClose(() => clearTimeout(timer));
}

/**
 * Streams over the socket, taken over from node:http. Waits a microtask first: the request
 * listener runs while node:http's parser is still inside the packet that held the request,
 * and the parser may only be freed once it is done with it (takeOverSocket checks then that
 * no other request followed). Keeps the public path when the takeover is refused.
 */
async function streamOverSocket(
  ctx: RouteContext,
  request: LeasedStreamRequest,
): Promise<StreamEnd | undefined> {
  await undefined;
  const { hub, req, res, logger } = ctx;
  // The client left meanwhile: node:http cleans up, nobody to subscribe.
  if (req.socket.destroyed) return undefined;
  const head = takeoverHead(res);
  // A closed hub refuses the subscription; the public path answers that with a JSON error.
  const socket = hub.isClosed ? "gone" : takeOverSocket(req, res);
  if (typeof socket === "string") {
    ctx.metrics.takeoverFellBack(socket);
    return streamOverResponse(ctx, request);
  }
  logJoined(logger, socket, request.topics, request.lastEventId);
  // Nothing written to the socket yet: the stream may go on over its TCP handle alone.
  const handleStream = adoptTcpHandle(socket);
  let connection: TakenOverSocket;
  let sink: Sink;
  if (typeof handleStream === "string") {
    // Counted in ssehub_node_internals_fallback_total{feature="tcp-handle"} (but "disabled").
    connection = socket;
    sink = new SocketSink(socket);
  } else {
    connection = handleStream;
    sink = handleStream;
  }
  // The head and the hub's `retry:` line leave in one write.
  connection.cork();
  connection.write(head);
  let subscription: Subscription;
  try {
    subscription = hub.subscribe(subscribeRequest(request, sink));
  } catch (error) {
    // Checked above, so not expected; the head is written, so no status can tell it any more.
    logger.error(
      { err: error, requestId: ctx.requestId },
      "Subscribing a stream failed after its head was written",
    );
    sink.destroy();
    return undefined;
  } finally {
    connection.uncork();
  }
  if (sink.isClosed) {
    subscription.close();
    return undefined;
  }
  // The tracker releases the lease when the socket closes: this connection's own listener
  // (a closure and a once-wrapper, about 250 bytes per idle subscriber) can go.
  trackTakenOverSocket(connection, subscription, request.lease, logger, ctx.metrics);
  ctx.metrics.streamOpened("socket");
  if (ctx.access !== undefined) {
    ctx.access.streaming(subscription);
    ctx.access.takenOver(connection);
  }
  socket.removeListener("close", request.releaseLease);
  endWhenDue(ctx, request.expiresAt, subscription, sink, (listener) =>
    connection.once("close", listener),
  );
  return connection;
}

/** What the stream route uses of a taken-over connection: a socket, or a TcpHandleStream. */
type TakenOverSocket = Pick<Socket, "cork" | "uncork" | "bytesWritten"> &
  TakenOverConnection & {
    write(chunk: Buffer | string): unknown;
    once(event: "close", listener: () => void): unknown;
  };

/** Streams through `res.write`: the public path. */
function streamOverResponse(
  ctx: RouteContext,
  request: LeasedStreamRequest,
): StreamEnd | undefined {
  const { hub, req, res, logger } = ctx;
  const sink = new ResponseSink(res);
  let subscription: Subscription;
  try {
    // Throws (bad id, hub closed) before writing a byte: the error still becomes a status,
    // and the connection, which may live on (keep-alive), holds no stream slot.
    subscription = hub.subscribe(subscribeRequest(request, sink));
  } catch (error) {
    request.lease.release();
    throw error;
  }
  if (isResponseClosed(res)) {
    subscription.close();
    return undefined;
  }
  const { metrics } = ctx;
  metrics.streamOpened("response");
  res.once("close", () => {
    subscription.close();
    metrics.streamClosed("response");
    logger.debug({ topics: request.topics }, "Subscriber left");
  });
  ctx.access?.streaming(subscription);
  endWhenDue(ctx, request.expiresAt, subscription, sink, (listener) => res.once("close", listener));
  // The hub wrote `retry:` already, which sent the headers; flush them in any case, so that
  // proxies and browsers see the stream open now.
  if (!res.headersSent) res.flushHeaders();
  logJoined(logger, req.socket, request.topics, request.lastEventId);
  return res;
}

/**
 * Logs a new subscriber at debug level. Reads the peer's address only when that level is on:
 * the socket caches it (`_peername`, about 110 bytes per idle subscriber otherwise).
 */
function logJoined(
  logger: Logger,
  socket: Socket,
  topics: readonly string[],
  lastEventId: string | undefined,
): void {
  if (!logger.isLevelEnabled("debug")) return;
  logger.debug({ topics, lastEventId, remote: socket.remoteAddress }, "Subscriber joined");
}
