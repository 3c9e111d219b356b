/**
 * The access log (option accessLog): one line per request through the server's logger, read
 * back from the logger's output; a stream's line when it ends, with the events it sent.
 */
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { redactQuery } from "../../src/http/telemetry/access-log.js";
import { createLogger } from "../../src/http/telemetry/logger.js";
import { SOCKET_TAKEOVER_ENV } from "../../src/http/transport/socket-takeover.js";
import { SseReader } from "../helpers/sse-reader.js";
import { waitFor } from "../helpers/wait-for.js";
import { type StartedServer, startServer } from "./start-server.js";

type Line = Record<string, unknown>;

/** A server whose log lines land in `lines`. */
async function serverWithLog(
  t: TestContext,
  options: Parameters<typeof startServer>[1] = {},
): Promise<StartedServer & { lines: Line[] }> {
  const lines: Line[] = [];
  const logger = createLogger("info", {
    write: (line: string) => lines.push(JSON.parse(line) as Line),
  });
  const server = await startServer(t, { accessLog: true, logger, ...options });
  return { ...server, lines };
}

function accessLines(lines: readonly Line[]): Line[] {
  return lines.filter((line) => line.msg === "access");
}

async function post(url: string, body: unknown, headers: Record<string, string> = {}) {
  return fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", "user-agent": "test-agent/1", ...headers },
    body: JSON.stringify(body),
  });
}

describe("access log", () => {
  it("logs nothing per request when off (the default)", async (t) => {
    const lines: Line[] = [];
    const logger = createLogger("info", {
      write: (line: string) => lines.push(JSON.parse(line) as Line),
    });
    const { url } = await startServer(t, { logger });
    await fetch(`${url}/healthz`);
    assert.deepEqual(accessLines(lines), []);
  });

  it("logs a request: method, path with its token redacted, status, bytes, duration, client, id, agent", async (t) => {
    const { url, lines } = await serverWithLog(t, { authQueryParam: "authorization" });
    const answer = await post(
      `${url}/publish?authorization=s3cret&x=1`,
      { topic: "a", data: "x" },
      { "x-request-id": "req-1" },
    );
    assert.equal(answer.status, 200);
    const text = await answer.text();
    await waitFor(() => accessLines(lines).length === 1, "the access line");
    const [line] = accessLines(lines);
    assert.ok(!JSON.stringify(lines).includes("s3cret"), "the token never reaches the log");
    assert.equal(line!.method, "POST");
    assert.equal(line!.path, "/publish?authorization=%5Bredacted%5D&x=1");
    assert.equal(line!.status, 200);
    assert.ok((line!.bytes as number) > text.length, "the answer's bytes, head included");
    assert.equal(typeof line!.durationMs, "number");
    assert.equal(line!.client, "127.0.0.1");
    assert.equal(line!.requestId, "req-1");
    assert.equal(line!.userAgent, "test-agent/1");
    assert.equal(line!.level, 30);
  });

  it("logs the client address that a trusted proxy names", async (t) => {
    const { url, lines } = await serverWithLog(t, { trustedProxies: ["127.0.0.1"] });
    await fetch(`${url}/nowhere`, { headers: { "x-forwarded-for": "203.0.113.9" } });
    await waitFor(() => accessLines(lines).length === 1, "the access line");
    const [line] = accessLines(lines);
    assert.equal(line!.client, "203.0.113.9");
    assert.equal(line!.status, 404);
  });

  for (const takeover of [true, false]) {
    it(`logs a stream when it ends, with the events it sent (${takeover ? "socket taken over" : "through the response"})`, async (t) => {
      const saved = process.env[SOCKET_TAKEOVER_ENV];
      if (!takeover) process.env[SOCKET_TAKEOVER_ENV] = "off";
      t.after(() => {
        if (saved === undefined) delete process.env[SOCKET_TAKEOVER_ENV];
        else process.env[SOCKET_TAKEOVER_ENV] = saved;
      });
      const { url, lines } = await serverWithLog(t);
      const first = (await (await post(`${url}/publish`, { topic: "s", data: "1" })).json()) as {
        id: string;
      };
      const reader = await SseReader.open(`${url}/events?topic=s`, { lastEventId: "earliest" });
      await post(`${url}/publish`, { topic: "s", data: "2" });
      await reader.waitForEvents(2);
      assert.equal(reader.events[0]!.lastEventId, first.id);
      const before = accessLines(lines).length;
      assert.equal(before, 2, "the two publishes; the open stream has no line yet");
      reader.close();
      await waitFor(() => accessLines(lines).length === 3, "the stream's line");
      const line = accessLines(lines)[2]!;
      assert.equal(line.method, "GET");
      assert.equal(line.path, "/events?topic=s");
      assert.equal(line.status, 200);
      assert.equal(line.events, 2);
      assert.ok((line.bytes as number) > 0);
    });
  }

  it("redacts every value of the token parameter, and only that", () => {
    assert.equal(redactQuery("/events?topic=a", "authorization"), "/events?topic=a");
    assert.equal(
      redactQuery("/events?topic=a&authorization=t", ""),
      "/events?topic=a&authorization=t",
    );
    assert.equal(
      redactQuery("/e?authorization=a&topic=b&authorization=c", "authorization"),
      "/e?authorization=%5Bredacted%5D&topic=b&authorization=%5Bredacted%5D",
    );
    assert.equal(redactQuery("/e?xauthorization=1", "authorization"), "/e?xauthorization=1");
  });
});
