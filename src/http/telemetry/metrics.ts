/**
 * Prometheus metrics of one server, in a registry of its own (so that two servers in one
 * process never mix their numbers). Almost everything is read at scrape time, from the hub's
 * stats and the process; what is counted as it happens is counted per request or per
 * connection, never per delivery (the per-topic event counts cost O(1) per event per topic,
 * see hub/topic-activity.ts). All of ssehub's own names start with `ssehub_`.
 *
 * | metric | type | from |
 * |---|---|---|
 * | ssehub_connections | gauge | open HTTP connections of the tracked server |
 * | ssehub_streams{transport} | gauge | open streams: `socket` (taken over from node:http), `response` (the public `res.write` path) |
 * | ssehub_stream_takeover_fallbacks_total{reason} | counter | streams that could not take their socket over: `disabled`, `unsupported`, `protocol`, `request`, `pipelined`, `internals`, `gone` |
 * | ssehub_node_internals_fallback_total{feature} | counter | fallbacks from a Node internal to the public path: `socket-takeover`, `lingering-close`, `cluster-disconnect` |
 * | ssehub_http_refusals_total{status,code} | counter | error answers, by status and error code (error-response.ts) |
 * | ssehub_hook_calls_total{hook,outcome} | counter | backend hook decisions (access/backend-hook.ts): hook `subscribe` or `publish`; outcome `allow`, `deny`, `cached`, `failed`, `open` (breaker open, not called) |
 * | ssehub_subscribers | gauge | HubStats.subscribers |
 * | ssehub_subscriptions | gauge | HubStats.subscriptions (topic-subscriber pairs) |
 * | ssehub_topics | gauge | HubStats.topics |
 * | ssehub_history_events | gauge | HubStats.historyEvents: entries summed over all topics, no topic label (unbounded) |
 * | ssehub_history_disk_bytes | gauge | HubStats.historyDiskBytes |
 * | ssehub_history_write_failures_total | counter | HubStats.historyWriteFailures |
 * | ssehub_events_published_total | counter | HubStats.eventsPublished |
 * | ssehub_deliveries_total | counter | HubStats.deliveries |
 * | ssehub_bytes_written_total | counter | HubStats.bytesWritten |
 * | ssehub_resets_total | counter | HubStats.resets |
 * | ssehub_publishes_refused_total | counter | HubStats.publishesRefused |
 * | ssehub_slow_consumer_total{reason} | counter | `disconnect`: subscribers cut off; `drop`: events dropped; `conflate`: events replaced |
 * | ssehub_slow_consumer_actions_total{policy,topic} | counter | subscribers the slow-consumer policy acted on, by policy and topic (a busiest topic, else `other`) |
 * | ssehub_subscriber_queued_bytes | histogram | bytes each subscriber's connection holds, read at scrape time |
 * | ssehub_topic_events_per_second{topic} | gauge | events published per topic since the previous scrape: the busiest topics, then `other` |
 * | ssehub_topic_bytes_per_second{topic} | gauge | bytes of those events (encoded once), same topics |
 * | ssehub_topic_subscribers{topic} | gauge | subscribers of those topics (`other`: the remaining subscriptions) |
 * | ssehub_event_loop_delay_seconds{quantile} | gauge | real event-loop delay since the previous scrape (sampler resolution subtracted); sampled from the first scrape on |
 * | ssehub_event_loop_utilization | gauge | share of time the event loop was busy since the previous scrape (0 to 1) |
 * | ssehub_process_memory_bytes{kind} | gauge | process.memoryUsage: `rss`, `heap_used` |
 * | process_*, nodejs_* | various | prom-client's default metrics (CPU, memory, heap, GC, handles, file descriptors), from the first scrape on |
 * | ssehub_bus_connected | gauge | 1 while the bus reaches its server (Redis), else 0 |
 * | ssehub_bus_disconnects_total | counter | times the bus lost its server |
 * | ssehub_bus_lag_seconds | gauge | age of the newest event when the bus handed it over |
 * | ssehub_bus_publish_round_trip_seconds | histogram | one publish step to the server and back |
 * | ssehub_workers, ssehub_worker_info{worker,pid} | gauge | with `--workers`: the workers that answered the scrape |
 *
 * The `ssehub_bus_*` metrics exist only with a bus that talks to a server (`--redis`). With
 * `--workers N` one scrape answers for every worker (metrics-cluster.ts): per-process figures
 * carry a `worker` label, the others are summed (or, for figures every worker holds alike,
 * their maximum). prom-client's `nodejs_eventloop_lag_*` are left out: they include their
 * sampler's resolution (ssehub_event_loop_delay_seconds does not).
 * @module
 */

