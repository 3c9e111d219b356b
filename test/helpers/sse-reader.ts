/**
 * A real SSE connection for behaviour tests: node:http on its own socket, our parser, and the
 * means to stop reading (TCP back-pressure reaches the hub) or to cut the connection.
 */
import http from "node:http";
import { type ParsedEvent, SseParser } from "../../src/protocol/parse.js";
import { HUNG_AFTER_MS, waitFor } from "./wait-for.js";

export interface SseReaderOptions {
  /** Sent as the Last-Event-ID header. */
  readonly lastEventId?: string;
  /** Keep parsed events (default true); false only counts them, for large volumes. */
  readonly keepEvents?: boolean;
  /** Called for every event, in order. */
  readonly onEvent?: (event: ParsedEvent) => void;
}

export class SseReader {
  readonly events: ParsedEvent[] = [];
  readonly retries: number[] = [];
  comments = 0;
  eventCount = 0;
  bytes = 0;
  /** Resolves when the server ends or drops the stream (or close() is called). */
  readonly ended: Promise<void>;
  #response: http.IncomingMessage;
  #request: http.ClientRequest;
  #ended = false;

  private constructor(
    request: http.ClientRequest,
    response: http.IncomingMessage,
    options: SseReaderOptions,
  ) {
    this.#request = request;
    this.#response = response;
    const keep = options.keepEvents !== false;
    const parser = new SseParser({
      onEvent: (event) => {
        this.eventCount++;
        if (keep) this.events.push(event);
        options.onEvent?.(event);
      },
      onRetry: (ms) => this.retries.push(ms),
      onComment: () => {
        this.comments++;
      },
    });
    this.ended = new Promise((resolve) => {
      const done = (): void => {
        this.#ended = true;
        resolve();
      };
      response.on("end", done);
      response.on("close", done);
      response.on("error", done);
      request.on("error", done);
    });
    response.on("data", (chunk: Buffer) => {
      this.bytes += chunk.length;
      parser.feed(chunk);
    });
  }

  /** Opens `url` and resolves once the response headers arrived. Rejects on a non-200. */
  static open(url: string, options: SseReaderOptions = {}): Promise<SseReader> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = { accept: "text/event-stream" };
      if (options.lastEventId !== undefined) headers["last-event-id"] = options.lastEventId;
      const request = http.get(url, { agent: false, headers }, (response) => {
        if (response.statusCode !== 200) {
          response.resume();
          reject(new Error(`GET ${url} answered ${response.statusCode}`));
          return;
        }
        resolve(new SseReader(request, response, options));
      });
      request.on("error", reject);
    });
  }

  get statusHeaders(): http.IncomingHttpHeaders {
    return this.#response.headers;
  }

  get isEnded(): boolean {
    return this.#ended;
  }

  /** The local port of this connection, to find it on the server side. */
  get localPort(): number {
    return this.#response.socket.localPort ?? 0;
  }

  /** Stops reading: the socket's receive buffer fills and the server's writes back up. */
  pause(): void {
    this.#response.socket.pause();
    this.#response.pause();
  }

  resume(): void {
    this.#response.socket.resume();
    this.#response.resume();
  }

  /** Cuts the connection from the client side. */
  close(): void {
    this.#request.destroy();
  }

  /** The id of the last event received (what a client sends as Last-Event-ID). */
  get lastEventId(): string | undefined {
    return this.events.at(-1)?.lastEventId;
  }

  /** Waits until `count` events arrived; `timeoutMs` only stops a hung test. */
  async waitForEvents(count: number, timeoutMs = HUNG_AFTER_MS): Promise<void> {
    await waitFor(() => this.eventCount >= count, `${count} events (got ${this.eventCount})`, {
      timeoutMs,
      intervalMs: 5,
    });
  }
}
