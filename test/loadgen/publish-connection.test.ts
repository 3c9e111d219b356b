import assert from "node:assert/strict";
import { once } from "node:events";
import { type AddressInfo, createServer, type Socket } from "node:net";
import { describe, type TestContext, test } from "node:test";
import {
  PublishConnection,
  type PublishConnectionHandler,
} from "../../src/loadgen/publish-connection.js";

const REQUEST = "POST /publish HTTP/1.1\r\nHost: test\r\nContent-Length: 0\r\n\r\n";

/** A server whose first connection answers with `answer` once `requests` requests arrived. */
async function rawServer(
  t: TestContext,
  requests: number,
  answer: (socket: Socket) => void,
): Promise<number> {
  const server = createServer((socket) => {
    let received = "";
    socket.on("data", (chunk) => {
      received += chunk.toString("latin1");
      if (received.split("\r\n\r\n").length - 1 === requests) answer(socket);
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  t.after(() => server.close());
  return (server.address() as AddressInfo).port;
}

/** Records answers and losses; `settled` resolves once `expected` requests are accounted for. */
function recorder(expected: number): {
  handler: PublishConnectionHandler;
  statuses: number[];
  lost: number[];
  settled: Promise<void>;
} {
  const statuses: number[] = [];
  const lost: number[] = [];
  let resolve = (): void => {};
  const settled = new Promise<void>((r) => {
    resolve = r;
  });
  const check = (): void => {
    if (statuses.length + lost.reduce((a, b) => a + b, 0) >= expected) resolve();
  };
  return {
    statuses,
    lost,
    settled,
    handler: {
      onAnswer: (_connection, status, latencyUs) => {
        assert.ok(latencyUs >= 0);
        statuses.push(status);
        check();
      },
      onLost: (_connection, count) => {
        lost.push(count);
        check();
      },
    },
  };
}

/**
 * Sends `requests` pipelined requests on a PublishConnection to a server that answers them with
 * `answer`; resolves once every request is answered or lost.
 */
async function exchange(
  t: TestContext,
  requests: number,
  answer: (socket: Socket) => void,
): Promise<{ statuses: number[]; lost: number[]; publish: PublishConnection }> {
  const port = await rawServer(t, requests, answer);
  const seen = recorder(requests);
  const endpoint = { host: "127.0.0.1", port, hostHeader: "test", isIpv6: false };
  const publish = new PublishConnection(0, endpoint, undefined, seen.handler);
  t.after(() => publish.close());
  publish.send(REQUEST.repeat(requests), requests);
  await seen.settled;
  return { statuses: seen.statuses, lost: seen.lost, publish };
}

describe("PublishConnection", () => {
  test("pipelined answers of every framing are matched to their requests in order", async (t) => {
    const { statuses, lost, publish } = await exchange(t, 4, (socket) => {
      socket.write(
        "HTTP/1.1 100 Continue\r\n\r\n" +
          "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n" +
          "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok" +
          "HTTP/1.1 204 No Content\r\n\r\n" +
          "HTTP/1.1 429 Too Many Requests\r\nContent-Length: 0\r\n\r\n",
      );
    });
    assert.deepEqual(statuses, [200, 201, 204, 429]);
    assert.deepEqual(lost, []);
    assert.equal(publish.inFlight, 0);
  });

  test("an answer with neither length nor chunks ends with the connection", async (t) => {
    const { statuses, lost } = await exchange(t, 2, (socket) => {
      socket.end("HTTP/1.1 202 Accepted\r\n\r\nthe rest of the connection");
    });
    assert.deepEqual(statuses, [202]);
    assert.deepEqual(lost, [1]);
  });

  test("an answer that cannot be read closes the connection and loses the requests in flight", async (t) => {
    const { statuses, lost, publish } = await exchange(t, 3, (socket) => {
      socket.write(
        "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n" +
          "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nnot hex\r\n",
      );
    });
    assert.deepEqual(statuses, [200]);
    assert.deepEqual(lost, [2]);
    assert.equal(publish.inFlight, 0);
  });

  test("close() counts the requests still in flight as lost before it returns", async (t) => {
    // A server that takes the requests and never answers, as a process that hangs does: the
    // publisher gives up on them and reports at once, so they must be counted by then.
    let arrived = (): void => {};
    const received = new Promise<void>((resolve) => {
      arrived = resolve;
    });
    const port = await rawServer(t, 3, () => arrived());
    const seen = recorder(3);
    const endpoint = { host: "127.0.0.1", port, hostHeader: "test", isIpv6: false };
    const publish = new PublishConnection(0, endpoint, undefined, seen.handler);
    publish.send(REQUEST.repeat(3), 3);
    await received;
    publish.close();
    assert.deepEqual(seen.lost, [3]);
    assert.equal(publish.inFlight, 0);
    // The close event that follows counts nothing twice.
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(seen.lost, [3]);
  });
});
