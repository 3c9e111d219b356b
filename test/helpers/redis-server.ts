/**
 * A real Redis for tests: Debian's `redis-server`, started on 127.0.0.1 on a free port in a fresh
 * temporary folder, and stopped, restarted or killed by the test. Its data lives in an
 * append-only file synced on every write (no RDB snapshots), so a restart keeps what was
 * written. Each test starts its own: a Redis installed as a system service (port 6379) is never
 * used. Everything started here is killed and removed after the test.
 *
 * The helper speaks RESP over node:net itself (`redisCommand`), so it needs no client library.
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { findTool, requireTools } from "./require-tool.js";
import { HUNG_AFTER_MS } from "./wait-for.js";

interface TestContext {
  after(fn: () => unknown): void;
}

export interface StartRedisOptions {
  /** A config file for redis-server, given before every argument (where redis-server reads
   * it); a sentinel needs one it can rewrite. None by default. */
  readonly config?: string;
  /** More arguments for redis-server, after the helper's own (a later one wins). */
  readonly args?: readonly string[];
  /**
   * How long Redis may take to answer PING after each start, in ms: only against a hung test
   * (default HUNG_AFTER_MS).
   */
  readonly startTimeoutMs?: number;
}

/** A redis-server process of a test. */
export interface RedisServer {
  /** `redis://127.0.0.1:<port>`, what `ssehub serve --redis` takes. */
  readonly url: string;
  readonly port: number;
  /** Its data folder (the append-only files), kept across restarts, removed after the test. */
  readonly dir: string;
  /** The pid of the running process; undefined while it is stopped. */
  readonly pid: number | undefined;
  readonly isRunning: boolean;
  /** The last lines Redis logged, for failure messages. */
  readonly log: readonly string[];
  /** Starts it again on the same port and folder, and waits until it answers PING. */
  start(): Promise<void>;
  /** SIGTERM (a clean shutdown), then waits for the process to exit. */
  stop(): Promise<void>;
  /** SIGKILL, then waits for the process to exit. */
  kill(): Promise<void>;
}

/** Lines of Redis' log kept for failure messages. */
const LOG_LINES_KEPT = 40;
/** Ports tried for a new Redis lie below Linux's ephemeral range (32768-60999 by default), so
 * that no outgoing connection can take the port while Redis is stopped between two starts. */
const PORT_LOW = 20_000;
const PORT_HIGH = 32_000;
/** Ports tried before giving up, when others are taken meanwhile. */
const PORT_ATTEMPTS = 8;
/** Longest wait for the process to exit after SIGTERM before SIGKILL, in ms. */
const STOP_TIMEOUT_MS = 5000;

class RedisProcess implements RedisServer {
  readonly port: number;
  readonly dir: string;
  readonly log: string[] = [];
  readonly #binary: string;
  readonly #config: readonly string[];
  readonly #args: readonly string[];
  readonly #startTimeoutMs: number;
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();

  constructor(binary: string, port: number, dir: string, options: StartRedisOptions) {
    this.#binary = binary;
    this.port = port;
    this.dir = dir;
    this.#config = options.config === undefined ? [] : [options.config];
    this.#args = options.args ?? [];
    this.#startTimeoutMs = options.startTimeoutMs ?? HUNG_AFTER_MS;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.isRunning ? this.#child?.pid : undefined;
  }

  get isRunning(): boolean {
    const child = this.#child;
    return child !== undefined && child.exitCode === null && child.signalCode === null;
  }

  async start(): Promise<void> {
    if (this.isRunning) throw new Error(`Redis on port ${this.port} is already running`);
    const child = spawn(
      this.#binary,
      [
        ...this.#config,
        "--port",
        String(this.port),
        "--bind",
        "127.0.0.1",
        "--protected-mode",
        "no", // loopback only, and no password: the tests' own Redis
        "--dir",
        this.dir,
        "--daemonize",
        "no",
        "--save",
        "", // no RDB snapshots
        "--appendonly",
        "yes",
        "--appendfsync",
        "always", // every write is on disk before the answer, so a restart loses nothing
        "--logfile",
        "", // to stdout, kept in `log`
        ...this.#args,
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    this.#child = child;
    this.#exited = new Promise((resolve) => child.once("close", () => resolve()));
    child.once("error", (error) => this.#keep(`spawn failed: ${error.message}`));
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream! }).on("line", (line) => this.#keep(line));
    }
    await this.#waitForPong(child);
  }

  async stop(): Promise<void> {
    if (!this.isRunning) return;
    const child = this.#child!;
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), STOP_TIMEOUT_MS);
    await this.#exited;
    clearTimeout(timer);
  }

  async kill(): Promise<void> {
    if (!this.isRunning) return;
    this.#child!.kill("SIGKILL");
    await this.#exited;
  }

  #keep(line: string): void {
    this.log.push(line);
    if (this.log.length > LOG_LINES_KEPT) this.log.shift();
  }

  /** Sends PING until Redis answers PONG (not LOADING), or fails with its log. */
  async #waitForPong(child: ChildProcess): Promise<void> {
    const deadline = Date.now() + this.#startTimeoutMs;
    let last = "no answer";
    while (Date.now() < deadline) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new RedisStartError(
          `redis-server on port ${this.port} exited (${child.exitCode ?? child.signalCode}) ` +
            `before answering PING; its log: ${this.log.join(" | ")}`,
          this.log.some((line) => line.includes("Address already in use")),
        );
      }
      try {
        // One attempt of many: a short bound here only means asking again.
        const answer = await redisCommand(this.port, ["PING"], 1000);
        if (answer === "PONG") return;
        last = String(answer);
      } catch (error) {
        last = (error as Error).message;
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    child.kill("SIGKILL");
    await this.#exited;
    throw new RedisStartError(
      `redis-server on port ${this.port} did not answer PING within ${this.#startTimeoutMs} ms ` +
        `(last: ${last}); its log: ${this.log.join(" | ")}`,
      false,
    );
  }
}

