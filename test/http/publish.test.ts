import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import { describe, test } from "node:test";
import { HUNG_AFTER_MS } from "../helpers/wait-for.js";
import { expectError } from "./expect-error.js";
import { openStream } from "./raw-stream.js";
import { startServer } from "./start-server.js";

function postJson(url: string, body: unknown): Promise<Response> {
  return fetch(`${url}/publish`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
}

function jsonInit(body: string): RequestInit {
  return { method: "POST", headers: { "Content-Type": "application/json" }, body };
}

function formInit(body: string): RequestInit {
  return {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body,
  };
}

/**
 * Sends raw bytes and resolves with everything the server sent until it closed; `timeoutMs`
 * only stops a hung test.
 */
function rawExchange(
  port: number,
  payload: string | Buffer,
  timeoutMs = HUNG_AFTER_MS,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    let received = "";
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`The server kept the connection open; got ${JSON.stringify(received)}`));
    }, timeoutMs);
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      received += chunk;
    });
    socket.on("error", () => {
      // A reset after the answer is fine: what counts is what was received.
    });
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(received);
    });
    socket.write(payload);
  });
}

describe("POST /publish", () => {
  test("POST /publish with one JSON event answers its id and topics and delivers it", async (t) => {
    const { url } = await startServer(t);
    const stream = await openStream(t, `${url}/events?topic=news`);
    await stream.waitFor("retry:");
    const response = await postJson(url, {
      topic: "news",
      data: { title: "Hello" },
      event: "headline",
    });
    assert.equal(response.status, 200);
    const body = (await response.json()) as { id: string; topics: string[] };
    assert.deepEqual(body.topics, ["news"]);
    await stream.waitFor(`id: ${body.id}\nevent: headline\ndata: {"title":"Hello"}\n\n`);
  });

  test("POST /publish with a JSON array publishes a batch and answers the ids in order", async (t) => {
    const { ssehub, url } = await startServer(t);
    const response = await postJson(url, [
      { topic: "a", data: "one" },
      { topics: ["a", "b"], data: "two", retry: 500 },
    ]);
    assert.equal(response.status, 200);
    const body = (await response.json()) as { ids: string[] };
    assert.equal(body.ids.length, 2);
    assert.equal(ssehub.hub.topic("a")?.lastEventId, body.ids[1]);
    assert.equal(ssehub.hub.topic("b")?.historySize, 1);
  });

  test("POST /publish with a form uses Mercure's field names", async (t) => {
    const { url } = await startServer(t);
    const stream = await openStream(t, `${url}/events?topic=x&topic=y`);
    await stream.waitFor("retry:");
    const response = await fetch(
      `${url}/publish`,
      formInit("topic=x&topic=y&data=hello+world&type=greeting&retry=1500"),
    );
    assert.equal(response.status, 200);
    const body = (await response.json()) as { id: string; topics: string[] };
    assert.deepEqual(body.topics, ["x", "y"]);
    await stream.waitFor(`id: ${body.id}\nevent: greeting\nretry: 1500\ndata: hello world\n\n`);
  });

  test("POST /publish with a charset parameter of UTF-8 is accepted", async (t) => {
    const { url } = await startServer(t);
    const response = await fetch(`${url}/publish`, {
      method: "POST",
      headers: { "Content-Type": "application/json; charset=UTF-8" },
      body: JSON.stringify({ topic: "a", data: "é" }),
    });
    assert.equal(response.status, 200);
  });

  test("POST /publish with malformed JSON answers 400 SSEHUB_ERR_PUBLISH_MALFORMED", async (t) => {
    const { url } = await startServer(t);
    await expectError(`${url}/publish`, 400, "SSEHUB_ERR_PUBLISH_MALFORMED", jsonInit("{"));
    await expectError(`${url}/publish`, 400, "SSEHUB_ERR_PUBLISH_MALFORMED", jsonInit("[]"));
    await expectError(`${url}/publish`, 400, "SSEHUB_ERR_PUBLISH_MALFORMED", jsonInit("42"));
  });

  test("POST /publish with an unknown JSON key answers 400 naming the key", async (t) => {
    const { ssehub, url } = await startServer(t);
    const { body } = await expectError(
      `${url}/publish`,
      400,
      "SSEHUB_ERR_PUBLISH_MALFORMED",
      jsonInit(JSON.stringify({ topic: "a", data: 1, evnt: "x" })),
    );
    assert.match(String(body.message), /"evnt"/);
    assert.deepEqual(body.details, { field: "evnt" });
    assert.equal(ssehub.hub.stats().eventsPublished, 0);
  });

  test("POST /publish with an unknown form field answers 400 naming the field", async (t) => {
    const { url } = await startServer(t);
    const { body } = await expectError(
      `${url}/publish`,
      400,
      "SSEHUB_ERR_PUBLISH_MALFORMED",
      formInit("topic=a&data=1&color=red"),
    );
    assert.match(String(body.message), /"color"/);
  });

  test("POST /publish without a topic answers 400 SSEHUB_ERR_TOPIC_MISSING", async (t) => {
    const { url } = await startServer(t);
    await expectError(
      `${url}/publish`,
      400,
      "SSEHUB_ERR_TOPIC_MISSING",
      jsonInit(JSON.stringify({ data: "x" })),
    );
    await expectError(`${url}/publish`, 400, "SSEHUB_ERR_TOPIC_MISSING", formInit("data=x"));
  });

  test("POST /publish without data answers 400 SSEHUB_ERR_EVENT_INVALID_DATA, as hub.publish() does", async (t) => {
    const { url } = await startServer(t);
    const { body } = await expectError(
      `${url}/publish`,
      400,
      "SSEHUB_ERR_EVENT_INVALID_DATA",
      jsonInit(JSON.stringify({ topic: "a" })),
    );
    assert.deepEqual(body.details, { field: "data" });
    await expectError(`${url}/publish`, 400, "SSEHUB_ERR_EVENT_INVALID_DATA", formInit("topic=a"));
  });

  test("POST /publish with a line break in the event type answers 400 SSEHUB_ERR_EVENT_INVALID_TYPE", async (t) => {
    const { url } = await startServer(t);
    await expectError(
      `${url}/publish`,
      400,
      "SSEHUB_ERR_EVENT_INVALID_TYPE",
      jsonInit(JSON.stringify({ topic: "a", data: "x", event: "a\ndata: forged" })),
    );
    await expectError(
      `${url}/publish`,
      400,
      "SSEHUB_ERR_EVENT_INVALID_TYPE",
      formInit("topic=a&data=x&type=a%0D"),
    );
  });

  test("POST /publish with an invalid retry answers 400 SSEHUB_ERR_EVENT_INVALID_RETRY", async (t) => {
    const { url } = await startServer(t);
    for (const retry of [-1, 1.5, "100"]) {
      await expectError(
        `${url}/publish`,
        400,
        "SSEHUB_ERR_EVENT_INVALID_RETRY",
        jsonInit(JSON.stringify({ topic: "a", data: "x", retry })),
      );
    }
    for (const retry of ["12a", "-5", "1e3", ""]) {
      await expectError(
        `${url}/publish`,
        400,
        "SSEHUB_ERR_EVENT_INVALID_RETRY",
        formInit(`topic=a&data=x&retry=${encodeURIComponent(retry)}`),
      );
    }
  });

  test("POST /publish with a bad event in a batch publishes none of them", async (t) => {
    const { ssehub, url } = await startServer(t);
    await expectError(
      `${url}/publish`,
      400,
      "SSEHUB_ERR_TOPIC_INVALID",
      jsonInit(
        JSON.stringify([
          { topic: "a", data: 1 },
          { topic: "b c", data: 2 },
        ]),
      ),
    );
    assert.equal(ssehub.hub.stats().eventsPublished, 0);
  });

  test("POST /publish with more events than maxBatchEvents answers 413 SSEHUB_ERR_PUBLISH_TOO_MANY_EVENTS", async (t) => {
    const { url } = await startServer(t, { maxBatchEvents: 2 });
    const batch = [1, 2, 3].map((n) => ({ topic: "a", data: n }));
    await expectError(
      `${url}/publish`,
      413,
      "SSEHUB_ERR_PUBLISH_TOO_MANY_EVENTS",
      jsonInit(JSON.stringify(batch)),
    );
  });

  test("POST /publish with another content type answers 415 SSEHUB_ERR_PUBLISH_UNSUPPORTED_MEDIA_TYPE", async (t) => {
    const { url } = await startServer(t);
    const code = "SSEHUB_ERR_PUBLISH_UNSUPPORTED_MEDIA_TYPE";
    await expectError(`${url}/publish`, 415, code, {
      method: "POST",
      headers: { "Content-Type": "text/plain" },
      body: "hello",
    });
    await expectError(`${url}/publish`, 415, code, {
      method: "POST",
      headers: { "Content-Type": "application/json; charset=latin1" },
      body: "{}",
    });
  });

  test("POST /publish with a body over maxBodyBytes answers 413 and keeps the connection usable", async (t) => {
    const { ssehub, url } = await startServer(t, { maxBodyBytes: 1024 });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    t.after(() => agent.destroy());
    const post = (body: string): Promise<{ status: number; body: string; reused: boolean }> =>
      new Promise((resolve, reject) => {
        const request = http.request(
          `${url}/publish`,
          { method: "POST", agent, headers: { "Content-Type": "application/json" } },
          (response) => {
            let text = "";
            response.setEncoding("utf8");
            response.on("data", (chunk: string) => {
              text += chunk;
            });
            response.on("end", () =>
              resolve({
                status: response.statusCode ?? 0,
                body: text,
                reused: request.reusedSocket,
              }),
            );
          },
        );
        request.on("error", reject);
        request.end(body);
      });
    const big = JSON.stringify({ topic: "a", data: "x".repeat(4096) });
    const refused = await post(big);
    assert.equal(refused.status, 413);
    const error = JSON.parse(refused.body) as { code: string; details: unknown };
    assert.equal(error.code, "SSEHUB_ERR_PUBLISH_TOO_LARGE");
    assert.deepEqual(error.details, { maxBodyBytes: 1024 });
    const accepted = await post(JSON.stringify({ topic: "a", data: "small" }));
    assert.equal(accepted.status, 200);
    assert.equal(accepted.reused, true);
    assert.equal(ssehub.hub.stats().eventsPublished, 1);
  });

  test("POST /publish with a chunked body over maxBodyBytes answers 413", async (t) => {
    const { port } = await startServer(t, { maxBodyBytes: 100 });
    const chunk = "x".repeat(80);
    const chunked = `${(80).toString(16)}\r\n${chunk}\r\n`.repeat(3);
    const received = await rawExchange(
      port,
      "POST /publish HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
        `Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n${chunked}0\r\n\r\n`,
    );
    assert.match(received, /^HTTP\/1\.1 413 /);
    assert.match(received, /SSEHUB_ERR_PUBLISH_TOO_LARGE/);
  });

  test("POST /publish declaring a huge body answers 413 at once and closes the connection", async (t) => {
    const { url, port } = await startServer(t, { maxBodyBytes: 1024 });
    // 100 MiB declared, 64 KiB sent: the answer must not wait for the rest.
    const received = await rawExchange(
      port,
      Buffer.concat([
        Buffer.from(
          "POST /publish HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
            "Content-Length: 104857600\r\n\r\n",
        ),
        Buffer.alloc(65_536, 0x20),
      ]),
    );
    assert.match(received, /^HTTP\/1\.1 413 /);
    assert.match(received, /Connection: close/i);
    const health = await fetch(`${url}/healthz`);
    assert.equal(health.status, 200);
  });
});
