/**
 * `ssehub bench` against a hub that wants tokens: --token (or $SSEHUB_TOKEN) and --header go
 * with every subscribe and every publish request, so a small fanout runs clean, and the token
 * never shows in the result. Without it the hub refuses both, and the run says so.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { describe, type TestContext, test } from "node:test";
import { SignJWT } from "jose";
import { createTarget } from "../../src/loadgen/targets.js";
import { startHub } from "../helpers/start-hub.js";
import { HUNG_AFTER_MS } from "../helpers/wait-for.js";

const MAIN = new URL("../../src/cli/main.js", import.meta.url).pathname;
/** One key for both kinds of token, so that one Authorization header serves both requests. */
const KEY = "bench-key-of-at-least-32-bytes-for-hs256";

function sign(mercure: Record<string, unknown>): Promise<string> {
  return new SignJWT({ mercure })
    .setProtectedHeader({ alg: "HS256" })
    .setIssuedAt()
    .sign(new TextEncoder().encode(KEY));
}

async function keyedHub(t: TestContext): Promise<string> {
  const { url } = await startHub(t, {
    publisherJwtKey: KEY,
    subscriberJwtKey: KEY,
    anonymousSubscribe: false,
  });
  return url;
}

/** `ssehub bench fanout` on `url`, small and patient, with `args` and `env` added. */
function bench(
  url: string,
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const { SSEHUB_TOKEN: _, ...inherited } = process.env;
  const child = spawn(
    process.execPath,
    [
      MAIN,
      "bench",
      "fanout",
      "--url",
      url,
      "--subscribers",
      "5",
      "--rate",
      "20",
      "--duration",
      "1",
      "--drain-ms",
      String(HUNG_AFTER_MS),
      "--connect-timeout-ms",
      String(HUNG_AFTER_MS),
      "--json",
      ...args,
    ],
    { env: { ...inherited, ...env }, stdio: ["ignore", "pipe", "pipe"] },
  );
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (text: string) => {
    stdout += text;
  });
  child.stderr.setEncoding("utf8").on("data", (text: string) => {
    stderr += text;
  });
  return new Promise((resolve) =>
    child.once("close", (status) => resolve({ status, stdout, stderr })),
  );
}

describe("ssehub bench with a token", () => {
  test("sends --token and --header with every subscribe and publish, and keeps the token out of the result", async (t) => {
    const url = await keyedHub(t);
    const token = await sign({ publish: ["*"], subscribe: ["*"] });
    const run = await bench(url, ["--token", token, "--header", "X-Tenant: acme"]);
    assert.equal(run.status, 0, run.stderr);
    const result = JSON.parse(run.stdout);
    assert.equal(result.connections.established, 5);
    assert.equal(result.connections.failed, 0);
    assert.ok(result.delivery.published > 0);
    assert.equal(result.delivery.publishErrors, 0);
    assert.equal(result.delivery.lost, 0);
    assert.ok(!run.stdout.includes(token), "the token is not in the result");
  });

  test("takes the token from $SSEHUB_TOKEN", async (t) => {
    const url = await keyedHub(t);
    const token = await sign({ publish: ["*"], subscribe: ["*"] });
    const run = await bench(url, [], { SSEHUB_TOKEN: token });
    assert.equal(run.status, 0, run.stderr);
    assert.equal(JSON.parse(run.stdout).connections.failed, 0);
  });

  test("fails the run when the hub refuses the subscribers for want of a token", async (t) => {
    const url = await keyedHub(t);
    const run = await bench(url, []);
    assert.equal(run.status, 1);
    assert.equal(JSON.parse(run.stdout).connections.established, 0);
  });

  test("refuses a malformed --header as bad usage", async (t) => {
    const url = await keyedHub(t);
    const run = await bench(url, ["--header", "X-Tenant"]);
    assert.equal(run.status, 2);
    assert.match(run.stderr, /^ssehub: SSEHUB_ERR_OPTIONS_INVALID: Cannot use --header "X-Tenant"/);
  });
});

describe("createTarget() with headers", () => {
  test("adds them to subscribe and publish requests, under the adapter's own", () => {
    const target = createTarget({
      name: "ssehub",
      url: "http://127.0.0.1:8080",
      headers: { Authorization: "Bearer t", Accept: "*/*" },
    });
    assert.equal(target.subscribeHeaders.Authorization, "Bearer t");
    assert.equal(target.subscribeHeaders.Accept, "text/event-stream");
    assert.equal(target.publishRequest("a", "x").headers.Authorization, "Bearer t");
  });

  test("refuses a header that would break the request's framing", () => {
    assert.throws(
      () =>
        createTarget({
          name: "ssehub",
          url: "http://127.0.0.1:8080",
          headers: { "X-A": "1\r\nX-B: 2" },
        }),
      { code: "SSEHUB_ERR_OPTIONS_INVALID" },
    );
  });
});
