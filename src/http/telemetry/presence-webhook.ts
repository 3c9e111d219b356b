/**
 * Presence webhooks: the backend at `presenceWebhookUrl` is told when a stream opens
 * (`subscribe`) and when it ends (`unsubscribe`), as Centrifugo's and Pusher's webhooks do.
 *
 * - Batched: the events of one window (`presenceWebhookDebounceMs`, from the first event of the
 *   window) leave in one POST whose body is a JSON array, oldest first.
 * - Cancelled out: a `subscribe` still waiting in the window when its own `unsubscribe` comes
 *   is dropped with it. Such a stream lived shorter than the window (a page opened and closed
 *   at once, a client that gave up at once): the backend would only see noise. A client that
 *   reconnects gets a new connection id, so its two streams are both reported.
 * - Signed: `X-Ssehub-Signature: sha256=<hex>`, the HMAC-SHA256 of the body under
 *   `presenceWebhookSecret` (when set).
 * - Idempotent: each event has a unique `id`; each POST an `Idempotency-Key` that stays the same
 *   on every retry of that batch. The backend drops events whose `id` it has seen.
 * - Retried: a POST that fails (non-2xx, `presenceWebhookTimeoutMs`, a refused connection) is
 *   sent again after an exponential backoff with full jitter, capped, until it passes. One POST
 *   is in flight at a time, so the events of a subscriber arrive in order.
 * - Bounded: at most `presenceWebhookQueueEvents` events wait in memory; past it the oldest not
 *   in flight are dropped, counted (`ssehub_presence_webhook_events_dropped_total`) and logged.
 * - On shutdown, `close(deadline)` sends what is left until the deadline; what still is not
 *   delivered then is counted as dropped and logged.
 *
 * Each process sends its own subscribers' events: with `--workers` each worker, with Redis each
 * node.
 * @module
 */
import { createHmac, randomUUID } from "node:crypto";
import { createRequire } from "node:module";
import type { Registry } from "prom-client";
import type { ResolvedHandlerOptions } from "../server-options.js";
import type { Logger } from "./logger.js";

/** The header carrying the body's HMAC-SHA256 signature, `sha256=<hex>`. */
export const SIGNATURE_HEADER = "X-Ssehub-Signature";

/** One presence event, as the backend receives it. */
export interface PresenceEvent {
  /** Unique per event: the key to drop duplicates of retried batches by. */
  readonly id: string;
  readonly type: "subscribe" | "unsubscribe";
  /** The stream's id, the same in its `subscribe` and its `unsubscribe`. */
  readonly connectionId: string;
  readonly topics: readonly string[];
  /** The client's address, as trusted proxies tell it. */
  readonly clientAddress: string;
  /** The `sub` claim of the client's token, when it has one. */
  readonly subject?: string;
  /** When it happened, ISO 8601. */
  readonly timestamp: string;
}

/** Who opened a stream: what its events report. */
export interface PresenceSubscriber {
  readonly topics: readonly string[];
  readonly clientAddress: string;
  readonly subject?: string | undefined;
}

/** The options of a PresenceWebhook. */
export interface PresenceWebhookOptions {
  readonly url: string;
  /** Signs each body when not empty. */
  readonly secret: string;
  readonly debounceMs: number;
  readonly timeoutMs: number;
  /** Most events held in memory, in flight included. */
  readonly queueEvents: number;
  readonly logger: Logger;
  /** First retry delay, in ms (before jitter); doubles per failure. */
  readonly retryBaseMs?: number;
  /** Longest retry delay, in ms. */
  readonly retryCapMs?: number;
  /** Clock, ms since the epoch (injected by tests). */
  readonly now?: () => number;
  /** A number in [0, 1) (injected by tests). */
  readonly random?: () => number;
}

/** Why events were dropped. */
export type DropReason = "queue_full" | "shutdown";

/** A batch: fixed once formed, so that its retries carry the same events and key. */
interface Batch {
  readonly key: string;
  readonly events: readonly PresenceEvent[];
  readonly body: string;
}

const DEFAULT_RETRY_BASE_MS = 250;
const DEFAULT_RETRY_CAP_MS = 30_000;
/** Most events in one POST. */
const MAX_BATCH_EVENTS = 500;
/** Drops are logged at most this often, with the count since the last line. */
const DROP_LOG_INTERVAL_MS = 10_000;

/** Sends presence events to the backend (see the module's documentation). */
export class PresenceWebhook {
  readonly #options: PresenceWebhookOptions;
  readonly #now: () => number;
  readonly #random: () => number;
  readonly #retryBaseMs: number;
  readonly #retryCapMs: number;
  readonly #batchEvents: number;
  /** Events not yet in a batch, oldest first. */
  #pending: PresenceEvent[] = [];
  /** The batch in flight, or waiting for its retry. */
  #batch: Batch | undefined;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #failures = 0;
  #closed = false;
  #dropsUnlogged = 0;
  #lastDropLog = Number.NEGATIVE_INFINITY;
  readonly #delivered = { ok: 0, failed: 0 };
  readonly #dropped: Record<DropReason, number> = { queue_full: 0, shutdown: 0 };

