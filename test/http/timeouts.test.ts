import assert from "node:assert/strict";
import { once } from "node:events";
import net from "node:net";
import { describe, test } from "node:test";
import { within } from "../helpers/wait-for.js";
import { openStream } from "./raw-stream.js";
import { startServer } from "./start-server.js";

const SHORT = { headersTimeoutMs: 500, requestTimeoutMs: 500, keepAliveTimeoutMs: 300 } as const;

describe("timeouts", () => {
  test("a stream outlives requestTimeout, headersTimeout and keepAliveTimeout", async (t) => {
    const { ssehub, url } = await startServer(t, SHORT);
    const stream = await openStream(t, `${url}/events?topic=tick`);
    await stream.waitFor("retry:");
    const ids: string[] = [];
    // At least 3 seconds (more on a slow machine, which only makes the check stronger): six
    // times the timeouts, with Node checking them every 125 ms.
    for (let i = 0; i < 15; i++) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      const { id } = await ssehub.hub.publish({ topic: "tick", data: String(i) });
      ids.push(id);
    }
    await stream.waitFor(`id: ${ids.at(-1)}\ndata: 14\n\n`);
    assert.equal(stream.response.destroyed, false);
    assert.equal(ssehub.hub.stats().subscribers, 1);
  });

  test("a client that sends half its headers is cut off after headersTimeout", async (t) => {
    const { port } = await startServer(t, SHORT);
    // Node counts headersTimeout from the connection: start counting before it.
    const started = Date.now();
    const socket = net.connect(port, "127.0.0.1");
    t.after(() => socket.destroy());
    await once(socket, "connect");
    let received = "";
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      received += chunk;
    });
    socket.on("error", () => {
      // The server may reset the connection; the close below is what counts.
    });
    socket.write("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ");
    await within(once(socket, "close"), "the server to cut the connection off");
    const elapsed = Date.now() - started;
    // Not before the timeout (500 ms, checked every 125 ms; a little slack for the clock).
    assert.ok(elapsed >= 400, `cut off after ${elapsed} ms`);
    assert.match(received, /^HTTP\/1\.1 408 /);
  });

  test("an idle keep-alive connection is closed after keepAliveTimeout", async (t) => {
    const { port } = await startServer(t, SHORT);
    const socket = net.connect(port, "127.0.0.1");
    t.after(() => socket.destroy());
    await once(socket, "connect");
    socket.resume();
    socket.write("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    const started = Date.now();
    await within(once(socket, "close"), "the server to close the idle connection");
    const elapsed = Date.now() - started;
    // Not before the timeout (300 ms from the answer, which left after `started`).
    assert.ok(elapsed >= 200, `closed after ${elapsed} ms`);
  });
});
