/**
 * The library's half of "secure by default" for publishing. `ssehub serve` and createServer
 * refuse to listen on a non-loopback address while publishing is open to anyone (no publisher
 * key or JWKS URL, no publish hook, `anonymousPublish` not said: see server.ts authorizerFor).
 * createRequestHandler is mounted on the caller's own server, whose address it learns only when
 * a request arrives, so it cannot refuse to start; it does the nearest safe thing instead:
 *
 * - At the first request it reads the address the server listens on; when that is a wildcard
 *   (`0.0.0.0`, `::`) or another non-loopback address, it logs one warning that names the fix.
 * - A publish (POST /publish, POST /.well-known/mercure) from a peer that is not on loopback is
 *   refused with 403 SSEHUB_ERR_AUTH_PUBLISH_LOOPBACK_ONLY, so that an app embedding the hub
 *   does not take publishes from the whole network by accident. Publishes from this machine
 *   (a local backend, a developer's curl) and `hub.publish()` in the process still work.
 *
 * The peer is the socket's own address, not a forwarded one: a reverse proxy on this machine
 * publishes as a loopback peer, as it always did with createServer on loopback.
 *
 * A handler whose publishing is not open gets no guard at all (OpenPublishGuard.of returns
 * undefined): the request path pays nothing for it then.
 * @module
 */
import type { IncomingMessage } from "node:http";
import type { AddressInfo, Server } from "node:net";
import { SsehubError } from "../../errors.js";
import type { Logger } from "../telemetry/logger.js";

/** The paths a POST publishes on. */
const PUBLISH_PATHS: ReadonlySet<string> = new Set(["/publish", "/.well-known/mercure"]);

/** What settles whether publishing is open, as the resolved options say it. */
export interface OpenPublishSettings {
  /** True when no publisher key (or JWKS URL) is set: Authorizer.publishingIsOpen. */
  readonly publishingIsOpen: boolean;
  readonly publishHookUrl: string;
  readonly anonymousPublish: boolean;
}

/** The fix, as the warning and the error both say it. */
const FIX =
  "set publisherJwtKey (or publisherJwksUrl) so that publishers need a token, or anonymousPublish to true to accept every publish";

/**
 * True for an address of the loopback interface, as a socket reports it: `127.x.y.z`, `::1`,
 * and their IPv4-mapped form `::ffff:127.x.y.z` (a dual-stack listener's).
 */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined) return false;
  const bare = address.toLowerCase().replace(/^::ffff:/, "");
  return bare === "::1" || /^127\.\d+\.\d+\.\d+$/.test(bare);
}

/** The address the request's server listens on, or else the one the connection arrived at. */
function listeningAddress(req: IncomingMessage): string | undefined {
  // node:net sets `server` on the sockets it accepts; a framework's or HTTP/2's may lack it.
  const server = (req.socket as { server?: Server }).server;
  const address = server?.address?.();
  if (address !== null && typeof address === "object") return (address as AddressInfo).address;
  return req.socket.localAddress;
}

/** Refuses publishes from other machines while publishing is open to anyone; see the module. */
export class OpenPublishGuard {
  readonly #logger: Logger;
  #inspected = false;
  #warned = false;

  private constructor(logger: Logger) {
    this.#logger = logger;
  }

  /** A guard when publishing is open to anyone with `settings`, else undefined. */
  static of(settings: OpenPublishSettings, logger: Logger): OpenPublishGuard | undefined {
    const isOpen =
      settings.publishingIsOpen && settings.publishHookUrl === "" && !settings.anonymousPublish;
    return isOpen ? new OpenPublishGuard(logger) : undefined;
  }

  /**
   * Called for every request of the handler: warns once when the server turns out to listen
   * beyond loopback, and throws SSEHUB_ERR_AUTH_PUBLISH_LOOPBACK_ONLY for a publish from a peer
   * that is not on loopback.
   */
  check(req: IncomingMessage, method: string, pathname: string): void {
    // After the first request, anything but a POST costs this one comparison.
    if (method !== "POST" && this.#inspected) return;
    if (!this.#inspected) {
      this.#inspected = true;
      const listening = listeningAddress(req);
      if (!isLoopbackAddress(listening)) this.#warn(listening);
    }
    if (method !== "POST" || !PUBLISH_PATHS.has(pathname)) return;
    if (isLoopbackAddress(req.socket.remoteAddress)) return;
    this.#warn(listeningAddress(req));
    throw new SsehubError(
      "SSEHUB_ERR_AUTH_PUBLISH_LOOPBACK_ONLY",
      `Cannot publish from another machine: this hub has no publisher key, so it takes publishes from its own machine only (its operator can ${FIX})`,
    );
  }

  #warn(listening: string | undefined): void {
    if (this.#warned) return;
    this.#warned = true;
    this.#logger.warn(
      { listening, code: "SSEHUB_ERR_AUTH_PUBLISH_LOOPBACK_ONLY" },
      `Publishing is open to anyone and this server listens on ${listening ?? "an unknown address"}: publishes from other machines are refused with 403 SSEHUB_ERR_AUTH_PUBLISH_LOOPBACK_ONLY. To fix it, ${FIX}`,
    );
  }
}
