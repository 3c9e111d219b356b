/**
 * The hub's view of a subscriber's connection. The hub writes bytes, reads the backlog and
 * closes; it knows nothing of HTTP. src/http implements it over a socket or a response.
 * @module
 */

/** Where a subscriber's bytes go. */
export interface Sink {
  /**
   * Queues bytes for the peer. Never throws; after the connection has gone it does nothing.
   * The hub calls it at most once per subscriber per event-loop tick.
   */
  write(chunk: Buffer | string): void;
  /** Bytes written but not yet handed to the kernel. */
  readonly queuedBytes: number;
  /** True once the peer has gone or `close`/`destroy` was called. */
  readonly isClosed: boolean;
  /** Ends the stream after the queued bytes leave. */
  close(): void;
  /** Ends the stream now, discarding queued bytes (a slow consumer is cut off this way). */
  destroy(): void;
}
