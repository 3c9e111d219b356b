/**
 * `runBench()`: one run of one scenario against one target, from options to a BenchResult.
 * The steps are the same for every scenario: resolve and check the options, fork the workers,
 * open the subscribers, run the scenario, close every socket, then judge the thresholds.
 * @module
 */
import { cpus, loadavg } from "node:os";
import {
  type BenchOptions,
  type ResolvedBenchOptions,
  resolveBenchOptions,
} from "./bench-options.js";
import { type BenchHooks, BenchSession, type ScenarioOutcome } from "./bench-session.js";
import { type FaultPlan, planFaults } from "./faults.js";
import {
  type BenchResult,
  type ConnectionsSummary,
  RESULT_SCHEMA,
  type ThresholdsSummary,
} from "./result.js";
import { runChurn } from "./scenarios/churn.js";
import { runFanout } from "./scenarios/fanout.js";
import { runFaults } from "./scenarios/faults.js";
import { runIdle } from "./scenarios/idle.js";
import { runPublish } from "./scenarios/publish.js";
import { createTarget } from "./targets.js";
import { unreachableError } from "./unreachable.js";

function runScenario(session: BenchSession, plan: FaultPlan | null): Promise<ScenarioOutcome> {
  switch (session.options.scenario) {
    case "faults":
      return runFaults(session, plan!);
    case "idle":
      return runIdle(session);
    case "publish":
      return runPublish(session);
    case "churn":
      return runChurn(session);
    default:
      // fanout and topics differ in their options only.
      return runFanout(session);
  }
}

/** The thresholds crossed, as sentences. */
function judge(
  options: ResolvedBenchOptions,
  connections: ConnectionsSummary,
  outcome: ScenarioOutcome,
): ThresholdsSummary {
  const failures: string[] = [];
  if (connections.attempted > 0 && connections.established === 0) {
    failures.push("no subscriber could connect");
  }
  if (connections.failedRatio > options.maxFailedRatio) {
    failures.push(
      `${connections.failed} of ${connections.attempted} connections failed (${(connections.failedRatio * 100).toFixed(2)}%), more than --max-failed-ratio ${options.maxFailedRatio}`,
    );
  }
  const delivery = outcome.delivery;
  if (delivery !== null && options.maxLost !== null && delivery.lost > options.maxLost) {
    failures.push(`${delivery.lost} deliveries lost, more than --max-lost ${options.maxLost}`);
  }
  if (
    delivery !== null &&
    options.maxDuplicated !== null &&
    delivery.duplicated > options.maxDuplicated
  ) {
    failures.push(
      `${delivery.duplicated} deliveries duplicated, more than --max-duplicated ${options.maxDuplicated}`,
    );
  }
  for (const report of outcome.faults?.faults ?? []) {
    if (report.error !== null) failures.push(`${report.fault} failed: ${report.error}`);
  }
  if (outcome.verify !== null && outcome.verify.mismatches > 0) {
    failures.push(
      `the fast scanner and the full parser disagree on ${outcome.verify.mismatches} subscribers: the counts are not trustworthy`,
    );
  }
  return { passed: failures.length === 0, failures };
}

/** The plan, with the load tool's worker processes among those never signalled. */
function withWorkers(plan: FaultPlan, session: BenchSession): FaultPlan {
  return { ...plan, untouchable: new Set([...plan.untouchable, ...session.group.pids]) };
}

/** The options of a run as the result reports them. */
function paramsOf(options: ResolvedBenchOptions): BenchResult["params"] {
  return {
    subscribers: options.subscribers,
    holdSeconds: options.scenario === "idle" ? options.holdSeconds : null,
    rate: options.scenario === "idle" || options.scenario === "publish" ? null : options.rate,
    durationSeconds: options.scenario === "idle" ? null : options.durationSeconds,
    sizeBytes: options.sizeBytes,
    topics: options.topics,
    topicsPerSubscriber: options.topicsPerSubscriber,
    connections: options.scenario === "publish" ? options.connections : null,
    publishers:
      options.scenario === "publish" || options.scenario === "idle" ? null : options.publishers,
    reconnectRate:
      options.scenario === "churn" || options.scenario === "faults" ? options.reconnectRate : null,
    faults: options.scenario === "faults" ? options.faults.join(",") : null,
    faultIntervalMs: options.scenario === "faults" ? options.faultIntervalMs : null,
    pauseMs:
      options.scenario === "faults" && options.faults.includes("pause-redis")
        ? options.pauseMs
        : null,
    ladder: options.ladder,
    ladderFactor: options.ladder ? options.ladderFactor : null,
    ladderSteps: options.ladder ? options.ladderSteps : null,
    p99BoundMs: options.ladder ? options.p99BoundMs : null,
    processes: options.processes,
    sourceAddresses: options.sourceAddresses.length,
    connectConcurrency: options.connectConcurrency,
    connectTimeoutMs: options.connectTimeoutMs,
    drainMs: options.drainMs,
    maxFailedRatio: options.maxFailedRatio,
    maxLost: options.maxLost,
    maxDuplicated: options.maxDuplicated,
    verify: options.verify,
  };
}

