/**
 * A standalone ssehub server: a hub, its request handler and a node:http server (or, with
 * `tlsCertFile` and `tlsKeyFile`, node:http2's secure server speaking HTTP/2 and HTTP/1.1 over
 * TLS: see secure-server.ts), with slowloris protection that never cuts a stream, and a
 * graceful shutdown.
 *
 * Timeouts: Node's `headersTimeout` and `requestTimeout` bound how long a client may take to
 * send a request, and Node only checks requests still arriving, so a stream (whose GET has
 * arrived in full) is never cut by them; the stream's socket timeout is also turned off (see
 * routes/events.ts). `keepAliveTimeout` closes connections idle between requests. HTTP/2 gets
 * the equivalents described in secure-server.ts.
 * @module
 */
import { createServer as createHttpServer, type Server } from "node:http";
import type { Http2SecureServer } from "node:http2";
import type { AddressInfo } from "node:net";
import { SsehubError } from "../errors.js";
import { createHub, type Hub } from "../hub/hub.js";
import { HUB_OPTIONS, type HubOptions, type ResolvedHubOptions } from "../hub/hub-options.js";
import type { HubPlugins, HubStatus } from "../hub/types.js";
import { pickOptions } from "../options.js";
import { Authorizer } from "./access/authorizer.js";
import { createRequestHandler } from "./handler.js";
import {
  HANDLER_OPTIONS,
  type ResolvedServerOptions,
  resolveServerOptions,
  type ServerOptions,
} from "./server-options.js";
import type { HubDiagnosis } from "./telemetry/hub-diagnosis.js";
import { createLogger, type Logger } from "./telemetry/logger.js";
import { type GatherSnapshots, HubMetrics } from "./telemetry/metrics.js";
import type { PresenceWebhook } from "./telemetry/presence-webhook.js";
import { answerClientError } from "./transport/client-error.js";
import {
  ConnectionSet,
  createSecureHubServer,
  Http2Sessions,
  readTlsCredentials,
} from "./transport/secure-server.js";

/**
 * Options of createServer: the hub's (passed to the hub it creates), the server's, and the
 * logger. The options of `ssehub serve` alone (workers, Redis) are refused.
 */
export type CreateServerOptions = HubOptions &
  ServerOptions & {
    /** Where to log; a pino logger at `logLevel` writing to stdout by default. */
    readonly logger?: Logger | undefined;
    /**
     * Makes one scrape of /metrics answer for every worker of a cluster (see GatherSnapshots);
     * `ssehub serve --workers N` passes the cluster's. This process alone without it.
     */
    readonly gather?: GatherSnapshots | undefined;
  };

/** Where a server listens. */
export interface ListenAddress {
  readonly host: string;
  readonly port: number;
  /** `http://host:port` (`https://` with TLS), with brackets around an IPv6 host. */
  readonly url: string;
}

/** The TLS listener's parts that shutdown needs. */
interface SecureParts {
  readonly server: Http2SecureServer;
  readonly sessions: Http2Sessions;
  readonly connections: ConnectionSet;
}

/** How often idle connections are closed while shutting down, in ms. */
const SHUTDOWN_POLL_MS = 25;
/** Bounds of Node's `connectionsCheckingInterval`, the tick of its request timeouts, in ms. */
const MIN_CHECK_INTERVAL_MS = 50;
const MAX_CHECK_INTERVAL_MS = 30_000;

/**
 * How often Node checks the request timeouts: a quarter of the shorter one, so that a client
 * overstays by at most a quarter of its allowance.
 */
function checkingIntervalMs(options: ResolvedServerOptions, headersTimeoutMs: number): number {
  const shorter = Math.min(headersTimeoutMs, options.requestTimeoutMs);
  return Math.min(MAX_CHECK_INTERVAL_MS, Math.max(MIN_CHECK_INTERVAL_MS, Math.floor(shorter / 4)));
}

/**
 * The authorizer of a server with `options`. Throws SSEHUB_ERR_OPTIONS_INVALID for a key that
 * cannot be used, and when publishing would be open to anyone on a non-loopback listener
 * (secure by default: no publisher key there needs `anonymousPublish` said out loud).
 */
export function authorizerFor(options: ResolvedServerOptions): Authorizer {
  const authorizer = new Authorizer(options);
  // A publish hook decides who publishes: publishing is not open to anyone then.
  if (
    authorizer.publishingIsOpen &&
    options.publishHookUrl === "" &&
    !options.anonymousPublish &&
    !isLoopbackHost(options.host)
  ) {
    throw new SsehubError(
      "SSEHUB_ERR_OPTIONS_INVALID",
      `Cannot listen on ${options.host} with publishing open to anyone: set publisherJwtKey (or publisherJwksUrl) so that publishers need a token, or anonymousPublish to true to accept every publish`,
    );
  }
  return authorizer;
}

