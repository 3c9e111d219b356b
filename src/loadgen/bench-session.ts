/**
 * What every scenario does the same way: the worker processes and their subscribers, the
 * server and load-tool processes read from /proc around a measured window, a measured phase
 * of publishing (reset counters, publish, drain, add up the workers' reports), the progress
 * line, and closing everything at the end.
 * @module
 */
import type { ResolvedBenchOptions } from "./bench-options.js";
import { addCounts } from "./counts.js";
import { Histogram } from "./histogram.js";
import {
  type KernelSample,
  type KernelSummary,
  kernelSummary,
  readKernelSample,
} from "./kernel-memory.js";
import type { ConnectReport, PhaseReport, WorkerConfig, WorkerStats } from "./messages.js";
import { monotonicMicros } from "./payload.js";
import { perConnectionBytes } from "./per-connection.js";
import {
  findListeningPids,
  hasProcfs,
  type ProcessSample,
  readTcpCounters,
  sampleProcesses,
  type TcpCounters,
} from "./proc-stats.js";
import { Publisher, type PublishReport } from "./publisher.js";
import type {
  BenchResult,
  ConnectionsSummary,
  DeliverySummary,
  FaultsSummary,
  LoadgenSummary,
  ServerSummary,
  VerifySummary,
} from "./result.js";
import { type DeliveryCounts, deliveryCountsOf, summarizeLatency } from "./result.js";
import { createTarget, type Target } from "./targets.js";
import { WorkerGroup } from "./worker-group.js";

/** How often workers report their counters and the progress line refreshes, in ms. */
const STATS_INTERVAL_MS = 1000;
/** Pause between the last connect and the first event, so that every stream is registered. */
const SETTLE_MS = 250;

/** How a caller follows and stops a run. */
export interface BenchHooks {
  /** Ends the run early: publishing and holding stop, and the figures so far are reported. */
  readonly signal?: AbortSignal | undefined;
  /** Called every second with a one-line status (for a live progress line). */
  readonly progress?: ((line: string) => void) | undefined;
}

/** What a scenario measured: the sections of the result that depend on the scenario. */
export type ScenarioOutcome = Pick<
  BenchResult,
  "delivery" | "latency" | "publish" | "churn" | "ladder" | "server" | "loadgen" | "verify"
> & { readonly faults?: FaultsSummary | null; readonly kernel?: KernelSummary | null };

/** The server and the load tool, read at one moment. */
export interface WindowSample {
  readonly server: ProcessSample | null;
  readonly loadgen: ProcessSample | null;
  /** The controller's own CPU, for machines without /proc. */
  readonly selfCpuSeconds: number;
  readonly atMs: number;
}

/** The workers' phase reports, added up. */
export interface PhaseTotals extends DeliveryCounts {
  readonly subscribers: number;
  readonly dropped: number;
  readonly latency: Histogram;
  readonly lastEventUs: number;
  readonly reconnects: number;
  readonly failedReconnects: number;
  readonly reconnectLatency: Histogram;
  readonly reconnectErrors: Readonly<Record<string, number>>;
  readonly verify: VerifySummary;
  readonly eventLoopDelayP99Ms: number;
  /** `ssehub-reset` notices by reason (faults). */
  readonly resetReasons: Readonly<Record<string, number>>;
  /** After the phase's mark: the earliest first delivery of a later event (0: none). */
  readonly firstAfterMarkUs: number;
  /** After the mark: when the last counted subscriber got its first later event (0: none). */
  readonly allAfterMarkUs: number;
  /** Counted subscribers that got an event sent after the mark. */
  readonly subscribersAfterMark: number;
}

/** One measured phase of publishing. */
export interface PhaseOutcome {
  readonly publish: PublishReport;
  readonly totals: PhaseTotals;
  readonly before: WindowSample;
  readonly after: WindowSample;
  readonly publishStartUs: number;
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted === true) {
      resolve();
      return;
    }
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

function selfCpuSeconds(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
}

