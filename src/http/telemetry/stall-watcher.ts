/**
 * The stall watcher: when a turn of the event loop blocks for `stallThresholdMs` or more, it
 * keeps a report naming what the process was doing, counts it in `ssehub_stalls_total{phase}`
 * and logs it (one line per stall, or one line with a count for a storm of them).
 *
 * Three sources, one ring of reports:
 * - the hub's timed pieces of work (diagnostics/activity.ts): dispatch, replay, publish, bus
 *   catch-up report themselves as they end, with their exact figures;
 * - a loop-level detector, for blocks outside those pieces: a timer that should fire every
 *   INTERVAL ms notes how late it fires (the delay, which also feeds the event-loop delay
 *   figures); a delay at or past the threshold that the timed pieces do not explain, while
 *   the loop was busy (event-loop utilization: a process the machine did not schedule while
 *   it sat idle has not stalled), is a `unknown` stall (application code, synchronous I/O, a
 *   long callback);
 * - a PerformanceObserver of garbage collection: a pause at or past the threshold is a `gc`
 *   stall, and is subtracted from the delay the detector sees, so that one pause is not also
 *   reported as unknown. GC entries arrive after the turn they paused, so the detector decides
 *   on an unexplained delay one tick later.
 *
 * The watcher keeps no timer alive (unref) and costs one timer every INTERVAL ms.
 * @module
 */
import { createRequire } from "node:module";
import {
  constants,
  createHistogram,
  type EventLoopUtilization,
  PerformanceObserver,
  performance,
  type RecordableHistogram,
} from "node:perf_hooks";
import type { Registry } from "prom-client";
import {
  activity,
  type PhaseStall,
  STALL_PHASES,
  type StallPhase,
} from "../../diagnostics/activity.js";
import type { StallReport } from "../../diagnostics/diagnosis.js";
import type { Logger } from "./logger.js";
import { StallProfiler } from "./stall-profiler.js";

/** Reports kept, the newest. */
export const STALL_REPORTS_KEPT = 100;
/** One log line per this many ms at most; stalls in between are counted in the next line. */
const LOG_INTERVAL_MS = 10_000;
/** Length of one window of the delay and GC figures, in ms; figures cover this one and the last. */
const WINDOW_MS = 30_000;
/** GC entries kept to explain a delay. */
const GC_ENTRIES_KEPT = 64;
const NS_PER_MS = 1e6;

/** The detector's tick for `thresholdMs`: a quarter of it, within 5 to 50 ms. */
function intervalFor(thresholdMs: number): number {
  return Math.min(50, Math.max(5, Math.floor(thresholdMs / 4)));
}

/** What kind of garbage collection a `gc` entry is, in words. */
function gcKindName(kind: number | undefined): string {
  switch (kind) {
    case constants.NODE_PERFORMANCE_GC_MAJOR:
      return "major";
    case constants.NODE_PERFORMANCE_GC_MINOR:
      return "minor";
    case constants.NODE_PERFORMANCE_GC_INCREMENTAL:
      return "incremental";
    case constants.NODE_PERFORMANCE_GC_WEAKCB:
      return "weak-callback";
    default:
      return "";
  }
}

function formatMs(ms: number): string {
  return ms >= 10 ? `${Math.round(ms)} ms` : `${ms.toFixed(1)} ms`;
}

function formatBytes(bytes: number): string {
  if (bytes >= 1_048_576) return `${(bytes / 1_048_576).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes} B`;
}

/** The sentence of a report of a timed piece. */
function summaryOf(stall: PhaseStall): string {
  const took = formatMs(stall.durationMs);
  switch (stall.phase) {
    case "dispatch":
      return `Fan-out of ${stall.batchSize} event(s) to ${stall.subscribers} subscriber(s) (${formatBytes(stall.bytesQueued)} queued) blocked the loop for ${took}; the largest topic was ${JSON.stringify(stall.topic)}`;
    case "replay":
      return `A resume on ${JSON.stringify(stall.topic)} handled ${stall.batchSize} event(s) of history in one turn, blocking the loop for ${took}`;
    case "publish":
      return `A publish of ${stall.batchSize} event(s) (a ${formatBytes(stall.bytesQueued)} body) blocked the loop for ${took} while it was parsed, checked and ordered`;
    case "bus-catch-up":
      return `Taking ${stall.batchSize} event(s) from the bus in one turn blocked the loop for ${took}`;
    default:
      return `The loop was blocked for ${took}`;
  }
}

