/**
 * The result of one `ssehub bench` run: the JSON schema `ssehub-bench/1`, and its text and CSV
 * forms (as nats.js `Metric.toString()` / `toCsv()`).
 *
 * Conventions of the schema:
 * - Durations in seconds (`...Seconds`), latencies in integer microseconds (`...Us`), memory in
 *   bytes (`...Bytes`), rates per second (`...PerSec`). Ratios are 0..1.
 * - A section that does not apply to the scenario is `null`, never missing; so is a figure that
 *   could not be measured (no server pid, no sample).
 * - Counts of events are deliveries: one event received by one subscriber.
 *
 * ```text
 * BenchResult
 * ├─ schema "ssehub-bench/1", scenario, startedAt (ISO), wallSeconds, params,
 * │  target (adapter, url, urls[]: every URL, the publishers' first),
 * │  machine (node, cpus, platform, loadAverageStart/End: above cpus, the machine was shared)
 * ├─ connections   attempted, established, failed, failedRatio, establishedByUrl[], dropped,
 * │                errors{code: n}, connectSeconds, connectRatePerSec, connectLatency
 * ├─ delivery      fanout/topics/churn/publish: offered vs published events, expected vs
 * │                delivered, lost (acknowledged publishes), refusedNotDelivered,
 * │                refusedDelivered, duplicated, reordered, foreign, deliveriesPerSec
 * ├─ latency       publish-to-receive: count, minUs, meanUs, p50Us, p90Us, p99Us, p999Us, maxUs
 * ├─ publish       publish: connections, requests, ok, errors, statusCodes, ratePerSec, latency
 * ├─ churn         churn: reconnects asked/done/failed, ratePerSec, reconnectLatency
 * ├─ ladder        fanout/topics --ladder: steps[], bestCleanRate
 * ├─ faults        faults: per fault injected, published, delivered, lost, refused (not)
 * │                delivered, duplicated, reordered, resets by reason, publish errors by
 * │                status, recovery times
 * ├─ server        pids, rssBaselineBytes, rssBytes, rssPerConnectionBytes, cpuSeconds,
 * │                cpuMicrosPerDelivery, windowSeconds, connectCpuSeconds
 * ├─ loadgen       the tool's own cost: processes, cpuSeconds, coreShare, busiestProcessCoreShare,
 * │                rssBytes, rssPerConnectionBytes
 * ├─ kernel        idle: slab and TCP buffer memory above the baseline, per subscriber (both
 * │                ends of its connection, on one host); null for the other scenarios
 * ├─ verify        full-parse cross-check of the fast scanner: subscribers, events, mismatches
 * └─ thresholds    passed, failures[] (the reasons for a non-zero exit code)
 * ```
 * @module
 */
import type { Histogram } from "./histogram.js";
import type { KernelSummary } from "./kernel-memory.js";

/** The schema identifier; bumped on any incompatible change. */
export const RESULT_SCHEMA = "ssehub-bench/1";

/** The scenarios of `ssehub bench`. */
export type ScenarioName = "idle" | "fanout" | "publish" | "churn" | "topics" | "faults";

/** Percentiles of a latency histogram, in integer microseconds. */
export interface LatencySummary {
  readonly count: number;
  readonly minUs: number;
  readonly meanUs: number;
  readonly p50Us: number;
  readonly p90Us: number;
  readonly p99Us: number;
  readonly p999Us: number;
  readonly maxUs: number;
}

/** Subscriber connections. */
export interface ConnectionsSummary {
  /** Subscribers the run tried to open (first connections only, not churn's reconnects). */
  readonly attempted: number;
  /** Subscribers that got a `200` response head. */
  readonly established: number;
  /** Subscribers that never got a `200`: refused, timed out, another status. */
  readonly failed: number;
  /** failed / attempted. */
  readonly failedRatio: number;
  /**
   * Subscribers established per URL, in the order of `target.urls` (subscriber i connects to
   * URL i mod n first). One entry with a single URL.
   */
  readonly establishedByUrl: readonly number[];
  /** Established subscribers whose stream the server closed while the tool still held it. */
  readonly dropped: number;
  /** Failures by cause: a system code (`ECONNREFUSED`), `HTTP_<status>`, `TIMEOUT`, `CLOSED`. */
  readonly errors: Readonly<Record<string, number>>;
  /** From the first connect to the last `200`, in seconds. */
  readonly connectSeconds: number;
  /** established / connectSeconds. */
  readonly connectRatePerSec: number;
  /** From connect() to the response head, per subscriber. */
  readonly connectLatency: LatencySummary | null;
  /**
   * SYNs the kernel dropped because a listener's accept queue was full, over the whole run
   * (machine-wide, /proc/net/netstat ListenOverflows); null where unreadable. Above zero, the
   * server did not accept fast enough and connects waited for a SYN retransmit (1 s, then 3 s).
   */
  readonly listenOverflows: number | null;
  /** SYN retransmits over the whole run, machine-wide (TCPSynRetrans); null where unreadable. */
  readonly synRetransmits: number | null;
}

