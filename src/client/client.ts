/**
 * The ssehub client: subscribes to topics of a hub over `fetch` and keeps the subscription
 * alive. It runs in browsers and in Node 20+, so it uses web APIs only (fetch, streams,
 * TextDecoder, AbortController), never a `node:` module.
 * @module
 */
import { SsehubError } from "../errors.js";
import type { ResetReason as HubResetReason } from "../protocol/hub-events.js";
import { type ParsedEvent, SseParser } from "../protocol/parse.js";
import { reconnectDelay } from "./backoff.js";
import { type ClientErrorCode, SsehubClientError } from "./client-error.js";
import { hubErrorFields, reportHandlerError, routeEvent } from "./route-event.js";

/** Window of the first reconnection delay when the hub sent no `retry:`, in ms. */
export const DEFAULT_BACKOFF_BASE_MS = 1000;
/** Largest reconnection window, in ms. */
export const DEFAULT_BACKOFF_MAX_MS = 30_000;
/** Most characters of an error body read to find the hub's error code. */
const MAX_ERROR_BODY_CHARS = 64 * 1024;

/**
 * Why the hub could not resume exactly (see protocol/hub-events.ts), or another word a newer hub
 * may send.
 */
export type ResetReason = HubResetReason | (string & {});

/**
 * The hub's `ssehub-reset` event: it could not resume the stream from the last event id, so
 * events may have been missed. Reload the app's state, then go on with the stream.
 */
export interface ResetNotice {
  /** Why the resume could not be exact; "unknown" when the hub did not say. */
  readonly reason: ResetReason;
  /** The id the client asked to resume from; empty when the hub did not say. */
  readonly lastEventId: string;
  /** The id the stream goes on from; empty when the hub did not say. */
  readonly currentEventId: string;
  /** The event as received. */
  readonly event: ParsedEvent;
}

/** The hub's `ssehub-gap` event: it skipped events because this client read too slowly. */
export interface GapNotice {
  /** How many events were skipped; 0 when the hub did not say. */
  readonly dropped: number;
  /** The id of the last event delivered before the gap; empty when unknown. */
  readonly lastEventId: string;
  /** The event as received. */
  readonly event: ParsedEvent;
}

/** Where a client stands: connecting (or waiting to reconnect), open, or closed for good. */
export type ClientState = "connecting" | "open" | "closed";

/** Options of {@link SsehubClient}. */
export interface SsehubClientOptions {
  /** Base URL of the hub (`http://127.0.0.1:8080`); the client requests `<url>/events`. */
  readonly url: string;
  /** Topics to subscribe to, one at least. */
  readonly topics: readonly string[];
  /** Id to resume after, from an earlier session. @default "" (no resume) */
  readonly lastEventId?: string | undefined;
  /** Each event of the subscribed topics. Also gets notices whose own handler is not set. */
  readonly onEvent?: ((event: ParsedEvent) => void) | undefined;
  /** Each time a connection opens (the first one and every reconnection). */
  readonly onOpen?: (() => void) | undefined;
  /** The hub could not resume exactly: resynchronize. Unset: the event goes to `onEvent`. */
  readonly onReset?: ((notice: ResetNotice) => void) | undefined;
  /** The hub skipped events for this slow client. Unset: the event goes to `onEvent`. */
  readonly onGap?: ((notice: GapNotice) => void) | undefined;
  /** Each failed or lost connection; `error.willReconnect` says whether the client goes on. */
  readonly onError?: ((error: SsehubClientError) => void) | undefined;
  /**
   * Window of the first reconnection delay, in ms, until the hub sends `retry:`, which then
   * takes its place. Each failed attempt doubles the window; an open connection resets it.
   * @default 1000
   */
  readonly backoffBaseMs?: number | undefined;
  /** Largest reconnection window, in ms. @default 30000 */
  readonly backoffMaxMs?: number | undefined;
  /** Extra request headers (an `Authorization` header, say). */
  readonly headers?: Readonly<Record<string, string>> | undefined;
  /** The fetch to use. @default globalThis.fetch */
  readonly fetch?: typeof fetch | undefined;
}

