import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer as createHttpServer, request as httpRequest } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, type TestContext, test } from "node:test";
import { diagnoseLiveHub, type LiveDiagnosisInput } from "../../src/doctor/live.js";
import { listeningUrl, logLine, ssehub } from "../helpers/ssehub-process.js";
import { waitFor } from "../helpers/wait-for.js";
import { startServer } from "../http/start-server.js";

const ADMIN_TOKEN = "a-long-admin-token-for-doctor-tests";

/** Runs the live diagnosis; answers its exit status and the lines it wrote. */
async function diagnose(
  input: Partial<LiveDiagnosisInput> & { url: string },
): Promise<{ status: number; lines: string[] }> {
  const lines: string[] = [];
  const status = await diagnoseLiveHub({ adminToken: "", json: false, ...input }, (line) =>
    lines.push(line),
  );
  return { status, lines };
}

/** Starts `ssehub serve` in a child process with `args`; answers its URL. */
async function serveInChild(t: TestContext, args: string[]): Promise<string> {
  const run = ssehub(t, ["serve", "--port", "0", "--log-level", "info", ...args]);
  return listeningUrl(run);
}

/** A port where nothing listens: one just freed. */
async function freePort(): Promise<number> {
  const server = createHttpServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, "close");
  return port;
}

describe("ssehub doctor --url", () => {
  test("a quiet hub is healthy: the table of figures, exit 0", async (t) => {
    // A threshold no turn reaches: on a machine busy with other work, a quiet hub may still
    // be descheduled mid-turn long enough to stall past the default 100 ms.
    const url = await serveInChild(t, [
      "--admin-token",
      ADMIN_TOKEN,
      "--stall-threshold-ms",
      "60000",
    ]);
    const { status, lines } = await diagnose({ url, adminToken: ADMIN_TOKEN });
    const text = lines.join("\n");
    assert.equal(status, 0, text);
    assert.match(text, /event-loop delay +p50 [\d.]+ ms, p99/);
    assert.match(text, /stalls +0 past 60000 ms/);
    assert.match(text, /bus +this process only/);
    assert.match(text, /Verdict: healthy/);
  });

  test("a cluster (--workers 2) is diagnosed worker by worker, whichever worker answers", async (t) => {
    const run = ssehub(t, [
      "serve",
      "--port",
      "0",
      "--workers",
      "2",
      "--admin-token",
      ADMIN_TOKEN,
      "--stall-threshold-ms",
      "60000",
    ]);
    const url = await listeningUrl(run);
    await logLine(run, (e) => e.msg?.includes("cluster of 2 workers") === true);
    const pids = (await logLine(run, (e) => e.msg?.includes("cluster of 2 workers") === true))
      .pids as number[];
    const { status, lines } = await diagnose({ url, adminToken: ADMIN_TOKEN });
    const text = lines.join("\n");
    assert.equal(status, 0, text);
    assert.match(text, /2 worker\(s\)/);
    for (const pid of pids) assert.match(text, new RegExp(`worker \\d+, pid ${pid}, up`));
    const json = await diagnose({ url, adminToken: ADMIN_TOKEN, json: true });
    const document = JSON.parse(json.lines.join("\n")) as { workers: { pid: number }[] };
    assert.deepEqual(document.workers.map((entry) => entry.pid).sort(), [...pids].sort());
  });

  test("a hub that stalled on a big publish needs action: the verdict with its evidence, exit 1", async (t) => {
    const url = await serveInChild(t, [
      "--admin-token",
      ADMIN_TOKEN,
      "--stall-threshold-ms",
      "5",
      "--max-batch-events",
      "20000",
      "--max-publish-backlog",
      "100000",
      "--max-body-bytes",
      "16777216",
    ]);
    const events = Array.from({ length: 20_000 }, (_, i) => ({
      topic: "bulk",
      data: { n: i, text: "some words in every event" },
    }));
    const response = await fetch(`${url}/publish`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(events),
    });
    assert.equal(response.status, 200);
    const { status, lines } = await waitFor(async () => {
      const run = await diagnose({ url, adminToken: ADMIN_TOKEN });
      return run.lines.some((line) => line.includes("Large publishes")) ? run : undefined;
    }, "a publish-stall verdict");
    const text = lines.join("\n");
    assert.equal(status, 1, text);
    assert.match(text, /Verdict: needs action/);
    assert.match(text, /ACTION: Large publishes block the event loop: a batch of 20000 event\(s\)/);
    assert.match(text, /evidence: A publish of 20000 event\(s\)/);
    assert.match(text, /what to do: Publish smaller batches/);

    const json = await diagnose({ url, adminToken: ADMIN_TOKEN, json: true });
    assert.equal(json.status, 1);
    const document = JSON.parse(json.lines.join("\n")) as {
      kind: string;
      healthy: boolean;
      verdicts: { rule: string }[];
    };
    assert.equal(document.kind, "ssehub-diagnosis");
    assert.equal(document.healthy, false);
    assert.ok(document.verdicts.some((verdict) => verdict.rule === "publish-stalls"));
  });

  test("a refused connection cannot be read: exit 2, saying so", async () => {
    const port = await freePort();
    const { status, lines } = await diagnose({ url: `http://127.0.0.1:${port}` });
    assert.equal(status, 2);
    assert.match(lines.join("\n"), /connection refused \(is ssehub running there\?\)/);
  });

  test("a missing or wrong admin token cannot be read: exit 2, naming the token option", async (t) => {
    const { url } = await startServer(t, {
      subscriberJwtKey: "a-subscriber-key-of-32-bytes-at-least",
      adminToken: ADMIN_TOKEN,
    });
    const missing = await diagnose({ url });
    assert.equal(missing.status, 2);
    assert.match(missing.lines[0]!, /needs its admin token \(401 SSEHUB_ERR_AUTH_MISSING\)/);
    assert.match(missing.lines[0]!, /--admin-token/);
    const wrong = await diagnose({ url, adminToken: "not-the-token" });
    assert.equal(wrong.status, 2);
    assert.match(wrong.lines[0]!, /refused the admin token sent \(401 SSEHUB_ERR_AUTH_INVALID\)/);
  });

  test("a hub with auth on and no admin token cannot be read: exit 2, saying what to set", async (t) => {
    const { url } = await startServer(t, {
      publisherJwtKey: "a-publisher-key-of-32-bytes-at-least!",
    });
    const { status, lines } = await diagnose({ url, adminToken: "anything" });
    assert.equal(status, 2);
    assert.match(lines[0]!, /403 SSEHUB_ERR_ADMIN_DISABLED/);
    assert.match(lines[0]!, /set adminToken on the hub/);
  });

  test("a server that is not an ssehub cannot be read: exit 2, saying so", async (t) => {
    const other = createHttpServer((req, res) => {
      if (req.url === "/admin/diagnosis") {
        res.writeHead(200, { "content-type": "application/json" });
        res.end('{"status":"ok"}');
      } else {
        res.writeHead(404, { "content-type": "text/html" });
        res.end("<h1>Not found</h1>");
      }
    });
    other.listen(0, "127.0.0.1");
    await once(other, "listening");
    t.after(() => other.close());
    const { port } = other.address() as AddressInfo;
    const json = await diagnose({ url: `http://127.0.0.1:${port}` });
    assert.equal(json.status, 2);
    assert.match(json.lines[0]!, /not an ssehub diagnosis; is it an ssehub\?/);
    const notFound = await diagnose({ url: `http://127.0.0.1:${port}/elsewhere` });
    assert.equal(notFound.status, 2);
    assert.match(notFound.lines[0]!, /answered HTTP 404; is it an ssehub\?/);
  });
});