/** True for names and addresses of this machine's loopback interface. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, "").toLowerCase();
  return bare === "localhost" || bare === "::1" || /^127\.\d+\.\d+\.\d+$/.test(bare);
}

function formatUrl(scheme: "http" | "https", host: string, port: number): string {
  return host.includes(":") ? `${scheme}://[${host}]:${port}` : `${scheme}://${host}:${port}`;
}

function logStatus(logger: Logger, status: HubStatus): void {
  switch (status.type) {
    case "slow-consumer-disconnected":
      logger.warn(status, "Disconnected a slow consumer");
      break;
    case "bus-restarted":
      logger.warn(status, "The bus started over: every stream was ended so its client resumes");
      break;
    case "resume-failed":
      logger.warn(status, "A resume could not read history: its stream was ended");
      break;
    default:
      logger.debug(status, "Dropping events for a slow consumer");
  }
}

/**
 * A running ssehub: `hub` for the library API, `server` for Node's, `listen()` and `close()`.
 * Create it with createServer.
 */
export class SsehubServer {
  /** The hub: publish from the same process, read stats. */
  readonly hub: Hub;
  /**
   * The node:http server; node:http2's secure server (HTTP/2 and HTTP/1.1 over TLS) when
   * `tlsCertFile` and `tlsKeyFile` are set.
   */
  readonly server: Server | Http2SecureServer;
  /** The logger in use. */
  readonly logger: Logger;
  /** The metrics behind /metrics. */
  readonly metrics: HubMetrics;
  /** The stall watcher and diagnosis behind /admin/stalls and /admin/diagnosis. */
  readonly diagnosis: HubDiagnosis;
  readonly #options: ResolvedHubOptions & ResolvedServerOptions;
  /** Set with TLS: the sessions and connections that shutdown closes itself. */
  readonly #secure: SecureParts | undefined;
  #isReady = false;
  #closing: Promise<void> | undefined;
  /** Told of streams opening and ending, when presenceWebhookUrl is set; flushed at shutdown. */
  readonly #presenceWebhook: PresenceWebhook | undefined;