/**
 * What subscribers got against what they were owed: the counts a worker reports for a phase,
 * the session adds up, and the result shows.
 */
export interface DeliveryCounts {
  /**
   * Deliveries owed: for every subscriber, the events of every publish request on its streams,
   * refused ones included: expected = delivered - duplicated + lost + refusedNotDelivered.
   */
  readonly expected: number;
  /** Deliveries received, duplicates included. */
  readonly delivered: number;
  /** Owed deliveries of acknowledged (2xx) publishes never received (after the drain wait). */
  readonly lost: number;
  /** Owed deliveries of refused publishes (non-2xx, connection closed) never received. */
  readonly refusedNotDelivered: number;
  /** Deliveries of refused publishes that arrived anyway (a refusal the server applied). */
  readonly refusedDelivered: number;
  /** Deliveries of an event the subscriber had already received. */
  readonly duplicated: number;
  /** Deliveries that arrived after a later event of the same stream (a gap filled late). */
  readonly reordered: number;
  /** Events that did not carry the tool's payload (another publisher, a reset notice). */
  readonly foreign: number;
}

/** The DeliveryCounts fields of `counts`, and nothing else (a result carries no extra keys). */
export function deliveryCountsOf(counts: DeliveryCounts): DeliveryCounts {
  return {
    expected: counts.expected,
    delivered: counts.delivered,
    lost: counts.lost,
    refusedNotDelivered: counts.refusedNotDelivered,
    refusedDelivered: counts.refusedDelivered,
    duplicated: counts.duplicated,
    reordered: counts.reordered,
    foreign: counts.foreign,
  };
}

/** Events published and delivered during the measured window. */
export interface DeliverySummary extends DeliveryCounts {
  /** The rate asked for, in events/s; null when publishing as fast as possible. */
  readonly offeredRatePerSec: number | null;
  /** Events the server accepted (2xx). */
  readonly published: number;
  /**
   * Publish requests that failed (non-2xx or connection lost); their events count as
   * refusedNotDelivered or refusedDelivered, not lost.
   */
  readonly publishErrors: number;
  /** published / publishSeconds. */
  readonly publishedRatePerSec: number;
  /** How long the publisher ran, in seconds. */
  readonly publishSeconds: number;
  /** From the start of publishing to the last delivery, in seconds. */
  readonly windowSeconds: number;
  /** delivered / windowSeconds. */
  readonly deliveriesPerSec: number;
  /** The offered event rate times the subscribers per event: what a perfect server delivers. */
  readonly offeredDeliveriesPerSec: number | null;
}

/** The HTTP publish load of the `publish` scenario. */
export interface PublishSummary {
  /** Keep-alive connections, one request in flight on each. */
  readonly connections: number;
  readonly requests: number;
  readonly ok: number;
  readonly errors: number;
  /** Answers by status code (`"200"`), and `"closed"` for requests lost with their connection. */
  readonly statusCodes: Readonly<Record<string, number>>;
  /** ok / seconds. */
  readonly ratePerSec: number;
  /** From writing the request to reading the whole answer. */
  readonly latency: LatencySummary | null;
}

/** Reconnects of the `churn` scenario. */
export interface ChurnSummary {
  /** Reconnects per second asked for. */
  readonly targetRatePerSec: number;
  /** Reconnects that got a `200` again, with Last-Event-ID. */
  readonly reconnects: number;
  /** Reconnect attempts that failed (retried after a short pause). */
  readonly failedReconnects: number;
  /** Failed reconnect attempts by cause, as ConnectionsSummary.errors. */
  readonly errors: Readonly<Record<string, number>>;
  /** reconnects / publishSeconds. */
  readonly ratePerSec: number;
  /** From connect() to the response head, per reconnect. */
  readonly reconnectLatency: LatencySummary | null;
}