/** What one connection attempt ended with. */
const RETRY = 0;
const RETRY_AFTER_OPEN = 1;
const STOP = 2;
type AttemptOutcome = typeof RETRY | typeof RETRY_AFTER_OPEN | typeof STOP;

function invalidOption(message: string): SsehubError {
  return new SsehubError("SSEHUB_ERR_OPTIONS_INVALID", `Cannot create the client: ${message}`);
}

function checkDelay(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw invalidOption(`${name} must be a finite number of ms, 0 or more, got ${String(value)}`);
  }
  return value;
}

/** `<url>/events?topic=a&topic=b`, keeping any query of the base URL (a token, say). */
function eventsUrl(base: string, topics: readonly string[]): string {
  const location = (globalThis as { location?: { href?: string } }).location?.href;
  let url: URL;
  try {
    url = new URL(base, location);
  } catch {
    throw invalidOption(`url must be an absolute URL, got ${JSON.stringify(base)}`);
  }
  url.pathname = `${url.pathname.replace(/\/+$/, "")}/events`;
  for (const topic of topics) url.searchParams.append("topic", topic);
  return url.href;
}

/** The options of a client once checked, with their defaults. */
export interface CheckedClientOptions {
  /** The URL to request: `<url>/events?topic=...`, absolute. */
  readonly url: string;
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
  readonly lastEventId: string;
}

/**
 * Checks the options of a client (all but `fetch`) and fills in the defaults. Throws
 * SSEHUB_ERR_OPTIONS_INVALID naming the first wrong option.
 */
export function checkClientOptions(
  options: Omit<SsehubClientOptions, "fetch">,
): CheckedClientOptions {
  const { topics } = options;
  if (
    !Array.isArray(topics) ||
    topics.length === 0 ||
    !topics.every((topic) => typeof topic === "string" && topic !== "")
  ) {
    throw invalidOption(
      `topics must be a non-empty array of non-empty strings, got ${JSON.stringify(topics)}`,
    );
  }
  if (typeof options.url !== "string") {
    throw invalidOption(`url must be a string, got ${typeof options.url}`);
  }
  const url = eventsUrl(options.url, topics);
  const backoffBaseMs = checkDelay("backoffBaseMs", options.backoffBaseMs, DEFAULT_BACKOFF_BASE_MS);
  const backoffMaxMs = checkDelay("backoffMaxMs", options.backoffMaxMs, DEFAULT_BACKOFF_MAX_MS);
  const lastEventId = options.lastEventId ?? "";
  if (/[\r\n\0]/.test(lastEventId)) {
    throw invalidOption(
      `lastEventId may not contain CR, LF or NUL, got ${JSON.stringify(lastEventId)}`,
    );
  }
  return { url, backoffBaseMs, backoffMaxMs, lastEventId };
}

/**
 * A subscription to topics of an ssehub hub, kept alive across failures.
 *
 * It connects at once. When the connection fails or drops it reconnects after a random delay
 * (never sooner than the hub's `retry:`, then exponential backoff with jitter), sending `Last-Event-ID`
 * so that the hub replays what was missed. A 4xx answer other than 429 (a bad topic, a denied
 * token) or a 204 stops it for good. `close()` stops it.
 *
 * @example
 * ```ts
 * const client = new SsehubClient({
 *   url: "http://127.0.0.1:8080",
 *   topics: ["orders"],
 *   onEvent: (event) => render(JSON.parse(event.data)),
 *   onReset: () => reloadOrders(),
 * });
 * // later
 * client.close();
 * ```
 */
export class SsehubClient {
  readonly #url: string;
  readonly #headers: Readonly<Record<string, string>>;
  readonly #fetch: typeof fetch;
  readonly #backoffBaseMs: number;
  readonly #backoffMaxMs: number;
  readonly #options: SsehubClientOptions;
  readonly #parser: SseParser;
  readonly #closed: Promise<void>;
  #resolveClosed!: () => void;
  #state: ClientState = "connecting";
  /** The hub's `retry:`, in ms; undefined until it sends one. */
  #retryMs: number | undefined;
  #controller: AbortController | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #wake: (() => void) | undefined;

