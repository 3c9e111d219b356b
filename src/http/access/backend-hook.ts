/**
 * A backend hook: before a stream opens or a publish is accepted, the hub POSTs JSON about the
 * request to the user's own backend and does what it answers (as Centrifugo's proxies and
 * nchan's `nchan_authorize_request` do). One BackendHook per URL; it owns
 * - the call: `fetch` with a timeout (`hookTimeoutMs`), the request's forwarded headers
 *   (`hookForwardHeaders`) in the body, never on the hub's own request to the backend;
 * - a bounded cache of answers (`hookCacheSize` entries, `hookCacheTtlMs`, or the answer's own
 *   `cacheSeconds`), keyed by what the caller says identifies the question: for subscribes, the
 *   forwarded headers and the asked topics. Off by default (TTL 0 and no `cacheSeconds`): a
 *   backend that revokes a session sees the next request at once;
 * - a circuit breaker: after `hookFailureThreshold` consecutive failures (timeout, connection
 *   error, a status other than 2xx, 401 and 403, an answer that is not the expected JSON) it stops
 *   calling for `hookCooldownMs`, then lets one call through to probe (half-open): its success
 *   closes the breaker, its failure opens it again.
 *
 * - a cap on the answer's size (`maxAnswerBytes`): the hub reads an answer into memory before
 *   it parses it, so past the cap it stops reading, drops the connection and counts a failure,
 *   and a hostile or broken backend cannot make it hold more.
 *
 * While the backend fails (or the breaker is open), the request is refused with 503
 * SSEHUB_ERR_HOOK_UNAVAILABLE and a Retry-After, unless `hookFailOpen`: then the hook lets the
 * request through as if it were not configured (no narrowing, no private events, no rewrite).
 *
 * See docs/security.md, "Your backend in the loop".
 * @module
 */
import type { IncomingMessage } from "node:http";
import { SsehubError } from "../../errors.js";

/** Which hook: on subscribe or on publish. */
export type HookName = "subscribe" | "publish";

/**
 * What a call came to, as counted by `ssehub_hook_calls_total{hook,outcome}`: `allow`, `deny`,
 * `cached` (answered from the cache), `failed` (timeout, error, bad answer), `open` (not called:
 * the breaker is open).
 */
export type HookOutcome = "allow" | "deny" | "cached" | "failed" | "open";

/** Every outcome, for the metric's zeroes. */
export const HOOK_OUTCOMES: readonly HookOutcome[] = Object.freeze([
  "allow",
  "deny",
  "cached",
  "failed",
  "open",
]);

/**
 * The largest answer a hook reads, in bytes, unless its settings say otherwise: 64 KiB. A
 * subscribe answer restates at most the topics asked, twice (`topics`, `private`): 64 topics of
 * 256 characters (`maxTopicsPerSubscription`, `maxTopicLength`) are 16 KiB each time. A publish
 * hook may rewrite every event of a batch, so backendHooksOf() lets its answers be as large as a
 * publish body (`maxBodyBytes`) when that is more.
 */
export const HOOK_ANSWER_MAX_BYTES = 65_536;

/** How a hook calls its backend. */
export interface BackendHookSettings {
  /** The backend's URL (http or https), POSTed to. */
  readonly url: string;
  /** Headers of the client's request sent along (lower case), e.g. `cookie`, `authorization`. */
  readonly forwardHeaders: readonly string[];
  /** Longest wait for the backend's answer, in ms: past it, a failure. */
  readonly timeoutMs: number;
  /** Most answers the cache holds; 0: no cache. */
  readonly cacheSize: number;
  /** How long an answer is reused when it gives no `cacheSeconds`, in ms; 0: not reused. */
  readonly cacheTtlMs: number;
  /** Consecutive failures that open the breaker. */
  readonly failureThreshold: number;
  /** How long the breaker stays open before one probing call, in ms. */
  readonly cooldownMs: number;
  /** Let requests through while the backend fails, instead of refusing them with 503. */
  readonly failOpen: boolean;
  /**
   * Largest answer body read, in bytes: a larger one is a failure, and the call is aborted.
   * @default HOOK_ANSWER_MAX_BYTES (64 KiB)
   */
  readonly maxAnswerBytes?: number;
  /** The clock, in ms since the epoch (tests turn it). */
  readonly now?: () => number;
}

/** The backend's answer, as the hub reads it (unknown fields are ignored). */
export interface HookAnswer {
  readonly allow: boolean;
  /** For a refusal: 401 or 403 (403 otherwise). */
  readonly status?: number;
  /** For a refusal: the message the client sees. */
  readonly message?: string;
  /** Subscribe: the topics (a subset of those asked) the stream gets. */
  readonly topics?: readonly string[];
  /** Subscribe: private events the stream may read: all of its topics (`true`) or those listed. */
  readonly private?: boolean | readonly string[];
  /** Publish: a replacement per event (same order), `null` to keep one as it is. */
  readonly events?: readonly (HookRewrite | null)[];
  /** How long this answer may be reused, in seconds (subscribe only). */
  readonly cacheSeconds?: number;
}

