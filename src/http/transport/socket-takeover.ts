/**
 * Socket takeover: after the handshake of a stream, node:http lets go of the connection and the
 * hub writes raw bytes to the socket (DESIGN principle 7).
 *
 * Why: an SSE response never ends, and until a response ends node:http keeps, per connection,
 * the ServerResponse, the IncomingMessage (through the parser), the HTTP parser and about ten
 * bound closures (measured here: 9.7 KiB of RSS per idle subscriber, 3.6 KiB once taken over).
 * Node itself lets go of a socket this way for an `upgrade` listener (`onParserExecuteCommon`
 * in lib/_http_server.js, the same in Node 20 and 24):
 *
 * ```
 * socket.removeListener('data' | 'end' | 'close' | 'drain' | 'error' | 'timeout', <http's>)
 * unconsume(parser, socket)        // also removes http's 'pause' and 'resume' listeners
 * parser.finish(); freeParser(parser, req, socket)
 * ```
 *
 * The takeover does the same, plus `res.detachSocket(socket)` (the response was never written)
 * and putting back the socket methods node:http wraps (`on`, `addListener`, `prependListener`,
 * `setEncoding`). It assigns the prototype's methods back rather than `delete` the wrappers:
 * a `delete` turns the socket into a dictionary-mode object (+1.4 KiB measured, and slower
 * writes). It skips `parser.finish()`: the parser goes back to node:http's pool, which
 * initializes it again before use.
 *
 * These are node:http internals, so everything is checked before anything changes, and
 * when one check fails the caller keeps the public path (`res.write`):
 * - once per process: `_http_common` exports `freeParser`, the parser and the response have the
 *   methods used;
 * - per request: HTTP/1.x over a plain socket (TLS and HTTP/2 keep the public path), no body,
 *   no `Expect`, the response is the socket's current one and nothing of it was written, and
 *   node:http's listeners are found on the socket under their Node 20-24 names;
 * - once the parser is done with the bytes that held the request (a microtask later, see
 *   takeOverSocket): no further request was pipelined behind this one.
 *
 * A taken-over socket is no longer in node:http's connection list, so `closeIdleConnections()`
 * and `closeAllConnections()` no longer see it. Its owner closes it: the hub ends every stream
 * on close (SocketSink), and trackTakenOverSocket keeps `closeAllConnections()` of the server
 * destroying the streams too, as it does for responses. `server.getConnections()` (and so
 * `ssehub_connections`) counts the socket until it closes, as before.
 * @module
 */
import { type IncomingMessage, type Server, ServerResponse } from "node:http";
import { createRequire } from "node:module";
import { type Server as NetServer, Socket } from "node:net";
import type { Subscription } from "../../hub/types.js";
import type { ConnectionLease } from "../limits/connection-limits.js";
import type { Logger } from "../telemetry/logger.js";
import { reportInternalsFallback } from "./internals-fallback.js";

/**
 * Set to `off` (or `0`, `false`) to keep every stream on the public `res.write` path: for
 * comparisons (bench/scenarios/idle-footprint.ts) and tests. Read at each handshake.
 */
export const SOCKET_TAKEOVER_ENV = "SSEHUB_SOCKET_TAKEOVER";

/**
 * Why a stream keeps the public `res.write` path: `disabled` (SOCKET_TAKEOVER_ENV), `unsupported`
 * (this Node lacks the internals), `protocol` (TLS, HTTP/2, not a node:http server's socket),
 * `request` (a body or `Expect`), `pipelined` (the response is not the socket's current one, or
 * another request followed), `internals` (node:http's socket listeners not found), `gone` (the
 * client left or the hub is closing). `unsupported` and `internals` are also reported on
 * INTERNALS_FALLBACK_CHANNEL (feature `socket-takeover`).
 */
export type TakeoverFallbackReason =
  | "disabled"
  | "unsupported"
  | "protocol"
  | "request"
  | "pipelined"
  | "internals"
  | "gone";

