/**
 * `faults`: a fanout at R events/s to subscribers that resume with Last-Event-ID after every
 * drop (and churn at C/s besides), while faults are injected one after another (faults.ts).
 * Each fault gets a measured window of `faultIntervalMs` of publishing (longer by the pause for
 * pause-redis), the fault a quarter into it, then the usual drain; the report says per fault
 * what was published, delivered, lost (of acknowledged publishes), not delivered or delivered
 * anyway of the refused publishes, duplicated and reordered, the `ssehub-reset` notices
 * with their reasons, the publish errors with their statuses, and how long the publisher and
 * the subscribers took to recover.
 * @module
 */
import { type BenchSession, pause, type ScenarioOutcome } from "../bench-session.js";
import { type FaultInjection, type FaultPlan, injectFault } from "../faults.js";
import { Histogram } from "../histogram.js";
import { monotonicMicros } from "../payload.js";
import type { DeliverySummary, FaultReport } from "../result.js";
import { deliveryCountsOf, summarizeLatency } from "../result.js";

/** Where in its window a fault comes: a quarter in, so the stream is steady before it. */
const LEAD_SHARE = 0.25;

/** Seconds from `fromUs` to `atUs`, or null when `atUs` is 0 (never). */
function secondsSince(fromUs: number, atUs: number): number | null {
  return atUs > 0 ? Math.max(0, atUs - fromUs) / 1e6 : null;
}

/** The windows' delivery summaries added up: the whole run's figures. */
function addUpDelivery(parts: readonly DeliverySummary[], rate: number): DeliverySummary {
  const sum = (pick: (d: DeliverySummary) => number): number =>
    parts.reduce((total, part) => total + pick(part), 0);
  const publishSeconds = sum((d) => d.publishSeconds);
  const windowSeconds = Math.max(
    sum((d) => d.windowSeconds),
    1e-6,
  );
  const delivered = sum((d) => d.delivered);
  return {
    offeredRatePerSec: rate,
    published: sum((d) => d.published),
    publishErrors: sum((d) => d.publishErrors),
    publishedRatePerSec: publishSeconds > 0 ? sum((d) => d.published) / publishSeconds : 0,
    publishSeconds,
    expected: sum((d) => d.expected),
    delivered,
    lost: sum((d) => d.lost),
    refusedNotDelivered: sum((d) => d.refusedNotDelivered),
    refusedDelivered: sum((d) => d.refusedDelivered),
    duplicated: sum((d) => d.duplicated),
    reordered: sum((d) => d.reordered),
    foreign: sum((d) => d.foreign),
    windowSeconds,
    deliveriesPerSec: delivered / windowSeconds,
    offeredDeliveriesPerSec: null,
  };
}