/** The running state of one bench run. Create with BenchSession.open(). */
export class BenchSession {
  readonly options: ResolvedBenchOptions;
  readonly target: Target;
  readonly hooks: BenchHooks;
  /** Topic i is `${topicPrefix}${i}`: fresh names per run, so no history of an earlier run. */
  readonly topicPrefix: string;
  readonly group: WorkerGroup;
  readonly serverPids: readonly number[] | null;
  readonly serverBaseline: ProcessSample | null;
  /** The kernel's socket memory and the load tool's RSS before the first connect. */
  readonly kernelBaseline: KernelSample | null;
  readonly loadgenBaseline: ProcessSample | null;
  #progressTimer: NodeJS.Timeout | undefined;
  #progressLabel = "starting";
  #progressEvents = 0;
  #progressAt = performance.now();
  #publisher: Publisher | undefined;
  #connectReports: ConnectReport[] = [];
  /** The machine's TCP counters when the session opened. */
  readonly #tcpAtStart = readTcpCounters();
  #connectCpuSeconds = 0;
  #connectLoadgen: { cpuSeconds: number; busiest: number } = { cpuSeconds: 0, busiest: 0 };

  private constructor(
    options: ResolvedBenchOptions,
    hooks: BenchHooks,
    group: WorkerGroup,
    serverPids: readonly number[] | null,
    topicPrefix: string,
  ) {
    this.options = options;
    this.hooks = hooks;
    this.target = createTarget(options.target);
    this.group = group;
    this.serverPids = serverPids;
    this.topicPrefix = topicPrefix;
    this.serverBaseline = serverPids === null ? null : sampleProcesses(serverPids);
    this.kernelBaseline = readKernelSample();
    this.loadgenBaseline = hasProcfs()
      ? sampleProcesses([process.pid, ...group.pids], false)
      : null;
  }

  /** Finds the server's processes, forks the workers, takes the server's baseline. */
  static async open(options: ResolvedBenchOptions, hooks: BenchHooks): Promise<BenchSession> {
    let serverPids: readonly number[] | null = options.serverPids;
    if (serverPids === null && hasProcfs()) {
      // Every process listening on the port of any URL: the nodes of one hub add up. The tool's
      // own process may hold the server (tests): it is not measured as the server.
      const ports = new Set(options.targets.map((spec) => createTarget(spec).subscribe.port));
      const found = new Set<number>();
      for (const port of ports) {
        for (const pid of findListeningPids(port, new Set([process.pid]))) found.add(pid);
      }
      serverPids = found.size === 0 ? null : [...found].sort((a, b) => a - b);
    }
    const topicPrefix = `${options.topicPrefix}${Date.now().toString(36)}-`;
    const { processes, subscribers } = options;
    const configs: WorkerConfig[] = [];
    const streamMode = options.scenario === "publish" ? "all" : "topic";
    for (let w = 0; w < processes; w++) {
      configs.push({
        workerIndex: w,
        targets: options.targets,
        from: Math.floor((subscribers * w) / processes),
        to: Math.floor((subscribers * (w + 1)) / processes),
        topicPrefix,
        topics: options.topics,
        topicsPerSubscriber: options.topicsPerSubscriber,
        streamMode,
        streams: options.connections,
        sourceAddresses: options.sourceAddresses,
        processes,
        connectConcurrency: Math.max(1, Math.ceil(options.connectConcurrency / processes)),
        connectTimeoutMs: options.connectTimeoutMs,
        trackIds: options.scenario === "churn" || options.scenario === "faults",
        reconnectOnClose: options.scenario === "churn" || options.scenario === "faults",
        trackNotices: options.scenario === "faults",
        verify: options.verify ? "all" : "sample",
        statsIntervalMs: STATS_INTERVAL_MS,
      });
    }
    const group = await WorkerGroup.start(configs);
    try {
      const session = new BenchSession(options, hooks, group, serverPids, topicPrefix);
      session.#startProgress();
      return session;
    } catch (error) {
      // Live workers would keep this process alive after the error: end them.
      group.kill();
      throw error;
    }
  }

  /** The name of topic `index`. */
  topicName(index: number): string {
    return `${this.topicPrefix}${index}`;
  }

  /**
   * A publisher of the tool's payload to this session's target, over `connections` connections
   * spread over `streams` topics.
   */
  createPublisher(connections: number, streams: number): Publisher {
    return new Publisher({
      target: this.target,
      topicName: (index) => this.topicName(index),
      sizeBytes: this.options.sizeBytes,
      connections,
      streams,
    });
  }

  /** Tells the progress line what is going on, and which publisher to count. */
  setPhase(label: string, publisher?: Publisher): void {
    this.#progressLabel = label;
    if (publisher !== undefined) this.#publisher = publisher;
  }