describe("ssehub doctor --url --header", () => {
  test("sends the headers a proxy in front of the hub asks for", async (t) => {
    const hub = await serveInChild(t, [
      "--admin-token",
      ADMIN_TOKEN,
      "--stall-threshold-ms",
      "60000",
    ]);
    // A proxy that lets through only requests with its key, as some gateways do.
    const proxy = createHttpServer((req, res) => {
      if (req.headers["x-proxy-key"] !== "open-sesame") {
        res.writeHead(403).end();
        return;
      }
      const forward = httpRequest(
        new URL(req.url ?? "/", hub),
        { method: req.method, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      req.pipe(forward);
    });
    proxy.listen(0, "127.0.0.1");
    await once(proxy, "listening");
    t.after(() => {
      proxy.closeAllConnections();
      proxy.close();
    });
    const url = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    const refused = await diagnose({ url, adminToken: ADMIN_TOKEN });
    assert.equal(refused.status, 2);
    assert.match(refused.lines.join("\n"), /refused \(403\)/);
    const { status, lines } = await diagnose({
      url,
      adminToken: ADMIN_TOKEN,
      headers: { "X-Proxy-Key": "open-sesame" },
    });
    assert.equal(status, 0, lines.join("\n"));
    assert.match(lines.join("\n"), /Verdict: healthy/);
  });
});
