/**
 * The verdicts of the admin diagnosis: plain-words findings drawn from its figures, each with
 * the figures behind it and what to do. Pure: the figures in, the verdicts out.
 *
 * | rule | severity | when |
 * |---|---|---|
 * | `fan-out-stalls` | action | a dispatch stall in the last 10 minutes |
 * | `replay-stalls` | action | a replay stall in the last 10 minutes |
 * | `publish-stalls` | action | a publish stall in the last 10 minutes |
 * | `bus-catch-up-stalls` | action | a bus catch-up stall in the last 10 minutes |
 * | `gc-stalls` | action | a GC pause past the threshold in the last 10 minutes |
 * | `unknown-stalls` | action | a block outside the hub's timed work in the last 10 minutes |
 * | `event-loop-delay` | action | the p99 delay is at or past the stall threshold |
 * | `publish-backlog` | action | more than half of maxPublishBacklog waits to be ordered |
 * | `bus-disconnected` | action | the bus cannot reach its server |
 * | `bus-lag` | action | events reach this node more than 1 s after they were published |
 * | `slow-consumers` | note | slow-consumer actions in the last 10 minutes |
 * | `queued-bytes` | note | subscribers past half their queue cap |
 * | `stall-watcher-off` | note | `stallThresholdMs` is 0 |
 * @module
 */
import type {
  Diagnosis,
  StallReport,
  StallReportPhase,
  Verdict,
} from "../../diagnostics/diagnosis.js";

/** Stalls older than this no longer ask for action, in ms. */
export const RECENT_STALL_MS = 600_000; // 10 minutes
/** Bus lag that asks for action, in seconds. */
const BUS_LAG_ACTION_SECONDS = 1;

/** The figures the verdicts read: the diagnosis without its verdicts. */
export type DiagnosisFigures = Omit<Diagnosis, "verdicts" | "healthy">;

function ms(value: number): string {
  return value >= 10 ? `${Math.round(value)} ms` : `${value.toFixed(1)} ms`;
}

function mib(bytes: number): string {
  return `${(bytes / 1_048_576).toFixed(1)} MiB`;
}

/** The longest of `reports`. */
function worstOf(reports: readonly StallReport[]): StallReport {
  return reports.reduce((worst, report) => (report.durationMs > worst.durationMs ? report : worst));
}

/** The evidence lines of a group of stalls: how many, the worst, its sentence. */
function stallEvidence(reports: readonly StallReport[]): string[] {
  const worst = worstOf(reports);
  return [
    `${reports.length} stall(s) of this kind in the last 10 minutes; the worst ${ms(worst.durationMs)} at ${worst.at}`,
    worst.summary,
  ];
}

/** Builds the verdict for the stalls of one phase. */
type StallRule = (reports: readonly StallReport[], figures: DiagnosisFigures) => Verdict;

const STALL_RULES: Readonly<Record<StallReportPhase, StallRule>> = {
  dispatch(reports) {
    const worst = worstOf(reports);
    return {
      severity: "action",
      rule: "fan-out-stalls",
      finding: `Publishes and new subscribers wait behind a fan-out of ${worst.subscribers} subscriber(s) on topic ${JSON.stringify(worst.topic)}: one turn of the event loop blocks for ${ms(worst.durationMs)}`,
      evidence: stallEvidence(reports),
      advice:
        "Spread the subscribers over more processes (ssehub serve --workers N) or more machines (--redis); split the topic, or batch its events (writeDelayMs) so each subscriber is written once for several",
    };
  },
  replay(reports) {
    const worst = worstOf(reports);
    return {
      severity: "action",
      rule: "replay-stalls",
      finding: `Resumes from far back block the event loop: ${worst.batchSize} events of history on topic ${JSON.stringify(worst.topic)} were handled in one turn (${ms(worst.durationMs)})`,
      evidence: stallEvidence(reports),
      advice:
        "Keep less history per topic (historyMaxEvents, historyMaxAgeMs), or subscribe to fewer topics per connection: a resume merges the history of every topic it names",
    };
  },
  publish(reports) {
    const worst = worstOf(reports);
    return {
      severity: "action",
      rule: "publish-stalls",
      finding: `Large publishes block the event loop: a batch of ${worst.batchSize} event(s) took ${ms(worst.durationMs)} to parse, check and order`,
      evidence: stallEvidence(reports),
      advice:
        "Publish smaller batches (lower maxBatchEvents and maxBodyBytes to enforce it), or spread publishers over more processes (--workers)",
    };
  },
  "bus-catch-up"(reports) {
    const worst = worstOf(reports);
    return {
      severity: "action",
      rule: "bus-catch-up-stalls",
      finding: `Catching up with the bus blocks the event loop: ${worst.batchSize} events were taken in one turn (${ms(worst.durationMs)})`,
      evidence: stallEvidence(reports),
      advice:
        "This node fell behind the Redis log (after a pause or a lost connection): check the network to Redis and this node's CPU; more nodes share the fan-out",
    };
  },
  gc(reports, figures) {
    const worst = worstOf(reports);
    return {
      severity: "action",
      rule: "gc-stalls",
      finding: `Garbage collection pauses the event loop for up to ${ms(worst.durationMs)}`,
      evidence: [
        ...stallEvidence(reports),
        `${figures.gc.count} collection(s), ${ms(figures.gc.totalMs)} in all over the last ${figures.gc.windowSeconds} s`,
      ],
      advice:
        "Lower the memory held: maxQueueBytes per subscriber, history (historyMaxEvents); or give the heap room (NODE_OPTIONS=--max-old-space-size) so that it collects less often",
    };
  },
  unknown(reports) {
    const worst = worstOf(reports);
    return {
      severity: "action",
      rule: "unknown-stalls",
      finding: `The event loop blocks for up to ${ms(worst.durationMs)} outside the hub's own work`,
      evidence: stallEvidence(reports),
      advice:
        "Something else in the process runs long without yielding (application code of an embedding app, synchronous file or crypto work, a logger writing synchronously): profile it with stallProfileMs (GET /admin/stalls/profile) or node --cpu-prof",
    };
  },
};