  #startProgress(): void {
    const progress = this.hooks.progress;
    if (progress === undefined) return;
    const started = performance.now();
    this.#progressTimer = setInterval(() => {
      const stats = this.group.stats();
      const now = performance.now();
      const rate = ((stats.events - this.#progressEvents) * 1000) / (now - this.#progressAt);
      this.#progressEvents = stats.events;
      this.#progressAt = now;
      const seq = this.#publisher?.sequences.reduce((a, b) => a + b, 0);
      progress(
        `[${this.options.scenario}] ${((now - started) / 1000).toFixed(0)}s ${this.#progressLabel}: ` +
          `open ${stats.open}/${this.options.subscribers} connecting ${stats.connecting} failed ${stats.failed} ` +
          `dropped ${stats.dropped} | events ${Math.round(rate)}/s` +
          (seq === undefined ? "" : ` | published ${seq}`) +
          (stats.reconnects > 0 ? ` | reconnects ${stats.reconnects}` : ""),
      );
    }, STATS_INTERVAL_MS);
    this.#progressTimer.unref();
  }

  /** Opens every subscriber and waits a moment for the server to register them all. */
  async connect(): Promise<void> {
    this.setPhase("connecting");
    const before = this.sample();
    this.#connectReports = await this.group.connect();
    const after = this.sample();
    if (before.server !== null && after.server !== null) {
      this.#connectCpuSeconds = cpuDelta(before.server.cpuSeconds, after.server.cpuSeconds);
    }
    this.#connectLoadgen = loadgenCpu(before, after);
    await pause(SETTLE_MS, this.hooks.signal);
  }

  /** The connections summary; `dropped` from the workers' final counters. */
  connectionsSummary(final: WorkerStats): ConnectionsSummary {
    const reports = this.#connectReports;
    const latency = new Histogram();
    const errors: Record<string, number> = {};
    let attempted = 0;
    let established = 0;
    let failed = 0;
    const establishedByUrl = this.options.targets.map(() => 0);
    let firstUs = Number.POSITIVE_INFINITY;
    let lastUs = 0;
    for (const report of reports) {
      attempted += report.attempted;
      established += report.established;
      failed += report.failed;
      report.establishedByUrl.forEach((count, i) => {
        establishedByUrl[i] = (establishedByUrl[i] ?? 0) + count;
      });
      latency.mergeSnapshot(report.connectLatency);
      for (const [code, count] of Object.entries(report.errors)) {
        errors[code] = (errors[code] ?? 0) + count;
      }
      if (report.attempted > 0) {
        firstUs = Math.min(firstUs, report.firstConnectUs);
        lastUs = Math.max(lastUs, report.lastEstablishedUs);
      }
    }
    const connectSeconds = Number.isFinite(firstUs) ? Math.max(0, lastUs - firstUs) / 1e6 : 0;
    return {
      attempted,
      established,
      failed,
      failedRatio: attempted === 0 ? 0 : failed / attempted,
      establishedByUrl,
      dropped: final.dropped,
      errors,
      connectSeconds,
      connectRatePerSec: connectSeconds > 0 ? established / connectSeconds : 0,
      connectLatency: summarizeLatency(latency),
      ...tcpCountersSince(this.#tcpAtStart),
    };
  }

  /** What each worker's connect phase reported. */
  get connectReports(): readonly ConnectReport[] {
    return this.#connectReports;
  }

  /** Subscribers established at first connect. */
  get established(): number {
    return this.#connectReports.reduce((sum, report) => sum + report.established, 0);
  }

  /** Reads the server's and the load tool's processes now. */
  sample(): WindowSample {
    const procfs = hasProcfs();
    return {
      server: this.serverPids === null ? null : sampleProcesses(this.serverPids),
      loadgen: procfs ? sampleProcesses([process.pid, ...this.group.pids], false) : null,
      selfCpuSeconds: selfCpuSeconds(),
      atMs: performance.now(),
    };
  }

  /** The server's figures between two samples; null when the server is not measured. */
  serverSummary(
    before: WindowSample,
    after: WindowSample,
    delivered: number | null,
  ): ServerSummary | null {
    const baseline = this.serverBaseline;
    if (baseline === null || before.server === null || after.server === null) return null;
    const cpuSeconds = cpuDelta(before.server.cpuSeconds, after.server.cpuSeconds);
    const established = this.established;
    return {
      pids: after.server.pids,
      rssBaselineBytes: baseline.rssBytes,
      rssBytes: after.server.rssBytes,
      rssPerConnectionBytes: perConnectionBytes(
        after.server.rssBytes,
        baseline.rssBytes,
        established,
      ),
      cpuSeconds,
      cpuMicrosPerDelivery:
        delivered !== null && delivered > 0 ? (cpuSeconds * 1e6) / delivered : null,
      windowSeconds: (after.atMs - before.atMs) / 1000,
      connectCpuSeconds: this.#connectCpuSeconds,
    };
  }

  /** The kernel's socket memory now, above its baseline, per established subscriber. */
  kernelSummary(): KernelSummary | null {
    const sample = readKernelSample();
    if (this.kernelBaseline === null || sample === null) return null;
    return kernelSummary(this.kernelBaseline, sample, this.established);
  }

  /** The load tool's own CPU between two samples. */
  loadgenSummary(
    before: WindowSample,
    after: WindowSample,
    loopDelayMs: number | null,
  ): LoadgenSummary {
    const windowSeconds = Math.max(1e-6, (after.atMs - before.atMs) / 1000);
    const { cpuSeconds, busiest } = loadgenCpu(before, after);
    const connect = this.#connectLoadgen;
    return {
      processes: this.group.size,
      sourceAddresses:
        this.options.sourceAddresses.length === 0
          ? [this.target.subscribe.host]
          : this.options.sourceAddresses,
      cpuSeconds,
      coreShare: cpuSeconds / windowSeconds,
      busiestProcessCoreShare: busiest,
      eventLoopDelayP99Ms: loopDelayMs,
      windowSeconds,
      connectCpuSeconds: connect.cpuSeconds,
      connectBusiestProcessCoreShare: connect.busiest,
      rssBytes: after.loadgen?.rssBytes ?? null,
      rssPerConnectionBytes:
        after.loadgen != null && this.loadgenBaseline !== null
          ? perConnectionBytes(
              after.loadgen.rssBytes,
              this.loadgenBaseline.rssBytes,
              this.established,
            )
          : null,
    };
  }

  /**
   * One measured phase: the workers reset their counters at the publisher's current sequence
   * numbers, `publish` runs, then the workers wait for what is still owed and report (told
   * which publishes were refused, so that their missing events are not counted lost).
   */
  async measurePhase(
    publisher: Publisher,
    publish: () => Promise<PublishReport>,
  ): Promise<PhaseOutcome> {
    await this.group.startPhase(publisher.sequences);
    const before = this.sample();
    const publishStartUs = monotonicMicros();
    const report = await publish();
    const reports = await this.group.endPhase(
      publisher.sequences,
      this.options.drainMs,
      publisher.refused,
    );
    const after = this.sample();
    return {
      publish: report,
      totals: addUp(reports, this.options.verify),
      before,
      after,
      publishStartUs,
    };
  }

  /** The delivery figures of a phase; `offeredRate` null when publishing as fast as possible. */
  deliverySummary(phase: PhaseOutcome, offeredRate: number | null): DeliverySummary {
    const { publish, totals } = phase;
    const sinceStart =
      totals.lastEventUs > phase.publishStartUs
        ? (totals.lastEventUs - phase.publishStartUs) / 1e6
        : 0;
    const windowSeconds = Math.max(publish.seconds, sinceStart, 1e-6);
    return {
      offeredRatePerSec: offeredRate,
      published: publish.ok,
      publishErrors: publish.errors,
      publishedRatePerSec: publish.seconds > 0 ? publish.ok / publish.seconds : 0,
      publishSeconds: publish.seconds,
      ...deliveryCountsOf(totals),
      windowSeconds,
      deliveriesPerSec: totals.delivered / windowSeconds,
      offeredDeliveriesPerSec:
        offeredRate === null || publish.sent === 0
          ? null
          : (offeredRate * totals.expected) / publish.sent,
    };
  }

  /** Closes every subscriber and the workers; returns the workers' final counters. */
  async close(): Promise<WorkerStats> {
    if (this.#progressTimer !== undefined) clearInterval(this.#progressTimer);
    return this.group.close();
  }
}

/** CPU seconds spent between two readings, rounded to the ms (the clock ticks are 10 ms). */
function cpuDelta(before: number, after: number): number {
  return Math.max(0, Math.round((after - before) * 1000) / 1000);
}

/**
 * The load tool's CPU between two samples, in all and of its busiest process, in seconds (the
 * busiest as a share of one core).
 */
function loadgenCpu(
  before: WindowSample,
  after: WindowSample,
): { cpuSeconds: number; busiest: number } {
  const windowSeconds = Math.max(1e-6, (after.atMs - before.atMs) / 1000);
  if (before.loadgen === null || after.loadgen === null) {
    const cpuSeconds = cpuDelta(before.selfCpuSeconds, after.selfCpuSeconds);
    return { cpuSeconds, busiest: cpuSeconds / windowSeconds };
  }
  let busiest = 0;
  for (const [pid, cpu] of after.loadgen.cpuByPid) {
    busiest = Math.max(busiest, cpu - (before.loadgen.cpuByPid.get(pid) ?? 0));
  }
  return {
    cpuSeconds: cpuDelta(before.loadgen.cpuSeconds, after.loadgen.cpuSeconds),
    busiest: busiest / windowSeconds,
  };
}

/** The growth of the machine's TCP counters since `start`; nulls where they cannot be read. */
function tcpCountersSince(start: TcpCounters | null): {
  listenOverflows: number | null;
  synRetransmits: number | null;
} {
  const now = readTcpCounters();
  if (start === null || now === null) return { listenOverflows: null, synRetransmits: null };
  return {
    listenOverflows: now.listenOverflows - start.listenOverflows,
    synRetransmits: now.synRetransmits - start.synRetransmits,
  };
}

/** The fields of the workers' phase reports that add up across workers. */
const SUMMED_REPORT_FIELDS = [
  "subscribers",
  "expected",
  "delivered",
  "lost",
  "refusedNotDelivered",
  "refusedDelivered",
  "duplicated",
  "reordered",
  "foreign",
  "dropped",
  "reconnects",
  "failedReconnects",
] as const;

/** Adds up the workers' phase reports. */
function addUp(reports: readonly PhaseReport[], verifyAll: boolean): PhaseTotals {
  const latency = new Histogram();
  const reconnectLatency = new Histogram();
  const totals = {
    subscribers: 0,
    expected: 0,
    delivered: 0,
    lost: 0,
    refusedNotDelivered: 0,
    refusedDelivered: 0,
    duplicated: 0,
    reordered: 0,
    foreign: 0,
    dropped: 0,
    lastEventUs: 0,
    reconnects: 0,
    failedReconnects: 0,
    eventLoopDelayP99Ms: 0,
  };
  const verify = { subscribers: 0, events: 0, mismatches: 0 };
  const reconnectErrors: Record<string, number> = {};
  const resetReasons: Record<string, number> = {};
  let firstAfterMarkUs = 0;
  let allAfterMarkUs = 0;
  let subscribersAfterMark = 0;
  for (const report of reports) {
    for (const [reason, count] of Object.entries(report.resetReasons)) {
      resetReasons[reason] = (resetReasons[reason] ?? 0) + count;
    }
    if (report.firstAfterMarkUs > 0) {
      firstAfterMarkUs =
        firstAfterMarkUs === 0
          ? report.firstAfterMarkUs
          : Math.min(firstAfterMarkUs, report.firstAfterMarkUs);
    }
    allAfterMarkUs = Math.max(allAfterMarkUs, report.allAfterMarkUs);
    subscribersAfterMark += report.subscribersAfterMark;
    for (const [code, count] of Object.entries(report.reconnectErrors)) {
      reconnectErrors[code] = (reconnectErrors[code] ?? 0) + count;
    }
    addCounts(totals, report, SUMMED_REPORT_FIELDS);
    totals.lastEventUs = Math.max(totals.lastEventUs, report.lastEventUs);
    totals.eventLoopDelayP99Ms = Math.max(totals.eventLoopDelayP99Ms, report.eventLoopDelayP99Ms);
    latency.mergeSnapshot(report.latency);
    reconnectLatency.mergeSnapshot(report.reconnectLatency);
    addCounts(verify, report.verify, ["subscribers", "events", "mismatches"]);
  }
  return {
    ...totals,
    latency,
    reconnectLatency,
    reconnectErrors,
    verify: { mode: verifyAll ? "all" : "sample", ...verify },
    resetReasons,
    firstAfterMarkUs,
    // Every counted subscriber must have recovered for the last one's time to mean anything.
    allAfterMarkUs: subscribersAfterMark === totals.subscribers ? allAfterMarkUs : 0,
    subscribersAfterMark,
  };
}
