/**
 * The hub's own TLS listener: node:http2's secure server with `allowHTTP1`, so that browsers
 * speak HTTP/2 (one connection carries every stream of an origin, instead of HTTP/1.1's six
 * connections per origin) and HTTP/1.1 clients still work over TLS. The same request handler
 * serves both, through the compat API (Http2ServerRequest and Http2ServerResponse look like
 * node:http's request and response).
 *
 * What differs from the plain node:http listener, and what this module does about it:
 * - Slowloris. HTTP/1.1 over TLS gets node:http's `headersTimeout`, `requestTimeout` and
 *   `keepAliveTimeout` (the http2 server runs node:http's connection checker for it). HTTP/2 has
 *   none of them, so: the TLS handshake must finish within `headersTimeoutMs`
 *   (`handshakeTimeout`); a session with no open stream is closed with GOAWAY after
 *   `keepAliveTimeoutMs` without traffic (Http2Sessions), which also ends a client that never
 *   completes a request's headers (nghttp2 opens the stream only once they are complete); and a
 *   request body must arrive in full within `requestTimeoutMs` (boundRequestBody), else its
 *   stream is cancelled.
 * - Shutdown. An HTTP/2 server has no `closeAllConnections()`, and `closeIdleConnections()`
 *   sees HTTP/1.1 connections only: Http2Sessions sends GOAWAY to every session once the hub
 *   has told its subscribers when to come back, and ConnectionSet destroys what is left at the
 *   deadline.
 * - No socket takeover: a stream is one of many on a shared TLS connection, so the hub writes
 *   through `res.write` (canTakeOver refuses HTTP/2 and TLS).
 * @module
 */
import { readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import {
  createSecureServer,
  type Http2SecureServer,
  type Http2ServerRequest,
  type Http2ServerResponse,
  constants as http2Constants,
  type ServerHttp2Session,
  type ServerHttp2Stream,
} from "node:http2";
import type { Socket } from "node:net";
import { createSecureContext } from "node:tls";
import { SsehubError } from "../../errors.js";
import type { ResolvedServerOptions } from "../server-options.js";

/** The PEM texts of a TLS listener, read from `tlsCertFile` and `tlsKeyFile`. */
export interface TlsCredentials {
  readonly cert: Buffer;
  readonly key: Buffer;
}

/** The node:http timeouts that http2's secure server applies to its HTTP/1.1 connections. */
interface Http1Timeouts {
  headersTimeout: number;
  requestTimeout: number;
  keepAliveTimeout: number;
  connectionsCheckingInterval: number;
}

/** A request listener of node:http, which the compat API also feeds. */
type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

function invalid(message: string, cause?: unknown): SsehubError {
  return new SsehubError(
    "SSEHUB_ERR_OPTIONS_INVALID",
    message,
    cause === undefined ? undefined : { cause },
  );
}

/** What the usual reasons a file cannot be read mean. */
const READ_FAILURES: Readonly<Record<string, string>> = {
  ENOENT: "no such file",
  EACCES: "permission denied",
  EISDIR: "it is a directory",
};

function readPem(option: "tlsCertFile" | "tlsKeyFile", path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    const meaning = code === undefined ? undefined : READ_FAILURES[code];
    const reason =
      code === undefined
        ? (cause as Error).message
        : meaning === undefined
          ? code
          : `${meaning} (${code})`;
    throw invalid(`Cannot read ${option} ${JSON.stringify(path)}: ${reason}`, cause);
  }
}

/**
 * Reads and checks the certificate and key files of `options`; undefined when TLS is off
 * (both empty, as resolveServerOptions ensures). Throws SSEHUB_ERR_OPTIONS_INVALID naming the file
 * that is missing, unreadable, not PEM, encrypted, or whose key does not match the
 * certificate. Messages never quote the files' content.
 */
export function readTlsCredentials(
  options: Pick<ResolvedServerOptions, "tlsCertFile" | "tlsKeyFile">,
): TlsCredentials | undefined {
  const { tlsCertFile, tlsKeyFile } = options;
  if (tlsCertFile === "" && tlsKeyFile === "") return undefined;
  const cert = readPem("tlsCertFile", tlsCertFile);
  const key = readPem("tlsKeyFile", tlsKeyFile);
  if (!cert.includes("-----BEGIN CERTIFICATE-----")) {
    throw invalid(
      `Cannot use tlsCertFile ${JSON.stringify(tlsCertFile)}: it holds no PEM certificate (BEGIN CERTIFICATE)`,
    );
  }
  if (!/-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----/.test(key.toString("latin1"))) {
    throw invalid(
      `Cannot use tlsKeyFile ${JSON.stringify(tlsKeyFile)}: it holds no PEM private key (BEGIN PRIVATE KEY)`,
    );
  }
  if (key.includes("ENCRYPTED")) {
    throw invalid(
      `Cannot use tlsKeyFile ${JSON.stringify(tlsKeyFile)}: the key is encrypted; give an unencrypted key and protect the file instead`,
    );
  }
  try {
    createSecureContext({ cert, key });
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code ?? "";
    const reason = code.includes("KEY_VALUES_MISMATCH")
      ? "the key does not match the certificate"
      : `OpenSSL refused them (${code || (cause as Error).message})`;
    throw invalid(
      `Cannot use tlsKeyFile ${JSON.stringify(tlsKeyFile)} with tlsCertFile ${JSON.stringify(tlsCertFile)}: ${reason}`,
      cause,
    );
  }
  return { cert, key };
}

