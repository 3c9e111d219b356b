/**
 * The load tool behind `ssehub bench`: scenarios (idle, fanout, publish, churn, topics, faults) against
 * ssehub or any SSE server through a target adapter, on loopback only.
 * @module
 */

export { runBench } from "./bench.js";
export type { BenchOptions, ResolvedBenchOptions } from "./bench-options.js";
export {
  DEFAULTS,
  MAX_SOCKETS_PER_PROCESS,
  resolveBenchOptions,
  SCENARIOS,
} from "./bench-options.js";
export type { BenchHooks } from "./bench-session.js";
export type { FaultName } from "./faults.js";
export { FAULT_NAMES } from "./faults.js";
export type { HistogramSnapshot } from "./histogram.js";
export { Histogram } from "./histogram.js";
export type {
  BenchResult,
  ChurnSummary,
  ConnectionsSummary,
  DeliverySummary,
  FaultRecovery,
  FaultReport,
  FaultsSummary,
  LadderStep,
  LadderSummary,
  LatencySummary,
  LoadgenSummary,
  PublishSummary,
  ScenarioName,
  ServerSummary,
  ThresholdsSummary,
  VerifySummary,
} from "./result.js";
export { RESULT_SCHEMA, summarizeLatency } from "./result.js";
export { csvHeader, formatResultCsv, formatResultText } from "./result-format.js";
export type { PublishBodyKind, Target, TargetName, TargetSpec } from "./targets.js";
export { createTarget, isLoopbackHost, TARGET_NAMES } from "./targets.js";