/** Runs the faults of `plan` in order; `plan` was found and checked before the run started. */
export async function runFaults(session: BenchSession, plan: FaultPlan): Promise<ScenarioOutcome> {
  const { options } = session;
  const { signal } = session.hooks;
  const publisher = session.createPublisher(options.publishers, options.topics);
  const reports: FaultReport[] = [];
  const deliveries: DeliverySummary[] = [];
  const latency = new Histogram();
  const reconnectLatency = new Histogram();
  const reconnectErrors: Record<string, number> = {};
  let reconnects = 0;
  let failedReconnects = 0;
  let publishSeconds = 0;
  let first: Awaited<ReturnType<BenchSession["measurePhase"]>> | undefined;
  let last: Awaited<ReturnType<BenchSession["measurePhase"]>> | undefined;
  try {
    for (const [index, fault] of plan.faults.entries()) {
      if (signal?.aborted === true) break;
      session.setPhase(`fault ${index + 1}/${plan.faults.length} ${fault}`, publisher);
      const leadMs = options.faultIntervalMs * LEAD_SHARE;
      const windowMs = options.faultIntervalMs + (fault === "pause-redis" ? plan.pauseMs : 0);
      let injection: FaultInjection | undefined;
      let error: string | null = null;
      let injectedUs = 0;
      let faultSeconds = 0;
      let windowStartUs = 0;
      const phase = await session.measurePhase(publisher, async () => {
        windowStartUs = monotonicMicros();
        session.group.churn(options.reconnectRate);
        const publishing = publisher.runAtRate(options.rate, windowMs, options.topics, signal);
        try {
          await pause(leadMs, signal);
          injectedUs = monotonicMicros();
          session.group.mark(injectedUs);
          publisher.watchFrom(injectedUs);
          injection = await injectFault(plan, fault, signal);
        } catch (caught) {
          error = caught instanceof Error ? caught.message : String(caught);
        } finally {
          faultSeconds = (monotonicMicros() - injectedUs) / 1e6;
        }
        try {
          return await publishing;
        } finally {
          session.group.churn(0);
        }
      });
      first ??= phase;
      last = phase;
      const delivery = session.deliverySummary(phase, options.rate);
      deliveries.push(delivery);
      latency.merge(phase.totals.latency);
      reconnectLatency.merge(phase.totals.reconnectLatency);
      for (const [code, count] of Object.entries(phase.totals.reconnectErrors)) {
        reconnectErrors[code] = (reconnectErrors[code] ?? 0) + count;
      }
      reconnects += phase.totals.reconnects;
      failedReconnects += phase.totals.failedReconnects;
      publishSeconds += phase.publish.seconds;
      const { totals } = phase;
      const resets = Object.values(totals.resetReasons).reduce((a, b) => a + b, 0);
      reports.push({
        fault,
        pid: injection?.pid ?? null,
        newPid: injection?.newPid ?? null,
        error,
        injectedAfterSeconds: secondsSince(windowStartUs, injectedUs) ?? 0,
        faultSeconds,
        subscribers: totals.subscribers,
        publishRequests: phase.publish.sent,
        published: phase.publish.ok,
        publishErrors: phase.publish.errors,
        publishStatusCodes: { ...phase.publish.statusCodes },
        ...deliveryCountsOf(totals),
        resets,
        resetReasons: { ...totals.resetReasons },
        dropped: totals.dropped,
        reconnects: totals.reconnects,
        failedReconnects: totals.failedReconnects,
        recovery: {
          firstPublishSeconds: secondsSince(injectedUs, publisher.firstOkAfterUs),
          firstDeliverySeconds: secondsSince(injectedUs, totals.firstAfterMarkUs),
          allSubscribersSeconds: secondsSince(injectedUs, totals.allAfterMarkUs),
          subscribersRecovered: totals.subscribersAfterMark,
        },
      });
      publisher.watchFrom(0);
    }
  } finally {
    publisher.close();
  }
  if (first === undefined || last === undefined) {
    return {
      delivery: null,
      latency: null,
      publish: null,
      churn: null,
      ladder: null,
      faults: { faultIntervalMs: options.faultIntervalMs, pauseMs: plan.pauseMs, faults: [] },
      server: null,
      loadgen: session.loadgenSummary(session.sample(), session.sample(), null),
      verify: null,
    };
  }
  const delivery = addUpDelivery(deliveries, options.rate);
  return {
    delivery,
    latency: summarizeLatency(latency),
    publish: null,
    churn: {
      targetRatePerSec: options.reconnectRate,
      reconnects,
      failedReconnects,
      errors: reconnectErrors,
      ratePerSec: publishSeconds > 0 ? reconnects / publishSeconds : 0,
      reconnectLatency: summarizeLatency(reconnectLatency),
    },
    ladder: null,
    faults: { faultIntervalMs: options.faultIntervalMs, pauseMs: plan.pauseMs, faults: reports },
    server: session.serverSummary(first.before, last.after, delivery.delivered),
    loadgen: session.loadgenSummary(first.before, last.after, last.totals.eventLoopDelayP99Ms),
    // The cross-check counts from the start of the run: the last window's covers them all.
    verify: last.totals.verify,
  };
}