/** One step of a `--ladder` run. */
export interface LadderStep {
  /** Offered events/s. */
  readonly rate: number;
  readonly published: number;
  readonly deliveriesPerSec: number;
  readonly offeredDeliveriesPerSec: number | null;
  readonly lost: number;
  readonly duplicated: number;
  readonly p99Us: number | null;
  /** No loss, no duplicate, no publish error, p99 within the bound, rate reached (95%). */
  readonly clean: boolean;
  /** Why the step is not clean; empty when it is. */
  readonly reasons: readonly string[];
}

/** A `--ladder` run: the offered rate grows by `factor` until a step is not clean. */
export interface LadderSummary {
  readonly startRate: number;
  readonly factor: number;
  readonly p99BoundMs: number;
  readonly steps: readonly LadderStep[];
  /** The highest offered rate of a clean step, in events/s; null when none was clean. */
  readonly bestCleanRate: number | null;
  /** Deliveries per second of that step. */
  readonly bestCleanDeliveriesPerSec: number | null;
}

/** Recovery after a fault: from its injection, in seconds; null when it never happened. */
export interface FaultRecovery {
  /** To the first 2xx answer to a publish sent after the fault. */
  readonly firstPublishSeconds: number | null;
  /** To the first delivery, to any subscriber, of an event published after the fault. */
  readonly firstDeliverySeconds: number | null;
  /** To the moment every counted subscriber had an event published after the fault. */
  readonly allSubscribersSeconds: number | null;
  /** Counted subscribers that got an event published after the fault. */
  readonly subscribersRecovered: number;
}

/** One fault of the `faults` scenario and what the subscribers and the publisher saw. */
export interface FaultReport extends DeliveryCounts {
  /** `kill-worker`, `pause-redis` or `restart-redis`. */
  readonly fault: string;
  /** The process signalled; for restart-redis, `newPid` is the redis-server started after. */
  readonly pid: number | null;
  readonly newPid: number | null;
  /** Why the fault could not be injected; null when it was. */
  readonly error: string | null;
  /** From the start of the fault's window to the injection, and how long the fault lasted. */
  readonly injectedAfterSeconds: number;
  readonly faultSeconds: number;
  /** Subscribers counted: those open when the window started. */
  readonly subscribers: number;
  /** Publish requests written, answered 2xx, and the others (by status, `closed` when lost). */
  readonly publishRequests: number;
  readonly published: number;
  readonly publishErrors: number;
  readonly publishStatusCodes: Readonly<Record<string, number>>;
  // Its DeliveryCounts are over the counted subscribers: the events of refused publishes are
  // refusedNotDelivered (at most publishErrors x subscribers) or, when they arrived anyway,
  // refusedDelivered. Results written before that split lack the two refused fields, and
  // their `lost` includes the refused events.
  /** `ssehub-reset` notices received, in all and by reason. */
  readonly resets: number;
  readonly resetReasons: Readonly<Record<string, number>>;
  /** Streams the server closed, reconnects that got a 200 again, and those that failed. */
  readonly dropped: number;
  readonly reconnects: number;
  readonly failedReconnects: number;
  readonly recovery: FaultRecovery;
}

/** The `faults` scenario: faults injected one after another during a fanout with churn. */
export interface FaultsSummary {
  /** Publishing window per fault, in ms; the fault comes a quarter into it. */
  readonly faultIntervalMs: number;
  /** pause-redis: how long Redis stays stopped, in ms. */
  readonly pauseMs: number;
  readonly faults: readonly FaultReport[];
}

/** The server's processes, read from /proc. */
export interface ServerSummary {
  /** The pids measured: those given or found listening, and all their descendants. */
  readonly pids: readonly number[];
  /** VmRSS summed before the first subscriber connected. */
  readonly rssBaselineBytes: number;
  /** VmRSS summed at the end of the measured window (idle: at the end of the hold). */
  readonly rssBytes: number;
  /**
   * (rssBytes - rssBaselineBytes) / established subscribers. Meaningful only against a server
   * started fresh for the run: memory an earlier run made the process take stays in its RSS
   * (V8 and malloc keep freed pages), which raises the baseline and lowers this figure. Null
   * without subscribers, and when the RSS fell below its baseline (never a negative size).
   */
  readonly rssPerConnectionBytes: number | null;
  /** utime + stime over the measured window, in seconds (10 ms resolution). */
  readonly cpuSeconds: number;
  /** cpuSeconds / delivered, in µs; null without deliveries. */
  readonly cpuMicrosPerDelivery: number | null;
  /** The measured window, in seconds. */
  readonly windowSeconds: number;
  /** utime + stime while the subscribers connected, in seconds: what the connect rate cost. */
  readonly connectCpuSeconds: number;
}

