import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { SOCKET_TAKEOVER_ENV } from "../../src/http/transport/socket-takeover.js";
import { startServer } from "./start-server.js";

/** The `retry:` lines of a whole stream, read until the server ends it. */
async function retryLinesOf(url: string): Promise<string[]> {
  const response = await fetch(url);
  assert.equal(response.status, 200);
  const text = await response.text();
  return text.split("\n").filter((line) => line.startsWith("retry:"));
}

describe("maxConnectionLifetimeMs", () => {
  for (const takeover of [true, false]) {
    test(`ends every stream after its lifetime with a retry hint (${takeover ? "socket takeover" : "res.write"})`, async (t) => {
      if (!takeover) {
        const previous = process.env[SOCKET_TAKEOVER_ENV];
        process.env[SOCKET_TAKEOVER_ENV] = "off";
        t.after(() => {
          if (previous === undefined) delete process.env[SOCKET_TAKEOVER_ENV];
          else process.env[SOCKET_TAKEOVER_ENV] = previous;
        });
      }
      const { url } = await startServer(t, {
        maxConnectionLifetimeMs: 50,
        retryMs: 1000,
        shutdownRetryJitterMs: 500,
      });
      for (const path of ["/events?topic=a", "/.well-known/mercure?match=a"]) {
        const lines = await retryLinesOf(`${url}${path}`);
        // The hub's hint when the stream opens, then the one that ends it.
        assert.equal(lines.length, 2, `${path}: ${lines.join(" | ")}`);
        const delay = Number(lines[1]!.slice("retry:".length));
        assert.ok(delay >= 1000 && delay <= 1500, `${path}: ${lines[1]}`);
      }
    });
  }

  test("is off by default", async (t) => {
    const { ssehub } = await startServer(t);
    assert.equal(ssehub.options.maxConnectionLifetimeMs, 0);
  });
});
