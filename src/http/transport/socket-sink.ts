/**
 * The hub's Sink over a socket taken over from node:http (see socket-takeover.ts): the bytes go
 * straight to `socket.write`, with no response object, parser or chunked framing in between.
 * @module
 */
import type { Socket } from "node:net";
import type { Sink } from "../../hub/sink.js";

/**
 * A Sink writing raw bytes to a taken-over `socket`. `queuedBytes` is the socket's writable
 * length: what it holds until the kernel takes it, so the hub's slow-consumer policy sees the
 * real backlog.
 *
 * Per-connection object: two fields, no closures, no listeners of its own; the route owns
 * the `close` listener that unregisters the subscription. Never throws: the socket swallows
 * its errors (takeOverSocket installs the listener) and a failed write ends in `close`.
 */
export class SocketSink implements Sink {
  readonly #socket: Socket;
  #isClosed = false;

  constructor(socket: Socket) {
    this.#socket = socket;
  }

  /** True once `close`/`destroy` ran or the peer went away. */
  get isClosed(): boolean {
    return this.#isClosed || !this.#socket.writable;
  }

  /** Bytes written but not yet handed to the kernel. */
  get queuedBytes(): number {
    return this.#socket.writableLength;
  }

  /** Queues bytes; does nothing once closed. */
  write(chunk: Buffer | string): void {
    if (this.isClosed) return;
    this.#socket.write(chunk);
  }

  /**
   * Ends the stream once the queued bytes have left: the socket closes as soon as they are
   * out, as node:http closes a `Connection: close` response. A peer that never takes them
   * keeps the socket until the server's `closeAllConnections()` (see socket-takeover.ts).
   */
  close(): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    if (!this.#socket.destroyed) this.#socket.destroySoon();
  }

  /** Ends the stream now, discarding queued bytes. */
  destroy(): void {
    this.#isClosed = true;
    if (!this.#socket.destroyed) this.#socket.destroy();
  }
}
