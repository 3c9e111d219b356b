/**
 * The document `GET /admin/diagnosis` answers and `ssehub doctor --url` reads: the figures of
 * one hub process and the verdicts drawn from them. Types and one guard only, so that the
 * server and the doctor share them without either importing the other.
 * @module
 */

/** Names the document, so that the doctor can tell an ssehub from another server. */
export const DIAGNOSIS_KIND = "ssehub-diagnosis";
/** The document's version; grows when a field changes meaning. */
export const DIAGNOSIS_VERSION = 1;

/** What blocked the loop: see diagnostics/activity.ts for the phases the hub times itself. */
export type StallReportPhase =
  | "dispatch"
  | "replay"
  | "publish"
  | "bus-catch-up"
  | "gc"
  | "unknown";

/** One turn of the event loop that blocked past the threshold, and what the hub was doing. */
export interface StallReport {
  /** When the block ended, ISO 8601. */
  readonly at: string;
  readonly phase: StallReportPhase;
  /** How long the loop was blocked, in ms (for `unknown`: at least this long). */
  readonly durationMs: number;
  /** The topic served, or null when none (gc, unknown, bus catch-up). */
  readonly topic: string | null;
  /** Subscribers written to during the block. */
  readonly subscribers: number;
  /** Bytes handed to subscribers' sockets (publish: bytes of the request body). */
  readonly bytesQueued: number;
  /** Events in the batch handled (events of the turn, of the replay read, of the publish). */
  readonly batchSize: number;
  /** One sentence saying what happened. */
  readonly summary: string;
}

/** A finding: what is wrong (or worth knowing), the figures behind it, what to do. */
export interface Verdict {
  /** `action`: something needs doing (the doctor exits 1); `note`: worth knowing. */
  readonly severity: "action" | "note";
  /** A stable name of the rule, for machines (`fan-out-stalls`, `bus-lag`). */
  readonly rule: string;
  /** The finding in plain words. */
  readonly finding: string;
  /** The figures behind it. */
  readonly evidence: readonly string[];
  /** What to do about it. */
  readonly advice: string;
}

/** One worker's own diagnosis, in the document of a cluster (`ssehub serve --workers N`). */
export interface WorkerDiagnosis {
  /** The worker's id in the cluster (node:cluster's `worker.id`). */
  readonly worker: number;
  readonly pid: number;
  readonly diagnosis: Diagnosis;
}

/** One diagnosis of one hub process (with `--workers`: of the worker that answered). */
export interface Diagnosis {
  readonly kind: typeof DIAGNOSIS_KIND;
  readonly version: number;
  /** When it was taken, ISO 8601. */
  readonly at: string;
  readonly pid: number;
  readonly uptimeSeconds: number;
  /** The stall threshold in force, in ms; 0: the watcher is off. */
  readonly stallThresholdMs: number;
  /**
   * Event-loop delay over the last 30 to 60 s: how late the loop ran a timer that was due, in
   * ms (the sampler's own interval is not part of it); utilization is the share of time busy.
   */
  readonly eventLoop: {
    readonly delayP50Ms: number;
    readonly delayP99Ms: number;
    readonly delayMaxMs: number;
    readonly utilization: number;
    readonly windowSeconds: number;
  };
  readonly stalls: {
    /** Since the process started. */
    readonly total: number;
    readonly byPhase: Readonly<Record<StallReportPhase, number>>;
    /** The last ones kept, oldest first. */
    readonly recent: readonly StallReport[];
  };
  /** Garbage collection over the last 30 to 60 s. */
  readonly gc: {
    readonly count: number;
    readonly totalMs: number;
    readonly longestMs: number;
    readonly windowSeconds: number;
  };
  readonly slowConsumers: {
    /** Since the hub started. */
    readonly disconnects: number;
    readonly drops: number;
    readonly conflated: number;
    /** Slow-consumer actions of the last 10 minutes, by topic, most first. */
    readonly recentByTopic: readonly { readonly topic: string; readonly count: number }[];
  };
  readonly queues: {
    /** Events handed to the bus and not yet ordered, and the cap past which publishes get 503. */
    readonly publishBacklog: number;
    readonly maxPublishBacklog: number;
    /** Bytes waiting in subscribers' sockets, over all of them and at the worst one. */
    readonly queuedBytes: number;
    readonly maxQueuedBytes: number;
    /** Topics of the subscriber with the most bytes waiting. */
    readonly maxQueuedTopics: readonly string[];
    /** Subscribers past half their cap (`maxQueueBytes`). */
    readonly subscribersPastHalfCap: number;
    readonly maxQueueBytes: number;
  };
  readonly hotTopics: {
    readonly bySubscribers: readonly { readonly topic: string; readonly subscribers: number }[];
    /** Events in sampled dispatch turns of the last 30 to 60 s (exact at low rates). */
    readonly byRecentEvents: readonly { readonly topic: string; readonly events: number }[];
  };
  /** The bus between processes or nodes, when it talks to a server (Redis); else null. */
  readonly bus: {
    readonly connected: boolean;
    readonly disconnects: number;
    readonly lagSeconds: number;
  } | null;
  readonly subscribers: number;
  readonly topics: number;
  readonly verdicts: readonly Verdict[];
  /** True when no verdict asks for action: of this process, and of every worker when listed. */
  readonly healthy: boolean;
  /**
   * With `--workers`: every worker's own diagnosis (the one that answered included), since each
   * has its own event loop, stalls and subscribers. Absent in a single process.
   */
  readonly workers?: readonly WorkerDiagnosis[];
}

/** True when `value` looks like a Diagnosis this version of the doctor can read. */
export function isDiagnosis(value: unknown): value is Diagnosis {
  if (typeof value !== "object" || value === null) return false;
  const document = value as Partial<Diagnosis>;
  return (
    document.kind === DIAGNOSIS_KIND &&
    typeof document.version === "number" &&
    Array.isArray(document.verdicts) &&
    typeof document.eventLoop === "object" &&
    typeof document.stalls === "object"
  );
}
