/**
 * Memory per connection: the growth of a figure over its baseline, divided among the
 * connections that caused it. A figure that fell below its baseline (a GC or another process
 * gave memory back during the run, a machine-wide figure moved for other reasons) says nothing
 * about the connections: it is reported as not meaningful (null), never as a negative size.
 * @module
 */

/**
 * (after - before) / connections, rounded; null without connections or when `after` fell
 * below `before`.
 * @example
 * perConnectionBytes(12_000, 2_000, 10) // 1000
 * perConnectionBytes(1_000, 2_000, 10) // null: the figure shrank during the run
 */
export function perConnectionBytes(
  after: number,
  before: number,
  connections: number,
): number | null {
  if (connections <= 0 || after < before) return null;
  return Math.round((after - before) / connections);
}

/**
 * How a per-connection figure reads in the text report: its size, or why there is none when
 * connections were held.
 */
export function perConnectionText(
  bytes: number | null,
  connections: number,
  kib: (bytes: number) => string,
): string {
  if (bytes !== null) return `${kib(bytes)} per connection`;
  return connections > 0 ? "per connection not meaningful (below its baseline)" : "";
}
