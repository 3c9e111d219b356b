import assert from "node:assert/strict";
import { once } from "node:events";
import net from "node:net";
import { describe, test } from "node:test";
import { waitFor, within } from "../helpers/wait-for.js";
import { openStream } from "./raw-stream.js";
import { startServer } from "./start-server.js";

describe("SsehubServer.close()", () => {
  test("close() tells each subscriber when to come back, with jitter, and ends the streams", async (t) => {
    const { ssehub, url } = await startServer(t, { retryMs: 1000, shutdownRetryJitterMs: 500 });
    const streams = await Promise.all([1, 2, 3].map(() => openStream(t, `${url}/events?topic=a`)));
    for (const stream of streams) await stream.waitFor("retry: 1000\n\n");
    await ssehub.close();
    for (const stream of streams) {
      await stream.ended;
      const retries = [...stream.text.matchAll(/retry: (\d+)\n/g)].map((m) => Number(m[1]));
      assert.equal(retries.length, 2, stream.text);
      const last = retries[1] ?? -1;
      assert.ok(last >= 1000 && last <= 1500, `retry ${last}`);
    }
  });

  test("close() stops accepting connections and resolves once they are all closed", async (t) => {
    const { ssehub, url, port } = await startServer(t);
    const health = await fetch(`${url}/healthz`);
    assert.equal(health.status, 200);
    const stream = await openStream(t, `${url}/events?topic=a`);
    await stream.waitFor("retry:");
    await ssehub.close();
    assert.equal(ssehub.server.listening, false);
    await stream.ended;
    const refused = net.connect(port, "127.0.0.1");
    const [error] = (await once(refused, "error")) as [NodeJS.ErrnoException];
    assert.equal(error.code, "ECONNREFUSED");
  });

  test("close() destroys the connections still open after shutdownTimeoutMs", async (t) => {
    const { ssehub, port } = await startServer(t, { shutdownTimeoutMs: 300 });
    // A request whose body never finishes keeps its connection busy.
    const accepted = once(ssehub.server, "connection") as Promise<[net.Socket]>;
    const socket = net.connect(port, "127.0.0.1");
    t.after(() => socket.destroy());
    const [serverSide] = await accepted;
    socket.on("error", () => {});
    const request =
      "POST /publish HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{";
    socket.write(request);
    await waitFor(() => serverSide.bytesRead >= request.length, "the server to read the request");
    const closed = once(socket, "close");
    const started = Date.now();
    await ssehub.close();
    const elapsed = Date.now() - started;
    // It waited for the busy connection (300 ms; slack for the clock), then destroyed it.
    assert.ok(elapsed >= 250, `closed after ${elapsed} ms`);
    await within(closed, "the busy connection to be destroyed");
  });

  test("close() called twice returns the same promise", async (t) => {
    const { ssehub } = await startServer(t);
    const first = ssehub.close();
    assert.equal(ssehub.close(), first);
    await first;
  });

  test("close() of a server that never listened resolves", async (t) => {
    const { createServer } = await import("../../src/http/server.js");
    const { createLogger } = await import("../../src/http/telemetry/logger.js");
    const ssehub = createServer({ port: 0, logger: createLogger("silent") });
    t.after(() => ssehub.close());
    await ssehub.close();
    assert.equal(ssehub.hub.isClosed, true);
  });
});
