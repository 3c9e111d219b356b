/**
 * `ssehub publish` and `ssehub subscribe` against a real hub started with a publisher key and a
 * subscriber key: the token from --token or $SSEHUB_TOKEN (the flag wins) goes as
 * `Authorization: Bearer`, --header adds any header and is checked first (exit status 2), and a
 * 401 or 403 prints the hub's code and message, then what to change. Each command runs as the
 * user runs it: `node dist/src/cli/main.js <command>`.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { describe, it, type TestContext } from "node:test";
import { SignJWT } from "jose";
import { credentialHeaders } from "../../src/cli/hub-credentials.js";
import { startHub } from "../helpers/start-hub.js";
import { waitFor } from "../helpers/wait-for.js";

const MAIN = new URL("../../src/cli/main.js", import.meta.url).pathname;
const PUBLISHER_KEY = "publisher-key-of-at-least-32-bytes-for-hs256";
const SUBSCRIBER_KEY = "subscriber-key-of-at-least-32-bytes-for-hs256";

/** A token signed with `key`, whose mercure claim is `mercure`. */
function sign(key: string, mercure: Record<string, unknown>): Promise<string> {
  return new SignJWT({ mercure })
    .setProtectedHeader({ alg: "HS256" })
    .setIssuedAt()
    .sign(new TextEncoder().encode(key));
}

/** The environment of a command: no SSEHUB_URL or SSEHUB_TOKEN from the shell, plus `extra`. */
function commandEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const { SSEHUB_URL: _url, SSEHUB_TOKEN: _token, ...env } = process.env;
  return { ...env, ...extra };
}

/** `ssehub <args>` in its own process. */
function spawnSsehub(args: readonly string[], env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, [MAIN, ...args], {
    env: commandEnv(env),
    stdio: ["ignore", "pipe", "pipe"],
  });
}

