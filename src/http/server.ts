/**
 * A standalone ssehub server: a hub, its request handler and a node:http server, with
 * slowloris protection that never cuts a stream, and a graceful shutdown.
 *
 * Timeouts: Node's `headersTimeout` and `requestTimeout` bound how long a client may take to
 * send a request, and Node only checks requests still arriving, so a stream (whose GET has
 * arrived in full) is never cut by them; the stream's socket timeout is also turned off (see
 * routes/events.ts). `keepAliveTimeout` closes connections idle between requests.
 * @module
 */
import { createServer as createHttpServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { SsehubError } from "../errors.js";
import { createHub, type Hub, type HubPlugins, type HubStatus } from "../hub/hub.js";
import { type Options, type ResolvedOptions, resolveOptions } from "../options.js";
import { Authorizer } from "./authorizer.js";
import { createRequestHandler } from "./handler.js";
import { createLogger, type Logger } from "./logger.js";
import { HubMetrics } from "./metrics.js";

/** Options of createServer: every hub option, plus the logger. */
export type ServerOptions = Options & {
  /** Where to log; a pino logger at `logLevel` writing to stdout by default. */
  readonly logger?: Logger | undefined;
};

/** Where a server listens. */
export interface ListenAddress {
  readonly host: string;
  readonly port: number;
  /** `http://host:port`, with brackets around an IPv6 host. */
  readonly url: string;
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
function checkingIntervalMs(options: ResolvedOptions, headersTimeoutMs: number): number {
  const shorter = Math.min(headersTimeoutMs, options.requestTimeoutMs);
  return Math.min(MAX_CHECK_INTERVAL_MS, Math.max(MIN_CHECK_INTERVAL_MS, Math.floor(shorter / 4)));
}

/**
 * The authorizer of a server with `options`. Throws SSEHUB_ERR_OPTIONS_INVALID for a key that
 * cannot be used, and when publishing would be open to anyone on a non-loopback listener
 * (secure by default: no publisher key there needs `anonymousPublish` said out loud).
 */
export function authorizerFor(options: ResolvedOptions): Authorizer {
  const authorizer = new Authorizer(options);
  if (authorizer.publishingIsOpen && !options.anonymousPublish && !isLoopbackHost(options.host)) {
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

function formatUrl(host: string, port: number): string {
  return host.includes(":") ? `http://[${host}]:${port}` : `http://${host}:${port}`;
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
  /** The node:http server. */
  readonly server: Server;
  /** The logger in use. */
  readonly logger: Logger;
  /** The metrics behind /metrics. */
  readonly metrics: HubMetrics;
  readonly #options: ResolvedOptions;
  #isReady = false;
  #closing: Promise<void> | undefined;

  constructor(options: ServerOptions = {}, plugins: HubPlugins = {}) {
    const { logger, ...hubOptions } = options;
    this.#options = resolveOptions(hubOptions);
    this.logger = logger ?? createLogger(this.#options.logLevel);
    this.hub = createHub(this.#options, plugins);
    this.metrics = new HubMetrics(this.hub);

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
      logger: this.logger,
      metrics: this.metrics,
      isReady: () => this.#isReady && this.hub.isReady,
      authorizer,
    });
    this.server = createHttpServer(
      {
        headersTimeout,
        requestTimeout: requestTimeoutMs,
        connectionsCheckingInterval: checkingIntervalMs(this.#options, headersTimeout),
        keepAliveTimeout: this.#options.keepAliveTimeoutMs,
      },
      handler,
    );
    this.server.keepAliveTimeout = this.#options.keepAliveTimeoutMs;
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

  /** The options in force, resolved. */
  get options(): ResolvedOptions {
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
      url: formatUrl(address.address, address.port),
    };
    this.#isReady = true;
    this.logger.info(listening, `ssehub listening on ${listening.url}`);
    return listening;
  }

  /**
   * Shuts down gracefully: stops accepting, answers /readyz with 503, closes the hub (each
   * subscriber is told when to come back, with jitter, and its stream ends), closes idle
   * connections as requests finish, and resolves once every connection is closed. Connections
   * still open after `shutdownTimeoutMs` are destroyed. Calling it again returns the same
   * promise.
   */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    this.#isReady = false;
    this.logger.info("ssehub shutting down");
    const server = this.server;
    const closed = new Promise<void>((resolve) => {
      // The callback also runs (with an error) when the server was not listening.
      server.close(() => resolve());
    });
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<"timeout">((resolve) => {
      timer = setTimeout(resolve, this.#options.shutdownTimeoutMs, "timeout");
    });
    const poll = setInterval(() => server.closeIdleConnections(), SHUTDOWN_POLL_MS);
    try {
      const drained = (async () => {
        await this.hub.close();
        server.closeIdleConnections();
        await closed;
      })();
      if ((await Promise.race([drained, deadline])) === "timeout") {
        this.logger.warn(
          { shutdownTimeoutMs: this.#options.shutdownTimeoutMs },
          "Shutdown timed out: destroying the connections left",
        );
        server.closeAllConnections();
        await closed;
      }
    } finally {
      clearInterval(poll);
      clearTimeout(timer);
      this.metrics.close();
    }
    this.logger.info("ssehub stopped");
  }
}

/**
 * Creates a server: resolves and validates `options` (throws SSEHUB_ERR_OPTIONS_INVALID listing
 * every problem), creates the hub and the node:http server. Call `listen()` to start.
 * @example
 * const ssehub = createServer({ port: 8080, corsOrigins: ["https://app.example"] });
 * const { url } = await ssehub.listen();
 * ssehub.hub.publish({ topic: "news", data: { title: "Hello" } });
 * process.once("SIGTERM", () => ssehub.close());
 */
export function createServer(options: ServerOptions = {}, plugins: HubPlugins = {}): SsehubServer {
  return new SsehubServer(options, plugins);
}
