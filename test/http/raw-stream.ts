/**
 * An SSE response read as raw text over node:http, to check headers and exact bytes.
 */
import http from "node:http";
import type { TestContext } from "node:test";
import { HUNG_AFTER_MS } from "../helpers/wait-for.js";

export class RawStream {
  readonly response: http.IncomingMessage;
  readonly request: http.ClientRequest;
  /** Everything received so far. */
  text = "";
  /** Resolves when the server ends or drops the stream. */
  readonly ended: Promise<void>;
  readonly #waiters = new Set<() => void>();

  constructor(request: http.ClientRequest, response: http.IncomingMessage) {
    this.request = request;
    this.response = response;
    response.setEncoding("utf8");
    response.on("data", (chunk: string) => {
      this.text += chunk;
      for (const wake of this.#waiters) wake();
    });
    this.ended = new Promise((resolve) => {
      response.once("close", () => {
        for (const wake of this.#waiters) wake();
        resolve();
      });
    });
  }

  /**
   * Resolves once the received text contains `needle`; rejects after `timeoutMs`, which only
   * stops a hung test.
   */
  waitFor(needle: string, timeoutMs = HUNG_AFTER_MS): Promise<void> {
    if (this.text.includes(needle)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(
          new Error(
            `Timed out waiting for ${JSON.stringify(needle)}; got ${JSON.stringify(this.text)}`,
          ),
        );
      }, timeoutMs);
      const check = (): void => {
        if (!this.text.includes(needle)) return;
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve();
      };
      this.#waiters.add(check);
    });
  }

  close(): void {
    this.request.destroy();
  }
}

/**
 * Opens `GET url` and resolves with the response once its headers arrived. The stream is
 * closed after the test.
 */
export function openStream(
  t: TestContext,
  url: string,
  headers: Record<string, string> = {},
): Promise<RawStream> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { headers, agent: false }, (response) => {
      const stream = new RawStream(request, response);
      t.after(() => stream.close());
      resolve(stream);
    });
    request.on("error", reject);
  });
}
