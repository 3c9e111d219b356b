import assert from "node:assert/strict";
import { once } from "node:events";
import type { Server as HttpServer } from "node:http";
import net from "node:net";
import { describe, test } from "node:test";
import {
  SOCKET_TAKEOVER_ENV,
  socketTakeoverSupported,
} from "../../src/http/transport/socket-takeover.js";
import { TCP_HANDLE_STREAM_ENV } from "../../src/http/transport/tcp-handle-stream.js";
import { HUNG_AFTER_MS, waitFor } from "../helpers/wait-for.js";
import { expectError } from "./expect-error.js";
import { startServer } from "./start-server.js";

/** The request id every request of these tests sends, echoed in the head. */
const REQUEST_ID = "r1";

/** The head node:http's part ends with on a taken-over stream. */
const HEAD =
  "HTTP/1.1 200 OK\r\n" +
  "Content-Type: text/event-stream; charset=utf-8\r\n" +
  "Cache-Control: no-cache\r\n" +
  "X-Accel-Buffering: no\r\n" +
  "Connection: close\r\n" +
  `X-Request-Id: ${REQUEST_ID}\r\n`;

/** A raw TCP client: what it sends is exactly what goes on the wire, and so is what it reads. */
class RawClient {
  readonly socket: net.Socket;
  text = "";
  /** Resolves when the server closes the connection. */
  readonly closed: Promise<void>;
  #wake: (() => void) | undefined;

  constructor(socket: net.Socket) {
    this.socket = socket;
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => {
      this.text += chunk;
      this.#wake?.();
    });
    socket.on("error", () => {});
    this.closed = new Promise((resolve) => {
      socket.once("close", () => {
        this.#wake?.();
        resolve();
      });
    });
  }

  /**
   * Resolves once the received text contains `needle`; fails when the connection closes
   * without it, or when the test is taken for hung.
   */
  async waitFor(needle: string, timeoutMs = HUNG_AFTER_MS): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.text.includes(needle)) {
      const left = deadline - Date.now();
      if (left <= 0 || this.socket.destroyed) {
        throw new Error(
          `Timed out waiting for ${JSON.stringify(needle)}; got ${JSON.stringify(this.text)}`,
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }
}

async function connect(
  t: { after(fn: () => unknown): void },
  port: number,
  request?: string,
): Promise<RawClient> {
  const socket = net.connect(port, "127.0.0.1");
  t.after(() => socket.destroy());
  await once(socket, "connect");
  const client = new RawClient(socket);
  if (request !== undefined) socket.write(request);
  return client;
}

function get(path: string, headers = ""): string {
  return `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Request-Id: ${REQUEST_ID}\r\n${headers}\r\n`;
}

function connectionCount(server: net.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.getConnections((error, count) => (error === null ? resolve(count) : reject(error)));
  });
}

