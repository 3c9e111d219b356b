/**
 * Runs the real `ssehub` command in a child process, for tests of what an operator sees.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import type { TestContext } from "node:test";
import { fileURLToPath } from "node:url";

export const MAIN = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));

export interface Run {
  readonly child: ChildProcess;
  readonly stdout: string[];
  readonly stderr: string[];
  /** Resolves with the exit code. */
  readonly exited: Promise<number | null>;
}

/** Spawns `ssehub <args>`; the process is killed after the test if still running. */
export function ssehub(t: TestContext, args: string[], env: Record<string, string> = {}): Run {
  const child = spawn(process.execPath, [MAIN, ...args], {
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

/** Waits for a JSON log line whose message includes `text`, and returns it parsed. */
export async function logLine(
  run: Run,
  matches: (entry: { url?: string; msg?: string }) => boolean,
  timeoutMs = 10_000,
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
    `No such log line; stdout ${run.stdout.join("\n")}; stderr ${run.stderr.join("\n")}`,
  );
}

/** Waits for the JSON log line that carries the listening URL. */
export async function listeningUrl(run: Run, timeoutMs = 10_000): Promise<string> {
  const entry = await logLine(
    run,
    (e) => e.url !== undefined && e.msg?.includes("listening") === true,
    timeoutMs,
  );
  return entry.url!;
}
