/**
 * Waiting in tests: for a condition, never for a duration. On a loaded machine (CI, a laptop
 * building something else) anything may take ten times longer than on an idle one, so a test
 * that sleeps and then asserts, or that fails past a short deadline, fails there though nothing
 * is wrong. A test waits for what it expects to happen; the bound on each wait exists only to
 * stop a hung test with a message that names what it waited for. It is not a speed limit, and
 * it stays below the runner's per-test timeout (scripts/run-tests.mjs: 120 s) so that the
 * message, not a bare "test timed out", is what a hung test reports.
 * @module
 */

/** How long a wait may last before the test is taken for hung, in ms. */
export const HUNG_AFTER_MS = 60_000; // 60 seconds

/** Options of waitFor and within. */
export interface WaitOptions {
  /** Fails the wait past this many ms: only to stop a hung test. @default HUNG_AFTER_MS */
  readonly timeoutMs?: number | undefined;
  /** How often to ask the check again, in ms. @default 10 */
  readonly intervalMs?: number | undefined;
}

/** Resolves after `ms` ms. For pacing (a publisher's rhythm), never before an assert. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Asks `check` until it answers a truthy value and resolves with that value. Fails with an
 * error naming `what` (and what `check` answered last) only when the test is taken for hung.
 * @example
 * await waitFor(() => hub.stats().subscribers === 0, "the subscriber to leave");
 * const entry = await waitFor(() => lines.find((l) => l.includes("listening")), "the log line");
 */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  what = "a condition",
  options: WaitOptions = {},
): Promise<Exclude<T, false | 0 | "" | null | undefined>> {
  const timeoutMs = options.timeoutMs ?? HUNG_AFTER_MS;
  const intervalMs = options.intervalMs ?? 10;
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as Exclude<T, false | 0 | "" | null | undefined>;
    if (performance.now() > deadline) {
      throw new Error(
        `Waited ${timeoutMs} ms for ${what}, in vain (last answer: ${String(value)}): the test looks hung`,
      );
    }
    await sleep(intervalMs);
  }
}

/**
 * Resolves or rejects as `promise` does; fails naming `what` only when the test is taken for
 * hung. For a promise that settles on an event (a socket closing, a process exiting).
 */
export async function within<T>(
  promise: Promise<T>,
  what: string,
  timeoutMs = HUNG_AFTER_MS,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`Waited ${timeoutMs} ms for ${what}, in vain: the test looks hung`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([promise, hung]);
  } finally {
    clearTimeout(timer);
  }
}