interface Finished {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `ssehub <args>` to its end. */
function ssehub(args: readonly string[], env: Record<string, string> = {}): Promise<Finished> {
  const child = spawnSsehub(args, env);
  let stdout = "";
  let stderr = "";
  child.stdout?.setEncoding("utf8").on("data", (text: string) => {
    stdout += text;
  });
  child.stderr?.setEncoding("utf8").on("data", (text: string) => {
    stderr += text;
  });
  return new Promise((resolve) =>
    child.once("close", (status) => resolve({ status, stdout, stderr })),
  );
}

/** A hub that wants a token of each kind: no anonymous subscriber, no anonymous publisher. */
async function keyedHub(t: TestContext) {
  return startHub(t, {
    publisherJwtKey: PUBLISHER_KEY,
    subscriberJwtKey: SUBSCRIBER_KEY,
    anonymousSubscribe: false,
  });
}

describe("ssehub publish on a hub that wants a token", () => {
  it("publishes with --token, with $SSEHUB_TOKEN, and with --header Authorization", async (t) => {
    const { url } = await keyedHub(t);
    const token = await sign(PUBLISHER_KEY, { publish: ["*"] });
    const viaFlag = await ssehub(["publish", "a", "one", "--url", url, "--token", token]);
    assert.deepEqual([viaFlag.status, viaFlag.stderr], [0, ""]);
    assert.match(viaFlag.stdout, /^urn:ssehub:[0-9a-z]+:1\n$/);
    const viaEnv = await ssehub(["publish", "a", "two", "--url", url], { SSEHUB_TOKEN: token });
    assert.deepEqual([viaEnv.status, viaEnv.stderr], [0, ""]);
    const viaHeader = await ssehub([
      "publish",
      "a",
      "three",
      "--url",
      url,
      "--id",
      "order-42",
      "--header",
      `Authorization: Bearer ${token}`,
      "--header",
      "X-Tenant: acme",
    ]);
    assert.deepEqual(viaHeader, { status: 0, stdout: "order-42\n", stderr: "" });
  });

  it("takes --token over $SSEHUB_TOKEN", async (t) => {
    const { url } = await keyedHub(t);
    const good = await sign(PUBLISHER_KEY, { publish: ["*"] });
    const wrongKey = await sign(SUBSCRIBER_KEY, { publish: ["*"] });
    const flagWins = await ssehub(["publish", "a", "x", "--url", url, "--token", good], {
      SSEHUB_TOKEN: wrongKey,
    });
    assert.equal(flagWins.status, 0, flagWins.stderr);
    const flagLoses = await ssehub(["publish", "a", "x", "--url", url, "--token", wrongKey], {
      SSEHUB_TOKEN: good,
    });
    assert.equal(flagLoses.status, 1);
    assert.match(flagLoses.stderr, /^ssehub: SSEHUB_ERR_AUTH_INVALID: /);
  });

  it("prints the hub's code and message for a 401 and a 403, then what to change", async (t) => {
    const { url } = await keyedHub(t);
    const publishUrl = `${url}/publish`;
    const missing = await ssehub(["publish", "a", "x", "--url", url]);
    assert.equal(missing.status, 1);
    assert.equal(
      missing.stderr,
      "ssehub: SSEHUB_ERR_AUTH_MISSING: Cannot publish without a token: send Authorization: Bearer <token>\n" +
        `ssehub: the hub at ${publishUrl} answered 401: pass a token with --token or $SSEHUB_TOKEN\n`,
    );
    const wrongKey = await sign(SUBSCRIBER_KEY, { publish: ["*"] });
    const invalid = await ssehub(["publish", "a", "x", "--url", url, "--token", wrongKey]);
    assert.equal(invalid.status, 1);
    assert.equal(
      invalid.stderr,
      "ssehub: SSEHUB_ERR_AUTH_INVALID: Cannot accept the token: it is invalid or expired\n" +
        `ssehub: the hub at ${publishUrl} answered 401: check that the token is signed with the hub's publisher key and has not expired\n`,
    );
    const narrow = await sign(PUBLISHER_KEY, { publish: ["b"] });
    const forbidden = await ssehub(["publish", "a", "x", "--url", url, "--token", narrow]);
    assert.equal(forbidden.status, 1);
    const [first, second] = forbidden.stderr.split("\n");
    assert.match(
      first!,
      /^ssehub: SSEHUB_ERR_AUTH_FORBIDDEN: Cannot publish: the token does not grant /,
    );
    assert.equal(
      second,
      `ssehub: the hub at ${publishUrl} answered 403: the token's mercure.publish claim must cover every topic asked for`,
    );
  });

  const malformed: readonly (readonly [string, readonly string[], RegExp])[] = [
    ["a header without a colon", ["--header", "X-Tenant acme"], /with a colon after the name/],
    ["a header with an empty name", ["--header", ": acme"], /the name is empty/],
    ["a header name with a space", ["--header", "X Tenant: acme"], /"X Tenant" holds a character/],
    ["a line break in a value", ["--header", "X-Tenant: a\r\nX-Evil: 1"], /control character/],
    ["a header the command sets", ["--header", "Content-Type: text/plain"], /sets Content-Type/],
    ["a header HTTP sets", ["--header", "Content-Length: 1"], /set by HTTP itself/],
    ["an empty --token", ["--token", ""], /--token: it is empty/],
    ["a token with Bearer", ["--token", "Bearer abc"], /without "Bearer "/],
    ["a token with a space", ["--token", "abc def"], /no space/],
    [
      "a token and an Authorization header",
      ["--token", "abc", "--header", "authorization: Bearer abc"],
      /both set Authorization/,
    ],
  ];
  for (const [what, args, message] of malformed) {
    it(`refuses ${what} as bad usage (status 2) and sends nothing`, async (t) => {
      const { server, url } = await keyedHub(t);
      const done = await ssehub(["publish", "a", "x", "--url", url, ...args]);
      assert.equal(done.status, 2);
      assert.match(done.stderr, /^ssehub: SSEHUB_ERR_OPTIONS_INVALID: Cannot use /);
      assert.match(done.stderr, message);
      assert.equal(server.hub.stats().eventsPublished, 0);
    });
  }
});

describe("ssehub subscribe on a hub that wants a token", () => {
  /** A running `ssehub subscribe`, its output gathered. */
  function subscriber(t: TestContext, args: readonly string[], env: Record<string, string> = {}) {
    const child = spawnSsehub(["subscribe", ...args], env);
    const output = { stdout: "", stderr: "" };
    child.stdout?.setEncoding("utf8").on("data", (text: string) => {
      output.stdout += text;
    });
    child.stderr?.setEncoding("utf8").on("data", (text: string) => {
      output.stderr += text;
    });
    const exited = new Promise<number | null>((resolve) => child.once("close", resolve));
    t.after(() => {
      if (child.exitCode === null) child.kill("SIGKILL");
    });
    return { child, output, exited };
  }

  for (const via of ["--token", "$SSEHUB_TOKEN"] as const) {
    it(`receives the events of its topics with a token from ${via}`, async (t) => {
      const { server, url } = await keyedHub(t);
      const token = await sign(SUBSCRIBER_KEY, { subscribe: ["a"] });
      const { child, output, exited } =
        via === "--token"
          ? subscriber(t, ["a", "--url", url, "--token", token])
          : subscriber(t, ["a", "--url", url], { SSEHUB_TOKEN: token });
      await waitFor(() => output.stderr.includes("subscribed to a"), "the subscription to open");
      const { id } = await server.hub.publish({ topic: "a", data: "hello" });
      await waitFor(() => output.stdout.includes("hello"), "the event on stdout");
      assert.equal(output.stdout, `[${id}] message: hello\n`);
      child.kill("SIGINT");
      assert.equal(await exited, 0);
    });
  }

  it("prints the hub's code and message for a 401, then what to change, and exits 1", async (t) => {
    const { url } = await keyedHub(t);
    const { output, exited } = subscriber(t, ["a", "--url", url]);
    assert.equal(await exited, 1);
    assert.equal(
      output.stderr,
      "ssehub: SSEHUB_ERR_AUTH_MISSING: Cannot subscribe without a token: send Authorization: Bearer <token>\n" +
        `ssehub: the hub at ${url} answered 401: pass a token with --token or $SSEHUB_TOKEN\n`,
    );
  });

  it("prints the hub's code and message for a token it cannot verify, and exits 1", async (t) => {
    const { url } = await keyedHub(t);
    const wrongKey = await sign(PUBLISHER_KEY, { subscribe: ["a"] });
    const { output, exited } = subscriber(t, ["a", "--url", url], { SSEHUB_TOKEN: wrongKey });
    assert.equal(await exited, 1);
    assert.equal(
      output.stderr,
      "ssehub: SSEHUB_ERR_AUTH_INVALID: Cannot accept the token: it is invalid or expired\n" +
        `ssehub: the hub at ${url} answered 401: check that the token is signed with the hub's subscriber key and has not expired\n`,
    );
  });

  it("refuses a malformed --header as bad usage (status 2)", async (t) => {
    const { url } = await keyedHub(t);
    const { output, exited } = subscriber(t, ["a", "--url", url, "--header", "no colon"]);
    assert.equal(await exited, 2);
    assert.match(
      output.stderr,
      /^ssehub: SSEHUB_ERR_OPTIONS_INVALID: Cannot use --header "no colon"/,
    );
  });
});

describe("credentialHeaders()", () => {
  it("joins the values of a header given twice, whatever the case of its name", () => {
    assert.deepEqual(credentialHeaders({ header: ["X-A: 1", "x-a:2", "X-B:  spaced  "] }, {}, []), {
      "X-A": "1, 2",
      "X-B": "spaced",
    });
  });

  it("ignores an empty $SSEHUB_TOKEN, as if unset", () => {
    assert.deepEqual(credentialHeaders({}, { SSEHUB_TOKEN: "" }, []), {});
  });
});
