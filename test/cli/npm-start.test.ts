/**
 * `npm start` as a container runs it (`CMD npm start`): `docker stop` sends SIGTERM to npm alone,
 * and npm forwards it to its child only. The start script execs node in place of the shell that
 * runs it, so that the hub is that child and shuts down gracefully instead of being orphaned.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { test } from "node:test";
import { spawnNpmStart } from "../helpers/npm-start.js";

interface LogEntry {
  readonly pid?: number;
  readonly url?: string;
  readonly msg?: string;
}

/** Whether a process with this id exists (a reaped child no longer does). */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

test("npm start ends the hub gracefully when npm gets SIGTERM, and leaves no process behind", async (t) => {
  const npm = spawnNpmStart();
  let hubPid: number | undefined;
  t.after(() => {
    if (npm.exitCode === null && npm.signalCode === null) npm.kill("SIGKILL");
    if (hubPid !== undefined && isRunning(hubPid)) process.kill(hubPid, "SIGKILL");
  });
  const exited = once(npm, "close").then(([code]) => code as number | null);
  const stderr: string[] = [];
  createInterface({ input: npm.stderr }).on("line", (line) => stderr.push(line));
  // npm prints its own banner lines; the hub's lines are JSON.
  const entries: LogEntry[] = [];
  const listening = new Promise<LogEntry>((resolve, reject) => {
    createInterface({ input: npm.stdout }).on("line", (line) => {
      if (!line.startsWith("{")) return;
      const entry = JSON.parse(line) as LogEntry;
      entries.push(entry);
      if (entry.url !== undefined && entry.msg?.includes("listening") === true) resolve(entry);
    });
    void exited.then((code) =>
      reject(new Error(`npm start exited with ${code} first; stderr ${stderr.join("\n")}`)),
    );
  });

  const { pid, url } = await listening;
  assert.ok(pid !== undefined && url !== undefined);
  hubPid = pid;
  assert.equal((await fetch(`${url}/healthz`)).status, 200);

  npm.kill("SIGTERM");
  assert.equal(await exited, 0, stderr.join("\n"));
  const messages = entries.filter((entry) => entry.pid === pid).map((entry) => entry.msg);
  assert.ok(messages.includes("Received SIGTERM: shutting down"), messages.join("\n"));
  assert.ok(messages.includes("ssehub stopped"), messages.join("\n"));
  assert.equal(isRunning(pid), false, `the hub (pid ${pid}) still runs after npm exited`);
});