describe("socket takeover", () => {
  test("socketTakeoverSupported is true on the Node versions ssehub supports", () => {
    assert.equal(socketTakeoverSupported, true, `node ${process.version}`);
  });

  test("a stream's head is raw HTTP/1.1 with Connection: close and no framing, then the retry line", async (t) => {
    const { port } = await startServer(t, { retryMs: 2500 });
    const client = await connect(t, port, get("/events?topic=news"));
    await client.waitFor("retry: 2500\n\n");
    assert.equal(client.text, `${HEAD}\r\nretry: 2500\n\n`);
  });

  test("a stream's head carries the CORS headers the handler set", async (t) => {
    const { port } = await startServer(t, { corsOrigins: ["https://app.example"] });
    const client = await connect(t, port, get("/events/news", "Origin: https://app.example\r\n"));
    await client.waitFor("retry:");
    assert.ok(
      client.text.startsWith(
        `${HEAD}Access-Control-Allow-Origin: https://app.example\r\nAccess-Control-Allow-Credentials: true\r\nVary: Origin\r\n\r\nretry: `,
      ),
      JSON.stringify(client.text),
    );
  });

  test("events reach a taken-over stream as raw SSE bytes", async (t) => {
    const { ssehub, port } = await startServer(t);
    const client = await connect(t, port, get("/events?topic=a&topic=b"));
    await client.waitFor("retry:");
    const first = await ssehub.hub.publish({ topic: "a", data: "one" });
    const second = await ssehub.hub.publish({ topic: "b", data: { n: 2 }, event: "count" });
    await client.waitFor(`id: ${second.id}\nevent: count\ndata: {"n":2}\n\n`);
    const body = client.text.slice(client.text.indexOf("\r\n\r\n") + 4);
    assert.match(body, /^retry: \d+\n\n/);
    assert.ok(
      body.endsWith(
        `id: ${first.id}\ndata: one\n\nid: ${second.id}\nevent: count\ndata: {"n":2}\n\n`,
      ),
      body,
    );
  });

  test("a stream that follows another request on a keep-alive connection is taken over", async (t) => {
    const { port } = await startServer(t);
    const client = await connect(t, port, get("/healthz"));
    await client.waitFor("\r\n\r\n");
    await waitFor(() => /\r\n\r\n[\s\S]*\}$/.test(client.text), "the /healthz body");
    client.text = "";
    client.socket.write(get("/events?topic=a"));
    await client.waitFor("retry:");
    assert.ok(client.text.startsWith(`${HEAD}\r\nretry: `), JSON.stringify(client.text));
  });

  test("the subscription and the connection go when the client goes away", async (t) => {
    const { ssehub, port } = await startServer(t);
    const client = await connect(t, port, get("/events?topic=gone"));
    await client.waitFor("retry:");
    assert.equal(ssehub.hub.stats().subscribers, 1);
    assert.equal(await connectionCount(ssehub.server), 1);
    client.socket.destroy();
    await waitFor(() => ssehub.hub.stats().subscribers === 0, "the subscriber to leave");
    assert.equal(ssehub.hub.topic("gone"), undefined);
    await waitFor(() => ssehub.hub.stats().subscribers === 0, "the subscriber to leave");
    await waitFor(async () => (await connectionCount(ssehub.server)) === 0, "the connection to go");
  });

  test("a taken-over stream keeps no per-connection listener or peer address, and gives its slot back on close", async (t) => {
    // The stream stays on its socket here (tcp-handle-stream.test.ts covers the handle).
    const saved = process.env[TCP_HANDLE_STREAM_ENV];
    process.env[TCP_HANDLE_STREAM_ENV] = "off";
    t.after(() => {
      if (saved === undefined) delete process.env[TCP_HANDLE_STREAM_ENV];
      else process.env[TCP_HANDLE_STREAM_ENV] = saved;
    });
    const { ssehub, port } = await startServer(t, { maxConnectionsPerIp: 1 });
    let serverSocket: net.Socket | undefined;
    ssehub.server.once("connection", (socket: net.Socket) => {
      serverSocket = socket;
    });
    const client = await connect(t, port, get("/events?topic=slot"));
    await client.waitFor("retry:");
    assert.ok(serverSocket !== undefined);
    // The shared tracker's listener only: the lease's own closure went with the takeover.
    assert.deepEqual(
      serverSocket.listeners("close").map((listener) => listener.name),
      ["onTakenOverSocketClose"],
    );
    assert.equal((serverSocket as unknown as { _peername?: unknown })._peername, undefined);
    // The address is still readable (asked of the socket again).
    assert.equal(serverSocket.remoteAddress, "127.0.0.1");

    const refused = await connect(t, port, get("/events?topic=slot"));
    await refused.waitFor("HTTP/1.1 429");
    client.socket.destroy();
    await waitFor(() => ssehub.hub.stats().subscribers === 0, "the subscriber to leave");
    const again = await connect(t, port, get("/events?topic=slot"));
    await again.waitFor("retry:");
  });

  test("a client that ends its side ends the stream", async (t) => {
    const { ssehub, port } = await startServer(t);
    const client = await connect(t, port, get("/events?topic=half"));
    await client.waitFor("retry:");
    client.socket.end();
    await client.closed;
    await waitFor(() => ssehub.hub.stats().subscribers === 0, "the subscriber to leave");
  });

  test("ssehub_connections counts taken-over streams", async (t) => {
    const { url, port } = await startServer(t);
    const clients = await Promise.all(
      [1, 2, 3].map(() => connect(t, port, get("/events?topic=m"))),
    );
    for (const client of clients) await client.waitFor("retry:");
    const text = await (await fetch(`${url}/metrics`)).text();
    // Three streams and the connection of this scrape.
    assert.match(text, /^ssehub_connections 4$/m);
    assert.match(text, /^ssehub_subscribers 3$/m);
  });

  test("shutdown tells taken-over streams when to come back and closes them", async (t) => {
    const { ssehub, port } = await startServer(t, { retryMs: 1000, shutdownRetryJitterMs: 500 });
    const clients = await Promise.all([1, 2].map(() => connect(t, port, get("/events?topic=s"))));
    for (const client of clients) await client.waitFor("retry: 1000\n\n");
    await ssehub.close();
    for (const client of clients) {
      await client.closed;
      const retries = [...client.text.matchAll(/retry: (\d+)\n\n/g)].map((m) => Number(m[1]));
      assert.equal(retries.length, 2, client.text);
      assert.ok(retries[1]! >= 1000 && retries[1]! <= 1500, `retry ${retries[1]}`);
    }
    assert.equal(ssehub.server.listening, false);
  });

  test("closeAllConnections() destroys taken-over streams too", async (t) => {
    const { ssehub, port } = await startServer(t);
    const client = await connect(t, port, get("/events?topic=all"));
    await client.waitFor("retry:");
    (ssehub.server as HttpServer).closeAllConnections();
    await client.closed;
    await waitFor(() => ssehub.hub.stats().subscribers === 0, "the subscriber to leave");
  });

  test("a slow client of a taken-over stream is cut off at maxQueueBytes", async (t) => {
    const { ssehub, port } = await startServer(t, { maxQueueBytes: 64 * 1024 });
    const client = await connect(t, port, get("/events?topic=flood"));
    await client.waitFor("retry:");
    assert.ok(client.text.startsWith(HEAD), JSON.stringify(client.text));
    client.socket.pause();
    const data = "x".repeat(64 * 1024);
    await waitFor(
      () => {
        if (ssehub.hub.stats().slowConsumerDisconnects > 0) return true;
        for (let i = 0; i < 20; i++) void ssehub.hub.publish({ topic: "flood", data });
        return false;
      },
      "the slow client to be cut off",
      { intervalMs: 5 },
    );
    assert.equal(ssehub.hub.stats().slowConsumerDisconnects, 1);
    assert.equal(ssehub.hub.stats().subscribers, 0);
    client.socket.resume();
    await client.closed;
  });

  test("bad input still gets a JSON error, and the connection serves the next request", async (t) => {
    const { url, port } = await startServer(t);
    await expectError(`${url}/events`, 400, "SSEHUB_ERR_TOPIC_MISSING");
    const client = await connect(t, port, get("/events?lastEventId=x"));
    await client.waitFor('"SSEHUB_ERR_TOPIC_MISSING"');
    assert.match(client.text, /^HTTP\/1\.1 400 Bad Request\r\n/);
    assert.match(client.text, /\r\nConnection: keep-alive\r\n/i);
    await waitFor(() => client.text.endsWith("}"), "the error body");
    client.text = "";
    client.socket.write(get("/events?topic=after"));
    await client.waitFor("retry:");
    assert.ok(client.text.startsWith(HEAD), JSON.stringify(client.text));
  });

  test("fetch (undici, keep-alive) reads a taken-over stream and goes on with its pool", async (t) => {
    const { ssehub, url } = await startServer(t);
    const controller = new AbortController();
    const response = await fetch(`${url}/events?topic=f`, { signal: controller.signal });
    assert.equal(response.headers.get("connection"), "close");
    assert.equal(response.headers.get("content-type"), "text/event-stream; charset=utf-8");
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let text = "";
    while (!text.includes("retry:")) text += decoder.decode((await reader.read()).value);
    const { id } = await ssehub.hub.publish({ topic: "f", data: "hello" });
    while (!text.includes(`id: ${id}\ndata: hello\n\n`)) {
      text += decoder.decode((await reader.read()).value);
    }
    controller.abort();
    await reader.cancel().catch(() => {});
    for (let i = 0; i < 3; i++) assert.equal((await fetch(`${url}/healthz`)).status, 200);
    await waitFor(() => ssehub.hub.stats().subscribers === 0, "the subscriber to leave");
  });

  describe("the public path", () => {
    test(`${SOCKET_TAKEOVER_ENV}=off keeps streams on res.write, and they work`, async (t) => {
      const saved = process.env[SOCKET_TAKEOVER_ENV];
      process.env[SOCKET_TAKEOVER_ENV] = "off";
      t.after(() => {
        if (saved === undefined) delete process.env[SOCKET_TAKEOVER_ENV];
        else process.env[SOCKET_TAKEOVER_ENV] = saved;
      });
      const { ssehub, port } = await startServer(t, { retryMs: 2500 });
      const client = await connect(t, port, get("/events?topic=p"));
      await client.waitFor("retry: 2500\n\n");
      assert.match(client.text, /^HTTP\/1\.1 200 OK\r\n/);
      assert.match(client.text, /\r\nTransfer-Encoding: chunked\r\n/);
      assert.doesNotMatch(client.text, /\r\nConnection: close\r\n/);
      const { id } = await ssehub.hub.publish({ topic: "p", data: "via res" });
      await client.waitFor(`id: ${id}\ndata: via res\n\n`);
      await ssehub.close();
      await client.closed;
      assert.equal([...client.text.matchAll(/retry: \d+\n\n/g)].length, 2, client.text);
    });

    test("a request pipelined behind a stream keeps the stream on res.write", async (t) => {
      const { ssehub, port } = await startServer(t);
      const client = await connect(t, port, get("/events?topic=pipe") + get("/healthz"));
      await client.waitFor("retry:");
      assert.match(client.text, /\r\nTransfer-Encoding: chunked\r\n/);
      const { id } = await ssehub.hub.publish({ topic: "pipe", data: "still" });
      await client.waitFor(`data: still\n\n`);
      assert.ok(client.text.includes(`id: ${id}`));
    });

    test("a stream request with a body keeps the stream on res.write", async (t) => {
      const { port } = await startServer(t);
      const client = await connect(
        t,
        port,
        `GET /events?topic=body HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\n\r\n{}`,
      );
      await client.waitFor("retry:");
      assert.match(client.text, /\r\nTransfer-Encoding: chunked\r\n/);
    });
  });
});
