/**
 * The line `ssehub serve` prints when it cannot listen: the address, what went wrong in words,
 * what to do, and Node's code once (Node's own message repeats the code and says nothing of
 * the fix). The process then exits with EXIT_LISTEN (docs/operations.md).
 * @module
 */
import { createServer } from "node:net";

/** Exit code of `ssehub serve` when it cannot listen (a supervisor may retry: the port may free up). */
export const EXIT_LISTEN = 1;

/** What each listen error means, and what to do about it. */
const LISTEN_ERRORS: Readonly<Record<string, (port: number) => string>> = Object.freeze({
  EADDRINUSE: (port) =>
    `the address is in use by another process: stop it (\`ss -ltnp 'sport = :${port}'\` names it) or choose another port with --port or SSEHUB_PORT`,
  EACCES: () =>
    "this process may not bind it: choose a port above 1023, or give node the CAP_NET_BIND_SERVICE capability",
  EADDRNOTAVAIL: () =>
    "it is not an address of this machine: choose one of its addresses with --host or SSEHUB_HOST (0.0.0.0 for all)",
});

/** `[::1]:8080` or `127.0.0.1:8080`. */
function hostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * One line for stderr about a listen that failed, or undefined for an error that is no listen
 * failure of Node's (the caller prints it as any other error).
 * @example
 * listenFailureLine(error, "127.0.0.1", 8080)
 * // "ssehub: Cannot listen on 127.0.0.1:8080: the address is in use by another process: ... (EADDRINUSE)\n"
 */
export function listenFailureLine(error: unknown, host: string, port: number): string | undefined {
  const errno = error as NodeJS.ErrnoException & { address?: string; port?: number };
  // A cluster worker's listen fails in the primary's `bind`, reported to the worker as such.
  if ((errno?.syscall !== "listen" && errno?.syscall !== "bind") || errno.code === undefined) {
    return undefined;
  }
  const where = hostPort(errno.address ?? host, errno.port ?? port);
  const explain = LISTEN_ERRORS[errno.code];
  const what = explain === undefined ? errno.message : explain(errno.port ?? port);
  return `ssehub: Cannot listen on ${where}: ${what} (${errno.code})\n`;
}

/**
 * Listens on `host:port` and closes again: the error of a listen that fails (a port in use),
 * or undefined. The primary of `--workers` asks before it forks, so that a port in use is one
 * line and one exit rather than a line per worker of a crash loop. Port 0 always succeeds.
 */
export function probeListen(host: string, port: number): Promise<unknown> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once("error", (error) => resolve(error));
    probe.listen(port, host, () => probe.close(() => resolve(undefined)));
  });
}
