/**
 * The test helper that stands between a client and a server: it forwards bytes both ways,
 * cut() drops every connection and refuses new ones, restore() forwards again.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import net from "node:net";
import { describe, it } from "node:test";
import { startTcpProxy } from "./tcp-proxy.js";
import { waitFor, within } from "./wait-for.js";

/** An echo server on 127.0.0.1, closed after the test. */
async function startEcho(t: { after(fn: () => unknown): void }): Promise<number> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    socket.pipe(socket);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  t.after(() => {
    for (const socket of sockets) socket.destroy();
    return new Promise((resolve) => server.close(resolve));
  });
  return (server.address() as net.AddressInfo).port;
}

/** A client connection that collects what it receives and records how it ended. */
async function connect(port: number) {
  const socket = net.connect(port, "127.0.0.1");
  let text = "";
  socket.setEncoding("utf8");
  socket.on("data", (chunk: string) => {
    text += chunk;
  });
  socket.on("error", () => {});
  const closed = once(socket, "close").then(() => undefined);
  await once(socket, "connect");
  return {
    socket,
    closed,
    get text() {
      return text;
    },
    async echo(message: string): Promise<string> {
      const before = text.length;
      socket.write(message);
      await waitFor(() => text.length >= before + message.length || socket.destroyed, "the echo", {
        intervalMs: 5,
      });
      return text.slice(before);
    },
  };
}

describe("startTcpProxy()", () => {
  it("forwards bytes both ways on its own loopback port", async (t) => {
    const target = await startEcho(t);
    const proxy = await startTcpProxy(t, target);
    assert.notEqual(proxy.port, target);
    const client = await connect(proxy.port);
    t.after(() => client.socket.destroy());
    assert.equal(await client.echo("hello"), "hello");
    assert.equal(await client.echo("x".repeat(200_000)), "x".repeat(200_000));
    assert.equal(proxy.openConnections, 1);
    assert.equal(proxy.forwardedConnections, 1);
  });

  it("cut() drops every connection and refuses new ones until restore()", async (t) => {
    const target = await startEcho(t);
    const proxy = await startTcpProxy(t, target);
    const first = await connect(proxy.port);
    const second = await connect(proxy.port);
    t.after(() => {
      first.socket.destroy();
      second.socket.destroy();
    });
    assert.equal(await first.echo("a"), "a");
    assert.equal(await second.echo("b"), "b");

    proxy.cut();
    assert.equal(proxy.isCut, true);
    await within(first.closed, "the first connection is dropped");
    await within(second.closed, "the second connection is dropped");
    assert.equal(proxy.openConnections, 0);

    const refused = await connect(proxy.port);
    refused.socket.write("lost");
    await within(refused.closed, "a new connection is refused");
    assert.equal(refused.text, "", "no byte passed while cut");
    assert.equal(proxy.forwardedConnections, 2);

    proxy.restore();
    assert.equal(proxy.isCut, false);
    const third = await connect(proxy.port);
    t.after(() => third.socket.destroy());
    assert.equal(await third.echo("back"), "back");
    assert.equal(proxy.forwardedConnections, 3);
  });

  it("holds every chunk back by delayMs, both ways, in order", async (t) => {
    const target = await startEcho(t);
    const proxy = await startTcpProxy(t, target, { delayMs: 40 });
    const client = await connect(proxy.port);
    t.after(() => client.socket.destroy());
    const started = performance.now();
    assert.equal(await client.echo("ping"), "ping");
    const tookMs = performance.now() - started;
    assert.ok(tookMs >= 75, `a round trip takes twice the delay: ${tookMs.toFixed(1)} ms`);
    const parts = Array.from({ length: 50 }, (_, i) => `<${i}>`);
    for (const part of parts) client.socket.write(part);
    const expected = parts.join("");
    const before = client.text.length;
    await waitFor(() => client.text.length >= before + expected.length, "every part", {
      intervalMs: 5,
    });
    assert.equal(client.text.slice(before), expected);
  });

  it("close() drops every connection and stops listening", async (t) => {
    const target = await startEcho(t);
    const proxy = await startTcpProxy(t, target);
    const client = await connect(proxy.port);
    assert.equal(await client.echo("a"), "a");
    await proxy.close();
    await within(client.closed, "the connection to be dropped");
    const error = await new Promise<NodeJS.ErrnoException>((resolve) => {
      net.connect(proxy.port, "127.0.0.1").once("error", resolve);
    });
    assert.equal(error.code, "ECONNREFUSED");
  });
});
