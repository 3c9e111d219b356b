/**
 * A refused request is heard: a publisher that sends a body the hub refuses (too large, wrong
 * type) or headers past the limit reads the 413, 415 or 431 and its JSON code, whatever its
 * client. Node's fetch (undici) writes its whole body before it reads: when the hub closed the
 * connection under it, it saw EPIPE or "socket hang up" instead. The hub runs in its own process
 * (`ssehub serve`), as publishers meet it: in one process the race hides.
 *
 * The hub reads a refused body only up to a bound (LINGER_LIMITS), then closes: a raw client
 * that sends a body declared 1 GiB is cut off long before it has sent it.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import net from "node:net";
import { describe, type TestContext, test } from "node:test";
import { LINGER_LIMITS } from "../../src/http/transport/lingering-close.js";
import { listeningUrl, ssehub } from "../helpers/ssehub-process.js";

const MAX_BODY_BYTES = 1024;
const MiB = 1_048_576;

/** `ssehub serve` with a 1 KiB body limit; its URL. */
async function startHub(t: TestContext): Promise<string> {
  const run = ssehub(t, ["serve", "--port", "0", "--max-body-bytes", String(MAX_BODY_BYTES)]);
  return listeningUrl(run);
}

/** Status and JSON code of a fetch, or the error it failed with (so a failure says which). */
async function answerOf(url: string, init: RequestInit): Promise<{ status: number; code: string }> {
  try {
    const response = await fetch(url, init);
    const body = (await response.json()) as { code: string };
    return { status: response.status, code: body.code };
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    return { status: 0, code: `fetch failed: ${cause?.code ?? cause?.message ?? String(error)}` };
  }
}

/** A body stream that sends `total` bytes in 64 KiB chunks, waiting `delayMs` before each. */
function slowBody(total: number, delayMs: number): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    async pull(controller) {
      if (sent >= total) {
        controller.close();
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      sent += 65_536;
      controller.enqueue(new Uint8Array(65_536).fill(0x61));
    },
  });
}

describe("a refused publish is heard by Node's fetch", () => {
  test("a JSON body past maxBodyBytes answers 413 SSEHUB_ERR_PUBLISH_TOO_LARGE, however large", async (t) => {
    const url = await startHub(t);
    // Past the drain limit, and past the lingering bound: the answer still arrives first.
    for (const size of [4 * MiB, 4 * MiB, 4 * MiB, 64 * MiB]) {
      const answer = await answerOf(`${url}/publish`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: Buffer.alloc(size, 0x61),
      });
      assert.deepEqual(answer, { status: 413, code: "SSEHUB_ERR_PUBLISH_TOO_LARGE" }, `${size}`);
    }
  });

  test("a large body of the wrong type answers 415 SSEHUB_ERR_PUBLISH_UNSUPPORTED_MEDIA_TYPE", async (t) => {
    const url = await startHub(t);
    for (const path of ["/publish", "/.well-known/mercure"]) {
      const answer = await answerOf(`${url}${path}`, {
        method: "POST",
        headers: { "Content-Type": "text/csv" },
        body: Buffer.alloc(4 * MiB, 0x61),
      });
      assert.deepEqual(answer, { status: 415, code: "SSEHUB_ERR_PUBLISH_UNSUPPORTED_MEDIA_TYPE" });
    }
  });

  test("a slow chunked upload past maxBodyBytes answers 413", async (t) => {
    const url = await startHub(t);
    const answer = await answerOf(`${url}/publish`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: slowBody(4 * MiB, 5),
      duplex: "half",
    } as RequestInit);
    assert.deepEqual(answer, { status: 413, code: "SSEHUB_ERR_PUBLISH_TOO_LARGE" });
  });

  test("headers past the limit, with a large body behind them, answer 431 SSEHUB_ERR_REQUEST_HEADERS_TOO_LARGE", async (t) => {
    const url = await startHub(t);
    const answer = await answerOf(`${url}/publish`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Padding": "a".repeat(20_000) },
      body: Buffer.alloc(4 * MiB, 0x61),
    });
    assert.deepEqual(answer, { status: 431, code: "SSEHUB_ERR_REQUEST_HEADERS_TOO_LARGE" });
  });
});

describe("the hub reads a refused body only so far", () => {
  test("a body declared 1 GiB is cut off after the answer, within the lingering bound", async (t) => {
    const url = new URL(await startHub(t));
    const socket = net.connect(Number(url.port), url.hostname);
    t.after(() => socket.destroy());
    await once(socket, "connect");
    let received = "";
    socket.setEncoding("latin1");
    socket.on("data", (text: string) => {
      received += text;
    });
    socket.on("error", () => {});
    const closed = once(socket, "close");
    socket.write(
      "POST /publish HTTP/1.1\r\nHost: hub\r\nContent-Type: application/json\r\n" +
        `Content-Length: ${1024 * MiB}\r\n\r\n`,
    );
    // Write as fast as the hub reads, until it closes.
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    let written = 0;
    let open = true;
    void closed.then(() => {
      open = false;
    });
    while (open) {
      if (!socket.write(chunk)) {
        await Promise.race([once(socket, "drain"), closed]);
      }
      if (open) written += chunk.length;
    }
    assert.match(received, /^HTTP\/1\.1 413 /);
    assert.match(received, /Connection: close/i);
    assert.match(received, /"code":"SSEHUB_ERR_PUBLISH_TOO_LARGE"/);
    // What the hub read, plus what the kernels' socket buffers held when it closed (loopback
    // buffers reach a few MiB each way): far below the gigabyte declared.
    assert.ok(
      written < LINGER_LIMITS.maxBytes + 64 * MiB,
      `wrote ${written} bytes before the hub closed`,
    );
  });
});