/** The load tool's own use of the machine, to tell whether it was the bottleneck. */
export interface LoadgenSummary {
  /** Worker processes holding the subscribers (the controller publishes). */
  readonly processes: number;
  /** Source addresses the subscribers connected from. */
  readonly sourceAddresses: readonly string[];
  /** CPU of the controller and the workers over the measured window, in seconds. */
  readonly cpuSeconds: number;
  /** cpuSeconds / windowSeconds: 1 is one core fully busy. */
  readonly coreShare: number;
  /** The busiest single process's share of one core; near 1 means the tool saturated. */
  readonly busiestProcessCoreShare: number;
  /** The worst p99 event-loop delay of a worker, in ms; large values delay latency samples. */
  readonly eventLoopDelayP99Ms: number | null;
  readonly windowSeconds: number;
  /** CPU of the controller and the workers while the subscribers connected, in seconds. */
  readonly connectCpuSeconds: number;
  /** The busiest process's share of one core while the subscribers connected. */
  readonly connectBusiestProcessCoreShare: number;
  /** RSS of the controller and the workers at the end of the window; null without /proc. */
  readonly rssBytes: number | null;
  /**
   * rssBytes above the tool's own before the first connect, per established subscriber; null
   * when it fell below that baseline.
   */
  readonly rssPerConnectionBytes: number | null;
}

/** The cross-check of the fast byte scanner against the full SseParser. */
export interface VerifySummary {
  /** `sample`: one subscriber per worker; `all`: every subscriber (--verify). */
  readonly mode: "sample" | "all";
  readonly subscribers: number;
  /** Events the full parser saw. */
  readonly events: number;
  /** Subscribers whose event count or sequence checksum differed between the two. */
  readonly mismatches: number;
}

/** The verdict: passed unless a threshold was crossed. */
export interface ThresholdsSummary {
  readonly passed: boolean;
  /** One sentence per threshold crossed. */
  readonly failures: readonly string[];
}

/** One run of one scenario: the object `ssehub bench --json` prints. */
export interface BenchResult {
  readonly schema: typeof RESULT_SCHEMA;
  readonly scenario: ScenarioName;
  /** When the run started, ISO 8601. */
  readonly startedAt: string;
  /** The whole run, connects and drain included, in seconds. */
  readonly wallSeconds: number;
  readonly machine: {
    readonly node: string;
    readonly cpus: number;
    readonly platform: string;
    /**
     * The 1-minute load average when the run started and when it ended. Above the number of
     * cores, other work shared the machine and the figures are not trustworthy.
     */
    readonly loadAverageStart: number;
    readonly loadAverageEnd: number;
  };
  readonly target: {
    /** `ssehub`, `nchan`, `better-sse` or `custom`. */
    readonly adapter: string;
    /** The first URL: the publishers publish there. */
    readonly url: string;
    /**
     * Every URL, `url` first: the subscribers spread over them round robin and move to the
     * next one on every reconnect. One entry when a single URL is given.
     */
    readonly urls: readonly string[];
    /** The subscribe URL of the first subscriber, and the publish URL of the first topic. */
    readonly subscribeUrl: string;
    readonly publishUrl: string;
  };
  /** The resolved options of the run, as flags name them (camelCase). */
  readonly params: Readonly<Record<string, number | string | boolean | null>>;
  readonly connections: ConnectionsSummary;
  readonly delivery: DeliverySummary | null;
  readonly latency: LatencySummary | null;
  readonly publish: PublishSummary | null;
  readonly churn: ChurnSummary | null;
  readonly ladder: LadderSummary | null;
  readonly faults: FaultsSummary | null;
  /** idle only: the kernel's socket memory (kernel-memory.ts); null elsewhere or without /proc. */
  readonly kernel: KernelSummary | null;
  readonly server: ServerSummary | null;
  readonly loadgen: LoadgenSummary;
  readonly verify: VerifySummary | null;
  readonly thresholds: ThresholdsSummary;
}

/** The percentiles of `histogram`, or null when it is empty. */
export function summarizeLatency(histogram: Histogram): LatencySummary | null {
  if (histogram.count === 0) return null;
  return {
    count: histogram.count,
    minUs: histogram.min,
    meanUs: Math.round(histogram.mean),
    p50Us: histogram.percentile(50),
    p90Us: histogram.percentile(90),
    p99Us: histogram.percentile(99),
    p999Us: histogram.percentile(99.9),
    maxUs: histogram.max,
  };
}
