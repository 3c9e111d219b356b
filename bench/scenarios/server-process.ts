/**
 * The pieces the standalone memory scenarios (idle-footprint.ts, topic-churn.ts) share: a free
 * port, a server process started and stopped, and its resident memory read from /proc.
 */
import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import net from "node:net";

/** How long a started server has to answer its health check. */
const START_TIMEOUT_MS = 10_000;
/** How long a server has to exit after SIGTERM before it is killed. */
const STOP_TIMEOUT_MS = 15_000;

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A port free on 127.0.0.1 now. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as net.AddressInfo;
  server.close();
  await once(server, "close");
  return port;
}

/** Resident memory of `pid`, in bytes (VmRSS of /proc/<pid>/status). */
export function vmRss(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  if (match === null) throw new Error(`No VmRSS in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}

/**
 * Waits until `isUp` (the server's health check) says yes; throws when the server exits first,
 * and kills it when it does not answer within START_TIMEOUT_MS.
 */
export async function waitUntilServing(
  child: ChildProcess,
  isUp: () => Promise<boolean>,
): Promise<ChildProcess> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`The server exited with ${child.exitCode}`);
    try {
      if (await isUp()) return child;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`The server did not start within ${START_TIMEOUT_MS / 1000} s`);
    }
    await sleep(50);
  }
}

/** Stops the server with SIGTERM (SIGKILL past STOP_TIMEOUT_MS) and waits until it exits. */
export async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, "exit");
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}
