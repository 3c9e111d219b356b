/**
 * The messages between the controller (the `ssehub bench` process) and its worker processes
 * (worker.ts), over the IPC channel of child_process.fork. Plain JSON values only.
 *
 * ```
 * controller                          worker
 *   fork(worker.js) ------------------> (starts)
 *   <------------------------------------ ready
 *   init {config} ---------------------->
 *   connect ---------------------------> opens its subscribers, N at a time
 *   <------------------------------------ stats (every second, until closed)
 *   <------------------------------------ connected {report}
 *   phase-start {base} ----------------> resets counters
 *   <------------------------------------ phase-started
 *   (publishes over HTTP)
 *   phase-end {final, refused, drainMs} > waits until nothing is owed, or drainMs
 *   <------------------------------------ phase-result {report}
 *   churn {ratePerSec} ----------------> reconnects with Last-Event-ID (0 stops)
 *   mark {atUs} -----------------------> recovery times count from events sent after atUs
 *   close -----------------------------> closes every socket
 *   <------------------------------------ closed {stats}, then exits
 * ```
 * @module
 */
import type { HistogramSnapshot } from "./histogram.js";
import type { DeliveryCounts } from "./result.js";
import type { StreamSeq } from "./seq-tracker.js";
import type { TargetSpec } from "./targets.js";

/** How a subscriber's streams map onto topics. */
export type StreamMode =
  /** A stream per topic: subscriber i follows topics (i*M + j) mod N, j < M. */
  | "topic"
  /** Every subscriber follows topic 0, on which `streams` publishers keep their own sequences. */
  | "all";

/** What a worker needs to open and follow its subscribers. */
export interface WorkerConfig {
  readonly workerIndex: number;
  /**
   * One target per URL: subscriber i first connects to `targets[i mod n]`, and every reconnect
   * moves it to the next one.
   */
  readonly targets: readonly TargetSpec[];
  /** Global indexes of this worker's subscribers: [from, to). */
  readonly from: number;
  readonly to: number;
  /** Topic i is named `${topicPrefix}${i}`. */
  readonly topicPrefix: string;
  /** Topics in all (N). */
  readonly topics: number;
  /** Topics per subscriber (M), `topic` mode. */
  readonly topicsPerSubscriber: number;
  readonly streamMode: StreamMode;
  /** Streams on topic 0, `all` mode. */
  readonly streams: number;
  /**
   * Local addresses to connect from, round robin by subscriber index, each socket bound to an
   * explicit local port of this worker's share; empty: the kernel chooses both.
   */
  readonly sourceAddresses: readonly string[];
  /** Worker processes in all: worker i binds local ports i, i + processes, ... of the range. */
  readonly processes: number;
  /** Connects in flight at once, in this worker. */
  readonly connectConcurrency: number;
  readonly connectTimeoutMs: number;
  /** Keep the last event id of each subscriber (for resuming). */
  readonly trackIds: boolean;
  /** Reconnect with Last-Event-ID when the server closes a stream (churn, faults). */
  readonly reconnectOnClose: boolean;
  /** Read the event type of foreign events and count `ssehub-reset` notices (faults). */
  readonly trackNotices: boolean;
  /** Run the full SseParser beside the scanner on the first subscriber only, or on all. */
  readonly verify: "sample" | "all";
  readonly statsIntervalMs: number;
}

/** Counters of a worker, sent every second and at the end. */
export interface WorkerStats {
  readonly open: number;
  readonly connecting: number;
  readonly established: number;
  readonly failed: number;
  readonly dropped: number;
  /** Events received since the worker started. */
  readonly events: number;
  readonly reconnects: number;
  readonly failedReconnects: number;
}

/** The outcome of the first connects of a worker's subscribers. */
export interface ConnectReport {
  readonly attempted: number;
  readonly established: number;
  readonly failed: number;
  /** Subscribers established per URL, in the order of WorkerConfig.targets. */
  readonly establishedByUrl: readonly number[];
  readonly errors: Readonly<Record<string, number>>;
  readonly connectLatency: HistogramSnapshot;
  /** Monotonic µs (payload.ts monotonicMicros) of the first connect and of the last `200`. */
  readonly firstConnectUs: number;
  readonly lastEstablishedUs: number;
}

/** What a worker's subscribers got during a phase. */
export interface PhaseReport extends DeliveryCounts {
  /** Subscribers counted: those established when the phase started. */
  readonly subscribers: number;
  readonly dropped: number;
  readonly latency: HistogramSnapshot;
  /** Monotonic µs of the last event received; 0 when none. */
  readonly lastEventUs: number;
  readonly reconnects: number;
  readonly failedReconnects: number;
  readonly reconnectLatency: HistogramSnapshot;
  /** Failed reconnect attempts by cause, as ConnectReport.errors. */
  readonly reconnectErrors: Readonly<Record<string, number>>;
  readonly verify: {
    readonly subscribers: number;
    readonly events: number;
    readonly mismatches: number;
  };
  /** p99 event-loop delay of the worker over the phase, in ms. */
  readonly eventLoopDelayP99Ms: number;
  /** `ssehub-reset` notices received in the phase, by reason (trackNotices only). */
  readonly resetReasons: Readonly<Record<string, number>>;
  /** Monotonic µs of the first delivery of an event sent after the phase's mark; 0: none. */
  readonly firstAfterMarkUs: number;
  /** Monotonic µs when the last counted subscriber got its first such event; 0: none. */
  readonly allAfterMarkUs: number;
  /** Counted subscribers that got an event sent after the mark. */
  readonly subscribersAfterMark: number;
}

/** Controller -> worker. */
export type ControllerMessage =
  | { readonly type: "init"; readonly config: WorkerConfig }
  | { readonly type: "connect" }
  | { readonly type: "phase-start"; readonly base: readonly number[] }
  | {
      readonly type: "phase-end";
      readonly final: readonly number[];
      /** The stream and seq of every publish of the phase that was refused (or lost). */
      readonly refused: readonly StreamSeq[];
      readonly drainMs: number;
    }
  | { readonly type: "churn"; readonly ratePerSec: number }
  /** Events sent from `atUs` on (monotonic µs) count for the recovery times of the phase. */
  | { readonly type: "mark"; readonly atUs: number }
  | { readonly type: "close" };

/** Worker -> controller. */
export type WorkerMessage =
  | { readonly type: "ready" }
  | { readonly type: "stats"; readonly stats: WorkerStats }
  | { readonly type: "connected"; readonly report: ConnectReport }
  | { readonly type: "phase-started" }
  | { readonly type: "phase-result"; readonly report: PhaseReport }
  | { readonly type: "closed"; readonly stats: WorkerStats }
  | { readonly type: "fatal"; readonly message: string };
