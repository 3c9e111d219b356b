/**
 * The shell examples of README.md and docs/*.md stay true: every ```sh block runs against a real
 * hub that this test starts with `npm start`, as the README's quick start does, with curl and
 * the `ssehub` command line, unless the markdown says why it cannot run here with a comment right
 * before its fence: `<!-- not run: reason -->`. Those are listed and counted, so nothing is
 * skipped silently.
 *
 * How a block runs: its URLs on port 8080 point at the test's hub, `npx ssehub` is the built
 * command line. Streams (`curl -N`, `ssehub subscribe`) start first, in the background, and
 * must open; the other commands then run in order and must exit 0 (in a `$ ` transcript, print
 * what the page shows, ids aside). When the block publishes, every stream must receive an
 * event; then the test ends the streams.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { describe, type TestContext, test } from "node:test";
import { fileURLToPath } from "node:url";
import { spawnNpmStart } from "../helpers/npm-start.js";
import { requireTools } from "../helpers/require-tool.js";
import { MAIN } from "../helpers/ssehub-process.js";
import { HUNG_AFTER_MS } from "../helpers/wait-for.js";

/** The repository root: this file runs as dist/test/docs/shell-examples.test.js. */
const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

/** Pages whose shell blocks are not run at all, and why. */
const PAGES_NOT_RUN: Readonly<Record<string, string>> = Object.freeze({
  "docs/BENCHMARKS.md":
    "generated from bench/results (no comment survives a render); its commands are benchmarks: minutes of load on the machine",
});

/** The marker before a fence that says why its block does not run here. */
const NOT_RUN = /^<!-- not run: (.+?) -->$/;
const SHELL_FENCE = /^```(?:sh|bash|shell|console)\s*$/;

/** One ```sh block of a page. */
interface ShellExample {
  /** `docs/http-api.md:212`: the page and the line of the fence. */
  readonly where: string;
  readonly text: string;
  /** Why it does not run, when it does not. */
  readonly notRun: string | undefined;
  /**
   * What the page says its first stream prints: the bare fence after a line ending in
   * "prints:" right below the block (README's quick start).
   */
  readonly prints: string | undefined;
}

/** The text of the bare fence that follows a "... prints:" line at `from`, if any. */
function printedBelow(lines: readonly string[], from: number): string | undefined {
  let i = from;
  while (i < lines.length && lines[i]!.trim() === "") i++;
  if (!/prints:$/.test(lines[i] ?? "")) return undefined;
  for (i++; i < lines.length && lines[i]!.trim() === ""; i++);
  if (lines[i] !== "```") return undefined;
  const body: string[] = [];
  for (i++; i < lines.length && lines[i] !== "```"; i++) body.push(lines[i]!);
  return body.join("\n");
}

/** A command of a block, with the output a transcript shows for it. */
interface Command {
  readonly line: string;
  readonly expected: readonly string[];
}

function pages(): string[] {
  const docs = readdirSync(join(ROOT, "docs"))
    .filter((name) => name.endsWith(".md"))
    .sort()
    .map((name) => `docs/${name}`);
  return ["README.md", ...docs];
}

function examplesOf(page: string): ShellExample[] {
  const lines = readFileSync(join(ROOT, page), "utf8").split("\n");
  const examples: ShellExample[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!SHELL_FENCE.test(lines[i]!)) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !lines[i]!.startsWith("```"); i++) body.push(lines[i]!);
    let before = start - 1;
    while (before >= 0 && lines[before]!.trim() === "") before--;
    const marker = before >= 0 ? NOT_RUN.exec(lines[before]!.trim()) : null;
    examples.push({
      where: `${page}:${start + 1}`,
      text: body.join("\n"),
      notRun: PAGES_NOT_RUN[page] ?? marker?.[1],
      prints: printedBelow(lines, i + 1),
    });
  }
  return examples;
}

/**
 * The commands of a block: a `$ ` transcript's prompt lines with the output under each, or
 * every line (continuations joined) without comment-only and blank lines.
 */