/** What a publish hook may replace in one event: its data, its topics. */
export interface HookRewrite {
  readonly data?: string;
  readonly topics?: readonly string[];
}

/**
 * What the hook decided. `answer` is the backend's allowing answer, or undefined when the
 * backend failed and `hookFailOpen` let the request through unchanged.
 */
export interface HookDecision {
  readonly answer: HookAnswer | undefined;
  readonly outcome: HookOutcome;
}

interface CachedAnswer {
  readonly answer: HookAnswer;
  readonly expiresAt: number;
}

/** A failure of the backend: what the breaker counts. */
class BackendFailure extends Error {}

/** The forwarded headers of `req`, those of `names` it has. */
export function forwardedHeaders(
  req: IncomingMessage,
  names: readonly string[],
): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const name of names) {
    const value = req.headers[name];
    if (value === undefined) continue;
    headers[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  return headers;
}

/** A hook on one backend URL: the call, its cache and its breaker. */
export class BackendHook {
  readonly name: HookName;
  readonly #settings: BackendHookSettings;
  readonly #now: () => number;
  /** Insertion-ordered: the first key is the oldest, evicted first (a Map as a bounded LRU). */
  readonly #cache = new Map<string, CachedAnswer>();
  #failures = 0;
  /** While the breaker is open: when it lets a probe through. */
  #openUntil: number | undefined;
  /** True while the one half-open probe is out. */
  #probing = false;

  constructor(name: HookName, settings: BackendHookSettings) {
    this.name = name;
    this.#settings = settings;
    this.#now = settings.now ?? Date.now;
  }

  /** The headers of `req` this hook forwards. */
  forwarded(req: IncomingMessage): Record<string, string> {
    return forwardedHeaders(req, this.#settings.forwardHeaders);
  }

  /** True while the breaker refuses calls. */
  get isOpen(): boolean {
    return this.#openUntil !== undefined && (this.#now() < this.#openUntil || this.#probing);
  }

  /**
   * Asks the backend about `body`. `cacheKey` (subscribe) lets an identical question reuse an
   * answer. Answers the allowing answer; throws SSEHUB_ERR_HOOK_UNAUTHENTICATED (401) or
   * SSEHUB_ERR_HOOK_DENIED (403) with the backend's message for a refusal, and
   * SSEHUB_ERR_HOOK_UNAVAILABLE (503) when it fails, unless `failOpen`. `record` hears the
   * outcome once.
   */
  async decide(
    body: Record<string, unknown>,
    cacheKey: string | undefined,
    record: (outcome: HookOutcome) => void,
  ): Promise<HookDecision> {
    const cached = cacheKey === undefined ? undefined : this.#cached(cacheKey);
    if (cached !== undefined) {
      record("cached");
      return this.#verdict(cached, "cached");
    }
    if (this.isOpen) {
      record("open");
      return this.#unavailable("the breaker is open after repeated failures");
    }
    if (this.#openUntil !== undefined) this.#probing = true;
    let answer: HookAnswer;
    try {
      answer = await this.#call(body);
    } catch (error) {
      this.#failed();
      record("failed");
      return this.#unavailable((error as Error).message, error);
    }
    this.#succeeded();
    record(answer.allow ? "allow" : "deny");
    if (cacheKey !== undefined) this.#remember(cacheKey, answer);
    return this.#verdict(answer, answer.allow ? "allow" : "deny");
  }

  #verdict(answer: HookAnswer, outcome: HookOutcome): HookDecision {
    if (answer.allow) return { answer, outcome };
    const status = answer.status === 401 ? 401 : 403;
    const message =
      typeof answer.message === "string" && answer.message !== ""
        ? answer.message
        : `Refused by the ${this.name} hook`;
    throw new SsehubError(
      status === 401 ? "SSEHUB_ERR_HOOK_UNAUTHENTICATED" : "SSEHUB_ERR_HOOK_DENIED",
      message,
    );
  }

  #unavailable(reason: string, cause?: unknown): HookDecision {
    if (this.#settings.failOpen) return { answer: undefined, outcome: "failed" };
    const waitMs = this.#openUntil === undefined ? 1000 : this.#openUntil - this.#now();
    throw new SsehubError(
      "SSEHUB_ERR_HOOK_UNAVAILABLE",
      `Cannot decide: the ${this.name} hook's backend did not answer (${reason}); try again later`,
      {
        details: { retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) },
        ...(cause === undefined ? {} : { cause }),
      },
    );
  }

  #failed(): void {
    this.#probing = false;
    this.#failures++;
    if (this.#openUntil !== undefined || this.#failures >= this.#settings.failureThreshold) {
      this.#openUntil = this.#now() + this.#settings.cooldownMs;
    }
  }

  #succeeded(): void {
    this.#probing = false;
    this.#failures = 0;
    this.#openUntil = undefined;
  }

  async #call(body: Record<string, unknown>): Promise<HookAnswer> {
    let response: Response;
    try {
      response = await fetch(this.#settings.url, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json" },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.#settings.timeoutMs),
      });
    } catch (error) {
      const timedOut = (error as Error).name === "TimeoutError";
      throw new BackendFailure(
        timedOut ? `no answer within ${this.#settings.timeoutMs} ms` : "the call failed",
        { cause: error },
      );
    }
    let text: string;
    try {
      text = await readAnswer(response, this.#settings.maxAnswerBytes ?? HOOK_ANSWER_MAX_BYTES);
    } catch (error) {
      if (error instanceof BackendFailure) throw error;
      throw new BackendFailure("its answer broke off", { cause: error });
    }
    // A 401 or 403 is a refusal the backend meant, whatever its body says.
    if (response.status === 401 || response.status === 403) {
      const message = messageOf(text);
      return {
        allow: false,
        status: response.status,
        ...(message === undefined ? {} : { message }),
      };
    }
    if (response.status < 200 || response.status > 299) {
      throw new BackendFailure(`status ${response.status}`);
    }
    return parseAnswer(text);
  }

  #cached(key: string): HookAnswer | undefined {
    const entry = this.#cache.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= this.#now()) {
      this.#cache.delete(key);
      return undefined;
    }
    // Most recently used goes last, so that eviction takes the least recently used.
    this.#cache.delete(key);
    this.#cache.set(key, entry);
    return entry.answer;
  }

  #remember(key: string, answer: HookAnswer): void {
    const { cacheSize, cacheTtlMs } = this.#settings;
    if (cacheSize === 0) return;
    const ttlMs = answer.cacheSeconds === undefined ? cacheTtlMs : answer.cacheSeconds * 1000;
    if (ttlMs <= 0) return;
    this.#cache.delete(key);
    this.#cache.set(key, { answer, expiresAt: this.#now() + ttlMs });
    while (this.#cache.size > cacheSize) {
      const oldest = this.#cache.keys().next().value as string;
      this.#cache.delete(oldest);
    }
  }
}

