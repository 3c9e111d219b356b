/**
 * Prometheus metrics of one server, in a registry of its own (so that two servers in one
 * process never mix their numbers). Everything is read from the hub's stats at scrape time:
 * nothing is counted per event on the hot path. All names start with `ssehub_`.
 *
 * | metric | type | from |
 * |---|---|---|
 * | ssehub_connections | gauge | open HTTP connections of the tracked server |
 * | ssehub_subscribers | gauge | HubStats.subscribers |
 * | ssehub_subscriptions | gauge | HubStats.subscriptions (topic-subscriber pairs) |
 * | ssehub_topics | gauge | HubStats.topics |
 * | ssehub_history_events | gauge | HubStats.historyEvents |
 * | ssehub_events_published_total | counter | HubStats.eventsPublished |
 * | ssehub_deliveries_total | counter | HubStats.deliveries |
 * | ssehub_bytes_written_total | counter | HubStats.bytesWritten |
 * | ssehub_resets_total | counter | HubStats.resets |
 * | ssehub_slow_consumer_total{reason} | counter | `disconnect`: subscribers cut off; `drop`: events dropped |
 * | ssehub_event_loop_delay_seconds{quantile} | gauge | monitorEventLoopDelay since the last scrape |
 * | ssehub_process_memory_bytes{kind} | gauge | process.memoryUsage: `rss`, `heap_used` |
 * | ssehub_bus_connected | gauge | 1 while the bus reaches its server (Redis), else 0 |
 * | ssehub_bus_disconnects_total | counter | times the bus lost its server |
 * | ssehub_bus_lag_seconds | gauge | age of the newest event when the bus handed it over |
 * | ssehub_bus_publish_round_trip_seconds | histogram | one publish step to the server and back |
 *
 * The `ssehub_bus_*` metrics exist only with a bus that talks to a server (`--redis`).
 * @module
 */

import { createRequire } from "node:module";
import type { Server } from "node:net";
import { type IntervalHistogram, monitorEventLoopDelay } from "node:perf_hooks";
import type { Registry } from "prom-client";
import type { BusMetricsSource } from "../../bus/bus.js";
import type { Hub } from "../../hub/hub.js";
import type { HubStats } from "../../hub/types.js";

/**
 * prom-client, loaded by the first HubMetrics: `import "ssehub"` does not pay for it (nor for
 * the OpenTelemetry pieces it brings) until a handler exposes metrics. It is CommonJS, so it
 * loads synchronously.
 */
let promClient: typeof import("prom-client") | undefined;
function loadPromClient(): typeof import("prom-client") {
  promClient ??= createRequire(import.meta.url)("prom-client") as typeof import("prom-client");
  return promClient;
}

/** Resolution of the event-loop delay sampler, in ms. */
const EVENT_LOOP_RESOLUTION_MS = 20;
const NS_PER_SECOND = 1e9;
/** Quantiles of the event-loop delay exposed; 1 is the maximum. */
const QUANTILES = [0.5, 0.9, 0.99, 1] as const;

/**
 * The metrics of one hub (and optionally one server).
 * @example
 * const metrics = new HubMetrics(hub);
 * metrics.trackServer(server);
 * const text = await metrics.registry.metrics();
 */
export class HubMetrics {
  /** The registry to expose (`registry.metrics()`, `registry.contentType`). */
  readonly registry: Registry;
  readonly #hub: Hub;
  #server: Server | undefined;
  #loopDelay: IntervalHistogram | undefined;
  #isClosed = false;