  /** Checks the options, then connects. Throws SSEHUB_ERR_OPTIONS_INVALID for bad options. */
  constructor(options: SsehubClientOptions) {
    const checked = checkClientOptions(options);
    this.#url = checked.url;
    this.#backoffBaseMs = checked.backoffBaseMs;
    this.#backoffMaxMs = checked.backoffMaxMs;
    const lastEventId = checked.lastEventId;
    const fetchImpl = options.fetch ?? globalThis.fetch;
    if (typeof fetchImpl !== "function") {
      throw invalidOption("no fetch: pass options.fetch on runtimes without a global fetch");
    }
    this.#fetch = fetchImpl;
    this.#headers = options.headers ?? {};
    this.#options = options;
    this.#parser = new SseParser({
      onEvent: (event) => this.#dispatch(event),
      onRetry: (ms) => {
        this.#retryMs = ms;
      },
    });
    this.#parser.lastEventId = lastEventId;
    this.#closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
    void this.#run();
  }

  /** The id of the last event received: sent as `Last-Event-ID` on the next connection. */
  get lastEventId(): string {
    return this.#parser.lastEventId;
  }

  /** `connecting` (also while waiting to reconnect), `open`, or `closed` for good. */
  get state(): ClientState {
    return this.#state;
  }

  /** Settles once the client stopped for good: `close()`, or an answer that forbids retrying. */
  get closed(): Promise<void> {
    return this.#closed;
  }

  /** The URL the client requests. */
  get url(): string {
    return this.#url;
  }

  /** Stops the subscription: aborts the request, cancels a pending reconnection. Idempotent. */
  close(): void {
    if (this.#state === "closed") return;
    this.#state = "closed";
    this.#controller?.abort();
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#wake?.();
  }

  async #run(): Promise<void> {
    let attempt = 0;
    try {
      for (;;) {
        const outcome = await this.#connectOnce();
        if (outcome === STOP || this.#isClosed()) break;
        if (outcome === RETRY_AFTER_OPEN) attempt = 0;
        this.#state = "connecting";
        await this.#sleep(
          reconnectDelay(attempt, this.#retryMs ?? this.#backoffBaseMs, this.#backoffMaxMs),
        );
        attempt++;
        if (this.#isClosed()) break;
      }
    } finally {
      this.#state = "closed";
      this.#controller = undefined;
      this.#resolveClosed();
    }
  }

  /** A method, not a field read, so that TypeScript keeps no narrowing across awaits. */
  #isClosed(): boolean {
    return this.#state === "closed";
  }

  /** One connection, from request to end of stream. */
  async #connectOnce(): Promise<AttemptOutcome> {
    const controller = new AbortController();
    this.#controller = controller;
    const headers: Record<string, string> = { ...this.#headers, Accept: "text/event-stream" };
    const lastEventId = this.#parser.lastEventId;
    if (lastEventId !== "") headers["Last-Event-ID"] = lastEventId;

    // A plain call: browsers refuse `fetch` called as a method of another object.
    const fetchImpl = this.#fetch;
    let response: Response;
    try {
      response = await fetchImpl(this.#url, {
        headers,
        signal: controller.signal,
        cache: "no-store",
      });
    } catch (cause) {
      if (this.#isClosed()) return STOP;
      this.#fail(
        "SSEHUB_ERR_CLIENT_NETWORK",
        `Cannot connect to ${this.#url}: ${messageOf(cause)}`,
        {
          cause,
        },
      );
      return RETRY;
    }
    if (this.#isClosed()) {
      controller.abort();
      return STOP;
    }

    if (response.status !== 200) return this.#refused(response);
    const contentType = response.headers.get("content-type") ?? "";
    const mediaType = (contentType.split(";")[0] ?? "").trim().toLowerCase();
    if (mediaType !== "text/event-stream" || response.body === null) {
      controller.abort();
      this.#fail(
        "SSEHUB_ERR_CLIENT_CONTENT_TYPE",
        `Cannot read events from ${this.#url}: got content type ${JSON.stringify(contentType)}, expected text/event-stream`,
        {},
      );
      return RETRY;
    }

    this.#parser.reset();
    this.#state = "open";
    this.#call(this.#options.onOpen);
    const reader = response.body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done || this.#isClosed()) break;
        this.#parser.feed(value);
      }
    } catch (cause) {
      if (this.#isClosed()) return STOP;
      this.#fail(
        "SSEHUB_ERR_CLIENT_NETWORK",
        `Lost the stream from ${this.#url}: ${messageOf(cause)}`,
        {
          cause,
        },
      );
      return RETRY_AFTER_OPEN;
    }
    if (this.#isClosed()) {
      controller.abort();
      return STOP;
    }
    this.#fail("SSEHUB_ERR_CLIENT_DISCONNECTED", `The hub closed the stream from ${this.#url}`, {});
    return RETRY_AFTER_OPEN;
  }

  /** A status other than 200: read the hub's JSON error if any, then retry or stop. */
  async #refused(response: Response): Promise<AttemptOutcome> {
    const status = response.status;
    // 204 is the standard way to tell an EventSource to stop; a 4xx will not get better by
    // retrying, except 429 (too many requests), which asks for exactly that, later.
    const stop = status === 204 || (status >= 400 && status < 500 && status !== 429);
    let hubCode: string | undefined;
    let hubMessage: string | undefined;
    let detail = "";
    try {
      const { code, message } = hubErrorFields(
        (await response.text()).slice(0, MAX_ERROR_BODY_CHARS),
      );
      if (code !== "") {
        hubCode = code;
        if (message !== "") hubMessage = message;
        detail = `: ${code}${message === "" ? "" : `: ${message}`}`;
      }
    } catch {
      // The body broke off or the client was closed: the status alone tells the story.
    }
    if (this.#isClosed()) return STOP;
    this.#fail(
      "SSEHUB_ERR_CLIENT_HTTP_STATUS",
      `Cannot subscribe at ${this.#url}: the hub answered ${status}${detail}`,
      { status, hubCode, hubMessage, willReconnect: !stop },
    );
    return stop ? STOP : RETRY;
  }

  #fail(
    code: ClientErrorCode,
    message: string,
    details: {
      readonly cause?: unknown;
      readonly status?: number;
      readonly hubCode?: string | undefined;
      readonly hubMessage?: string | undefined;
      readonly willReconnect?: boolean;
    },
  ): void {
    const error = new SsehubClientError(code, message, {
      willReconnect: details.willReconnect ?? true,
      status: details.status,
      hubCode: details.hubCode,
      hubMessage: details.hubMessage,
      cause: details.cause,
    });
    const onError = this.#options.onError;
    if (onError === undefined) return;
    try {
      onError(error);
    } catch (thrown) {
      reportHandlerError(thrown);
    }
  }

  /** Routes an event to its handler; nothing reaches the app after close(). */
  #dispatch(event: ParsedEvent): void {
    if (this.#isClosed()) return;
    routeEvent(this.#options, event);
  }

  #call(handler: (() => void) | undefined): void {
    if (handler === undefined) return;
    try {
      handler();
    } catch (error) {
      reportHandlerError(error);
    }
  }

  /** Waits `ms`, or less when close() is called. */
  #sleep(ms: number): Promise<void> {
    if (this.#isClosed()) return Promise.resolve();
    return new Promise((resolve) => {
      this.#wake = () => {
        this.#timer = undefined;
        this.#wake = undefined;
        resolve();
      };
      this.#timer = setTimeout(this.#wake, ms);
    });
  }
}

function messageOf(error: unknown): string {
  if (error instanceof Error) {
    // fetch wraps the socket error: "fetch failed", cause "connect ECONNREFUSED ...".
    const cause = error.cause;
    return cause instanceof Error ? `${error.message} (${cause.message})` : error.message;
  }
  return String(error);
}

/**
 * Subscribes to topics of a hub: shorthand for `new SsehubClient(options)`.
 * @example
 * ```ts
 * const client = createClient({ url: "http://127.0.0.1:8080", topics: ["a"], onEvent: console.log });
 * ```
 */
export function createClient(options: SsehubClientOptions): SsehubClient {
  return new SsehubClient(options);
}