class RedisStartError extends Error {
  readonly portTaken: boolean;
  constructor(message: string, portTaken: boolean) {
    super(message);
    this.name = "RedisStartError";
    this.portTaken = portTaken;
  }
}

/**
 * Starts redis-server on 127.0.0.1 on a free port in a fresh temporary folder and waits until it
 * answers PING. It is killed, and its folder removed, after the test. Fails with the command
 * that installs it when `redis-server` is missing.
 */
export async function startRedis(
  t: TestContext,
  options: StartRedisOptions = {},
): Promise<RedisServer> {
  const binary = findTool("redis-server");
  if (binary === undefined) {
    throw new Error(`Cannot start Redis: ${requireTools(["redis-server"]) || "not on PATH"}`);
  }
  const dir = await mkdtemp(join(tmpdir(), "ssehub-redis-"));
  let started: RedisProcess | undefined;
  t.after(async () => {
    await started?.kill();
    await rm(dir, { recursive: true, force: true });
  });
  // A port found free may be taken before Redis binds it (another test does the same): try
  // another one then.
  for (let attempt = 1; ; attempt++) {
    const redis = new RedisProcess(binary, await freePort(), dir, options);
    started = redis;
    try {
      await redis.start();
      return redis;
    } catch (error) {
      if (!(error instanceof RedisStartError && error.portTaken) || attempt >= PORT_ATTEMPTS) {
        throw error;
      }
    }
  }
}

/** A port of 127.0.0.1 that nothing listens on now, outside the ephemeral range. */
async function freePort(): Promise<number> {
  for (;;) {
    const port = PORT_LOW + Math.floor(Math.random() * (PORT_HIGH - PORT_LOW));
    const free = await new Promise<boolean>((resolve) => {
      const server = net.createServer();
      server.once("error", () => resolve(false));
      server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
    });
    if (free) return port;
  }
}

/** A RESP reply: a simple string, an integer, a bulk string (null when absent), or an error. */
export type RedisReply = string | number | null | RedisReplyError;

/** An error reply (`-ERR ...`), returned rather than thrown so that tests can check it. */
export class RedisReplyError {
  readonly message: string;
  constructor(message: string) {
    this.message = message;
  }
  toString(): string {
    return `-${this.message}`;
  }
}

/**
 * Sends one command to the Redis on `127.0.0.1:port` over a new connection and resolves with
 * its reply. Replies of type simple string, error, integer and bulk string are understood
 * (enough for PING, GET, SET, INCR, DBSIZE); an array reply rejects.
 */
export function redisCommand(
  port: number,
  args: readonly string[],
  timeoutMs = HUNG_AFTER_MS,
): Promise<RedisReply> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    let received = Buffer.alloc(0);
    const finish = (error: Error | undefined, reply?: RedisReply): void => {
      socket.destroy();
      clearTimeout(timer);
      if (error) reject(error);
      else resolve(reply as RedisReply);
    };
    const timer = setTimeout(
      () => finish(new Error(`Redis on port ${port} did not answer ${args[0]} in ${timeoutMs} ms`)),
      timeoutMs,
    );
    socket.once("error", (error) => finish(error));
    socket.once("close", () => finish(new Error(`Redis on port ${port} closed the connection`)));
    socket.on("data", (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const reply = parseReply(received);
      if (reply instanceof Error) finish(reply);
      else if (reply !== undefined) finish(undefined, reply.value);
    });
    let request = `*${args.length}\r\n`;
    for (const arg of args) request += `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`;
    socket.write(request);
  });
}

/** One reply from the start of `buffer`; undefined while incomplete. */
function parseReply(buffer: Buffer): { value: RedisReply } | Error | undefined {
  const lineEnd = buffer.indexOf("\r\n");
  if (lineEnd < 0) return undefined;
  const line = buffer.subarray(1, lineEnd).toString("utf8");
  switch (String.fromCharCode(buffer[0] ?? 0)) {
    case "+":
      return { value: line };
    case "-":
      return { value: new RedisReplyError(line) };
    case ":":
      return { value: Number(line) };
    case "$": {
      const length = Number(line);
      if (length < 0) return { value: null };
      const start = lineEnd + 2;
      if (buffer.length < start + length + 2) return undefined;
      return { value: buffer.subarray(start, start + length).toString("utf8") };
    }
    default:
      return new Error(`Unexpected RESP reply: ${JSON.stringify(buffer.toString("utf8"))}`);
  }
}
