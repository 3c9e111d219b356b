/**
 * An SSE stream opened with fetch, so that a test can send any header (Authorization, Cookie)
 * and read the answer's headers; events are parsed by our parser as they arrive.
 */
import { type ParsedEvent, SseParser } from "../../src/protocol/parse.js";
import { HUNG_AFTER_MS, waitFor } from "./wait-for.js";

export interface FetchStream {
  readonly status: number;
  readonly headers: Headers;
  readonly events: ParsedEvent[];
  /** Resolves when the server ends the stream (or close() is called). */
  readonly ended: Promise<void>;
  /** Waits until `count` events arrived; `timeoutMs` only stops a hung test. */
  waitForEvents(count: number, timeoutMs?: number): Promise<void>;
  close(): void;
}

/** Opens `url` as a stream: GET by default, or `request`'s method and body (Mercure's QUERY). */
export async function openFetchStream(
  url: string,
  headers: Record<string, string> = {},
  request: { readonly method: string; readonly body?: string } = { method: "GET" },
): Promise<FetchStream> {
  const controller = new AbortController();
  const response = await fetch(url, { ...request, headers, signal: controller.signal });
  const events: ParsedEvent[] = [];
  const parser = new SseParser({ onEvent: (event) => events.push(event) });
  const ended = (async () => {
    if (response.body === null) return;
    const reader = response.body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        parser.feed(value);
      }
    } catch {
      // aborted by close(), or cut by the server
    }
  })();
  return {
    status: response.status,
    headers: response.headers,
    events,
    ended,
    async waitForEvents(count, timeoutMs = HUNG_AFTER_MS) {
      await waitFor(() => events.length >= count, `${count} events`, { timeoutMs, intervalMs: 5 });
    },
    close() {
      controller.abort();
    },
  };
}