/** Every reason, for metrics that show each one from the start. */
export const TAKEOVER_FALLBACK_REASONS: readonly TakeoverFallbackReason[] = [
  "disabled",
  "unsupported",
  "protocol",
  "request",
  "pipelined",
  "internals",
  "gone",
];

/** What node:http's request parser offers that the takeover uses. */
interface HttpParser {
  incoming: unknown;
  unconsume(): void;
  remove(): void;
}

/** `freeParser` of lib/_http_common.js: unconsumes, cleans and pools the parser. */
type FreeParser = (parser: HttpParser, req: IncomingMessage, socket: Socket) => void;

/** The socket fields node:http adds or reads. */
interface HttpSocket extends Socket {
  parser?: HttpParser | null;
  _httpMessage?: unknown;
  encrypted?: boolean;
  /** The node:http server that accepted the socket (set by its connection listener). */
  server?: TrackingServer | null;
  /** The peer's address as `remoteAddress` cached it (lib/net.js `_getpeername`). */
  _peername?: unknown;
}

/** A node:http server with the streams taken over from it. */
interface TrackingServer extends Server {
  [kTakenOver]?: TakenOverSockets;
}

/** Where a server keeps its TakenOverSockets. */
const kTakenOver = Symbol("ssehub.takenOverSockets");

/** The response method that unlinks a response from its socket (lib/_http_server.js). */
interface DetachableResponse extends ServerResponse {
  detachSocket(socket: Socket): void;
}

/**
 * node:http's listeners on a server socket (connectionListenerInternal in lib/_http_server.js),
 * by event and function name. The four `bound` ones close over the parser, the server and the
 * connection state; all of them go, or the takeover does not happen.
 */
const HTTP_SOCKET_LISTENERS: readonly (readonly [event: string, name: string])[] = [
  ["data", "bound socketOnData"],
  ["end", "bound socketOnEnd"],
  ["close", "bound socketOnClose"],
  ["drain", "bound socketOnDrain"],
  ["error", "socketOnError"],
  ["timeout", "socketOnTimeout"],
  ["resume", "onSocketResume"],
  ["pause", "onSocketPause"],
];

/** Request headers that announce a body: such a request keeps the public path. */
function hasBody(req: IncomingMessage): boolean {
  const length = req.headers["content-length"];
  return (length !== undefined && length !== "0") || req.headers["transfer-encoding"] !== undefined;
}

/** `freeParser` when this Node has everything the takeover touches, else undefined. */
function detectFreeParser(): FreeParser | undefined {
  try {
    const common = createRequire(import.meta.url)("_http_common") as {
      freeParser?: unknown;
      HTTPParser?: { prototype?: Record<string, unknown> };
    };
    const parser = common.HTTPParser?.prototype;
    const response = ServerResponse.prototype as unknown as Record<string, unknown>;
    const socket = Socket.prototype as unknown as Record<string, unknown>;
    const usable =
      typeof common.freeParser === "function" &&
      parser !== undefined &&
      ["unconsume", "remove", "free", "close", "finish"].every(
        (name) => typeof parser[name] === "function",
      ) &&
      typeof response.detachSocket === "function" &&
      ["on", "addListener", "prependListener", "setEncoding"].every(
        (name) => typeof socket[name] === "function",
      );
    return usable ? (common.freeParser as FreeParser) : undefined;
  } catch {
    // A Node without `_http_common`: the public path it is.
    return undefined;
  }
}

const freeParser = detectFreeParser();

/** True when this Node has every internal the takeover uses (checked once, at load). */
export const socketTakeoverSupported: boolean = freeParser !== undefined;

/** False when SOCKET_TAKEOVER_ENV turns the takeover off. */
function isEnabled(): boolean {
  const value = process.env[SOCKET_TAKEOVER_ENV];
  return value === undefined || !/^(?:off|0|false|no)$/i.test(value.trim());
}

