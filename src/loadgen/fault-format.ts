/**
 * The text form of the `faults` section of a BenchResult: one row per fault, then per fault the
 * details that do not fit a column (publish errors by status, resets by reason, the process).
 * `lost` counts the events of acknowledged (2xx) publishes only; `refused` those of refused
 * publishes that never arrived, `refused dlv` those that arrived anyway.
 * @module
 */
import type { FaultReport, FaultsSummary } from "./result.js";

const COLUMNS = [
  "fault",
  "published",
  "pub errors",
  "delivered",
  "lost",
  "refused",
  "refused dlv",
  "dup",
  "reord",
  "resets",
  "publish back",
  "1st delivery",
  "all subs",
] as const;

function seconds(value: number | null): string {
  return value === null ? "never" : `${value.toFixed(2)} s`;
}

function cells(report: FaultReport): string[] {
  const count = (n: number): string => n.toLocaleString("en-US");
  return [
    report.fault,
    count(report.published),
    count(report.publishErrors),
    count(report.delivered),
    count(report.lost),
    count(report.refusedNotDelivered),
    count(report.refusedDelivered),
    count(report.duplicated),
    count(report.reordered),
    count(report.resets),
    seconds(report.recovery.firstPublishSeconds),
    seconds(report.recovery.firstDeliverySeconds),
    seconds(report.recovery.allSubscribersSeconds),
  ];
}

function details(report: FaultReport): string {
  const parts = [
    report.error === null
      ? `pid ${report.pid}${report.newPid === null ? "" : ` -> new pid ${report.newPid}`}, ${report.faultSeconds.toFixed(2)} s`
      : `not injected: ${report.error}`,
    `${report.subscribers} subscribers, ${report.recovery.subscribersRecovered} recovered`,
    `${report.dropped} dropped, ${report.reconnects} reconnects, ${report.failedReconnects} failed`,
  ];
  if (report.publishErrors > 0)
    parts.push(`publish statuses ${JSON.stringify(report.publishStatusCodes)}`);
  if (report.resets > 0) parts.push(`resets ${JSON.stringify(report.resetReasons)}`);
  return `    ${report.fault}: ${parts.join("; ")}`;
}

/** The faults section as a text table; recovery times count from the fault's injection. */
export function formatFaultsText(summary: FaultsSummary): string {
  const rows = [[...COLUMNS], ...summary.faults.map(cells)];
  const widths = COLUMNS.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  const line = (row: readonly string[]): string =>
    `  ${row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  ")}`;
  return [
    `Faults (a window of ${summary.faultIntervalMs} ms each, the fault a quarter in; recovery from the fault)`,
    ...rows.map(line),
    ...summary.faults.map(details),
  ].join("\n");
}