/**
 * The body of `response` as text, read up to `maxBytes`. A larger body (by its Content-Length,
 * or as it streams in) is a failure: the hub cancels the body, which aborts the request and
 * closes the connection, rather than reading the rest.
 */
async function readAnswer(response: Response, maxBytes: number): Promise<string> {
  const tooLarge = () => new BackendFailure(`its answer is larger than ${maxBytes} bytes`);
  if (response.body === null) return "";
  const reader = response.body.getReader();
  if (Number(response.headers.get("content-length")) > maxBytes) {
    await reader.cancel();
    throw tooLarge();
  }
  const chunks: Uint8Array[] = [];
  let length = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    length += value.byteLength;
    if (length > maxBytes) {
      await reader.cancel();
      throw tooLarge();
    }
    chunks.push(value);
  }
  return new TextDecoder().decode(Buffer.concat(chunks));
}

/** The `message` of a refusal's JSON body, if it has one. */
function messageOf(text: string): string | undefined {
  try {
    const body = JSON.parse(text) as { message?: unknown };
    return typeof body?.message === "string" ? body.message : undefined;
  } catch {
    return undefined;
  }
}

function isStringList(value: unknown): value is readonly string[] {
  return Array.isArray(value) && value.every((item) => typeof item === "string");
}

/** Reads a 2xx answer's body; a body the hub cannot read is a failure of the backend. */
function parseAnswer(text: string): HookAnswer {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new BackendFailure("its answer is not JSON");
  }
  if (
    typeof body !== "object" ||
    body === null ||
    typeof (body as { allow?: unknown }).allow !== "boolean"
  ) {
    throw new BackendFailure('its answer has no boolean "allow"');
  }
  const answer = body as Record<string, unknown>;
  const bad = (field: string): never => {
    throw new BackendFailure(`its answer's "${field}" is malformed`);
  };
  if (answer.topics !== undefined && !isStringList(answer.topics)) bad("topics");
  if (
    answer.private !== undefined &&
    typeof answer.private !== "boolean" &&
    !isStringList(answer.private)
  ) {
    bad("private");
  }
  if (
    answer.cacheSeconds !== undefined &&
    !(typeof answer.cacheSeconds === "number" && answer.cacheSeconds >= 0)
  ) {
    bad("cacheSeconds");
  }
  if (answer.events !== undefined) {
    if (!Array.isArray(answer.events)) bad("events");
    for (const rewrite of answer.events as unknown[]) {
      if (rewrite === null) continue;
      if (typeof rewrite !== "object") bad("events");
      const { data, topics } = rewrite as Record<string, unknown>;
      if (data !== undefined && typeof data !== "string") bad("events");
      if (topics !== undefined && !isStringList(topics)) bad("events");
    }
  }
  return answer as unknown as HookAnswer;
}
