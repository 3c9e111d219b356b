/**
 * `publish`: the highest publish rate. K keep-alive connections POST 100-byte events (by
 * default) as fast as the server answers, one request in flight on each, for T seconds, while
 * subscribers follow the topic and count what arrives. Each connection is its own sequence
 * stream, so the subscribers still check loss and order.
 * @module
 */
import type { BenchSession, ScenarioOutcome } from "../bench-session.js";
import { summarizeLatency } from "../result.js";

/** Floods the server with publish requests and reports the rate it sustained. */
export async function runPublish(session: BenchSession): Promise<ScenarioOutcome> {
  const { options } = session;
  const publisher = session.createPublisher(options.connections, options.connections);
  try {
    session.setPhase(`publishing on ${options.connections} connections`, publisher);
    const phase = await session.measurePhase(publisher, () =>
      publisher.flood(options.durationSeconds * 1000, session.hooks.signal),
    );
    const report = phase.publish;
    const delivery = session.deliverySummary(phase, null);
    return {
      delivery: options.subscribers > 0 ? delivery : null,
      latency: summarizeLatency(phase.totals.latency),
      publish: {
        connections: options.connections,
        requests: report.sent,
        ok: report.ok,
        errors: report.errors,
        statusCodes: report.statusCodes,
        ratePerSec: report.seconds > 0 ? report.ok / report.seconds : 0,
        latency: summarizeLatency(report.latency),
      },
      churn: null,
      ladder: null,
      server: session.serverSummary(phase.before, phase.after, delivery.delivered),
      loadgen: session.loadgenSummary(phase.before, phase.after, phase.totals.eventLoopDelayP99Ms),
      verify: options.subscribers > 0 ? phase.totals.verify : null,
    };
  } finally {
    publisher.close();
  }
}
