import assert from "node:assert/strict";
import { once } from "node:events";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { describe, type TestContext, test } from "node:test";
import { createRequestHandler } from "../../src/http/handler.js";
import { RequestLimits } from "../../src/http/limits/request-limits.js";
import { type HandlerOptions, resolveHandlerOptions } from "../../src/http/server-options.js";
import { createLogger } from "../../src/http/telemetry/logger.js";
import { createHub, type Hub } from "../../src/hub/hub.js";
import { waitFor } from "../helpers/wait-for.js";
import { expectError } from "./expect-error.js";
import { startServer } from "./start-server.js";

/** Opens a stream from `localAddress` and resolves with its status once the head arrived. */
function openFrom(
  url: string,
  localAddress: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; retryAfter: string | undefined; close(): void }> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { localAddress, headers, agent: false }, (response) => {
      resolve({
        status: response.statusCode ?? 0,
        retryAfter: response.headers["retry-after"],
        close: () => request.destroy(),
      });
    });
    request.once("error", reject);
  });
}

/**
 * Serves a hub whose publish rate limit runs on `now` (a clock the test moves by hand), so that
 * a slow machine cannot refill a bucket between two requests of a test.
 */
async function startWithClock(
  t: TestContext,
  options: HandlerOptions,
  now: () => number,
): Promise<{ url: string; hub: Hub }> {
  const hub = createHub();
  t.after(() => hub.close());
  const limits = new RequestLimits(resolveHandlerOptions(options), { now });
  t.after(() => limits.close());
  const handler = createRequestHandler(hub, {
    ...options,
    logger: createLogger("silent"),
    limits,
  });
  t.after(() => handler.metrics.close());
  const server = http.createServer(handler);
  server.listen(0, "127.0.0.1");
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  await once(server, "listening");
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hub };
}

function publishInit(headers: Record<string, string> = {}): RequestInit {
  return {
    method: "POST",
    headers: { "Content-Type": "application/json", ...headers },
    body: JSON.stringify({ topic: "a", data: "x" }),
  };
}

describe("limits", () => {
  test("past maxConnectionsPerIp a client's next stream answers 429 with Retry-After; others are not touched", async (t) => {
    const { url, ssehub } = await startServer(t, {
      maxConnectionsPerIp: 2,
      host: "0.0.0.0",
      anonymousPublish: true,
    });
    const port = new URL(url).port;
    const at = (host: string) => `http://${host}:${port}/events/a`;
    const first = await openFrom(at("127.0.0.1"), "127.0.0.1");
    const second = await openFrom(at("127.0.0.1"), "127.0.0.1");
    const third = await openFrom(at("127.0.0.1"), "127.0.0.1");
    const elsewhere = await openFrom(at("127.0.0.2"), "127.0.0.2");
    t.after(() => {
      for (const stream of [first, second, third, elsewhere]) stream.close();
    });
    assert.deepEqual(
      [first.status, second.status, third.status, elsewhere.status],
      [200, 200, 429, 200],
    );
    assert.equal(third.retryAfter, "5");
    await expectError(at("127.0.0.1"), 429, "SSEHUB_ERR_TOO_MANY_CONNECTIONS");
    // A slot comes back when its stream closes.
    first.close();
    await waitFor(
      () => ssehub.hub.stats().subscribers <= 2,
      "the closed stream's slot to come back",
    );
    const again = await openFrom(at("127.0.0.1"), "127.0.0.1");
    t.after(() => again.close());
    assert.equal(again.status, 200);
  });

  test("past maxConnections every new stream answers 429", async (t) => {
    const { url } = await startServer(t, { maxConnections: 1 });
    const first = await openFrom(`${url}/events/a`, "127.0.0.1");
    t.after(() => first.close());
    assert.equal(first.status, 200);
    await expectError(`${url}/events/b`, 429, "SSEHUB_ERR_TOO_MANY_CONNECTIONS");
  });

  test("past maxPublishesPerSecond a client's publishes answer 429, counted per forwarded client behind a trusted proxy", async (t) => {
    let time = 0;
    const { url, hub } = await startWithClock(
      t,
      { maxPublishesPerSecond: 3, trustedProxies: ["127.0.0.1"] },
      () => time,
    );
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      const answer = await fetch(
        `${url}/publish`,
        publishInit({ "X-Forwarded-For": "203.0.113.7" }),
      );
      statuses.push(answer.status);
      await answer.body?.cancel();
    }
    assert.deepEqual(statuses, [200, 200, 200, 429]);
    const { headers } = await expectError(
      `${url}/publish`,
      429,
      "SSEHUB_ERR_RATE_LIMITED",
      publishInit({ "X-Forwarded-For": "203.0.113.7" }),
    );
    assert.match(headers.get("retry-after") ?? "", /^\d+$/);
    const other = await fetch(`${url}/publish`, publishInit({ "X-Forwarded-For": "198.51.100.1" }));
    assert.equal(other.status, 200);
    assert.equal(hub.stats().eventsPublished, 4);
    // A third of a second later the first client has one token again, and only one.
    time += 334;
    const refilled = await fetch(
      `${url}/publish`,
      publishInit({ "X-Forwarded-For": "203.0.113.7" }),
    );
    assert.equal(refilled.status, 200);
    await expectError(
      `${url}/publish`,
      429,
      "SSEHUB_ERR_RATE_LIMITED",
      publishInit({ "X-Forwarded-For": "203.0.113.7" }),
    );
  });

  test("forwarding headers from a peer that is not a trusted proxy change nothing", async (t) => {
    const { url } = await startWithClock(t, { maxPublishesPerSecond: 1 }, () => 0);
    const first = await fetch(`${url}/publish`, publishInit({ "X-Forwarded-For": "203.0.113.1" }));
    assert.equal(first.status, 200);
    await expectError(
      `${url}/publish`,
      429,
      "SSEHUB_ERR_RATE_LIMITED",
      publishInit({ "X-Forwarded-For": "203.0.113.2" }),
    );
  });
});