  constructor(hub: Hub) {
    const { Counter, Gauge, Registry } = loadPromClient();
    this.#hub = hub;
    this.registry = new Registry();
    const registers = [this.registry];

    const metrics = this;
    new Gauge({
      name: "ssehub_connections",
      help: "Open HTTP connections",
      registers,
      async collect() {
        this.set(await metrics.#connectionCount());
      },
    });
    this.#statGauge("ssehub_subscribers", "Connected subscribers", "subscribers");
    this.#statGauge(
      "ssehub_subscriptions",
      "Topic-subscriber pairs (a subscriber of 3 topics counts 3)",
      "subscriptions",
    );
    this.#statGauge("ssehub_topics", "Topics with a subscriber or history", "topics");
    this.#statGauge(
      "ssehub_history_events",
      "Events kept in history over all topics",
      "historyEvents",
    );
    this.#statCounter("ssehub_events_published_total", "Events published", "eventsPublished");
    this.#statCounter(
      "ssehub_deliveries_total",
      "Events delivered (one per subscriber per event)",
      "deliveries",
    );
    this.#statCounter("ssehub_bytes_written_total", "Bytes written to subscribers", "bytesWritten");
    this.#statCounter("ssehub_resets_total", "Reset events sent to resuming subscribers", "resets");

    const last = { disconnect: 0, drop: 0, conflate: 0 };
    const slowConsumer = new Counter({
      name: "ssehub_slow_consumer_total",
      help: "Slow-consumer actions: subscribers disconnected (reason=disconnect), events dropped (reason=drop), events replaced by newer ones of their key (reason=conflate)",
      labelNames: ["reason"],
      registers,
      collect() {
        const stats = metrics.#hub.stats();
        const disconnect = stats.slowConsumerDisconnects - last.disconnect;
        const drop = stats.slowConsumerDrops - last.drop;
        if (disconnect > 0) this.inc({ reason: "disconnect" }, disconnect);
        const conflate = stats.slowConsumerConflated - last.conflate;
        if (drop > 0) this.inc({ reason: "drop" }, drop);
        if (conflate > 0) this.inc({ reason: "conflate" }, conflate);
        last.disconnect = stats.slowConsumerDisconnects;
        last.drop = stats.slowConsumerDrops;
        last.conflate = stats.slowConsumerConflated;
      },
    });
    // Both series exist from the start, so that rate() sees their first increase.
    slowConsumer.inc({ reason: "disconnect" }, 0);
    slowConsumer.inc({ reason: "drop" }, 0);
    slowConsumer.inc({ reason: "conflate" }, 0);
    this.#statCounter(
      "ssehub_publishes_refused_total",
      "Publishes refused with 503 because too many events waited to be ordered",
      "publishesRefused",
    );

    new Gauge({
      name: "ssehub_event_loop_delay_seconds",
      help: "Event-loop delay since the previous scrape, by quantile (1 is the maximum); sampled from the first scrape on",
      labelNames: ["quantile"],
      registers,
      collect() {
        const histogram = metrics.#eventLoopHistogram();
        const seen = histogram !== undefined && histogram.count > 0;
        for (const quantile of QUANTILES) {
          const ns = seen ? histogram.percentile(quantile * 100) : 0;
          this.set({ quantile: String(quantile) }, ns / NS_PER_SECOND);
        }
        histogram?.reset();
      },
    });

    new Gauge({
      name: "ssehub_process_memory_bytes",
      help: "Memory of the process, in bytes: resident set (kind=rss) and V8 heap used (kind=heap_used)",
      labelNames: ["kind"],
      registers,
      collect() {
        const usage = process.memoryUsage();
        this.set({ kind: "rss" }, usage.rss);
        this.set({ kind: "heap_used" }, usage.heapUsed);
      },
    });

    const bus = hub.busMetrics;
    if (bus !== undefined) this.#busMetrics(bus);
  }

  /** The `ssehub_bus_*` metrics of a bus that talks to a server. */
  #busMetrics(bus: BusMetricsSource): void {
    const { Counter, Gauge, Histogram } = loadPromClient();
    const registers = [this.registry];
    new Gauge({
      name: "ssehub_bus_connected",
      help: "1 while the bus reaches its server (Redis), else 0",
      registers,
      collect() {
        this.set(bus.connected ? 1 : 0);
      },
    });
    let lastDisconnects = 0;
    new Counter({
      name: "ssehub_bus_disconnects_total",
      help: "Times the bus lost its connection to its server (Redis)",
      registers,
      collect() {
        if (bus.disconnects > lastDisconnects) this.inc(bus.disconnects - lastDisconnects);
        lastDisconnects = bus.disconnects;
      },
    });
    new Gauge({
      name: "ssehub_bus_lag_seconds",
      help: "Age of the newest event when the bus handed it to this node (publish time by the server's clock)",
      registers,
      collect() {
        this.set(bus.lagSeconds);
      },
    });
    const roundTrip = new Histogram({
      name: "ssehub_bus_publish_round_trip_seconds",
      help: "Time of one publish step (the publishes of one event-loop turn) to the server and back",
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    });
    bus.onPublishRoundTrip = (seconds) => roundTrip.observe(seconds);
  }

  /** Counts the open connections of `server` in `ssehub_connections`. */
  trackServer(server: Server): void {
    this.#server = server;
  }

  /** Stops the event-loop sampler. The registry still answers, with the last values. */
  close(): void {
    this.#isClosed = true;
    this.#loopDelay?.disable();
    this.#loopDelay = undefined;
  }

  /** The sampler, started at the first scrape so that a server never scraped pays nothing. */
  #eventLoopHistogram(): IntervalHistogram | undefined {
    if (this.#loopDelay === undefined && !this.#isClosed) {
      this.#loopDelay = monitorEventLoopDelay({ resolution: EVENT_LOOP_RESOLUTION_MS });
      this.#loopDelay.enable();
    }
    return this.#loopDelay;
  }

  #connectionCount(): Promise<number> {
    const server = this.#server;
    if (server === undefined) return Promise.resolve(0);
    return new Promise((resolve) => {
      server.getConnections((error, count) => resolve(error === null ? count : 0));
    });
  }

  #statGauge(name: string, help: string, field: keyof HubStats): void {
    const { Gauge } = loadPromClient();
    const hub = this.#hub;
    new Gauge({
      name,
      help,
      registers: [this.registry],
      collect() {
        this.set(hub.stats()[field]);
      },
    });
  }

  /** A counter following a monotonic stat: each scrape adds what the stat grew since the last. */
  #statCounter(name: string, help: string, field: keyof HubStats): void {
    const { Counter } = loadPromClient();
    const hub = this.#hub;
    let last = 0;
    new Counter({
      name,
      help,
      registers: [this.registry],
      collect() {
        const value = hub.stats()[field];
        if (value > last) this.inc(value - last);
        last = value;
      },
    });
  }
}
