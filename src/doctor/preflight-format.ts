/**
 * The human form of a preflight report: an aligned table, then what to do for each check that
 * did not pass (why, and the lines that fix it), then a one-line summary.
 * @module
 */
import { count, counted } from "./check.js";
import type { PreflightReport } from "./preflight.js";

/** How formatPreflightText() words the report. */
export interface PreflightTextOptions {
  /** Explain the checks that passed too. @default false */
  readonly verbose?: boolean;
}

function table(rows: readonly (readonly string[])[]): string[] {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) =>
    row
      .map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!)))
      .join("  "),
  );
}

/** The report as lines of text, ending with the summary. */
export function formatPreflightText(
  report: PreflightReport,
  options: PreflightTextOptions = {},
): string[] {
  const { target } = report;
  const lines = [
    `Host preflight for ${count(target.connections)} connections over ${counted(target.workers, "process", "processes")}: ${count(target.connectionsPerProcess)} connections and ${count(target.filesPerProcess)} open files each`,
    "",
    ...table([
      ["status", "check", "found", "needs"],
      ...report.checks.map((check) => [check.status, check.id, check.found, check.needs]),
    ]),
  ];
  const explained = report.checks.filter(
    (check) =>
      check.status === "fail" ||
      check.status === "warn" ||
      (options.verbose === true && check.note !== ""),
  );
  for (const check of explained) {
    lines.push("", `${check.status} ${check.id}: ${check.title}`, `  ${check.note}`);
    if (check.fix.length > 0) lines.push("  Fix:", ...check.fix.map((line) => `    ${line}`));
  }
  const { pass, warn, fail, skip } = report.counts;
  const verdict =
    report.status === "fail"
      ? "fix the failures above"
      : report.status === "warn"
        ? "ready, with warnings"
        : "ready";
  lines.push(
    "",
    `${fail} failed, ${warn} warned, ${pass} passed, ${skip} skipped: ${verdict}${options.verbose === true ? "" : " (--verbose explains every check)"}`,
  );
  return lines;
}
