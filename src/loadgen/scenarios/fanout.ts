/**
 * `fanout` and `topics`: a publisher at R events/s for T seconds, spread round robin over the
 * topics (one for fanout), to subscribers that follow one topic (fanout) or M of N (topics).
 * With `--ladder`, R grows by a factor per step until a step is not clean, and the highest
 * clean rate is reported.
 * @module
 */
import type { BenchSession, PhaseOutcome, ScenarioOutcome } from "../bench-session.js";
import { type LadderStep, summarizeLatency } from "../result.js";

/** A step is clean only if the publisher reached this share of the offered rate. */
const MIN_RATE_SHARE = 0.95;

/** Why a phase at `rate` is not clean; empty when it is. */
function faultsOf(session: BenchSession, phase: PhaseOutcome, rate: number): string[] {
  const reasons: string[] = [];
  const delivery = session.deliverySummary(phase, rate);
  const p99Us = phase.totals.latency.count === 0 ? null : phase.totals.latency.percentile(99);
  if (delivery.lost > 0) reasons.push(`lost ${delivery.lost}`);
  if (delivery.duplicated > 0) reasons.push(`duplicated ${delivery.duplicated}`);
  if (delivery.publishErrors > 0) reasons.push(`publish errors ${delivery.publishErrors}`);
  if (p99Us === null) reasons.push("no delivery");
  else if (p99Us > session.options.p99BoundMs * 1000) {
    reasons.push(`p99 ${(p99Us / 1000).toFixed(1)} ms > ${session.options.p99BoundMs} ms`);
  }
  if (delivery.publishedRatePerSec < rate * MIN_RATE_SHARE) {
    reasons.push(`published ${Math.round(delivery.publishedRatePerSec)}/s of ${rate}/s`);
  }
  return reasons;
}

function outcomeOf(
  session: BenchSession,
  phase: PhaseOutcome,
  rate: number,
): Omit<ScenarioOutcome, "ladder"> {
  const delivery = session.deliverySummary(phase, rate);
  return {
    delivery,
    latency: summarizeLatency(phase.totals.latency),
    publish: null,
    churn: null,
    server: session.serverSummary(phase.before, phase.after, delivery.delivered),
    loadgen: session.loadgenSummary(phase.before, phase.after, phase.totals.eventLoopDelayP99Ms),
    verify: phase.totals.verify,
  };
}

/** Runs fanout or topics, as the session's options say (`--ladder` included). */
export async function runFanout(session: BenchSession): Promise<ScenarioOutcome> {
  const { options } = session;
  const publisher = session.createPublisher(options.publishers, options.topics);
  const run = (rate: number): Promise<PhaseOutcome> => {
    session.setPhase(`publishing ${rate}/s`, publisher);
    return session.measurePhase(publisher, () =>
      publisher.runAtRate(
        rate,
        options.durationSeconds * 1000,
        options.topics,
        session.hooks.signal,
      ),
    );
  };
  try {
    if (!options.ladder) {
      return { ...outcomeOf(session, await run(options.rate), options.rate), ladder: null };
    }
    const steps: LadderStep[] = [];
    let best: { phase: PhaseOutcome; rate: number } | undefined;
    let last: { phase: PhaseOutcome; rate: number } | undefined;
    let rate = options.rate;
    for (
      let step = 0;
      step < options.ladderSteps && session.hooks.signal?.aborted !== true;
      step++
    ) {
      const phase = await run(rate);
      last = { phase, rate };
      const delivery = session.deliverySummary(phase, rate);
      const reasons = faultsOf(session, phase, rate);
      steps.push({
        rate,
        published: delivery.published,
        deliveriesPerSec: delivery.deliveriesPerSec,
        offeredDeliveriesPerSec: delivery.offeredDeliveriesPerSec,
        lost: delivery.lost,
        duplicated: delivery.duplicated,
        p99Us: phase.totals.latency.count === 0 ? null : phase.totals.latency.percentile(99),
        clean: reasons.length === 0,
        reasons,
      });
      if (reasons.length > 0) break;
      best = { phase, rate };
      rate = Math.round(rate * options.ladderFactor * 100) / 100;
    }
    const shown = best ?? last!;
    const bestStep = best === undefined ? undefined : steps.find((s) => s.rate === best.rate);
    return {
      ...outcomeOf(session, shown.phase, shown.rate),
      ladder: {
        startRate: options.rate,
        factor: options.ladderFactor,
        p99BoundMs: options.p99BoundMs,
        steps,
        bestCleanRate: best?.rate ?? null,
        bestCleanDeliveriesPerSec: bestStep?.deliveriesPerSec ?? null,
      },
    };
  } finally {
    publisher.close();
  }
}
