/**
 * `idle`: N subscribers held for H seconds. Reports how many connected and how fast, and, per
 * connection above their baselines before the first connect: the server's RSS, the load tool's
 * RSS, and the kernel's slab and TCP buffer memory.
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
    kernel: session.kernelSummary(),
    verify: null,
  };
}
