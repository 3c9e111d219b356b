/**
 * The hub's Sink over a node:http response: the portable path, which works under any server
 * that hands out a `ServerResponse` (node:http, Express, Fastify's raw reply) and under
 * node:http2's compat API (Http2ServerResponse), which the hub's TLS listener uses.
 * @module
 */
import type { ServerResponse } from "node:http";
import type { Sink } from "../../hub/sink.js";

/**
 * True once `res` can carry nothing more: destroyed, or, for an Http2ServerResponse (which has
 * no `destroyed`), its HTTP/2 stream closed or destroyed (the client cancelled it, or the
 * session went).
 */
export function isResponseClosed(res: ServerResponse): boolean {
  if (res.destroyed === true) return true;
  const stream = (res as { stream?: { destroyed: boolean; closed: boolean } }).stream;
  return stream !== undefined && (stream.destroyed || stream.closed);
}

/**
 * A Sink writing to `res`. `queuedBytes` is the response's writable length, which counts what
 * the response buffered plus what its socket has not yet handed to the kernel, so the hub's
 * slow-consumer policy sees the real backlog.
 *
 * Per-connection object: no closures, no listeners of its own; the route owns the `close`
 * listener that unregisters the subscription.
 */
export class ResponseSink implements Sink {
  readonly #res: ServerResponse;
  #isClosed = false;

  constructor(res: ServerResponse) {
    this.#res = res;
  }

  /** True once `close`/`destroy` ran or the peer went away. */
  get isClosed(): boolean {
    return this.#isClosed || this.#res.writableEnded || isResponseClosed(this.#res);
  }

  /** Bytes written but not yet handed to the kernel. */
  get queuedBytes(): number {
    return this.#res.writableLength;
  }

  /** Queues bytes; does nothing once closed. */
  write(chunk: Buffer | string): void {
    if (this.isClosed) return;
    this.#res.write(chunk);
  }

  /** Ends the stream once the queued bytes have left. */
  close(): void {
    if (this.isClosed) return;
    this.#isClosed = true;
    this.#res.end();
  }

  /** Ends the stream now, discarding queued bytes. */
  destroy(): void {
    this.#isClosed = true;
    if (!isResponseClosed(this.#res)) this.#res.destroy();
  }
}
