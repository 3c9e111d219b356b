/**
 * Runs the real `ssehub` command in a child process, for tests of what an operator sees.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import type { TestContext } from "node:test";
import { fileURLToPath } from "node:url";
import { HUNG_AFTER_MS } from "./wait-for.js";

export const MAIN = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));

export interface Run {
  readonly child: ChildProcess;
  readonly stdout: string[];
  readonly stderr: string[];
  /** Resolves with the exit code. */
  readonly exited: Promise<number | null>;
}

/**
 * Spawns `ssehub <args>`; the process is killed after the test if still running. `through` runs
 * it under another command that ends by exec'ing its arguments (e.g. a shell that sets limits).
 */
export function ssehub(
  t: TestContext,
  args: string[],
  env: Record<string, string> = {},
  through: readonly string[] = [],
): Run {
  const [program, ...before] = [...through, process.execPath];
  const child = spawn(program!, [...before, MAIN, ...args], {
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  });
  const stdout: string[] = [];
  const stderr: string[] = [];
  createInterface({ input: child.stdout! }).on("line", (line) => stdout.push(line));
  createInterface({ input: child.stderr! }).on("line", (line) => stderr.push(line));
  const exited = once(child, "close").then(([code]) => code as number | null);
  return { child, stdout, stderr, exited };
}

/**
 * Waits for a JSON log line that `matches`, and returns it parsed. Fails at once when the
 * process exits without it; `timeoutMs` only stops a hung test (a loaded machine may take long
 * to start the process and its workers, and that is no failure).
 */
export async function logLine(
  run: Run,
  matches: (entry: { url?: string; msg?: string }) => boolean,
  timeoutMs = HUNG_AFTER_MS,
): Promise<{ url?: string; msg?: string; [key: string]: unknown }> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const line of run.stdout) {
      const entry = JSON.parse(line) as { url?: string; msg?: string };
      if (matches(entry)) return entry;
    }
    if (run.child.exitCode !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(
    `No such log line${run.child.exitCode === null ? ` within ${timeoutMs} ms` : ""}; stdout ${run.stdout.join("\n")}; stderr ${run.stderr.join("\n")}`,
  );
}

/** Waits for the JSON log line that carries the listening URL. */
export async function listeningUrl(run: Run, timeoutMs = HUNG_AFTER_MS): Promise<string> {
  const entry = await logLine(
    run,
    (e) => e.url !== undefined && e.msg?.includes("listening") === true,
    timeoutMs,
  );
  return entry.url!;
}