/** Options of StallWatcher. */
export interface StallWatcherOptions {
  /** Blocks this long or longer are reported, in ms; 0: the watcher is off. */
  readonly thresholdMs: number;
  readonly logger: Logger;
  /** How long a CPU profile taken after a stall runs, in ms; 0 (the default): none. */
  readonly profileMs?: number | undefined;
}

/** A delay the detector could not explain yet: decided on at the next tick. */
interface PendingDelay {
  readonly from: number;
  readonly to: number;
  readonly unexplainedMs: number;
}

/** Figures of the event loop over the last 30 to 60 s. */
export interface LoopFigures {
  readonly delayP50Ms: number;
  readonly delayP99Ms: number;
  readonly delayMaxMs: number;
  readonly utilization: number;
  readonly windowSeconds: number;
  readonly gcCount: number;
  readonly gcTotalMs: number;
  readonly gcLongestMs: number;
}

interface GcWindow {
  count: number;
  totalMs: number;
  longestMs: number;
}

/** Watches the event loop of this process (see the module comment). */
export class StallWatcher {
  readonly thresholdMs: number;
  readonly #logger: Logger;
  readonly #intervalMs: number;
  readonly #reports: StallReport[] = [];
  readonly #counts = new Map<StallPhase, number>(STALL_PHASES.map((phase) => [phase, 0]));
  #total = 0;
  #stopWatching: (() => void) | undefined;
  #timer: NodeJS.Timeout | undefined;
  #observer: PerformanceObserver | undefined;
  #dueAt = 0;
  #lastPhaseMs = 0;
  #lastActiveMs = 0;
  #pending: PendingDelay | undefined;
  readonly #gcEntries: { start: number; end: number }[] = [];
  #delay: RecordableHistogram = createHistogram();
  #previousDelay: RecordableHistogram = createHistogram();
  #gc: GcWindow = { count: 0, totalMs: 0, longestMs: 0 };
  #previousGc: GcWindow = { count: 0, totalMs: 0, longestMs: 0 };
  #windowStartedAt = performance.now();
  #previousWindowStartedAt = performance.now();
  #eluAtPreviousWindow: EventLoopUtilization = performance.eventLoopUtilization();
  #eluAtWindow: EventLoopUtilization = this.#eluAtPreviousWindow;
  /** Log rate limit: when the last line was written, and the stalls since, with the worst. */
  #loggedAt = Number.NEGATIVE_INFINITY;
  #unlogged = 0;
  #worstUnlogged: StallReport | undefined;
  #logTimer: NodeJS.Timeout | undefined;
  #isClosed = false;
  /** Takes a CPU profile after a stall, when `profileMs` is set. */
  readonly profiler: StallProfiler;