/** The verdicts on `figures` at `now` (ms since the epoch), actions first. */
export function verdictsOf(figures: DiagnosisFigures, now: number): Verdict[] {
  const verdicts: Verdict[] = [];
  const recent = figures.stalls.recent.filter(
    (report) => now - Date.parse(report.at) <= RECENT_STALL_MS,
  );
  const byPhase = new Map<StallReportPhase, StallReport[]>();
  for (const report of recent) {
    const list = byPhase.get(report.phase);
    if (list === undefined) byPhase.set(report.phase, [report]);
    else list.push(report);
  }
  for (const [phase, reports] of byPhase) verdicts.push(STALL_RULES[phase](reports, figures));

  const loop = figures.eventLoop;
  if (figures.stallThresholdMs > 0 && loop.delayP99Ms >= figures.stallThresholdMs) {
    verdicts.push({
      severity: "action",
      rule: "event-loop-delay",
      finding: `The event loop is late: 1% of its turns start ${ms(loop.delayP99Ms)} or more after they were due`,
      evidence: [
        `delay p50 ${ms(loop.delayP50Ms)}, p99 ${ms(loop.delayP99Ms)}, max ${ms(loop.delayMaxMs)} over ${loop.windowSeconds} s; busy ${Math.round(loop.utilization * 100)}% of the time`,
      ],
      advice:
        "The process has more work than one core can do: run more processes (--workers N) or machines (--redis); the stall reports above say what takes the time",
    });
  }

  const queues = figures.queues;
  if (queues.publishBacklog > queues.maxPublishBacklog / 2) {
    verdicts.push({
      severity: "action",
      rule: "publish-backlog",
      finding: `Publishes wait to be ordered: ${queues.publishBacklog} events are queued for the bus (cap ${queues.maxPublishBacklog}, past which publishes get 503)`,
      evidence: [`publish backlog ${queues.publishBacklog} of ${queues.maxPublishBacklog}`],
      advice:
        "The bus orders events slower than they come: check the round trip to Redis (ssehub_bus_publish_round_trip_seconds), or publish in batches",
    });
  }

  const bus = figures.bus;
  if (bus !== null && !bus.connected) {
    verdicts.push({
      severity: "action",
      rule: "bus-disconnected",
      finding:
        "The bus cannot reach its server (Redis): publishes fail with 503 and other nodes' events do not arrive",
      evidence: [`connected: no; ${bus.disconnects} disconnect(s) since start`],
      advice: "Check that Redis runs and is reachable from this node (redis-cli -u <url> ping)",
    });
  } else if (bus !== null && bus.lagSeconds > BUS_LAG_ACTION_SECONDS) {
    verdicts.push({
      severity: "action",
      rule: "bus-lag",
      finding: `Events reach this node ${bus.lagSeconds.toFixed(1)} s after they were published`,
      evidence: [`bus lag ${bus.lagSeconds.toFixed(3)} s (by the Redis server's clock)`],
      advice:
        "This node is busy or far from Redis: see the stalls and the event-loop delay; check the clocks and the network",
    });
  }

  const slow = figures.slowConsumers.recentByTopic;
  if (slow.length > 0) {
    const total = slow.reduce((sum, entry) => sum + entry.count, 0);
    const top = slow[0]!;
    verdicts.push({
      severity: "note",
      rule: "slow-consumers",
      finding: `Some subscribers read slower than events arrive: ${total} slow-consumer action(s) in the last 10 minutes, most on topic ${JSON.stringify(top.topic)}`,
      evidence: slow.slice(0, 5).map((entry) => `${entry.topic}: ${entry.count}`),
      advice:
        "Usually the clients' networks; if many, raise maxQueueBytes or choose slowConsumerPolicy drop or conflate for this kind of data",
    });
  }
  if (queues.subscribersPastHalfCap > 0) {
    verdicts.push({
      severity: "note",
      rule: "queued-bytes",
      finding: `${queues.subscribersPastHalfCap} subscriber(s) have more than half of maxQueueBytes waiting in their sockets`,
      evidence: [
        `${mib(queues.queuedBytes)} waiting in all; the worst ${mib(queues.maxQueuedBytes)} on ${queues.maxQueuedTopics.join(", ")}`,
      ],
      advice: "They are close to the slow-consumer policy; see slow consumers",
    });
  }
  if (figures.stallThresholdMs === 0) {
    verdicts.push({
      severity: "note",
      rule: "stall-watcher-off",
      finding:
        "The stall watcher is off (stallThresholdMs 0): stalls are neither reported nor counted",
      evidence: ["stallThresholdMs 0"],
      advice: "Set stallThresholdMs (default 100) to have blocked turns reported with their cause",
    });
  }
  return verdicts.sort((a, b) =>
    a.severity === b.severity ? 0 : a.severity === "action" ? -1 : 1,
  );
}
