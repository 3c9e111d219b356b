import assert from "node:assert/strict";
import { once } from "node:events";
import net from "node:net";
import { describe, type TestContext, test } from "node:test";
import { type LingerLimits, lingerAfterAnswer } from "../../src/http/transport/lingering-close.js";

/**
 * A server that answers every connection at once (`answer`, then FIN) and lingers with `limits`;
 * a client connected to it, collecting what it receives. `serverSocket` resolves with the
 * server's side of the connection.
 */
async function answeredConnection(t: TestContext, limits: LingerLimits) {
  let resolveServerSocket: (socket: net.Socket) => void = () => {};
  const serverSocket = new Promise<net.Socket>((resolve) => {
    resolveServerSocket = resolve;
  });
  const server = net.createServer((socket) => {
    socket.on("error", () => {});
    socket.end("answer");
    lingerAfterAnswer(socket, socket, socket, limits);
    resolveServerSocket(socket);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  t.after(() => server.close());
  const { port } = server.address() as net.AddressInfo;
  const client = net.connect(port, "127.0.0.1");
  t.after(() => client.destroy());
  client.on("error", () => {});
  let received = "";
  client.setEncoding("latin1");
  client.on("data", (text: string) => {
    received += text;
  });
  await once(client, "connect");
  return { client, serverSocket, received: () => received };
}

describe("lingerAfterAnswer()", () => {
  test("closes when the client has sent the rest of its body, and the client has the answer", async (t) => {
    const { client, serverSocket, received } = await answeredConnection(t, {
      maxBytes: 1_048_576,
      maxMs: 600_000,
    });
    client.end("the rest of the body");
    const socket = await serverSocket;
    if (!socket.destroyed) await once(socket, "close");
    assert.equal(received(), "answer");
  });

  test("closes after maxMs although the client keeps sending", async (t) => {
    const { client, serverSocket, received } = await answeredConnection(t, {
      maxBytes: 1_048_576,
      maxMs: 100,
    });
    const trickle = setInterval(() => client.write("x"), 10);
    t.after(() => clearInterval(trickle));
    const socket = await serverSocket;
    if (!socket.destroyed) await once(socket, "close");
    assert.equal(received(), "answer");
  });

  test("closes past maxBytes read, however fast the client sends", async (t) => {
    const maxBytes = 262_144;
    const { client, serverSocket } = await answeredConnection(t, { maxBytes, maxMs: 600_000 });
    const socket = await serverSocket;
    const closed = socket.destroyed ? Promise.resolve() : once(socket, "close");
    let open = true;
    void closed.then(() => {
      open = false;
    });
    const chunk = Buffer.alloc(65_536, 0x61);
    while (open && !client.destroyed) {
      if (!client.write(chunk)) await Promise.race([once(client, "drain"), closed]);
    }
    await closed;
    // One read past the limit at most: Node reads up to 64 KiB at a time.
    assert.ok(socket.bytesRead <= maxBytes + 65_536, `read ${socket.bytesRead} bytes`);
  });
});
