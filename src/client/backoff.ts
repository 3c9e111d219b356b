/**
 * Reconnection delays: exponential backoff with full jitter. Spreading reconnects at random
 * over the whole window keeps a fleet of clients from hitting a restarted hub all at once.
 * @see https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/
 * @module
 */

/**
 * The delay before reconnection attempt `attempt` (0 for the first after a successful open):
 * a random time from 0 up to `min(maxMs, baseMs * 2^attempt)`, in ms.
 *
 * @param attempt failed attempts since the last successful open, from 0
 * @param baseMs window of the first attempt, in ms
 * @param maxMs largest window, in ms
 * @param random a number in [0, 1): Math.random by default
 */
export function fullJitterDelay(
  attempt: number,
  baseMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  // 2^attempt overflows to Infinity long before attempt matters; min() brings it back.
  const window = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 64));
  return Math.floor(random() * window);
}
