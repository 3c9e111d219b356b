/**
 * A keep-alive HTTP/1.1 connection for publishing, on a raw TCP socket: requests are written
 * back to back (pipelined) and answers are read in order, each matched to the time its request
 * left. Much cheaper per request than node:http's client, so that the publisher is not what
 * limits a publish benchmark.
 *
 * Answers are read by HttpResponseDecoder (http-response-decoder.ts): framed by Content-Length
 * or chunked encoding, or, with neither (and not 1xx/204/304), ending with the connection, as
 * HTTP/1.1 says. When the connection closes, the requests still waiting count as lost, and the
 * next send opens a new connection; so do they when an answer cannot be read (the connection
 * is closed then, since nothing after it can be framed).
 * @module
 */
import { connect, type Socket } from "node:net";
import {
  HttpResponseDecoder,
  type HttpResponseHandler,
  type ResponseHead,
} from "./http-response-decoder.js";
import { monotonicMicros } from "./payload.js";
import type { Endpoint } from "./targets.js";

/** What a connection reports. */
export interface PublishConnectionHandler {
  /** A request was answered with `status`, `latencyUs` after it was written. */
  onAnswer(connection: PublishConnection, status: number, latencyUs: number): void;
  /** `count` requests lost their connection before an answer. */
  onLost(connection: PublishConnection, count: number): void;
}

/**
 * A pipelined keep-alive HTTP/1.1 connection to `endpoint`. The `onResponse*` methods are its
 * decoder's callbacks, not for callers.
 */
export class PublishConnection implements HttpResponseHandler {
  /** Free for the owner's bookkeeping (the connection's number). */
  readonly id: number;
  readonly #endpoint: Endpoint;
  readonly #localAddress: string | undefined;
  readonly #handler: PublishConnectionHandler;
  #socket: Socket | undefined;
  /** Send times of the requests waiting for an answer, oldest at #head. */
  #sentUs: number[] = [];
  #head = 0;
  readonly #decoder = new HttpResponseDecoder(this);
  #status = 0;
  #closeAfter = false;

  constructor(
    id: number,
    endpoint: Endpoint,
    localAddress: string | undefined,
    handler: PublishConnectionHandler,
  ) {
    this.id = id;
    this.#endpoint = endpoint;
    this.#localAddress = localAddress;
    this.#handler = handler;
  }

  /** Requests written and not answered yet. */
  get inFlight(): number {
    return this.#sentUs.length - this.#head;
  }

  /** Writes `count` requests, already serialized in `text`, sent at `sentUs`. */
  send(text: string, count: number, sentUs = monotonicMicros()): void {
    const socket = this.#socket ?? this.#open();
    for (let i = 0; i < count; i++) this.#sentUs.push(sentUs);
    socket.write(text);
  }

  /**
   * Closes the connection; requests in flight count as lost, before this returns: a publisher
   * that gives up on a server that does not answer reports right after, and the close event
   * comes later (it then finds nothing to count).
   */
  close(): void {
    const socket = this.#socket;
    if (socket === undefined) return;
    this.#socket = undefined;
    const lost = this.inFlight;
    this.#sentUs = [];
    this.#head = 0;
    socket.destroy();
    if (lost > 0) this.#handler.onLost(this, lost);
  }

  #open(): Socket {
    const socket = connect({
      host: this.#endpoint.host,
      port: this.#endpoint.port,
      ...(this.#localAddress === undefined ? {} : { localAddress: this.#localAddress }),
    });
    socket.setNoDelay(true);
    this.#socket = socket;
    this.#decoder.reset();
    socket.on("data", (chunk: Buffer) => this.#decoder.feed(chunk, 0, chunk.length));
    socket.on("error", () => {
      // The close event that follows settles the requests in flight.
    });
    socket.on("close", () => {
      if (this.#socket !== socket) return;
      this.#socket = undefined;
      // Ends an answer that runs until the close.
      this.#decoder.end();
      const lost = this.inFlight;
      this.#sentUs = [];
      this.#head = 0;
      if (lost > 0) this.#handler.onLost(this, lost);
    });
    return socket;
  }

  /** The head of an answer: its status, and whether the server closes after it. */
  onResponseHead(head: ResponseHead): void {
    this.#status = head.status;
    this.#closeAfter = head.closesConnection;
  }

  /** Answer bodies are not read. */
  onResponseBody(): void {}

  /** An answer ended: the oldest request waiting is answered. */
  onResponseEnd(): void {
    const now = monotonicMicros();
    const sent = this.#sentUs[this.#head++] ?? now;
    if (this.#head > 1024 && this.#head * 2 > this.#sentUs.length) {
      this.#sentUs = this.#sentUs.slice(this.#head);
      this.#head = 0;
    }
    const close = this.#closeAfter;
    this.#handler.onAnswer(this, this.#status, now - sent);
    if (close) this.#socket?.end();
  }

  /** An answer that cannot be read: the close that follows counts the requests as lost. */
  onResponseError(): void {
    this.#socket?.destroy();
  }
}
