/**
 * `idle`: N subscribers held for H seconds. Reports how many connected and how fast, and the
 * server's RSS per connection above its baseline before the first connect.
 * @module
 */
import { type BenchSession, pause, type ScenarioOutcome } from "../bench-session.js";

/** Holds the (already connected) subscribers for `holdSeconds`, then reads the server. */
export async function runIdle(session: BenchSession): Promise<ScenarioOutcome> {
  const { holdSeconds } = session.options;
  session.setPhase(`holding ${holdSeconds} s`);
  const before = session.sample();
  await pause(holdSeconds * 1000, session.hooks.signal);
  const after = session.sample();
  return {
    delivery: null,
    latency: null,
    publish: null,
    churn: null,
    ladder: null,
    server: session.serverSummary(before, after, null),
    loadgen: session.loadgenSummary(before, after, null),
    verify: null,
  };
}