function commandsOf(text: string): Command[] {
  const lines = text.split("\n");
  if (lines.some((line) => line.startsWith("$ "))) {
    const commands: { line: string; expected: string[] }[] = [];
    for (const line of lines) {
      if (line.startsWith("$ ")) commands.push({ line: line.slice(2), expected: [] });
      else if (line.trim() !== "") commands.at(-1)?.expected.push(line);
    }
    return commands;
  }
  const commands: Command[] = [];
  let pending = "";
  for (const line of lines) {
    if (pending === "" && (line.trim() === "" || line.trim().startsWith("#"))) continue;
    if (line.endsWith("\\")) {
      // The shell reads the backslash-newline as the continuation it is.
      pending += `${line}\n`;
      continue;
    }
    commands.push({ line: pending + line, expected: [] });
    pending = "";
  }
  return commands;
}

/** True for a command that streams until it is ended: a subscription. */
function isStream(command: string): boolean {
  return /^curl\b[^\n]*\s-N\b/.test(command) || /^ssehub subscribe\b/.test(command);
}

/** Ids and the hub's port vary from run to run; the rest of a transcript line must not. */
function normalized(line: string, port: number): string {
  return line
    .replace(/urn:ssehub:[a-z0-9]+:\d+/g, "<id>")
    .replaceAll(`127.0.0.1:${port}`, "127.0.0.1:8080")
    .trimEnd();
}

/** The environment of the examples: `ssehub` on PATH, the hub's URL for it. */
interface Shell {
  readonly port: number;
  readonly env: Record<string, string>;
}

function rewrite(command: string, port: number): string {
  return command
    .replaceAll("localhost:8080", `127.0.0.1:${port}`)
    .replaceAll("127.0.0.1:8080", `127.0.0.1:${port}`)
    .replace(/\bnpx ssehub\b/g, "ssehub");
}

interface Running {
  readonly child: ChildProcess;
  stdout: string;
  stderr: string;
  readonly exited: Promise<number | null>;
}

