/**
 * `ssehub doctor`'s host preflight: reads the host, checks it against a target, and says what
 * passed, what to watch and what to fix. Pure once the facts are read, so that tests check every
 * verdict with fixture files.
 * @module
 */
import type { CheckStatus, DoctorCheck } from "./check.js";
import { memoryChecks } from "./checks-memory.js";
import { networkChecks } from "./checks-network.js";
import { openFilesChecks } from "./checks-open-files.js";
import { type DoctorTarget, type DoctorTargetInput, resolveDoctorTarget } from "./doctor-target.js";
import { type HostFacts, readHostFacts } from "./host-facts.js";
import { createHostReader, type HostReader } from "./host-reader.js";

/** What the preflight found: every check, counted, and the verdict. */
export interface PreflightReport {
  /** Names the JSON form, for machines that read it. */
  readonly schema: "ssehub-doctor/1";
  readonly target: DoctorTarget;
  /** The raw facts read (an unlimited limit becomes null in JSON). */
  readonly facts: HostFacts;
  readonly checks: readonly DoctorCheck[];
  readonly counts: Readonly<Record<CheckStatus, number>>;
  /** `fail` when any check failed, `warn` when any warned, else `pass`. */
  readonly status: "pass" | "warn" | "fail";
}

/** Checks `facts` against `target`. Pure. */
export function checkHost(facts: HostFacts, target: DoctorTarget): PreflightReport {
  const checks = [
    ...openFilesChecks(facts, target),
    ...networkChecks(facts, target),
    ...memoryChecks(facts, target),
  ];
  const counts: Record<CheckStatus, number> = { pass: 0, warn: 0, fail: 0, skip: 0 };
  for (const check of checks) counts[check.status] += 1;
  const status = counts.fail > 0 ? "fail" : counts.warn > 0 ? "warn" : "pass";
  return { schema: "ssehub-doctor/1", target, facts, checks, counts, status };
}

/** What runPreflight() checks, and where it reads. */
export interface PreflightInput extends DoctorTargetInput {
  /** A systemd unit whose LimitNOFILE to check (`--unit`). */
  readonly unit?: string | undefined;
  /** Where to read the host: this machine by default. */
  readonly reader?: HostReader | undefined;
}

/**
 * Reads the host and checks it against the target. Throws SSEHUB_ERR_OPTIONS_INVALID for a
 * target that makes no sense.
 * @example
 * const report = runPreflight({ connections: 500_000, workers: 28 });
 * if (report.status === "fail") process.exitCode = 1;
 */
export function runPreflight(input: PreflightInput = {}): PreflightReport {
  const target = resolveDoctorTarget(input);
  const facts = readHostFacts(input.reader ?? createHostReader(), input.unit);
  return checkHost(facts, target);
}

/** The exit status of a report: 1 when a check failed, else 0 (warnings do not fail). */
export function preflightExitCode(report: PreflightReport): number {
  return report.status === "fail" ? 1 : 0;
}