  constructor(options: CreateServerOptions = {}, plugins: HubPlugins = {}) {
    const { logger, gather, ...hubAndServerOptions } = options;
    this.#options = resolveServerOptions(hubAndServerOptions);
    // Before the hub exists: a file that cannot be used leaves nothing running behind it.
    const credentials = readTlsCredentials(this.#options);
    this.logger = logger ?? createLogger(this.#options.logLevel);
    this.hub = createHub(pickOptions(HUB_OPTIONS, this.#options), plugins);
    this.metrics = new HubMetrics(this.hub, { gather });

    const { headersTimeoutMs, requestTimeoutMs } = this.#options;
    // Node refuses headersTimeout > requestTimeout: the whole request bounds its headers too.
    const headersTimeout = Math.min(headersTimeoutMs, requestTimeoutMs);
    if (headersTimeout < headersTimeoutMs) {
      this.logger.warn(
        { headersTimeoutMs, requestTimeoutMs },
        "headersTimeoutMs is longer than requestTimeoutMs: using requestTimeoutMs for both",
      );
    }
    const authorizer = authorizerFor(this.#options);
    const handler = createRequestHandler(this.hub, {
      ...pickOptions(HANDLER_OPTIONS, this.#options),
      logger: this.logger,
      metrics: this.metrics,
      gather,
      isReady: () => this.#isReady && this.hub.isReady,
      authorizer,
    });
    this.diagnosis = handler.diagnosis;
    this.#presenceWebhook = handler.presenceWebhook;
    const timeouts = {
      headersTimeout,
      requestTimeout: requestTimeoutMs,
      connectionsCheckingInterval: checkingIntervalMs(this.#options, headersTimeout),
      keepAliveTimeout: this.#options.keepAliveTimeoutMs,
    };
    if (credentials === undefined) {
      const server = createHttpServer(timeouts, handler);
      server.on("clientError", answerClientError);
      server.keepAliveTimeout = this.#options.keepAliveTimeoutMs;
      this.server = server;
      this.#secure = undefined;
    } else {
      const server = createSecureHubServer(this.#options, credentials, handler, timeouts);
      const sessions = new Http2Sessions(this.#options.keepAliveTimeoutMs);
      const connections = new ConnectionSet();
      sessions.watch(server);
      connections.watch(server);
      this.server = server;
      this.#secure = { server, sessions, connections };
    }
    this.metrics.trackServer(this.server);
    this.hub.on("status", (status: HubStatus) => logStatus(this.logger, status));
    if (this.logger.isLevelEnabled("debug")) {
      this.server.on("connection", (socket) => {
        this.logger.debug({ remote: socket.remoteAddress }, "Connection opened");
      });
    }
  }

  /** True while the server takes new subscribers and its bus can order events (/readyz). */
  get isReady(): boolean {
    return this.#isReady && this.hub.isReady;
  }

  /** The options in force, resolved: the hub's (also `hub.options`) and the server's. */
  get options(): ResolvedHubOptions & ResolvedServerOptions {
    return this.#options;
  }

  /**
   * Starts listening on `host` and `port` (0 picks a free port) and logs the URL.
   * Rejects with the system error when the address is taken or not available.
   */
  async listen(): Promise<ListenAddress> {
    const { host, port } = this.#options;
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, host, () => {
        this.server.off("error", reject);
        resolve();
      });
    });
    const address = this.server.address() as AddressInfo;
    const listening: ListenAddress = {
      host: address.address,
      port: address.port,
      url: formatUrl(this.#secure === undefined ? "http" : "https", address.address, address.port),
    };
    this.#isReady = true;
    this.logger.info(listening, `ssehub listening on ${listening.url}`);
    return listening;
  }

  /**
   * Shuts down gracefully: stops accepting, answers /readyz with 503, closes the hub (each
   * subscriber is told when to come back, with jitter, and its stream ends), closes idle
   * connections as requests finish (over HTTP/2: GOAWAY to every session, which closes once its
   * last stream has ended), and resolves once every connection is closed. Connections still
   * open after `shutdownTimeoutMs` are destroyed. Calling it again returns the same promise.
   */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    const until = Date.now() + this.#options.shutdownTimeoutMs;
    this.#isReady = false;
    // A server that never listened (its port was taken, say) has no shutdown to tell of.
    const hasListened = this.server.listening;
    if (hasListened) this.logger.info("ssehub shutting down");
    const server = this.server;
    const closed = new Promise<void>((resolve) => {
      // The callback also runs (with an error) when the server was not listening.
      server.close(() => resolve());
    });
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<"timeout">((resolve) => {
      timer = setTimeout(resolve, this.#options.shutdownTimeoutMs, "timeout");
    });
    const poll = setInterval(() => this.#closeIdleConnections(), SHUTDOWN_POLL_MS);
    try {
      const drained = (async () => {
        await this.hub.close();
        // Every subscriber has its `retry:` now: GOAWAY lets each session finish what it
        // carries (the ended streams, a publish in flight) and then close.
        this.#secure?.sessions.closeAll();
        this.#closeIdleConnections();
        await closed;
      })();
      if ((await Promise.race([drained, deadline])) === "timeout") {
        this.logger.warn(
          { shutdownTimeoutMs: this.#options.shutdownTimeoutMs },
          "Shutdown timed out: destroying the connections left",
        );
        this.#closeAllConnections();
        await closed;
      }
    } finally {
      clearInterval(poll);
      clearTimeout(timer);
      // Every stream has ended: its `unsubscribe` waits in the webhook's queue.
      await this.#presenceWebhook?.close(until);
      this.metrics.close();
      this.diagnosis.close();
    }
    if (hasListened) this.logger.info("ssehub stopped");
  }

  /** Closes the HTTP/1.x connections between requests (HTTP/2 sessions close on GOAWAY). */
  #closeIdleConnections(): void {
    const server = this.server as { closeIdleConnections?: () => void };
    // node:http2's secure server has it for its HTTP/1.1 connections (Node 20 does); feature-
    // detected all the same, as it is newer than the rest of the http2 API.
    server.closeIdleConnections?.();
  }

  /** Destroys every connection, whatever it carries. */
  #closeAllConnections(): void {
    if (this.#secure === undefined) {
      (this.server as Server).closeAllConnections();
      return;
    }
    this.#secure.sessions.destroyAll();
    this.#secure.connections.destroyAll();
  }
}

/**
 * Checks `options` as createServer would, without creating anything: every option, the keys
 * that verify tokens, publishing open on a non-loopback listener, and the TLS files (read and
 * matched). Throws SSEHUB_ERR_OPTIONS_INVALID. `ssehub serve --workers` runs it in the primary,
 * so that a bad configuration stops the hub before any worker starts.
 */
export function checkServerOptions(options: CreateServerOptions = {}): void {
  const { logger: _logger, gather: _gather, ...rest } = options;
  const resolved = resolveServerOptions(rest);
  authorizerFor(resolved);
  readTlsCredentials(resolved);
}

/**
 * Creates a server: resolves and validates `options` with resolveServerOptions (throws
 * SSEHUB_ERR_OPTIONS_INVALID listing every problem, an option of `ssehub serve` included, or
 * naming a TLS file that cannot be used), creates the hub with the hub's options and the node:http
 * server, or node:http2's secure server with `tlsCertFile` and `tlsKeyFile`. Call `listen()` to
 * start.
 * @example
 * const ssehub = createServer({ port: 8080, corsOrigins: ["https://app.example"] });
 * const { url } = await ssehub.listen();
 * ssehub.hub.publish({ topic: "news", data: { title: "Hello" } });
 * process.once("SIGTERM", () => ssehub.close());
 */
export function createServer(
  options: CreateServerOptions = {},
  plugins: HubPlugins = {},
): SsehubServer {
  return new SsehubServer(options, plugins);
}