/**
 * Creates the TLS server: HTTP/2 with HTTP/1.1 as the fallback (ALPN), `handler` on both, and
 * the timeouts of the module comment. Shutting it down takes an Http2Sessions and a
 * ConnectionSet watching it.
 */
export function createSecureHubServer(
  options: Pick<ResolvedServerOptions, "requestTimeoutMs">,
  credentials: TlsCredentials,
  handler: RequestListener,
  timeouts: Http1Timeouts,
): Http2SecureServer {
  const { requestTimeoutMs } = options;
  const listener = (
    req: IncomingMessage | Http2ServerRequest,
    res: ServerResponse | Http2ServerResponse,
  ): void => {
    if (req.httpVersionMajor >= 2)
      boundRequestBody((req as Http2ServerRequest).stream, requestTimeoutMs);
    // The compat request and response stand in for node:http's (see the module comment).
    handler(req as IncomingMessage, res as ServerResponse);
  };
  const server = createSecureServer(
    {
      allowHTTP1: true,
      cert: credentials.cert,
      key: credentials.key,
      // The TLS handshake comes before any header: bound it the same way.
      handshakeTimeout: timeouts.headersTimeout,
    },
    listener,
  );
  // The http2 server sets its own defaults (60 s, 5 min); these are ours, as on plain HTTP.
  Object.assign(server as unknown as Http1Timeouts, timeouts);
  return server;
}

/**
 * Cancels an HTTP/2 request stream whose body has not arrived in full `timeoutMs` after its
 * headers, as node:http's `requestTimeout` does for HTTP/1.x (which answers 408 and closes the
 * connection; here only the stream goes, the connection's other streams live on). A request
 * without a body (a GET as EventSource sends it, so every event stream) starts no timer.
 */
function boundRequestBody(stream: ServerHttp2Stream, timeoutMs: number): void {
  if (stream.endAfterHeaders) return;
  const timer = setTimeout(cancelStream, timeoutMs, stream);
  timer.unref();
  const clear = (): void => clearTimeout(timer);
  stream.once("end", clear);
  stream.once("close", clear);
}

/**
 * RST_STREAM CANCEL while the answer is still open: the compat request then reads as aborted,
 * so a body cut short is refused, never taken for a whole one (see readBody).
 */
function cancelStream(stream: ServerHttp2Stream): void {
  if (!stream.destroyed && !stream.closed) stream.close(http2Constants.NGHTTP2_CANCEL);
}

/**
 * The HTTP/2 sessions of a server: closes a session that has had no open stream for
 * `idleMs`, and closes them all (GOAWAY) or destroys them at shutdown.
 *
 * Node's own session timeout counts any traffic, and an event stream can be silent for two
 * heartbeats, longer than a keep-alive timeout: so the timer runs only while a session has no
 * open stream (it is off from the first stream to the last). Bookkeeping costs one closure per
 * session and one `close` listener per stream, at the handshake only.
 */
export class Http2Sessions {
  readonly #open = new Set<ServerHttp2Session>();
  readonly #idleMs: number;
  #isClosing = false;

  constructor(idleMs: number) {
    this.#idleMs = idleMs;
  }

  /** Tracks every session `server` opens from now on. */
  watch(server: Http2SecureServer): void {
    server.on("session", (session: ServerHttp2Session) => this.#track(session));
  }

  /**
   * Sends GOAWAY to every session, and to any session opened from now on: each takes no new
   * stream and closes once its open streams have ended.
   */
  closeAll(): void {
    this.#isClosing = true;
    for (const session of this.#open) session.close();
  }

  /** Destroys every session now, cutting their streams. */
  destroyAll(): void {
    for (const session of this.#open) session.destroy();
  }

  #track(session: ServerHttp2Session): void {
    if (this.#isClosing) {
      session.close();
      return;
    }
    this.#open.add(session);
    const idleMs = this.#idleMs;
    let streams = 0;
    const onStreamClose = (): void => {
      streams -= 1;
      if (streams === 0 && !session.closed && !session.destroyed) session.setTimeout(idleMs);
    };
    session.on("stream", (stream: ServerHttp2Stream) => {
      if (streams === 0) session.setTimeout(0);
      streams += 1;
      stream.once("close", onStreamClose);
    });
    // GOAWAY: the client opens its next stream on a new connection.
    session.on("timeout", () => session.close());
    session.once("close", () => this.#open.delete(session));
    session.setTimeout(idleMs);
  }
}

/**
 * Every TCP connection of a server, whatever its protocol or stage (TLS handshake, HTTP/1.1,
 * HTTP/2): what `closeAllConnections()` is to node:http, for the http2 server that lacks it.
 */
export class ConnectionSet {
  readonly #open = new Set<Socket>();

  /** Tracks every connection `server` accepts from now on. */
  watch(server: Http2SecureServer): void {
    server.on("connection", (socket: Socket) => {
      this.#open.add(socket);
      socket.once("close", () => this.#open.delete(socket));
    });
  }

  /** Destroys every connection now (destroying the TCP socket ends the TLS socket over it). */
  destroyAll(): void {
    for (const socket of this.#open) socket.destroy();
  }
}