import diagnosticsChannel from "node:diagnostics_channel";
import { createRequire } from "node:module";
import type { Server } from "node:net";
import { performance } from "node:perf_hooks";
import type { Counter, Gauge, MetricObjectWithValues, MetricValue, Registry } from "prom-client";
import type { BusMetricsSource } from "../../bus/bus.js";
import type { Hub } from "../../hub/hub.js";
import { BUSIEST_TOPICS } from "../../hub/topic-activity.js";
import type { HubStats, HubStatus } from "../../hub/types.js";
import {
  INTERNALS_FALLBACK_CHANNEL,
  INTERNALS_FEATURES,
  type InternalsFallback,
} from "../transport/internals-fallback.js";
import {
  TAKEOVER_FALLBACK_REASONS,
  type TakeoverFallbackReason,
} from "../transport/socket-takeover.js";
import { LoopSampler } from "./loop-delay.js";
import { aggregateWorkers, type WorkerMetricsRow } from "./metrics-cluster.js";

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

/**
 * The fallbacks from Node internals reported in this process, by feature, counted by one
 * subscriber to INTERNALS_FALLBACK_CHANNEL from the first HubMetrics on. Process-wide on
 * purpose: a fallback is a fact about this process's Node, whichever server met it, and one
 * subscription for the process leaves nothing behind when a handler is dropped unclosed.
 */
let fallbackTally: Map<string, number> | undefined;
function processFallbacks(): ReadonlyMap<string, number> {
  if (fallbackTally === undefined) {
    const tally = new Map<string, number>();
    diagnosticsChannel.subscribe(INTERNALS_FALLBACK_CHANNEL, (message) => {
      const { feature } = message as InternalsFallback;
      tally.set(feature, (tally.get(feature) ?? 0) + 1);
    });
    fallbackTally = tally;
  }
  return fallbackTally;
}

/** The name under which a worker's metrics are gathered (see HubMetricsOptions.gather). */
export const METRICS_SNAPSHOT = "metrics";

/**
 * Asks every worker of the cluster for its snapshot `name` and resolves with one row per worker
 * that answered: `{ worker, pid, payload }`. Never rejects; resolves with no rows when nobody
 * answered (the scrape then shows this process alone). `ssehub serve --workers N` passes the
 * cluster's (src/cluster/gather.ts), whose workers answer METRICS_SNAPSHOT with
 * `metrics.snapshot()`.
 */
export type GatherSnapshots = (name: string) => Promise<readonly WorkerMetricsRow[]>;

/** Options of HubMetrics. */
export interface HubMetricsOptions {
  /** Makes one scrape answer for every worker of a cluster; this process alone without it. */
  readonly gather?: GatherSnapshots | undefined;
  /** Topics named in the per-topic metrics, at most. @default 10 */
  readonly busiestTopics?: number | undefined;
}

/** How a stream reaches its client. */
export type StreamTransport = "socket" | "response";

/** The policy behind each slow-consumer status of the hub. */
const SLOW_CONSUMER_POLICY: Readonly<Record<string, string>> = {
  "slow-consumer-disconnected": "disconnect",
  "slow-consumer-dropping": "drop",
  "slow-consumer-conflating": "conflate",
};

/** Distinct topic labels of ssehub_slow_consumer_actions_total, at most; `other` past it. */
const MAX_SLOW_CONSUMER_TOPICS = 100;
/** The label of every topic not named. */
const OTHER_TOPIC = "other";

/** Buckets of ssehub_subscriber_queued_bytes, in bytes (the default cap is 1 MiB). */
const QUEUED_BYTES_BUCKETS = [0, 1024, 16_384, 65_536, 262_144, 1_048_576, 4_194_304];

/** Names of prom-client's default metrics left out (see the module comment). */
const BIASED_DEFAULT_METRICS = /^nodejs_eventloop_lag/;

/**
 * The metrics of one hub (and optionally one server).
 * @example
 * const metrics = new HubMetrics(hub);
 * metrics.trackServer(server);
 * const text = await metrics.scrape();
 */
