/**
 * A keep-alive HTTP/1.1 connection for publishing, on a raw TCP socket: requests are written
 * back to back (pipelined) and answers are read in order, each matched to the time its request
 * left. Much cheaper per request than node:http's client, so that the publisher is not what
 * limits a publish benchmark.
 *
 * Answers are framed by Content-Length or chunked encoding; an answer with neither (and not
 * 1xx/204/304) ends with the connection, as HTTP/1.1 says. When the connection closes, the
 * requests still waiting count as lost, and the next send opens a new connection.
 * @module
 */
import { connect, type Socket } from "node:net";
import { monotonicMicros } from "./payload.js";
import type { Endpoint } from "./targets.js";

const LF = 0x0a;
const HEAD_END = Buffer.from("\r\n\r\n", "latin1");

/** Read states. */
const HEAD = 0;
const BODY_LENGTH = 1;
const BODY_CHUNK_SIZE = 2;
const BODY_CHUNK_DATA = 3;
const BODY_CHUNK_DATA_END = 4;
const BODY_TRAILER = 5;
const BODY_UNTIL_CLOSE = 6;

/** What a connection reports. */
export interface PublishConnectionHandler {
  /** A request was answered with `status`, `latencyUs` after it was written. */
  onAnswer(connection: PublishConnection, status: number, latencyUs: number): void;
  /** `count` requests lost their connection before an answer. */
  onLost(connection: PublishConnection, count: number): void;
}

/** A pipelined keep-alive HTTP/1.1 connection to `endpoint`. */
export class PublishConnection {
  /** Free for the owner's bookkeeping (the connection's number). */
  readonly id: number;
  readonly #endpoint: Endpoint;
  readonly #localAddress: string | undefined;
  readonly #handler: PublishConnectionHandler;
  #socket: Socket | undefined;
  /** Send times of the requests waiting for an answer, oldest at #head. */
  #sentUs: number[] = [];
  #head = 0;
  #carry: Buffer | undefined;
  #state = HEAD;
  #status = 0;
  #remaining = 0;
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

  /** Closes the connection; requests in flight count as lost. */
  close(): void {
    this.#socket?.destroy();
  }

  #open(): Socket {
    const socket = connect({
      host: this.#endpoint.host,
      port: this.#endpoint.port,
      ...(this.#localAddress === undefined ? {} : { localAddress: this.#localAddress }),
    });
    socket.setNoDelay(true);
    this.#socket = socket;
    this.#carry = undefined;
    this.#state = HEAD;
    socket.on("data", (chunk: Buffer) => this.#read(chunk));
    socket.on("error", () => {
      // The close event that follows settles the requests in flight.
    });
    socket.on("close", () => {
      if (this.#socket !== socket) return;
      this.#socket = undefined;
      if (this.#state === BODY_UNTIL_CLOSE) this.#answered();
      const lost = this.inFlight;
      this.#sentUs = [];
      this.#head = 0;
      if (lost > 0) this.#handler.onLost(this, lost);
    });
    return socket;
  }

  #answered(): void {
    const now = monotonicMicros();
    const sent = this.#sentUs[this.#head++] ?? now;
    if (this.#head > 1024 && this.#head * 2 > this.#sentUs.length) {
      this.#sentUs = this.#sentUs.slice(this.#head);
      this.#head = 0;
    }
    this.#state = HEAD;
    const close = this.#closeAfter;
    this.#handler.onAnswer(this, this.#status, now - sent);
    if (close) this.#socket?.end();
  }

  #read(chunk: Buffer): void {
    let buf = chunk;
    if (this.#carry !== undefined) {
      buf = Buffer.concat([this.#carry, chunk]);
      this.#carry = undefined;
    }
    let pos = 0;
    const end = buf.length;
    while (pos < end) {
      switch (this.#state) {
        case HEAD: {
          const at = buf.indexOf(HEAD_END, pos);
          if (at < 0) {
            this.#carry = buf.subarray(pos);
            return;
          }
          const informational = this.#readHead(buf.toString("latin1", pos, at));
          pos = at + 4;
          if (this.#state === HEAD && !informational) this.#answered();
          break;
        }
        case BODY_LENGTH: {
          const take = Math.min(this.#remaining, end - pos);
          pos += take;
          this.#remaining -= take;
          if (this.#remaining === 0) this.#answered();
          break;
        }
        case BODY_CHUNK_SIZE:
        case BODY_TRAILER: {
          const lf = buf.indexOf(LF, pos);
          if (lf < 0) {
            this.#carry = buf.subarray(pos);
            return;
          }
          const line = buf.toString("latin1", pos, lf).trim();
          pos = lf + 1;
          if (this.#state === BODY_TRAILER) {
            if (line === "") this.#answered();
          } else {
            const size = Number.parseInt(line, 16);
            if (size > 0) {
              this.#remaining = size;
              this.#state = BODY_CHUNK_DATA;
            } else {
              this.#state = BODY_TRAILER;
            }
          }
          break;
        }
        case BODY_CHUNK_DATA: {
          const take = Math.min(this.#remaining, end - pos);
          pos += take;
          this.#remaining -= take;
          if (this.#remaining === 0) this.#state = BODY_CHUNK_DATA_END;
          break;
        }
        case BODY_CHUNK_DATA_END: {
          if (buf[pos++] === LF) this.#state = BODY_CHUNK_SIZE;
          break;
        }
        default:
          // BODY_UNTIL_CLOSE: the answer ends with the connection.
          return;
      }
    }
  }

  /**
   * Reads a response head and sets the state for its body. Returns true for an informational
   * (1xx) answer, which the final answer follows.
   */
  #readHead(head: string): boolean {
    const status = /^HTTP\/1\.[01] (\d{3})/.exec(head);
    this.#status = status === null ? 0 : Number(status[1]);
    this.#state = HEAD;
    if (this.#status >= 100 && this.#status < 200) return true;
    const lower = head.toLowerCase();
    this.#closeAfter = /\r\nconnection:[^\r]*close/.test(lower);
    if (this.#status === 204 || this.#status === 304) return false;
    if (/\r\ntransfer-encoding:[^\r]*chunked/.test(lower)) {
      this.#state = BODY_CHUNK_SIZE;
      return false;
    }
    const length = /\r\ncontent-length:\s*(\d+)/.exec(lower);
    if (length !== null) {
      this.#remaining = Number(length[1]);
      if (this.#remaining > 0) this.#state = BODY_LENGTH;
      return false;
    }
    this.#state = BODY_UNTIL_CLOSE;
    return false;
  }
}
