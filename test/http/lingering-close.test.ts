import assert from "node:assert/strict";
import diagnosticsChannel from "node:diagnostics_channel";
import { once } from "node:events";
import http from "node:http";
import net from "node:net";
import { describe, type TestContext, test } from "node:test";
import { INTERNALS_FALLBACK_CHANNEL } from "../../src/http/transport/internals-fallback.js";
import { type LingerLimits, lingerAfterAnswer } from "../../src/http/transport/lingering-close.js";
import { waitFor } from "../helpers/wait-for.js";

/**
 * Listens with `server` on a free loopback port and connects a client to it; `received` gives
 * what the client has received so far. Both are closed after the test.
 */
async function connectTo(t: TestContext, server: net.Server) {
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
  return { client, received: () => received };
}

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
  const { client, received } = await connectTo(t, server);
  return { client, serverSocket, received };
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

describe("lingerAfterAnswer() after a node:http answer", () => {
  /**
   * A node:http server that refuses every request with `Connection: close` and lingers; a
   * client that sends half of a declared body. Resolves with what the client received and the
   * fallbacks reported meanwhile.
   */
  async function refuseHalfABody(
    t: TestContext,
    prepare: (socket: net.Socket) => void,
  ): Promise<{ received: string; fallbacks: unknown[] }> {
    const fallbacks: unknown[] = [];
    const onFallback = (message: unknown): void => {
      fallbacks.push(message);
    };
    diagnosticsChannel.subscribe(INTERNALS_FALLBACK_CHANNEL, onFallback);
    t.after(() => diagnosticsChannel.unsubscribe(INTERNALS_FALLBACK_CHANNEL, onFallback));
    const server = http.createServer((req, res) => {
      prepare(req.socket);
      res.setHeader("Connection", "close");
      lingerAfterAnswer(req.socket, req, res, { maxBytes: 1_048_576, maxMs: 600_000 });
      res.end("refused");
    });
    const { client, received } = await connectTo(t, server);
    client.write("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nhalf");
    await waitFor(() => received().endsWith("refused"), "the answer");
    client.end("x".repeat(96)); // the rest of the declared 100 bytes
    if (!client.destroyed) await once(client, "close");
    return { received: received(), fallbacks };
  }

  test("takes back node:http's queued destroy, and reports no fallback", async (t) => {
    const { received, fallbacks } = await refuseHalfABody(t, () => {});
    assert.match(received, /^HTTP\/1\.1 200 /);
    assert.deepEqual(fallbacks, []);
  });

  test("reports the fallback when node:http queued its close some other way", async (t) => {
    const { received, fallbacks } = await refuseHalfABody(t, (socket) => {
      // As a Node whose destroySoon() queues a function of its own instead of `destroy`.
      socket.destroySoon = function destroySoonElsewhere(this: net.Socket) {
        if (this.writable) this.end();
        this.once("finish", () => this.destroy());
      };
    });
    assert.match(received, /refused$/);
    assert.deepEqual(fallbacks, [
      { feature: "lingering-close", reason: "no queued destroy on the socket" },
    ]);
  });
});