export class HubMetrics {
  /**
   * The registry of this process (`registry.contentType`); other parts of the server may add
   * their metrics to it. Read it with scrape(), which also answers for every worker.
   */
  readonly registry: Registry;
  readonly #hub: Hub;
  readonly #gather: GatherSnapshots | undefined;
  readonly #busiestTopics: number;
  readonly #loop = new LoopSampler();
  #server: Server | undefined;
  #defaultsStarted = false;
  #isClosed = false;
  readonly #openStreams = { socket: 0, response: 0 };
  readonly #takeoverFallbacks: Counter<"reason">;
  readonly #refusals: Counter<"status" | "code">;
  readonly #hookCalls: Counter<"hook" | "outcome">;
  readonly #slowConsumerActions: Counter<"policy" | "topic">;
  /** The busiest topics of the previous scrape: the topic labels of slow-consumer actions. */
  #busiest: ReadonlySet<string> = new Set();
  readonly #slowConsumerTopics = new Set<string>();
  readonly #onStatus = (status: HubStatus): void => this.#countSlowConsumer(status);

  constructor(hub: Hub, options: HubMetricsOptions = {}) {
    const { Counter, Gauge, Registry } = loadPromClient();
    this.#hub = hub;
    this.#gather = options.gather;
    this.#busiestTopics = options.busiestTopics ?? BUSIEST_TOPICS;
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
    new Gauge({
      name: "ssehub_streams",
      help: "Open streams by transport: socket (taken over from node:http, the lean path), response (the public res.write path: TLS, HTTP/2, a framework's response, or a takeover fallback)",
      labelNames: ["transport"],
      registers,
      collect() {
        this.set({ transport: "socket" }, metrics.#openStreams.socket);
        this.set({ transport: "response" }, metrics.#openStreams.response);
      },
    });
    this.#takeoverFallbacks = new Counter({
      name: "ssehub_stream_takeover_fallbacks_total",
      help: "Streams that kept the public res.write path (about 2.7 times the memory per idle stream), by reason: disabled (SSEHUB_SOCKET_TAKEOVER=off), unsupported (this Node lacks the internals), protocol (TLS, HTTP/2, not node:http), request (a body or Expect), pipelined (another request followed), internals (node:http's socket listeners not found), gone (the client left or the hub was closing)",
      labelNames: ["reason"],
      registers,
    });
    for (const reason of TAKEOVER_FALLBACK_REASONS) this.#takeoverFallbacks.inc({ reason }, 0);
    const fallbacks = processFallbacks();
    const seenFallbacks = new Map<string, number>();
    const internalsFallbacks = new Counter({
      name: "ssehub_node_internals_fallback_total",
      help: "Times a Node internal that ssehub relies on was not as expected and the public path was used, in this process, by feature: socket-takeover, lingering-close, cluster-disconnect",
      labelNames: ["feature"],
      registers,
      collect() {
        for (const [feature, count] of fallbacks) {
          const grown = count - (seenFallbacks.get(feature) ?? 0);
          if (grown > 0) this.inc({ feature }, grown);
          seenFallbacks.set(feature, count);
        }
      },
    });
    for (const feature of INTERNALS_FEATURES) internalsFallbacks.inc({ feature }, 0);
    this.#refusals = new Counter({
      name: "ssehub_http_refusals_total",
      help: "Error answers, by HTTP status and ssehub error code (see docs/errors.md)",
      labelNames: ["status", "code"],
      registers,
    });
    this.#hookCalls = new Counter({
      name: "ssehub_hook_calls_total",
      help: "Backend hook decisions, by hook (subscribe, publish) and outcome (allow, deny, cached, failed, open)",
      labelNames: ["hook", "outcome"],
      registers,
    });

    this.#statGauge("ssehub_subscribers", "Connected subscribers", "subscribers");
    this.#statGauge(
      "ssehub_subscriptions",
      "Topic-subscriber pairs (a subscriber of 3 topics counts 3)",
      "subscriptions",
    );
    this.#statGauge("ssehub_topics", "Topics with a subscriber or history", "topics", "max");
    this.#statGauge(
      "ssehub_history_events",
      // No topic label: one series per topic would grow without bound (GET /topics has them).
      "Entries kept in history, summed over all topics (an event of two topics counts twice)",
      "historyEvents",
      "max",
    );
    this.#statGauge(
      "ssehub_history_disk_bytes",
      "Bytes of history's files in the data directory (0 when history is not on disk)",
      "historyDiskBytes",
    );
    this.#statCounter(
      "ssehub_history_write_failures_total",
      "Batches of events the data directory refused to keep (their publishes answered 503)",
      "historyWriteFailures",
    );
    this.#statCounter(
      "ssehub_events_published_total",
      "Events published",
      "eventsPublished",
      "max",
    );
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
    this.#slowConsumerActions = new Counter({
      name: "ssehub_slow_consumer_actions_total",
      help: "Subscribers the slow-consumer policy acted on (cut off, started dropping, started conflating), by policy and topic: one of the busiest topics at the previous scrape, else other",
      labelNames: ["policy", "topic"],
      registers,
    });
    hub.on("status", this.#onStatus);
    this.#statCounter(
      "ssehub_publishes_refused_total",
      "Publishes refused with 503 because too many events waited to be ordered",
      "publishesRefused",
    );
    this.#queueMetrics();
    this.#topicMetrics();

    new Gauge({
      name: "ssehub_event_loop_delay_seconds",
      help: "Event-loop delay since the previous scrape, by quantile (1 is the maximum), without the sampler's resolution; sampled from the first scrape on",
      labelNames: ["quantile"],
      registers,
      collect() {
        for (const [quantile, seconds] of metrics.#loop.takeDelays()) {
          this.set({ quantile: String(quantile) }, seconds);
        }
      },
    });
    new Gauge({
      name: "ssehub_event_loop_utilization",
      help: "Share of the time the event loop was busy since the previous scrape (0 to 1)",
      registers,
      collect() {
        this.set(metrics.#loop.takeUtilization());
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

  /** The content type of scrape()'s text. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /**
   * The Prometheus text of this server: of every worker when a `gather` function was given
   * (see metrics-cluster.ts), else of this process. The first call also starts the samplers
   * and prom-client's default metrics.
   */
  async scrape(): Promise<string> {
    this.#startDefaultMetrics();
    if (this.#gather !== undefined) {
      const rows = await this.#gather(METRICS_SNAPSHOT);
      if (rows.length > 0) return aggregateWorkers(loadPromClient(), rows).metrics();
    }
    return this.registry.metrics();
  }

  /** This process's metrics as JSON, for the worker that gathers a cluster's scrape. */
  snapshot(): Promise<MetricObjectWithValues<MetricValue<string>>[]> {
    this.#startDefaultMetrics();
    return this.registry.getMetricsAsJSON();
  }

  /** Counts the open connections of `server` in `ssehub_connections`. */
  trackServer(server: Server): void {
    this.#server = server;
  }

  /** A stream opened over `transport`; call streamClosed() with the same when it closes. */
  streamOpened(transport: StreamTransport): void {
    this.#openStreams[transport]++;
  }

  /** A stream opened with streamOpened() closed. */
  streamClosed(transport: StreamTransport): void {
    this.#openStreams[transport]--;
  }

  /** A stream kept the public path for `reason`. */
  takeoverFellBack(reason: TakeoverFallbackReason): void {
    this.#takeoverFallbacks.inc({ reason });
  }

  /** An error answer went out with `status` and `code` (error-response.ts calls it). */
  refused(status: number, code: string): void {
    this.#refusals.inc({ status: String(status), code });
  }

  /** A backend hook came to `outcome` (routes/hook-checks.ts calls it). */
  hookCalled(hook: string, outcome: string): void {
    this.#hookCalls.inc({ hook, outcome });
  }

  /** Stops the samplers and listeners. The registry still answers, with the last values. */
  close(): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    this.#loop.close();
    this.#hub.off("status", this.#onStatus);
  }

  /**
   * prom-client's default metrics, from the first scrape on: they start a GC observer and an
   * event-loop sampler of their own, which a server never scraped does not pay for. Their
   * event-loop lag is left out (its sampler is slowed to once a second, as nothing reads it).
   */
  #startDefaultMetrics(): void {
    if (this.#defaultsStarted || this.#isClosed) return;
    this.#defaultsStarted = true;
    loadPromClient().collectDefaultMetrics({
      register: this.registry,
      eventLoopMonitoringPrecision: 1000,
    });
    for (const metric of this.registry.getMetricsAsArray()) {
      if (BIASED_DEFAULT_METRICS.test(metric.name)) this.registry.removeSingleMetric(metric.name);
    }
  }

  /** `ssehub_subscriber_queued_bytes`: every subscriber's backlog, read at scrape time. */
  #queueMetrics(): void {
    const { Histogram } = loadPromClient();
    const hub = this.#hub;
    new Histogram({
      name: "ssehub_subscriber_queued_bytes",
      help: "Bytes each subscriber's connection holds that the kernel has not taken yet, read at scrape time (a snapshot, not a history)",
      buckets: QUEUED_BYTES_BUCKETS,
      registers: [this.registry],
      collect() {
        this.reset();
        // Zeros rather than nothing while no subscriber is connected.
        this.zero({});
        for (const bytes of hub.queuedBytes()) this.observe(bytes);
      },
    });
  }

  /** The per-topic gauges of the busiest topics, set together from one window of activity. */
  #topicMetrics(): void {
    const { Gauge } = loadPromClient();
    const registers = [this.registry];
    const metrics = this;
    const feeds: { bytes?: Gauge<"topic">; subscribers?: Gauge<"topic"> } = {};
    let since = performance.now();
    // The registry collects in order of registration: this gauge, which sets all three, first.
    new Gauge({
      name: "ssehub_topic_events_per_second",
      help: "Events published per topic since the previous scrape, per second: the busiest topics, then other",
      labelNames: ["topic"],
      registers,
      aggregator: "max",
      collect() {
        const now = performance.now();
        const seconds = Math.max((now - since) / 1000, 1e-3);
        since = now;
        const window = metrics.#hub.takeTopicActivity(metrics.#busiestTopics);
        const bytes = feeds.bytes!;
        const subscribers = feeds.subscribers!;
        this.reset();
        bytes.reset();
        subscribers.reset();
        let named = 0;
        for (const { topic, events, bytes: size } of window.topics) {
          const count = metrics.#hub.subscriberCountOf(topic);
          named += count;
          this.set({ topic }, events / seconds);
          bytes.set({ topic }, size / seconds);
          subscribers.set({ topic }, count);
        }
        this.set({ topic: OTHER_TOPIC }, window.other.events / seconds);
        bytes.set({ topic: OTHER_TOPIC }, window.other.bytes / seconds);
        const rest = metrics.#hub.stats().subscriptions - named;
        subscribers.set({ topic: OTHER_TOPIC }, Math.max(0, rest));
        metrics.#busiest = new Set(window.topics.map(({ topic }) => topic));
      },
    });
    feeds.bytes = new Gauge({
      name: "ssehub_topic_bytes_per_second",
      help: "Bytes of the events published per topic since the previous scrape, per second (encoded once, not per subscriber): the busiest topics, then other",
      labelNames: ["topic"],
      registers,
      aggregator: "max",
    });
    feeds.subscribers = new Gauge({
      name: "ssehub_topic_subscribers",
      help: "Subscribers of the busiest topics (other: the remaining topic-subscriber pairs)",
      labelNames: ["topic"],
      registers,
    });
  }

  /** Counts a slow-consumer status under its policy and the topic label of its subscriber. */
  #countSlowConsumer(status: HubStatus): void {
    const policy = SLOW_CONSUMER_POLICY[status.type];
    if (policy === undefined || !("topics" in status)) return;
    const busy = status.topics.find((topic) => this.#busiest.has(topic));
    let topic = OTHER_TOPIC;
    if (busy !== undefined) {
      if (this.#slowConsumerTopics.has(busy)) topic = busy;
      else if (this.#slowConsumerTopics.size < MAX_SLOW_CONSUMER_TOPICS) {
        this.#slowConsumerTopics.add(busy);
        topic = busy;
      }
    }
    this.#slowConsumerActions.inc({ policy, topic });
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

  #connectionCount(): Promise<number> {
    const server = this.#server;
    if (server === undefined) return Promise.resolve(0);
    return new Promise((resolve) => {
      server.getConnections((error, count) => resolve(error === null ? count : 0));
    });
  }

  /**
   * A gauge of a hub stat. `aggregator`: how a cluster's scrape merges the workers' figures
   * (`max` for a figure every worker holds alike).
   */
  #statGauge(name: string, help: string, field: keyof HubStats, aggregator: "sum" | "max" = "sum") {
    const { Gauge } = loadPromClient();
    const hub = this.#hub;
    new Gauge({
      name,
      help,
      registers: [this.registry],
      aggregator,
      collect() {
        this.set(hub.stats()[field]);
      },
    });
  }

  /** A counter following a monotonic stat: each scrape adds what the stat grew since the last. */
  #statCounter(
    name: string,
    help: string,
    field: keyof HubStats,
    aggregator: "sum" | "max" = "sum",
  ): void {
    const { Counter } = loadPromClient();
    const hub = this.#hub;
    let last = 0;
    new Counter({
      name,
      help,
      registers: [this.registry],
      aggregator,
      collect() {
        const value = hub.stats()[field];
        if (value > last) this.inc(value - last);
        last = value;
      },
    });
  }
}
