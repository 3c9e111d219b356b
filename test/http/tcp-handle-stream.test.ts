import assert from "node:assert/strict";
import diagnosticsChannel from "node:diagnostics_channel";
import { once } from "node:events";
import type { Server as HttpServer } from "node:http";
import net from "node:net";
import { describe, type TestContext, test } from "node:test";
import { INTERNALS_FALLBACK_CHANNEL } from "../../src/http/transport/internals-fallback.js";
import {
  adoptTcpHandle,
  TCP_HANDLE_STREAM_ENV,
  TcpHandleStream,
  tcpHandleStreamSupported,
} from "../../src/http/transport/tcp-handle-stream.js";
import { waitFor } from "../helpers/wait-for.js";
import { openStream } from "./raw-stream.js";
import { startServer } from "./start-server.js";

/** The fields of node:net's socket these tests look at. */
interface NetSocket extends net.Socket {
  _handle: object | null;
  _pendingData?: unknown;
}

function seriesValue(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

function scrape(url: string): Promise<string> {
  return fetch(`${url}/metrics`).then((response) => response.text());
}

function connectionCount(server: net.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.getConnections((error, count) => (error === null ? resolve(count) : reject(error)));
  });
}

/** Sets an environment variable for the rest of the test. */
function setEnv(t: TestContext, name: string, value: string): void {
  const saved = process.env[name];
  process.env[name] = value;
  t.after(() => {
    if (saved === undefined) delete process.env[name];
    else process.env[name] = saved;
  });
}

/** The owner node:net (or ssehub) set on a handle. */
function ownerOf(handle: object): unknown {
  const symbol = Object.getOwnPropertySymbols(handle).find((s) => s.description === "owner_symbol");
  return symbol === undefined ? undefined : (handle as Record<symbol, unknown>)[symbol];
}

describe("TCP handle streams", () => {
  test("tcpHandleStreamSupported is true on the Node versions ssehub supports", () => {
    assert.equal(tcpHandleStreamSupported, true, `node ${process.version}`);
  });

  test("a taken-over stream lets go of its net.Socket and goes on over the TCP handle", async (t) => {
    const { ssehub, url } = await startServer(t);
    let serverSocket: NetSocket | undefined;
    let handle: object | null = null;
    ssehub.server.once("connection", (socket: NetSocket) => {
      serverSocket = socket;
      handle = socket._handle;
    });
    const stream = await openStream(t, `${url}/events/h`);
    await stream.waitFor("retry:");
    assert.ok(serverSocket !== undefined && handle !== null);
    assert.equal(serverSocket._handle, null);
    assert.ok(ownerOf(handle) instanceof TcpHandleStream);
    const { id } = await ssehub.hub.publish({ topic: "h", data: "over the handle" });
    await stream.waitFor(`id: ${id}\ndata: over the handle\n\n`);
    assert.equal(await connectionCount(ssehub.server), 1);
  });

  test("an event larger than the kernel takes at once arrives whole", async (t) => {
    const { ssehub, url } = await startServer(t, { maxQueueBytes: 64 * 1024 * 1024 });
    const stream = await openStream(t, `${url}/events/big`);
    await stream.waitFor("retry:");
    const data = "x".repeat(8 * 1024 * 1024);
    const { id } = await ssehub.hub.publish({ topic: "big", data });
    await stream.waitFor(`id: ${id}\ndata: ${data}\n\n`);
  });

  test("a client that leaves takes its subscriber and its connection with it, and the server closes", async (t) => {
    const { ssehub, url } = await startServer(t);
    const stream = await openStream(t, `${url}/events/gone`);
    await stream.waitFor("retry:");
    assert.equal(ssehub.hub.stats().subscribers, 1);
    stream.close();
    await waitFor(() => ssehub.hub.stats().subscribers === 0, "the subscriber to leave");
    await waitFor(async () => (await connectionCount(ssehub.server)) === 0, "the connection to go");
    await ssehub.close();
    assert.equal(ssehub.server.listening, false);
  });

  test(`${TCP_HANDLE_STREAM_ENV}=off keeps the stream on its socket, and counts no fallback`, async (t) => {
    setEnv(t, TCP_HANDLE_STREAM_ENV, "off");
    const { ssehub, url } = await startServer(t);
    let serverSocket: NetSocket | undefined;
    ssehub.server.once("connection", (socket: NetSocket) => {
      serverSocket = socket;
    });
    const stream = await openStream(t, `${url}/events/s`);
    await stream.waitFor("retry:");
    assert.notEqual(serverSocket?._handle, null);
    const { id } = await ssehub.hub.publish({ topic: "s", data: "over the socket" });
    await stream.waitFor(`id: ${id}\ndata: over the socket\n\n`);
    const text = await scrape(url);
    assert.equal(seriesValue(text, 'ssehub_streams{transport="socket"}'), 1, text);
    assert.equal(
      seriesValue(text, 'ssehub_node_internals_fallback_total{feature="tcp-handle"}'),
      0,
    );
  });

  test("a socket whose handle is not as expected keeps the stream on the socket, and the fallback is counted", async (t) => {
    const { ssehub, url } = await startServer(t);
    // Bytes node:net still holds for the socket: as on a Node whose internals changed, the
    // handle may not be taken from under it.
    ssehub.server.prependListener("connection", (socket: NetSocket) => {
      socket._pendingData = [];
    });
    const seen: unknown[] = [];
    const onFallback = (message: unknown): void => {
      seen.push(message);
    };
    diagnosticsChannel.subscribe(INTERNALS_FALLBACK_CHANNEL, onFallback);
    t.after(() => diagnosticsChannel.unsubscribe(INTERNALS_FALLBACK_CHANNEL, onFallback));
    const stream = await openStream(t, `${url}/events/f`);
    await stream.waitFor("retry:");
    const { id } = await ssehub.hub.publish({ topic: "f", data: "still delivered" });
    await stream.waitFor(`id: ${id}\ndata: still delivered\n\n`);
    const text = await scrape(url);
    assert.equal(seriesValue(text, 'ssehub_streams{transport="socket"}'), 1, text);
    assert.equal(
      seriesValue(text, 'ssehub_node_internals_fallback_total{feature="tcp-handle"}'),
      1,
    );
    assert.deepEqual(seen, [
      { feature: "tcp-handle", reason: "the socket's TCP handle is not as expected" },
    ]);
    stream.close();
    await waitFor(() => ssehub.hub.stats().subscribers === 0, "the subscriber to leave");
  });

  test("adoptTcpHandle refuses a socket with no TCP handle and changes nothing", () => {
    const socket = new net.Socket();
    assert.equal(adoptTcpHandle(socket), "handle");
    socket.destroy();
  });

  test("closeAllConnections() ends handle streams, and the client sees the end", async (t) => {
    const { ssehub, port } = await startServer(t);
    const client = net.connect(port, "127.0.0.1");
    t.after(() => client.destroy());
    await once(client, "connect");
    client.write("GET /events/all HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    let text = "";
    client.setEncoding("latin1");
    client.on("data", (chunk: string) => {
      text += chunk;
    });
    await waitFor(() => text.includes("retry:"), "the stream to open");
    const closed = once(client, "close");
    (ssehub.server as HttpServer).closeAllConnections();
    await closed;
    await waitFor(() => ssehub.hub.stats().subscribers === 0, "the subscriber to leave");
  });
});
