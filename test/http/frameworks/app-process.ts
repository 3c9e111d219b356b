/**
 * Runs one of the framework apps of docs/api.md (test/http/frameworks/apps/) in a child
 * process, as its user runs it: `PORT=0 node app.js`, then SIGTERM.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { waitFor, within } from "../../helpers/wait-for.js";

export interface AppProcess {
  readonly child: ChildProcess;
  /** `http://127.0.0.1:<port>`, from the app's `listening on` line. */
  readonly url: string;
  readonly stdout: readonly string[];
  readonly stderr: readonly string[];
  /** Resolves with the exit code (null when a signal ended it). */
  readonly exited: Promise<number | null>;
}

/** The compiled app `name` (`express`, `fastify`, `hono`) beside this file. */
export function appPath(name: string): string {
  return fileURLToPath(new URL(`apps/${name}-app.js`, import.meta.url));
}

/** Starts the app `name` on 127.0.0.1, port 0, and waits until it listens. */
export async function startApp(name: string): Promise<AppProcess> {
  const child = spawn(process.execPath, [appPath(name)], {
    env: { PATH: process.env.PATH ?? "", PORT: "0" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const stdout: string[] = [];
  const stderr: string[] = [];
  createInterface({ input: child.stdout! }).on("line", (line) => stdout.push(line));
  createInterface({ input: child.stderr! }).on("line", (line) => stderr.push(line));
  const exited = once(child, "close").then(([code]) => code as number | null);
  const url = await waitFor(() => {
    if (child.exitCode !== null) {
      throw new Error(`The ${name} app exited (${child.exitCode}): ${stderr.join("\n")}`);
    }
    return stdout.map((line) => /^listening on (http:\/\/\S+)$/.exec(line)?.[1]).find(Boolean);
  }, `the ${name} app to listen`);
  return { child, url, stdout, stderr, exited };
}

/** Sends SIGTERM and resolves with the exit code; SIGKILL if the app is still running after the wait. */
export async function stopApp(app: AppProcess): Promise<number | null> {
  if (app.child.exitCode !== null || app.child.signalCode !== null) return app.exited;
  app.child.kill("SIGTERM");
  try {
    return await within(app.exited, "the app to exit after SIGTERM");
  } finally {
    if (app.child.exitCode === null && app.child.signalCode === null) app.child.kill("SIGKILL");
  }
}
