/**
 * The timing loop shared by the micro benchmarks: plain loops timed with process.hrtime.bigint,
 * a fixed warm-up that lets the JIT settle, then the median of the measured rounds. No
 * dependency, so a benchmark times our code and nothing else.
 *
 * Sized by env: ROUNDS (measured rounds, default 7), WARMUP_ROUNDS (default 3).
 * @module
 */

export const ROUNDS = Number(process.env.ROUNDS ?? 7);
export const WARMUP_ROUNDS = Number(process.env.WARMUP_ROUNDS ?? 3);

/** What one round of a benchmark does. */
export interface Round {
  /** Untimed work before each round (building the state the round consumes). */
  readonly prepare?: (() => void) | undefined;
  /**
   * The timed work. Returns a number derived from its results, which the harness keeps, so
   * that the work cannot be optimized away.
   */
  readonly run: () => number | Promise<number>;
}

/** Results of every round land here, so that no round's work is dead code. */
let kept = 0;

/** Runs WARMUP_ROUNDS untimed rounds, then ROUNDS timed ones; answers the median, in ns. */
export async function measure(round: Round): Promise<number> {
  for (let i = 0; i < WARMUP_ROUNDS; i++) {
    round.prepare?.();
    kept += await round.run();
  }
  const times: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    round.prepare?.();
    const start = process.hrtime.bigint();
    kept += await round.run();
    times.push(Number(process.hrtime.bigint() - start));
  }
  if (kept === Number.MIN_VALUE) console.log("");
  return median(times);
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

/** One line naming the run: Node version, rounds, warm-up. */
export function printPreamble(name: string): void {
  console.log(
    `${name}: Node ${process.version}, median of ${ROUNDS} rounds after ${WARMUP_ROUNDS} warm-up rounds`,
  );
}

/** Prints a titled table; the first column is left-aligned, the others right-aligned. */
export function printTable(
  title: string,
  headers: readonly string[],
  rows: readonly (readonly string[])[],
): void {
  const widths = headers.map((header, col) =>
    Math.max(header.length, ...rows.map((row) => (row[col] ?? "").length)),
  );
  const line = (cells: readonly string[]): string =>
    `  ${cells
      .map((cell, col) =>
        col === 0 ? cell.padEnd(widths[col] ?? 0) : cell.padStart(widths[col] ?? 0),
      )
      .join("  ")}`;
  console.log(`\n${title}`);
  console.log(line(headers));
  for (const row of rows) console.log(line(row));
}

/** Nanoseconds with one decimal below 100, none above. */
export function formatNs(ns: number): string {
  return ns < 100 ? ns.toFixed(1) : Math.round(ns).toLocaleString("en-US");
}

/** A rate per second with a k/M/G suffix. */
export function formatRate(perSecond: number): string {
  if (perSecond >= 1e9) return `${(perSecond / 1e9).toFixed(2)} G`;
  if (perSecond >= 1e6) return `${(perSecond / 1e6).toFixed(2)} M`;
  if (perSecond >= 1e3) return `${(perSecond / 1e3).toFixed(1)} k`;
  return perSecond.toFixed(0);
}

/** `value / base` as a ratio, `1.00x` for the base itself. */
export function formatRatio(value: number, base: number): string {
  return `${(value / base).toFixed(2)}x`;
}
