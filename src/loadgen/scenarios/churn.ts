/**
 * `churn`: while events are published at R/s, subscribers are dropped and reconnected at C per
 * second with Last-Event-ID, each resuming where it stood. A subscriber's sequence accounting
 * spans its reconnects, so any event the server fails to replay counts as lost, and any it
 * replays twice as duplicated. Zero of both is required.
 * @module
 */
import type { BenchSession, ScenarioOutcome } from "../bench-session.js";
import { summarizeLatency } from "../result.js";

/** Publishes at the rate asked while the workers reconnect subscribers. */
export async function runChurn(session: BenchSession): Promise<ScenarioOutcome> {
  const { options } = session;
  const publisher = session.createPublisher(options.publishers, options.topics);
  try {
    session.setPhase(
      `publishing ${options.rate}/s, reconnecting ${options.reconnectRate}/s`,
      publisher,
    );
    const phase = await session.measurePhase(publisher, async () => {
      session.group.churn(options.reconnectRate);
      try {
        return await publisher.runAtRate(
          options.rate,
          options.durationSeconds * 1000,
          options.topics,
          session.hooks.signal,
        );
      } finally {
        session.group.churn(0);
      }
    });
    const delivery = session.deliverySummary(phase, options.rate);
    const seconds = phase.publish.seconds;
    return {
      delivery,
      latency: summarizeLatency(phase.totals.latency),
      publish: null,
      churn: {
        targetRatePerSec: options.reconnectRate,
        reconnects: phase.totals.reconnects,
        failedReconnects: phase.totals.failedReconnects,
        errors: phase.totals.reconnectErrors,
        ratePerSec: seconds > 0 ? phase.totals.reconnects / seconds : 0,
        reconnectLatency: summarizeLatency(phase.totals.reconnectLatency),
      },
      ladder: null,
      server: session.serverSummary(phase.before, phase.after, delivery.delivered),
      loadgen: session.loadgenSummary(phase.before, phase.after, phase.totals.eventLoopDelayP99Ms),
      verify: phase.totals.verify,
    };
  } finally {
    publisher.close();
  }
}
