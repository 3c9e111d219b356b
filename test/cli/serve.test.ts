import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { listeningUrl, ssehub } from "../helpers/ssehub-process.js";
import { HUNG_AFTER_MS, within } from "../helpers/wait-for.js";
import { openStream } from "../http/raw-stream.js";

const PACKAGE = JSON.parse(
  readFileSync(new URL("../../../package.json", import.meta.url), "utf8"),
) as { version: string };

describe("ssehub serve", () => {
  test("ssehub serve --port 0 logs its URL and serves requests", async (t) => {
    const run = ssehub(t, ["serve", "--port", "0", "--host", "127.0.0.1"]);
    const url = await listeningUrl(run);
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const health = await fetch(`${url}/healthz`);
    assert.equal(health.status, 200);
    run.child.kill("SIGTERM");
    assert.equal(await run.exited, 0);
  });

  test("ssehub serve on SIGTERM sends subscribers a retry line, ends their streams and exits 0", async (t) => {
    // A shutdown timeout the test cannot reach: the process must exit without waiting for it.
    const run = ssehub(t, ["serve", "--port", "0", "--retry-ms", "1000"], {
      SSEHUB_SHUTDOWN_RETRY_JITTER_MS: "200",
      SSEHUB_SHUTDOWN_TIMEOUT_MS: String(10 * HUNG_AFTER_MS),
    });
    const url = await listeningUrl(run);
    const stream = await openStream(t, `${url}/events?topic=a`);
    await stream.waitFor("retry: 1000\n\n");
    run.child.kill("SIGTERM");
    await stream.ended;
    const retries = [...stream.text.matchAll(/retry: (\d+)\n/g)].map((m) => Number(m[1]));
    assert.equal(retries.length, 2, stream.text);
    assert.ok((retries[1] ?? 0) >= 1000 && (retries[1] ?? 0) <= 1200, `retry ${retries[1]}`);
    assert.equal(await within(run.exited, "the exit, before shutdownTimeoutMs"), 0);
    assert.ok(run.stdout.some((line) => line.includes("ssehub stopped")));
  });

  test("ssehub serve on SIGINT exits 0", async (t) => {
    const run = ssehub(t, ["serve", "--port", "0"]);
    await listeningUrl(run);
    run.child.kill("SIGINT");
    assert.equal(await run.exited, 0);
  });

  test("ssehub serve with an invalid configuration prints one line and exits 2", async (t) => {
    const run = ssehub(t, ["serve", "--port", "0", "--history-max-events", "abc"], {
      SSEHUB_SLOW_CONSUMER_POLICY: "nope",
    });
    assert.equal(await run.exited, 2);
    assert.equal(run.stderr.length, 1, run.stderr.join("\n"));
    const [line = ""] = run.stderr;
    assert.match(line, /^ssehub: SSEHUB_ERR_OPTIONS_INVALID: /);
    assert.match(line, /historyMaxEvents must be an integer: got "abc"/);
    assert.match(line, /slowConsumerPolicy must be one of disconnect, drop, conflate: got "nope"/);
    assert.deepEqual(run.stdout, []);
  });

  test("ssehub serve with an unknown flag exits 2", async (t) => {
    const run = ssehub(t, ["serve", "--prot", "0"]);
    assert.equal(await run.exited, 2);
    assert.match(run.stderr.join("\n"), /^ssehub: SSEHUB_ERR_OPTIONS_INVALID: .*--prot/);
  });

  test("ssehub serve on a port in use prints one line and exits 1", async (t) => {
    const first = ssehub(t, ["serve", "--port", "0"]);
    const url = await listeningUrl(first);
    const port = new URL(url).port;
    const second = ssehub(t, ["serve", "--port", port]);
    assert.equal(await second.exited, 1);
    assert.equal(second.stderr.length, 1);
    assert.match(
      second.stderr[0]!,
      /^ssehub: Cannot listen on .+: the address is in use .+ \(EADDRINUSE\)$/,
    );
    assert.deepEqual(second.stdout, []);
    first.child.kill("SIGTERM");
    assert.equal(await first.exited, 0);
  });

  test("ssehub serve --help lists every option and exits 0", async (t) => {
    const run = ssehub(t, ["serve", "--help"]);
    assert.equal(await run.exited, 0);
    const help = run.stdout.join("\n");
    assert.match(help, /--history-max-events/);
    assert.match(help, /SSEHUB_HISTORY_MAX_EVENTS/);
  });

  test("ssehub --version prints the package version and ssehub help the commands", async (t) => {
    const version = ssehub(t, ["--version"]);
    assert.equal(await version.exited, 0);
    assert.deepEqual(version.stdout, [PACKAGE.version]);
    const help = ssehub(t, ["help"]);
    assert.equal(await help.exited, 0);
    assert.match(help.stdout.join("\n"), /serve[\s\S]*publish[\s\S]*subscribe/);
    const unknown = ssehub(t, ["frobnicate"]);
    assert.equal(await unknown.exited, 2);
    assert.match(unknown.stderr.join("\n"), /unknown command "frobnicate"/);
  });
});