function run(shell: Shell, command: string): Running {
  // A process group of its own: ending a stream ends the shell and the curl it started.
  const child = spawn("sh", ["-c", rewrite(command, shell.port)], {
    cwd: ROOT,
    env: shell.env,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const running: Running = {
    child,
    stdout: "",
    stderr: "",
    exited: once(child, "close").then(([code]) => code as number | null),
  };
  child.stdout!.on("data", (chunk: Buffer) => {
    running.stdout += chunk.toString("utf8");
  });
  child.stderr!.on("data", (chunk: Buffer) => {
    running.stderr += chunk.toString("utf8");
  });
  return running;
}

/** Waits until `ready` holds, failing at once when the process ends first. */
async function until(running: Running, what: string, ready: () => boolean): Promise<void> {
  const deadline = Date.now() + HUNG_AFTER_MS;
  while (!ready()) {
    if (running.child.exitCode !== null || running.child.signalCode !== null) {
      throw new Error(
        `The stream ended before ${what}: exit ${running.child.exitCode}; stdout ${JSON.stringify(running.stdout)}; stderr ${JSON.stringify(running.stderr)}`,
      );
    }
    if (Date.now() > deadline) throw new Error(`No ${what} within ${HUNG_AFTER_MS} ms (hung)`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function hasOpened(stream: Running, command: string): boolean {
  return command.startsWith("ssehub subscribe")
    ? stream.stderr.includes("subscribed to")
    : stream.stdout.length > 0;
}

function hasEvent(stream: Running, command: string): boolean {
  return command.startsWith("ssehub subscribe")
    ? /^\[urn:ssehub:/m.test(stream.stdout)
    : /^data:/m.test(stream.stdout);
}

async function runExample(t: TestContext, shell: Shell, example: ShellExample): Promise<void> {
  const commands = commandsOf(example.text);
  const streams: { command: Command; running: Running }[] = [];
  t.after(async () => {
    for (const { running } of streams) {
      if (running.child.exitCode !== null || running.child.signalCode !== null) continue;
      process.kill(-running.child.pid!, "SIGKILL");
      await running.exited;
    }
  });
  for (const command of commands.filter((c) => isStream(c.line))) {
    const running = run(shell, command.line);
    streams.push({ command, running });
    await until(running, `the stream of ${command.line} opened`, () =>
      hasOpened(running, command.line),
    );
    const [first] = command.expected;
    if (first !== undefined) {
      assert.equal(normalized(running.stderr.split("\n")[0]!, shell.port), normalized(first, 0));
    }
  }
  const others = commands.filter((c) => !isStream(c.line));
  for (const command of others) {
    const running = run(shell, command.line);
    const code = await running.exited;
    assert.equal(code, 0, `${command.line}\nstdout ${running.stdout}\nstderr ${running.stderr}`);
    if (command.expected.length > 0) {
      const printed = `${running.stdout}${running.stderr}`.trimEnd().split("\n");
      assert.deepEqual(
        printed.map((line) => normalized(line, shell.port)),
        command.expected.map((line) => normalized(line, 0)),
      );
    }
  }
  if (others.length === 0) return;
  for (const { command, running } of streams) {
    await until(running, `an event on ${command.line}`, () => hasEvent(running, command.line));
  }
  const [first] = streams;
  if (example.prints !== undefined && first !== undefined) {
    const expected = normalized(example.prints, 0);
    await until(first.running, "the output the page shows", () =>
      normalized(first.running.stdout, shell.port).startsWith(expected),
    );
  }
}

interface Hub {
  readonly port: number;
  readonly npm: ChildProcess;
}

/** The hub of the examples, started as the README's quick start starts it: `npm start`. */
async function npmStart(t: TestContext): Promise<Hub> {
  const npm = spawnNpmStart();
  let hubPid: number | undefined;
  t.after(async () => {
    if (npm.exitCode === null && npm.signalCode === null) {
      npm.kill("SIGTERM");
      await once(npm, "close");
    }
    if (hubPid !== undefined) {
      try {
        process.kill(hubPid, "SIGKILL");
      } catch {
        // gone with npm, as it should be
      }
    }
  });
  const stderr: string[] = [];
  createInterface({ input: npm.stderr! }).on("line", (line) => stderr.push(line));
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: npm.stdout! }).on("line", (line) => {
      if (!line.startsWith("{")) return;
      const entry = JSON.parse(line) as { pid?: number; url?: string; msg?: string };
      if (entry.url !== undefined && entry.msg?.includes("listening") === true) {
        hubPid = entry.pid;
        resolve(entry.url);
      }
    });
    npm.once("close", (code) =>
      reject(new Error(`npm start exited with ${code} first; stderr ${stderr.join("\n")}`)),
    );
  });
  return { port: Number(new URL(url).port), npm };
}

/** A folder on PATH whose `ssehub` is this checkout's built command line. */
function ssehubOnPath(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), "ssehub-examples-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const bin = join(dir, "ssehub");
  writeFileSync(
    bin,
    `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(MAIN)} "$@"\n`,
  );
  chmodSync(bin, 0o755);
  return dir;
}

const ALL = pages().flatMap(examplesOf);
const NOT_RUN_EXAMPLES = ALL.filter((example) => example.notRun !== undefined);
const RUN_EXAMPLES = ALL.filter((example) => example.notRun === undefined);

describe("the shell examples of README.md and docs/", () => {
  test("every shell block runs, or its page says why it cannot run here", (t) => {
    t.diagnostic(
      `${ALL.length} shell blocks: ${RUN_EXAMPLES.length} run, ${NOT_RUN_EXAMPLES.length} not run`,
    );
    for (const example of NOT_RUN_EXAMPLES) {
      t.diagnostic(`not run: ${example.where}: ${example.notRun}`);
      assert.ok(example.notRun!.trim().length > 0, `${example.where} gives no reason`);
    }
    assert.equal(RUN_EXAMPLES.length + NOT_RUN_EXAMPLES.length, ALL.length);
    assert.ok(RUN_EXAMPLES.length > 0, "some examples run");
  });

  test("the README's quick start shows what its subscriber prints, and the test compares it", () => {
    const quickStart = RUN_EXAMPLES.find((example) => example.where.startsWith("README.md:"));
    assert.ok(quickStart?.prints !== undefined, "README.md shows what its curl subscriber prints");
    assert.match(quickStart.prints, /^retry: 3000\n\nid: urn:ssehub:/);
  });

  test("the examples run against a hub started with npm start", {
    skip: requireTools(["curl"]),
  }, async (t) => {
    const hub = await npmStart(t);
    const shell: Shell = {
      port: hub.port,
      env: {
        PATH: `${ssehubOnPath(t)}:${process.env.PATH ?? ""}`,
        SSEHUB_URL: `http://127.0.0.1:${hub.port}`,
      },
    };
    for (const example of RUN_EXAMPLES) {
      await t.test(example.where, (t) => runExample(t, shell, example));
    }
  });
});
