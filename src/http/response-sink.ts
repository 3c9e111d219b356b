/**
 * The hub's Sink over a node:http response: the portable path, which works under any server
 * that hands out a `ServerResponse` (node:http, Express, Fastify's raw reply).
 * @module
 */
import type { ServerResponse } from "node:http";
import type { Sink } from "../hub/sink.js";

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
    return this.#isClosed || this.#res.destroyed || this.#res.writableEnded;
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
    if (!this.#res.destroyed) this.#res.destroy();
  }
}
