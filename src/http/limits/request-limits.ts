/**
 * The limits of one request handler, from the options: streams in total and per client address
 * (`maxConnections`, `maxConnectionsPerIp`), publishes per second per token or address
 * (`maxPublishesPerSecond`), the size of a publish body (`maxBodyBytes`), and the client's
 * address as trusted proxies tell it (`trustedProxies`), and how long a stream may stay open
 * (`maxConnectionLifetimeMs`). Each refusal of a stream or publish is a
 * 429 with Retry-After that touches no other client.
 * @module
 */
import type { IncomingMessage } from "node:http";
import type { ResolvedHandlerOptions } from "../server-options.js";
import { limitKey, parseTrustedProxies, type TrustedProxies } from "./client-address.js";
import { type ConnectionLease, ConnectionLimiter } from "./connection-limits.js";
import { RateLimiter } from "./rate-limit.js";

/** The limits every route of a handler shares. */
export class RequestLimits {
  /** Largest publish request body, in bytes. */
  readonly maxBodyBytes: number;
  /** How long a stream may stay open, in ms; 0: no limit (see routes/events.ts). */
  readonly maxConnectionLifetimeMs: number;
  readonly #proxies: TrustedProxies;
  readonly #streams: ConnectionLimiter;
  readonly #publishes: RateLimiter | undefined;

  /**
   * Throws SSEHUB_ERR_OPTIONS_INVALID for a trusted proxy entry that is not an IP or CIDR.
   * @param clock.now the clock of the publish rate limit, in ms (`performance.now` by default):
   * tests pass their own, so that a slow machine cannot refill a bucket between two requests.
   */
  constructor(
    options: ResolvedHandlerOptions,
    clock: { readonly now?: (() => number) | undefined } = {},
  ) {
    this.maxBodyBytes = options.maxBodyBytes;
    this.maxConnectionLifetimeMs = options.maxConnectionLifetimeMs;
    this.#proxies = parseTrustedProxies(options.trustedProxies, {
      header: options.trustedProxyHeader,
    });
    this.#streams = new ConnectionLimiter({
      maxTotal: options.maxConnections,
      maxPerAddress: options.maxConnectionsPerIp,
    });
    this.#publishes =
      options.maxPublishesPerSecond === 0
        ? undefined
        : new RateLimiter({
            perSecond: options.maxPublishesPerSecond,
            burst: options.maxPublishesPerSecond,
            now: clock.now,
          });
  }

  /** The client's address: the peer's, or the one a trusted proxy forwarded. */
  clientAddress(req: IncomingMessage): string {
    return this.#proxies.clientAddress(req.socket.remoteAddress ?? "", req.headers);
  }

  /**
   * A slot for a new stream from `req`'s client; release it when the stream closes. Throws
   * SSEHUB_ERR_TOO_MANY_CONNECTIONS (429) past a limit.
   */
  acquireStream(req: IncomingMessage): ConnectionLease {
    const lease = this.#streams.tryAcquire(limitKey(this.clientAddress(req)));
    if (lease instanceof Error) throw lease;
    return lease;
  }

  /**
   * Counts one publish request against its token (`tokenKey`) or, without one, its client's
   * address. Throws SSEHUB_ERR_RATE_LIMITED (429) past `maxPublishesPerSecond`.
   */
  takePublish(req: IncomingMessage, tokenKey: string | undefined): void {
    const limiter = this.#publishes;
    if (limiter === undefined) return;
    const key = tokenKey ?? `ip:${limitKey(this.clientAddress(req))}`;
    const taken = limiter.take(key);
    if (taken !== true) throw limiter.error(taken);
  }

  /** Stops the rate limiter's sweep timer. */
  close(): void {
    this.#publishes?.close();
  }
}