  constructor(options: StallWatcherOptions) {
    this.thresholdMs = options.thresholdMs;
    this.#logger = options.logger;
    this.profiler = new StallProfiler(options.profileMs ?? 0, options.logger);
    this.#intervalMs = intervalFor(options.thresholdMs);
    if (this.thresholdMs === 0) return;
    this.#stopWatching = activity.watch((stall) => this.#onPhaseStall(stall), this.thresholdMs);
    this.#observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) this.#onGc(entry);
    });
    this.#observer.observe({ entryTypes: ["gc"] });
    this.#lastPhaseMs = activity.phaseMs;
    this.#lastActiveMs = performance.eventLoopUtilization().active;
    this.#schedule(performance.now());
  }

  /** True while it watches (a threshold above 0, not closed). */
  get isWatching(): boolean {
    return this.thresholdMs > 0 && !this.#isClosed;
  }

  /** The reports kept, oldest first. */
  reports(): readonly StallReport[] {
    return [...this.#reports];
  }

  /** Stalls reported since the watcher started. */
  get total(): number {
    return this.#total;
  }

  /** Stalls reported since the watcher started, by phase. */
  countsByPhase(): Record<StallPhase, number> {
    return Object.fromEntries(this.#counts) as Record<StallPhase, number>;
  }

  /** Event-loop delay, utilization and GC over the last 30 to 60 s. */
  loopFigures(): LoopFigures {
    const now = performance.now();
    this.#rotate(now);
    const delay = createHistogram();
    delay.add(this.#previousDelay);
    delay.add(this.#delay);
    const seen = delay.count > 0;
    const ms = (ns: number): number => (seen ? Math.round((ns / NS_PER_MS) * 100) / 100 : 0);
    const gc = this.#previousGc;
    const current = this.#gc;
    return {
      delayP50Ms: ms(delay.percentile(50)),
      delayP99Ms: ms(delay.percentile(99)),
      delayMaxMs: ms(delay.max),
      utilization:
        Math.round(performance.eventLoopUtilization(this.#eluAtPreviousWindow).utilization * 1000) /
        1000,
      windowSeconds: Math.round((now - this.#previousWindowStartedAt) / 100) / 10,
      gcCount: gc.count + current.count,
      gcTotalMs: Math.round((gc.totalMs + current.totalMs) * 100) / 100,
      gcLongestMs: Math.round(Math.max(gc.longestMs, current.longestMs) * 100) / 100,
    };
  }

  /**
   * Counts stalls in `ssehub_stalls_total{phase}` on `registry` (every phase from 0, so that
   * rate() sees the first one).
   */
  registerMetrics(registry: Registry): void {
    const { Counter } = createRequire(import.meta.url)(
      "prom-client",
    ) as typeof import("prom-client");
    const watcher = this;
    const last = new Map<StallPhase, number>(STALL_PHASES.map((phase) => [phase, 0]));
    const counter = new Counter({
      name: "ssehub_stalls_total",
      help: "Event-loop turns blocked past stallThresholdMs, by what the hub was doing (phase: dispatch, replay, publish, bus-catch-up, gc, unknown)",
      labelNames: ["phase"],
      registers: [registry],
      collect() {
        for (const [phase, count] of watcher.#counts) {
          const grown = count - (last.get(phase) ?? 0);
          if (grown > 0) this.inc({ phase }, grown);
          last.set(phase, count);
        }
      },
    });
    for (const phase of STALL_PHASES) counter.inc({ phase }, 0);
  }

  /** Stops watching; the reports stay readable. Logs the stalls not logged yet. */
  close(): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    this.#stopWatching?.();
    this.#observer?.disconnect();
    this.profiler.close();
    clearTimeout(this.#timer);
    clearTimeout(this.#logTimer);
    this.#flushLog();
  }

  #schedule(now: number): void {
    if (this.#isClosed) return;
    this.#dueAt = now + this.#intervalMs;
    this.#timer = setTimeout(() => this.#tick(), this.#intervalMs);
    this.#timer.unref();
  }

  #tick(): void {
    const now = performance.now();
    const delayMs = Math.max(0, now - this.#dueAt);
    this.#rotate(now);
    // A histogram takes integers from 1: 1 ns stands for "on time".
    this.#delay.record(Math.max(1, Math.round(delayMs * NS_PER_MS)));
    const explainedMs = activity.phaseMs - this.#lastPhaseMs;
    this.#lastPhaseMs = activity.phaseMs;
    // Time the loop was busy since the last tick: a delay while it sat idle comes from the
    // machine (the process was not scheduled), not from a blocked turn, and is no stall.
    const { active } = performance.eventLoopUtilization();
    const busyMs = active - this.#lastActiveMs;
    this.#lastActiveMs = active;
    this.#decidePending();
    const unexplainedMs = Math.min(delayMs, busyMs) - explainedMs;
    if (unexplainedMs >= this.thresholdMs) {
      this.#pending = { from: this.#dueAt, to: now, unexplainedMs };
    }
    this.#schedule(now);
  }

  /** Reports the delay of the last tick as `unknown` unless GC pauses explain it. */
  #decidePending(): void {
    const pending = this.#pending;
    if (pending === undefined) return;
    this.#pending = undefined;
    let gcMs = 0;
    for (const entry of this.#gcEntries) {
      const overlap = Math.min(entry.end, pending.to) - Math.max(entry.start, pending.from);
      if (overlap > 0) gcMs += overlap;
    }
    const durationMs = pending.unexplainedMs - gcMs;
    if (durationMs < this.thresholdMs) return;
    const took = formatMs(durationMs);
    this.#add({
      at: new Date(Date.now() - (performance.now() - pending.to)).toISOString(),
      phase: "unknown",
      durationMs: round(durationMs),
      topic: null,
      subscribers: 0,
      bytesQueued: 0,
      batchSize: 0,
      summary: `The loop was blocked for at least ${took} outside the hub's own timed work (application code, synchronous I/O or a long callback); a CPU profile (stallProfileMs, node --cpu-prof) shows what ran`,
    });
  }

  #onPhaseStall(stall: PhaseStall): void {
    this.#add({
      at: new Date(Date.now() - (performance.now() - stall.endedAt)).toISOString(),
      phase: stall.phase,
      durationMs: round(stall.durationMs),
      topic: stall.topic === "" ? null : stall.topic,
      subscribers: stall.subscribers,
      bytesQueued: stall.bytesQueued,
      batchSize: stall.batchSize,
      summary: summaryOf(stall),
    });
  }

  #onGc(entry: PerformanceEntry): void {
    const end = entry.startTime + entry.duration;
    this.#gcEntries.push({ start: entry.startTime, end });
    if (this.#gcEntries.length > GC_ENTRIES_KEPT) this.#gcEntries.shift();
    this.#rotate(performance.now());
    this.#gc.count++;
    this.#gc.totalMs += entry.duration;
    this.#gc.longestMs = Math.max(this.#gc.longestMs, entry.duration);
    if (entry.duration < this.thresholdMs) return;
    const detail = (entry as PerformanceEntry & { detail?: { kind?: number } }).detail;
    const kind = gcKindName(detail?.kind);
    this.#add({
      at: new Date(Date.now() - (performance.now() - end)).toISOString(),
      phase: "gc",
      durationMs: round(entry.duration),
      topic: null,
      subscribers: 0,
      bytesQueued: 0,
      batchSize: 0,
      summary: `A ${kind === "" ? "" : `${kind} `}garbage collection paused the loop for ${formatMs(entry.duration)}`,
    });
  }

  #add(report: StallReport): void {
    this.#reports.push(report);
    if (this.#reports.length > STALL_REPORTS_KEPT) this.#reports.shift();
    this.#total++;
    this.#counts.set(report.phase, (this.#counts.get(report.phase) ?? 0) + 1);
    this.#log(report);
    // Out of the piece that stalled: a report may come from inside a fan-out turn.
    setImmediate(() => this.profiler.onStall(report));
  }

  /** Logs `report`, or counts it for the next line when one was written lately. */
  #log(report: StallReport): void {
    const now = performance.now();
    if (now - this.#loggedAt >= LOG_INTERVAL_MS) {
      this.#loggedAt = now;
      this.#logger.warn({ stall: report }, `Event loop stalled: ${report.summary}`);
      return;
    }
    this.#unlogged++;
    if (this.#worstUnlogged === undefined || report.durationMs > this.#worstUnlogged.durationMs) {
      this.#worstUnlogged = report;
    }
    if (this.#logTimer === undefined && !this.#isClosed) {
      this.#logTimer = setTimeout(
        () => {
          this.#logTimer = undefined;
          this.#flushLog();
        },
        this.#loggedAt + LOG_INTERVAL_MS - now,
      );
      this.#logTimer.unref();
    }
  }

  /** Writes the line of the stalls counted since the last one. */
  #flushLog(): void {
    if (this.#unlogged === 0 || this.#worstUnlogged === undefined) return;
    const worst = this.#worstUnlogged;
    this.#logger.warn(
      { stalls: this.#unlogged, worst },
      `Event loop stalled ${this.#unlogged} more time(s) in the last ${LOG_INTERVAL_MS / 1000} s; the worst: ${worst.summary} (see GET /admin/stalls)`,
    );
    this.#loggedAt = performance.now();
    this.#unlogged = 0;
    this.#worstUnlogged = undefined;
  }

  /** Starts a new window of the delay and GC figures when the current one is over. */
  #rotate(now: number): void {
    if (now - this.#windowStartedAt < WINDOW_MS) return;
    const stale = now - this.#windowStartedAt >= 2 * WINDOW_MS;
    this.#previousDelay = stale ? createHistogram() : this.#delay;
    this.#previousGc = stale ? { count: 0, totalMs: 0, longestMs: 0 } : this.#gc;
    this.#delay = createHistogram();
    this.#gc = { count: 0, totalMs: 0, longestMs: 0 };
    this.#previousWindowStartedAt = stale ? now : this.#windowStartedAt;
    this.#eluAtPreviousWindow = stale ? performance.eventLoopUtilization() : this.#eluAtWindow;
    this.#windowStartedAt = now;
    this.#eluAtWindow = performance.eventLoopUtilization();
  }
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
