/**
 * Adding up counters: the load tool sums the same fields over its workers' reports in several
 * places, and a field forgotten in one of them would be a figure silently left at zero.
 * @module
 */

/** Adds the numeric fields `keys` of `part` into `total`. */
export function addCounts<K extends string>(
  total: Record<K, number>,
  part: Readonly<Record<K, number>>,
  keys: readonly K[],
): void {
  for (const key of keys) total[key] += part[key];
}
