/**
 * Reconnection delays: never sooner than the base (the hub's `retry:`, as EventSource honours
 * it), then exponential backoff with jitter above it. Spreading later attempts at random keeps
 * a fleet of clients from hitting a restarted hub all at once; the first attempt is already
 * spread by the hub, which sends each client a different `retry:` when it shuts down.
 * @see https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/
 * @module
 */

/**
 * The delay before reconnection attempt `attempt` (0 for the first after a successful open):
 * `base` plus a random share of the window above it, the window being
 * `min(maxMs, baseMs * 2^attempt)`; so attempt 0 waits exactly `min(baseMs, maxMs)`. In ms.
 *
 * @param attempt failed attempts since the last successful open, from 0
 * @param baseMs the least delay, in ms
 * @param maxMs largest delay, in ms
 * @param random a number in [0, 1): Math.random by default
 */
export function reconnectDelay(
  attempt: number,
  baseMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const floor = Math.min(baseMs, maxMs);
  // 2^attempt overflows to Infinity long before attempt matters; min() brings it back.
  const window = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 64));
  return floor + Math.floor(random() * (window - floor));
}
