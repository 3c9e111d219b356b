import assert from "node:assert/strict";
import http from "node:http";
import { describe, it } from "node:test";
import { createLogger } from "../../src/http/telemetry/logger.js";
import { isSaneRequestId, MAX_REQUEST_ID_LENGTH } from "../../src/http/telemetry/request-id.js";
import { startServer } from "./start-server.js";

/** The X-Request-Id of the answer to a request with `headers`; the stream (if any) is cut. */
function requestIdOf(url: string, headers: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers, agent: false }, (res) => {
      resolve(String(res.headers["x-request-id"]));
      res.destroy();
    });
    req.on("error", reject);
  });
}

describe("X-Request-Id", () => {
  it("echoes a sane id of the client's, on answers, errors and streams", async (t) => {
    const { url } = await startServer(t);
    for (const path of ["/healthz", "/nowhere", "/events?topic=a"]) {
      assert.equal(await requestIdOf(`${url}${path}`, { "x-request-id": "abc-123" }), "abc-123");
    }
  });

  it("makes an id when the client sent none or one that is not sane", async (t) => {
    const { url } = await startServer(t);
    const made = await requestIdOf(`${url}/healthz`);
    assert.match(made, /^[\w-]+-1$/);
    const next = await requestIdOf(`${url}/events?topic=a`, { "x-request-id": "x".repeat(201) });
    assert.notEqual(next, "x".repeat(201));
    assert.ok(next.startsWith(made.slice(0, -1)), `${next} continues ${made}`);
  });

  it("puts the request id on the handler's error logs", async (t) => {
    const lines: Record<string, unknown>[] = [];
    const logger = createLogger("debug", {
      write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>),
    });
    const { url } = await startServer(t, { logger });
    await requestIdOf(`${url}/nowhere`, { "x-request-id": "trace-me" });
    const logged = lines.find((line) => line.code === "SSEHUB_ERR_ROUTE_NOT_FOUND");
    assert.equal(logged?.requestId, "trace-me");
  });

  it("is sane when printable ASCII, 1 to 200 characters", () => {
    for (const id of ["a", "req 42", "~!@#", "a".repeat(MAX_REQUEST_ID_LENGTH)]) {
      assert.ok(isSaneRequestId(id), id);
    }
    for (const id of ["", " a", "a ", "é", "a\tb", "a".repeat(MAX_REQUEST_ID_LENGTH + 1), 42]) {
      assert.ok(!isSaneRequestId(id), String(id));
    }
  });
});
