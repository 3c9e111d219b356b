/**
 * The admin diagnosis of one hub process (`GET /admin/diagnosis`): the stall watcher's
 * reports and loop figures, the hub's load (queues, hot topics), slow consumers, the bus, and
 * the verdicts drawn from them (verdicts.ts). The document's type is diagnostics/diagnosis.ts,
 * shared with `ssehub doctor --url`.
 * @module
 */
import { activity } from "../../diagnostics/activity.js";
import {
  DIAGNOSIS_KIND,
  DIAGNOSIS_VERSION,
  type Diagnosis,
  isDiagnosis,
  type WorkerDiagnosis,
} from "../../diagnostics/diagnosis.js";
import type { Hub } from "../../hub/hub.js";
import type { HubStatus } from "../../hub/types.js";
import type { GatherSnapshots } from "./metrics.js";
import type { StallWatcher } from "./stall-watcher.js";
import { RECENT_STALL_MS, verdictsOf } from "./verdicts.js";

/** The name under which a worker's diagnosis is gathered (see HubDiagnosis's `gather`). */
export const DIAGNOSIS_SNAPSHOT = "diagnosis";

/** Topics listed per hot-topic figure. */
const HOT_TOPICS = 5;
/** Slow-consumer actions remembered for the figure by topic. */
const SLOW_CONSUMER_ACTIONS_KEPT = 1000;

/** Builds the diagnosis of a hub, with the stall watcher it owns; `close()` stops both. */
export class HubDiagnosis {
  readonly #hub: Hub;
  readonly #watcher: StallWatcher;
  /** Recent slow-consumer actions: when (ms since the epoch) and on which topics. */
  readonly #slowActions: { at: number; topics: readonly string[] }[] = [];
  readonly #onStatus = (status: HubStatus): void => {
    if (status.type === "bus-restarted" || status.type === "resume-failed") return;
    this.#slowActions.push({ at: Date.now(), topics: status.topics });
    if (this.#slowActions.length > SLOW_CONSUMER_ACTIONS_KEPT) this.#slowActions.shift();
  };

  readonly #gather: GatherSnapshots | undefined;

  /**
   * @param gather in a cluster, asks every worker for its DIAGNOSIS_SNAPSHOT (as
   *   HubMetricsOptions.gather does for metrics): the diagnosis then lists them all
   */
  constructor(hub: Hub, watcher: StallWatcher, gather?: GatherSnapshots) {
    this.#hub = hub;
    this.#watcher = watcher;
    this.#gather = gather;
    hub.on("status", this.#onStatus);
  }

  /**
   * The diagnosis now, with every worker's own under `workers` when the hub runs in a cluster
   * (a worker that does not answer in time is left out); `healthy` only when all are.
   */
  async buildAcrossWorkers(now = Date.now()): Promise<Diagnosis> {
    const own = this.build(now);
    if (this.#gather === undefined) return own;
    const rows = await this.#gather(DIAGNOSIS_SNAPSHOT);
    const workers: WorkerDiagnosis[] = [];
    for (const row of rows) {
      if (isDiagnosis(row.payload)) {
        workers.push({ worker: row.worker, pid: row.pid, diagnosis: row.payload });
      }
    }
    if (workers.length === 0) return own;
    return { ...own, workers, healthy: workers.every((entry) => entry.diagnosis.healthy) };
  }

  /** The stall watcher behind the reports. */
  get watcher(): StallWatcher {
    return this.#watcher;
  }

  /** The diagnosis now. */
  build(now = Date.now()): Diagnosis {
    const hub = this.#hub;
    const watcher = this.#watcher;
    const stats = hub.stats();
    const load = hub.loadFigures(HOT_TOPICS);
    const loop = watcher.loopFigures();
    const bus = hub.busMetrics;
    const figures: Omit<Diagnosis, "verdicts" | "healthy"> = {
      kind: DIAGNOSIS_KIND,
      version: DIAGNOSIS_VERSION,
      at: new Date(now).toISOString(),
      pid: process.pid,
      uptimeSeconds: Math.round(process.uptime()),
      stallThresholdMs: watcher.thresholdMs,
      eventLoop: {
        delayP50Ms: loop.delayP50Ms,
        delayP99Ms: loop.delayP99Ms,
        delayMaxMs: loop.delayMaxMs,
        utilization: loop.utilization,
        windowSeconds: loop.windowSeconds,
      },
      stalls: {
        total: watcher.total,
        byPhase: watcher.countsByPhase(),
        recent: watcher.reports(),
      },
      gc: {
        count: loop.gcCount,
        totalMs: loop.gcTotalMs,
        longestMs: loop.gcLongestMs,
        windowSeconds: loop.windowSeconds,
      },
      slowConsumers: {
        disconnects: stats.slowConsumerDisconnects,
        drops: stats.slowConsumerDrops,
        conflated: stats.slowConsumerConflated,
        recentByTopic: this.#recentSlowConsumers(now),
      },
      queues: {
        publishBacklog: load.publishBacklog,
        maxPublishBacklog: load.maxPublishBacklog,
        queuedBytes: load.queuedBytes,
        maxQueuedBytes: load.maxQueuedBytes,
        maxQueuedTopics: load.maxQueuedTopics,
        subscribersPastHalfCap: load.subscribersPastHalfCap,
        maxQueueBytes: load.maxQueueBytes,
      },
      hotTopics: {
        bySubscribers: load.topTopics,
        byRecentEvents: activity.hotTopics(HOT_TOPICS),
      },
      bus:
        bus === undefined
          ? null
          : { connected: bus.connected, disconnects: bus.disconnects, lagSeconds: bus.lagSeconds },
      subscribers: stats.subscribers,
      topics: stats.topics,
    };
    const verdicts = verdictsOf(figures, now);
    return {
      ...figures,
      verdicts,
      healthy: verdicts.every((verdict) => verdict.severity !== "action"),
    };
  }

  /** Stops the stall watcher and stops listening to the hub. */
  close(): void {
    this.#watcher.close();
    this.#hub.off("status", this.#onStatus);
  }

  #recentSlowConsumers(now: number): { topic: string; count: number }[] {
    const counts = new Map<string, number>();
    for (const action of this.#slowActions) {
      if (now - action.at > RECENT_STALL_MS) continue;
      for (const topic of action.topics) counts.set(topic, (counts.get(topic) ?? 0) + 1);
    }
    return [...counts]
      .map(([topic, count]) => ({ topic, count }))
      .sort((a, b) => b.count - a.count)
      .slice(0, HOT_TOPICS);
  }
}