/**
 * Runs one scenario and returns its result. Rejects with SSEHUB_ERR_OPTIONS_INVALID for bad
 * options (a non-loopback URL among them), with SSEHUB_ERR_BENCH_UNREACHABLE right after the
 * connect phase when not one subscriber could connect (the error counts the connect errors),
 * and with an Error when a worker process fails. A server that refuses some connections is a
 * result with failures, not an error.
 *
 * Every socket and worker process is closed before it resolves or rejects.
 *
 * @example
 * ```ts
 * const result = await runBench({ scenario: "fanout", subscribers: 1000, rate: 100 });
 * process.stdout.write(formatResultText(result));
 * if (!result.thresholds.passed) process.exitCode = 1;
 * ```
 */
export async function runBench(input: BenchOptions, hooks: BenchHooks = {}): Promise<BenchResult> {
  const options = resolveBenchOptions(input);
  // The faults that do not apply to the target are refused before anything starts.
  const plan =
    options.scenario === "faults"
      ? planFaults({
          faults: options.faults,
          serverPorts: options.targets.map((spec) => createTarget(spec).subscribe.port),
          redisPid: options.redisPid,
          redisUrl: options.redisUrl,
          pauseMs: options.pauseMs,
          redisRestartCommand: options.redisRestartCommand,
          selfPids: [process.pid],
        })
      : null;
  const startedAt = new Date();
  const loadAverageStart = loadavg()[0] ?? 0;
  const started = performance.now();
  const session = await BenchSession.open(options, hooks);
  let outcome: ScenarioOutcome;
  let final: Awaited<ReturnType<BenchSession["close"]>>;
  try {
    await session.connect();
    // Nobody got through: the scenario would run its whole duration to measure nothing.
    const unreachable = unreachableError(options.target.url, session.connectReports);
    if (unreachable !== undefined) throw unreachable;
    outcome = await runScenario(session, plan === null ? null : withWorkers(plan, session));
  } finally {
    final = await session.close();
  }
  const connections = session.connectionsSummary(final);
  const target = session.target;
  const firstTopics = Array.from({ length: options.topicsPerSubscriber }, (_, i) =>
    session.topicName(i),
  );
  const endpointUrl = (host: string, port: number): string =>
    host.includes(":") ? `http://[${host}]:${port}` : `http://${host}:${port}`;
  return {
    schema: RESULT_SCHEMA,
    scenario: options.scenario,
    startedAt: startedAt.toISOString(),
    wallSeconds: (performance.now() - started) / 1000,
    machine: {
      node: process.version,
      cpus: cpus().length,
      platform: process.platform,
      loadAverageStart,
      loadAverageEnd: loadavg()[0] ?? 0,
    },
    target: {
      adapter: target.name,
      url: options.target.url,
      urls: options.targets.map((spec) => spec.url),
      subscribeUrl: `${endpointUrl(target.subscribe.host, target.subscribe.port)}${target.subscribePath(firstTopics)}`,
      publishUrl: `${endpointUrl(target.publish.host, target.publish.port)}${target.publishRequest(session.topicName(0), "").path}`,
    },
    params: paramsOf(options),
    connections,
    delivery: outcome.delivery,
    latency: outcome.latency,
    publish: outcome.publish,
    churn: outcome.churn,
    ladder: outcome.ladder,
    faults: outcome.faults ?? null,
    kernel: outcome.kernel ?? null,
    server: outcome.server,
    loadgen: outcome.loadgen,
    verify: outcome.verify,
    thresholds: judge(options, connections, outcome),
  };
}

export type { BenchHooks } from "./bench-session.js";