/**
 * True when the stream of `req` may be taken over from node:http (see the module comment for
 * the conditions). Checks the request as it stands in the request listener; takeOverSocket
 * checks again once node:http has parsed everything that came with it, and looks for
 * node:http's listeners then.
 */
export function canTakeOver(req: IncomingMessage, res: ServerResponse): boolean {
  return takeoverBlocker(req, res) === undefined;
}

/** Why the stream of `req` cannot be taken over (see canTakeOver), or undefined when it can. */
export function takeoverBlocker(
  req: IncomingMessage,
  res: ServerResponse,
): TakeoverFallbackReason | undefined {
  if (!isEnabled()) return "disabled";
  if (freeParser === undefined) {
    reportInternalsFallback("socket-takeover", "node:http internals missing");
    return "unsupported";
  }
  const socket = req.socket as HttpSocket;
  if (
    req.httpVersionMajor !== 1 ||
    !(socket instanceof Socket) ||
    socket.encrypted === true ||
    typeof socket.server?.closeAllConnections !== "function"
  ) {
    return "protocol";
  }
  if (hasBody(req) || req.headers.expect !== undefined) return "request";
  const isCurrent =
    res.socket === socket &&
    socket._httpMessage === res &&
    !res.headersSent &&
    socket.parser?.incoming === req;
  return isCurrent ? undefined : "pipelined";
}

/**
 * Takes the socket of `req` over from node:http, or returns why not (TakeoverFallbackReason)
 * and changes nothing when it cannot (the response then still works). Call it once node:http has parsed the bytes
 * that came with the request (a microtask after the request listener ran): freeing the parser
 * while it still runs would leave it to parse a pipelined request with nobody to answer.
 *
 * Afterwards the socket is the caller's: node:http's listeners and timeout are gone, the
 * response and request are unlinked (they are garbage once the caller drops them), the socket
 * reads and discards what the peer sends (so its end and errors surface), ends its side when
 * the peer ends, and swallows errors (a socket error is followed by `close`). The caller writes
 * the response head itself and listens for `close`.
 */
export function takeOverSocket(
  req: IncomingMessage,
  res: ServerResponse,
): Socket | TakeoverFallbackReason {
  if (freeParser === undefined) return "unsupported";
  const socket = req.socket as HttpSocket;
  const parser = socket.parser;
  if (socket.destroyed || !socket.writable || socket.readableEnded) return "gone";
  if (
    parser === undefined ||
    parser === null ||
    // Another request followed this one in the same packet: node:http answers it in turn.
    parser.incoming !== req ||
    !req.complete ||
    socket._httpMessage !== res ||
    res.headersSent
  ) {
    return "pipelined";
  }
  const listeners = findHttpListeners(socket);
  if (listeners === undefined) {
    reportInternalsFallback("socket-takeover", "node:http's socket listeners not found");
    return "internals";
  }

  try {
    (res as DetachableResponse).detachSocket(socket);
    for (const [event, listener] of listeners) socket.removeListener(event, listener);
    freeParser(parser, req, socket);
    // Assigned back, not deleted: see the module comment.
    const proto = Socket.prototype;
    socket.on = proto.on;
    socket.addListener = proto.addListener;
    socket.prependListener = proto.prependListener;
    socket.setEncoding = proto.setEncoding;

    socket.setTimeout(0);
    // `remoteAddress` caches the peer's address in an object of its own, about 110 bytes per
    // idle subscriber; whoever needed it has read it by now (the connection limits keep it),
    // and a later read asks the socket again.
    if (socket._peername !== undefined) socket._peername = undefined;
    // node:http serves half-open sockets itself (it ends them in socketOnEnd); without it, the
    // socket ends its side when the peer ends, as a plain net.Socket does.
    socket.allowHalfOpen = false;
    socket.on("error", ignoreError);
    socket.resume();
  } catch (error) {
    // Half taken over, the connection belongs to nobody: end it (the client reconnects).
    socket.destroy();
    throw error;
  }
  return socket;
}

