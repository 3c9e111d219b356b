import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, it, type TestContext } from "node:test";
import { createServer as createSsehubServer } from "../../src/http/server.js";
import { HUNG_AFTER_MS } from "../helpers/wait-for.js";

type CommandName = "publish" | "subscribe";

const COMMANDS = new URL("../../src/cli/commands/", import.meta.url);

/** The environment of the commands, without an SSEHUB_URL inherited from the shell. */
function commandEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const { SSEHUB_URL: _, ...env } = process.env;
  return { ...env, ...extra };
}

/** Runs a command in its own process, as `ssehub <name> ...args` would. */
function spawnCommand(
  name: CommandName,
  args: readonly string[],
  env: Record<string, string> = {},
): ChildProcess {
  const module = new URL(`${name}.js`, COMMANDS).href;
  const script = `const command = await import(${JSON.stringify(module)});
process.exitCode = await command.${name}Command(JSON.parse(process.argv[1]));`;
  return spawn(process.execPath, ["--input-type=module", "-e", script, JSON.stringify(args)], {
    env: commandEnv(env),
    stdio: ["ignore", "pipe", "pipe"],
  });
}

interface Finished {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to its end. */
function run(
  name: CommandName,
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<Finished> {
  const child = spawnCommand(name, args, env);
  let stdout = "";
  let stderr = "";
  child.stdout?.setEncoding("utf8").on("data", (text: string) => {
    stdout += text;
  });
  child.stderr?.setEncoding("utf8").on("data", (text: string) => {
    stderr += text;
  });
  return withTimeout(
    new Promise((resolve) => child.once("close", (code) => resolve({ code, stdout, stderr }))),
    `waiting for ssehub ${name} to end`,
  );
}

/** A long-running `ssehub subscribe`, read line by line. */
class Subscriber {
  readonly #child: ChildProcess;
  readonly #lines: string[] = [];
  #stderr = "";
  readonly #exited: Promise<number | null>;

  constructor(t: TestContext, args: readonly string[]) {
    this.#child = spawnCommand("subscribe", args);
    let partial = "";
    this.#child.stdout?.setEncoding("utf8").on("data", (text: string) => {
      const parts = (partial + text).split("\n");
      partial = parts.pop() ?? "";
      this.#lines.push(...parts);
    });
    this.#child.stderr?.setEncoding("utf8").on("data", (text: string) => {
      this.#stderr += text;
    });
    this.#exited = new Promise((resolve) => this.#child.once("close", resolve));
    t.after(() => {
      if (this.#child.exitCode === null) this.#child.kill("SIGKILL");
    });
  }

  get stderr(): string {
    return this.#stderr;
  }

  /** The first `count` lines of stdout, once they arrived. */
  async lines(count: number): Promise<string[]> {
    await until(
      () => this.#lines.length >= count,
      `${count} line(s) from ssehub subscribe`,
      () => JSON.stringify({ lines: this.#lines, stderr: this.#stderr }),
    );
    return this.#lines.slice(0, count);
  }

  /** Waits for stderr to match `pattern`. */
  async stderrMatches(pattern: RegExp): Promise<void> {
    await until(
      () => pattern.test(this.#stderr),
      `stderr to match ${pattern}`,
      () => this.#stderr,
    );
  }

  /** Sends `signal` and gives the exit status. */
  async stop(signal: NodeJS.Signals = "SIGINT"): Promise<number | null> {
    this.#child.kill(signal);
    return this.exited();
  }

  exited(): Promise<number | null> {
    return withTimeout(this.#exited, "waiting for ssehub subscribe to exit");
  }
}

/** `promise`, or a failure naming `what` when the test is taken for hung. */
function withTimeout<T>(promise: Promise<T>, what: string, ms = HUNG_AFTER_MS): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Waits until `condition` holds; fails naming `what` (and `state`) when the test is hung. */
async function until(condition: () => boolean, what: string, state?: () => string) {
  const deadline = Date.now() + HUNG_AFTER_MS;
  while (!condition()) {
    if (Date.now() > deadline) {
      throw new Error(`Timed out waiting for ${what}${state ? `: ${state()}` : ""}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** One request to the mimic hub, with its body read. */
interface Hit {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly url: URL;
  readonly body: string;
}

/**
 * A node:http server that mimics the hub's /publish and /events: each request waits for the
 * test to answer it, in order of arrival.
 */
async function startMimic(t: TestContext) {
  const queued: Hit[] = [];
  const waiting: Array<(hit: Hit) => void> = [];
  const server = createServer(async (req, res) => {
    let body = "";
    for await (const chunk of req) body += chunk;
    const hit = { req, res, url: new URL(req.url ?? "/", "http://127.0.0.1"), body };
    const waiter = waiting.shift();
    if (waiter === undefined) queued.push(hit);
    else waiter(hit);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    next(): Promise<Hit> {
      const hit = queued.shift();
      if (hit !== undefined) return Promise.resolve(hit);
      return withTimeout(
        new Promise<Hit>((resolve) => waiting.push(resolve)),
        "waiting for a request",
      );
    },
  };
}

function answerJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "Content-Type": "application/json" }).end(JSON.stringify(body));
}

function openStream(res: ServerResponse, text: string): void {
  res.writeHead(200, { "Content-Type": "text/event-stream" });
  res.write(text);
}

/** A port where nothing listens. */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

describe("ssehub publish", () => {
  it("ssehub publish posts the event as JSON and prints the assigned id", async (t) => {
    const hub = await startMimic(t);
    const done = run("publish", [
      "news",
      "hello world",
      "--event",
      "note",
      "--topic",
      "more",
      "--topic",
      "most",
      "--retry",
      "500",
      "--url",
      `${hub.url}/`,
    ]);
    const { req, res, url, body } = await hub.next();
    assert.equal(req.method, "POST");
    assert.equal(url.pathname, "/publish");
    assert.equal(req.headers["content-type"], "application/json");
    assert.deepEqual(JSON.parse(body), {
      topics: ["news", "more", "most"],
      data: "hello world",
      event: "note",
      retry: 500,
    });
    answerJson(res, 200, { id: "e-1", topics: ["news", "more", "most"] });
    assert.deepEqual(await done, { code: 0, stdout: "e-1\n", stderr: "" });
  });

  it("ssehub publish --json sends the data as a JSON value", async (t) => {
    const hub = await startMimic(t);
    const done = run("publish", ["news", '{"a":[1,"x"]}', "--json", "--url", hub.url]);
    const { res, body } = await hub.next();
    assert.deepEqual(JSON.parse(body), { topics: ["news"], data: { a: [1, "x"] } });
    answerJson(res, 200, { id: "e-2", topics: ["news"] });
    assert.equal((await done).stdout, "e-2\n");
  });

  it("ssehub publish finds the hub in SSEHUB_URL", async (t) => {
    const hub = await startMimic(t);
    const done = run("publish", ["news", "x"], { SSEHUB_URL: hub.url });
    answerJson((await hub.next()).res, 200, { id: "e-3", topics: ["news"] });
    assert.equal((await done).code, 0);
  });

  it("ssehub publish prints the hub's error code and message and exits 1", async (t) => {
    const hub = await startMimic(t);
    const done = run("publish", ["a b", "x", "--url", hub.url]);
    answerJson((await hub.next()).res, 400, {
      statusCode: 400,
      code: "SSEHUB_ERR_TOPIC_INVALID",
      message: 'Cannot use topic "a b": topic names may not contain white space',
    });
    assert.deepEqual(await done, {
      code: 1,
      stdout: "",
      stderr:
        'ssehub: SSEHUB_ERR_TOPIC_INVALID: Cannot use topic "a b": topic names may not contain white space\n',
    });
  });

  it("ssehub publish reports an answer that is not the hub's JSON", async (t) => {
    const hub = await startMimic(t);
    const done = run("publish", ["news", "x", "--url", hub.url]);
    (await hub.next()).res.writeHead(502, { "Content-Type": "text/html" }).end("<h1>Bad</h1>");
    assert.deepEqual(await done, {
      code: 1,
      stdout: "",
      stderr: "ssehub: HTTP_502: the hub answered 502 Bad Gateway\n",
    });
  });

  it("ssehub publish reports a hub it cannot reach and exits 1", async () => {
    const port = await closedPort();
    const { code, stdout, stderr } = await run("publish", [
      "news",
      "x",
      "--url",
      `http://127.0.0.1:${port}`,
    ]);
    assert.equal(code, 1);
    assert.equal(stdout, "");
    assert.match(
      stderr,
      /^ssehub: ECONNREFUSED: Cannot reach the hub at http:\/\/127\.0\.0\.1:\d+\/publish: /,
    );
  });

  it("ssehub publish --help prints the usage and exits 0", async () => {
    const { code, stdout, stderr } = await run("publish", ["--help"]);
    assert.equal(code, 0);
    assert.match(stdout, /^Usage: ssehub publish <topic> <data> \[options\]/);
    assert.match(stdout, /--event TYPE/);
    assert.equal(stderr, "");
  });

  const usageErrors: ReadonlyArray<readonly [string, readonly string[], RegExp]> = [
    ["no argument", [], /expected <topic> <data>, got 0 argument/],
    ["a third argument", ["a", "b", "c"], /got 3 argument/],
    ["an unknown option", ["a", "b", "--nope"], /Unknown option '--nope'/],
    ["a retry that is not milliseconds", ["a", "b", "--retry", "1s"], /Cannot use --retry "1s"/],
    ["data that is not JSON with --json", ["a", "{", "--json"], /Cannot read <data> as JSON/],
    ["a relative URL", ["a", "b", "--url", "localhost"], /Cannot use --url "localhost"/],
  ];
  for (const [what, args, message] of usageErrors) {
    it(`ssehub publish exits 2 on ${what}`, async () => {
      const { code, stdout, stderr } = await run("publish", args);
      assert.equal(code, 2);
      assert.equal(stdout, "");
      assert.match(stderr, /^ssehub: SSEHUB_ERR_OPTIONS_INVALID: /);
      assert.match(stderr, message);
    });
  }
});

describe("ssehub subscribe", () => {
  it("ssehub subscribe prints events and resumes after a reconnect with Last-Event-ID", async (t) => {
    const hub = await startMimic(t);
    const subscriber = new Subscriber(t, ["news", "more", "--url", hub.url]);

    const first = await hub.next();
    assert.equal(first.req.method, "GET");
    assert.equal(first.url.pathname, "/events");
    assert.deepEqual(first.url.searchParams.getAll("topic"), ["news", "more"]);
    assert.equal(first.req.headers["last-event-id"], undefined);
    openStream(first.res, "retry: 10\n\nid: e-1\ndata: a\n\n");
    assert.deepEqual(await subscriber.lines(1), ["[e-1] message: a"]);
    first.res.end();

    const second = await hub.next();
    assert.equal(second.req.headers["last-event-id"], "e-1");
    openStream(second.res, "id: e-2\nevent: note\ndata: b\n\n");
    assert.deepEqual(await subscriber.lines(2), ["[e-1] message: a", "[e-2] note: b"]);
    assert.match(subscriber.stderr, /ssehub: SSEHUB_ERR_CLIENT_DISCONNECTED: .*; reconnecting\n/);

    assert.equal(await subscriber.stop("SIGINT"), 0);
  });

  it("ssehub subscribe --json prints one JSON object per line", async (t) => {
    const hub = await startMimic(t);
    const subscriber = new Subscriber(t, [
      "news",
      "--json",
      "--last-event-id",
      "e-4",
      "--url",
      hub.url,
    ]);
    const { req, res } = await hub.next();
    assert.equal(req.headers["last-event-id"], "e-4");
    openStream(res, "id: e-5\nevent: t\ndata: line 1\ndata: line 2\n\n");
    const [line] = await subscriber.lines(1);
    assert.deepEqual(JSON.parse(line ?? ""), { id: "e-5", event: "t", data: "line 1\nline 2" });
    assert.equal(await subscriber.stop("SIGTERM"), 0);
  });

  it("ssehub subscribe exits 1 when the hub refuses the subscription", async (t) => {
    const hub = await startMimic(t);
    const subscriber = new Subscriber(t, ["a b", "--url", hub.url]);
    answerJson((await hub.next()).res, 400, {
      statusCode: 400,
      code: "SSEHUB_ERR_TOPIC_INVALID",
      message: "Cannot use topic",
    });
    assert.equal(await subscriber.exited(), 1);
    assert.match(
      subscriber.stderr,
      /^ssehub: SSEHUB_ERR_TOPIC_INVALID: Cannot use topic\nssehub: the hub at http:\/\/\S+ answered 400\n$/,
    );
  });

  it("ssehub subscribe --help prints the usage and exits 0", async () => {
    const { code, stdout } = await run("subscribe", ["-h"]);
    assert.equal(code, 0);
    assert.match(stdout, /^Usage: ssehub subscribe <topic>\.\.\. \[options\]/);
  });

  it("ssehub subscribe exits 2 without a topic", async () => {
    const { code, stderr } = await run("subscribe", ["--json"]);
    assert.equal(code, 2);
    assert.match(stderr, /^ssehub: SSEHUB_ERR_TOPIC_MISSING: Cannot subscribe without a topic/);
  });

  it("ssehub subscribe exits 2 on a URL it cannot use", async () => {
    const { code, stderr } = await run("subscribe", ["news", "--url", "nope"]);
    assert.equal(code, 2);
    assert.match(stderr, /^ssehub: SSEHUB_ERR_OPTIONS_INVALID: Cannot create the client: url/);
  });
});

describe("ssehub publish and subscribe against a real hub", () => {
  it("a subscriber resuming after an id gets the later events, then live ones", async (t) => {
    const ssehub = createSsehubServer({
      host: "127.0.0.1",
      port: 0,
      logLevel: "silent",
      shutdownTimeoutMs: 1000,
    });
    const { url } = await ssehub.listen();
    t.after(() => ssehub.close());

    const first = await run("publish", ["news", "first", "--url", url]);
    assert.equal(first.code, 0, first.stderr);
    const second = await run("publish", ["news", "second", "--event", "note", "--url", url]);
    assert.equal(second.code, 0, second.stderr);
    const [firstId, secondId] = [first.stdout.trim(), second.stdout.trim()];
    assert.notEqual(firstId, secondId);

    const subscriber = new Subscriber(t, [
      "news",
      "--json",
      "--last-event-id",
      firstId,
      "--url",
      url,
    ]);
    const [replayed] = await subscriber.lines(1);
    assert.deepEqual(JSON.parse(replayed ?? ""), { id: secondId, event: "note", data: "second" });

    const third = await run("publish", [
      "news",
      '{"n":3}',
      "--json",
      "--topic",
      "other",
      "--url",
      url,
    ]);
    assert.equal(third.code, 0, third.stderr);
    const lines = await subscriber.lines(2);
    assert.deepEqual(JSON.parse(lines[1] ?? ""), {
      id: third.stdout.trim(),
      event: "message",
      data: '{"n":3}',
    });

    const refused = await run("publish", ["news", "x", "--event", "a\nb", "--url", url]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^ssehub: SSEHUB_ERR_EVENT_INVALID_TYPE: /);

    assert.equal(await subscriber.stop("SIGINT"), 0);
  });
});