  constructor(options: PresenceWebhookOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#random = options.random ?? Math.random;
    this.#retryBaseMs = options.retryBaseMs ?? DEFAULT_RETRY_BASE_MS;
    this.#retryCapMs = options.retryCapMs ?? DEFAULT_RETRY_CAP_MS;
    this.#batchEvents = Math.max(1, Math.min(MAX_BATCH_EVENTS, options.queueEvents));
  }

  /** Events dropped so far, by reason. */
  get dropped(): Readonly<Record<DropReason, number>> {
    return { ...this.#dropped };
  }

  /** POSTs so far, by outcome (`ok`: a 2xx answer). */
  get deliveries(): Readonly<{ ok: number; failed: number }> {
    return { ...this.#delivered };
  }

  /** Events waiting, in flight included. */
  get queued(): number {
    return this.#pending.length + (this.#batch?.events.length ?? 0);
  }

  /** Reports a stream that opened; returns its connection id, for `unsubscribed`. */
  subscribed(subscriber: PresenceSubscriber): string {
    const connectionId = randomUUID();
    this.#enqueue(this.#event("subscribe", connectionId, subscriber));
    return connectionId;
  }

  /** Reports the end of the stream `subscribed` named `connectionId`. */
  unsubscribed(connectionId: string, subscriber: PresenceSubscriber): void {
    const opened = this.#pending.findIndex(
      (event) => event.connectionId === connectionId && event.type === "subscribe",
    );
    if (opened !== -1) {
      // Opened and closed within one window: neither is worth telling (see the module's doc).
      this.#pending.splice(opened, 1);
      return;
    }
    this.#enqueue(this.#event("unsubscribe", connectionId, subscriber));
  }

  /**
   * Counts deliveries in `ssehub_presence_webhook_deliveries_total{outcome}` and drops in
   * `ssehub_presence_webhook_events_dropped_total{reason}`, on `registry`.
   */
  registerMetrics(registry: Registry): void {
    const { Counter, Gauge } = createRequire(import.meta.url)(
      "prom-client",
    ) as typeof import("prom-client");
    const webhook = this;
    const lastDelivered = { ok: 0, failed: 0 };
    new Counter({
      name: "ssehub_presence_webhook_deliveries_total",
      help: "POSTs of presence events to presenceWebhookUrl, by outcome (ok: a 2xx answer; failed: retried later)",
      labelNames: ["outcome"],
      registers: [registry],
      collect() {
        for (const outcome of ["ok", "failed"] as const) {
          this.inc({ outcome }, webhook.#delivered[outcome] - lastDelivered[outcome]);
          lastDelivered[outcome] = webhook.#delivered[outcome];
        }
      },
    });
    const lastDropped: Record<DropReason, number> = { queue_full: 0, shutdown: 0 };
    new Counter({
      name: "ssehub_presence_webhook_events_dropped_total",
      help: "Presence events never delivered, by reason (queue_full: past presenceWebhookQueueEvents; shutdown: undelivered when the shutdown timeout ended)",
      labelNames: ["reason"],
      registers: [registry],
      collect() {
        for (const reason of ["queue_full", "shutdown"] as const) {
          this.inc({ reason }, webhook.#dropped[reason] - lastDropped[reason]);
          lastDropped[reason] = webhook.#dropped[reason];
        }
      },
    });
    new Gauge({
      name: "ssehub_presence_webhook_queued_events",
      help: "Presence events waiting for delivery, in flight included",
      registers: [registry],
      collect() {
        this.set(webhook.queued);
      },
    });
  }

  /**
   * Sends what is left, retrying until `deadline` (ms since the epoch); counts and logs what
   * could not be delivered by then. Events reported afterwards are dropped.
   */
  async close(deadline: number): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running;
    while (this.queued > 0) {
      const left = deadline - this.#now();
      if (left <= 0) break;
      if (await this.#sendNext(Math.min(this.#options.timeoutMs, left))) continue;
      const wait = Math.min(this.#backoffMs(), deadline - this.#now());
      if (wait <= 0) break;
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
    const lost = this.queued;
    if (lost > 0) {
      this.#pending = [];
      this.#batch = undefined;
      this.#dropped.shutdown += lost;
      this.#options.logger.warn(
        { events: lost, url: this.#options.url },
        "Presence webhook: events left undelivered at shutdown",
      );
    }
  }

  #event(
    type: PresenceEvent["type"],
    connectionId: string,
    subscriber: PresenceSubscriber,
  ): PresenceEvent {
    return {
      id: randomUUID(),
      type,
      connectionId,
      topics: subscriber.topics,
      clientAddress: subscriber.clientAddress,
      ...(subscriber.subject === undefined ? {} : { subject: subscriber.subject }),
      timestamp: new Date(this.#now()).toISOString(),
    };
  }

  #enqueue(event: PresenceEvent): void {
    if (this.#closed) {
      this.#drop("shutdown", 1);
      return;
    }
    this.#pending.push(event);
    const over = this.queued - this.#options.queueEvents;
    // The batch in flight is at most queueEvents long, so `over` events are pending.
    if (over > 0) {
      this.#pending.splice(0, over);
      this.#drop("queue_full", over);
    }
    if (this.#running === undefined && this.#timer === undefined) {
      this.#wake(this.#options.debounceMs);
    }
  }

  #drop(reason: DropReason, count: number): void {
    this.#dropped[reason] += count;
    this.#dropsUnlogged += count;
    const now = this.#now();
    if (now - this.#lastDropLog < DROP_LOG_INTERVAL_MS) return;
    this.#lastDropLog = now;
    this.#options.logger.warn(
      {
        dropped: this.#dropsUnlogged,
        reason,
        droppedTotal: this.#dropped.queue_full + this.#dropped.shutdown,
        queueEvents: this.#options.queueEvents,
      },
      "Presence webhook: dropped the oldest events (the backend is not taking them)",
    );
    this.#dropsUnlogged = 0;
  }

  #wake(delayMs: number): void {
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#running = this.#run().finally(() => {
        this.#running = undefined;
      });
    }, delayMs);
    // The webhook alone does not keep the process alive; close() flushes at shutdown.
    this.#timer.unref();
  }

  /** Sends batch after batch until none is left or one fails, then waits for its retry. */
  async #run(): Promise<void> {
    while (this.queued > 0 && !this.#closed) {
      if (!(await this.#sendNext(this.#options.timeoutMs))) {
        if (!this.#closed) this.#wake(this.#backoffMs());
        return;
      }
    }
  }

  /** Full jitter over an exponential backoff: a random delay up to base * 2^failures, capped. */
  #backoffMs(): number {
    const ceiling = Math.min(
      this.#retryCapMs,
      this.#retryBaseMs * 2 ** Math.min(this.#failures - 1, 30),
    );
    return Math.max(1, Math.round(ceiling * (0.5 + this.#random() / 2)));
  }

  /** Sends the batch waiting, or forms one; true when the backend took it. */
  async #sendNext(timeoutMs: number): Promise<boolean> {
    if (this.#batch === undefined) {
      const events = this.#pending.splice(0, this.#batchEvents);
      this.#batch = { key: randomUUID(), events, body: JSON.stringify(events) };
    }
    const batch = this.#batch;
    const failure = await this.#post(batch, timeoutMs);
    if (failure === undefined) {
      this.#delivered.ok += 1;
      this.#batch = undefined;
      if (this.#failures > 0) {
        this.#options.logger.info(
          { failures: this.#failures },
          "Presence webhook: the backend takes events again",
        );
      }
      this.#failures = 0;
      return true;
    }
    this.#delivered.failed += 1;
    this.#failures += 1;
    // The first failure of a run and then every tenth, so that a long outage does not flood the log.
    if (this.#failures % 10 === 1) {
      this.#options.logger.warn(
        { url: this.#options.url, failures: this.#failures, reason: failure, queued: this.queued },
        "Presence webhook: delivery failed, retrying",
      );
    }
    return false;
  }

  /** POSTs one batch; undefined when answered 2xx, else why not. */
  async #post(batch: Batch, timeoutMs: number): Promise<string | undefined> {
    const headers: Record<string, string> = {
      "Content-Type": "application/json",
      "Idempotency-Key": batch.key,
      "User-Agent": "ssehub-presence-webhook",
    };
    if (this.#options.secret !== "") {
      headers[SIGNATURE_HEADER] = signatureOf(this.#options.secret, batch.body);
    }
    try {
      const response = await fetch(this.#options.url, {
        method: "POST",
        headers,
        body: batch.body,
        signal: AbortSignal.timeout(Math.max(1, timeoutMs)),
      });
      // Read the body to its end, so that the connection can serve the next POST.
      await response.arrayBuffer().catch(() => undefined);
      return response.ok ? undefined : `status ${response.status}`;
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code;
      return cause ?? (error as Error).name ?? "error";
    }
  }
}

/** The presence webhook the options ask for; undefined when `presenceWebhookUrl` is empty. */
export function createPresenceWebhook(
  options: Pick<
    ResolvedHandlerOptions,
    | "presenceWebhookUrl"
    | "presenceWebhookSecret"
    | "presenceWebhookDebounceMs"
    | "presenceWebhookTimeoutMs"
    | "presenceWebhookQueueEvents"
  >,
  logger: Logger,
): PresenceWebhook | undefined {
  if (options.presenceWebhookUrl === "") return undefined;
  return new PresenceWebhook({
    url: options.presenceWebhookUrl,
    secret: options.presenceWebhookSecret,
    debounceMs: options.presenceWebhookDebounceMs,
    timeoutMs: options.presenceWebhookTimeoutMs,
    queueEvents: options.presenceWebhookQueueEvents,
    logger,
  });
}

/** The value of SIGNATURE_HEADER for `body`: `sha256=` and the hex HMAC-SHA256 under `secret`. */
export function signatureOf(secret: string, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}