/** Who counts the open taken-over streams (HubMetrics). */
export interface TakenOverStreamCounts {
  streamClosed(transport: "socket"): void;
}

/**
 * Closes `subscription`, releases `lease` and tells `counts` when the taken-over `socket`
 * closes, and lets `closeAllConnections()` of the server that accepted the socket destroy it.
 * One listener function shared by every socket, and one map entry per socket: no closure per
 * connection.
 */
export function trackTakenOverSocket(
  socket: TakenOverConnection,
  subscription: Subscription,
  lease: ConnectionLease,
  logger: Logger,
  counts?: TakenOverStreamCounts,
): void {
  const server = socket.server as TrackingServer;
  let tracked = server[kTakenOver];
  if (tracked === undefined) {
    tracked = new TakenOverSockets(server, logger);
    server[kTakenOver] = tracked;
  }
  tracked.add(socket, new TakenOverStream(subscription, lease, counts));
  socket.on("close", onTakenOverSocketClose);
}

/**
 * A taken-over stream's connection: its socket, or the TCP handle alone once the socket let go
 * of it (tcp-handle-stream.ts).
 */
export interface TakenOverConnection {
  /** The server that accepted the connection. */
  readonly server?: NetServer | null;
  on(event: "close", listener: (this: TakenOverConnection) => void): unknown;
  destroy(): void;
}

/** What a taken-over socket ends when it closes. */
class TakenOverStream {
  readonly subscription: Subscription;
  readonly lease: ConnectionLease;
  readonly counts: TakenOverStreamCounts | undefined;

  constructor(
    subscription: Subscription,
    lease: ConnectionLease,
    counts: TakenOverStreamCounts | undefined,
  ) {
    this.subscription = subscription;
    this.lease = lease;
    this.counts = counts;
  }
}

/**
 * The open streams taken over from one node:http server, each with its subscription. Created
 * at the first takeover, it makes the server's `closeAllConnections()` destroy them as well
 * (an own method of the server, calling node:http's first).
 */
class TakenOverSockets {
  readonly #open = new Map<TakenOverConnection, TakenOverStream>();
  readonly #logger: Logger;

  constructor(server: Server, logger: Logger) {
    this.#logger = logger;
    const closeAllConnections = server.closeAllConnections;
    const open = this.#open;
    server.closeAllConnections = function closeAllConnectionsAndStreams(this: Server): void {
      closeAllConnections.call(this);
      for (const socket of open.keys()) socket.destroy();
    };
  }

  add(socket: TakenOverConnection, stream: TakenOverStream): void {
    this.#open.set(socket, stream);
  }

  /** The socket closed: unregister its subscription, give its connection slot back. */
  closed(socket: TakenOverConnection): void {
    const stream = this.#open.get(socket);
    if (stream === undefined) return;
    this.#open.delete(socket);
    stream.lease.release();
    stream.subscription.close();
    stream.counts?.streamClosed("socket");
    this.#logger.debug({ topics: stream.subscription.topics }, "Subscriber left");
  }
}

function onTakenOverSocketClose(this: TakenOverConnection): void {
  (this.server as TrackingServer | null | undefined)?.[kTakenOver]?.closed(this);
}

/** Socket errors end in `close`, where the owner cleans up; nothing to do here. */
function ignoreError(): void {}

/** node:http's listeners on `socket`, each with its event; undefined when one is missing. */
function findHttpListeners(
  socket: Socket,
): [event: string, listener: (...args: unknown[]) => void][] | undefined {
  const found: [string, (...args: unknown[]) => void][] = [];
  for (const [event, name] of HTTP_SOCKET_LISTENERS) {
    const listener = socket.listeners(event).find((fn) => fn.name === name);
    if (listener === undefined) return undefined;
    found.push([event, listener as (...args: unknown[]) => void]);
  }
  return found;
}
