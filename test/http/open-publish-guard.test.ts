/**
 * createRequestHandler() on the caller's own server with publishing open to anyone: one warning
 * when the server listens beyond loopback, and publishes from another machine refused with 403
 * SSEHUB_ERR_AUTH_PUBLISH_LOOPBACK_ONLY, as `ssehub serve` refuses to listen there. Real
 * sockets: "another machine" is this machine's own non-loopback address, which the server sees
 * as a non-loopback peer.
 */
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { networkInterfaces } from "node:os";
import { Writable } from "node:stream";
import { describe, type TestContext, test } from "node:test";
import { isLoopbackAddress } from "../../src/http/access/open-publish-guard.js";
import { createRequestHandler, type RequestHandlerOptions } from "../../src/http/handler.js";
import { createLogger } from "../../src/http/telemetry/logger.js";
import { createHub } from "../../src/hub/hub.js";

/** An IPv4 address of this machine outside loopback, if it has one. */
function outsideAddress(): string | undefined {
  for (const entries of Object.values(networkInterfaces())) {
    for (const entry of entries ?? []) {
      if (entry.family === "IPv4" && !entry.internal) return entry.address;
    }
  }
  return undefined;
}

const OUTSIDE = outsideAddress();
const NO_OUTSIDE = OUTSIDE === undefined ? "this machine has no non-loopback IPv4 address" : false;

interface Mounted {
  readonly port: number;
  /** The warnings the handler logged. */
  readonly warnings: { msg: string; code?: string }[];
}

async function mount(
  t: TestContext,
  host: string,
  options: RequestHandlerOptions = {},
): Promise<Mounted> {
  const hub = createHub();
  t.after(() => hub.close());
  const warnings: { msg: string; code?: string }[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      const entry = JSON.parse(chunk.toString("utf8")) as { level: number; msg: string };
      if (entry.level === 40) warnings.push(entry);
      callback();
    },
  });
  const handler = createRequestHandler(hub, {
    logger: createLogger("info", destination),
    ...options,
  });
  t.after(() => handler.metrics.close());
  const server = http.createServer(handler);
  server.listen(0, host);
  t.after(() => server.close());
  await new Promise((resolve) => server.once("listening", resolve));
  return { port: (server.address() as AddressInfo).port, warnings };
}

/** POSTs one event to `host:port` and answers the status and the error code, if any. */
async function publish(host: string, port: number, path = "/publish"): Promise<[number, string?]> {
  const response = await fetch(`http://${host}:${port}${path}`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ topic: "orders", data: "x" }),
  });
  const body = (await response.json()) as { code?: string };
  return body.code === undefined ? [response.status] : [response.status, body.code];
}

describe("createRequestHandler() with publishing open to anyone", () => {
  test("isLoopbackAddress() knows 127/8, ::1 and their IPv4-mapped form", () => {
    for (const address of ["127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1"]) {
      assert.equal(isLoopbackAddress(address), true, address);
    }
    for (const address of ["0.0.0.0", "::", "192.0.2.2", "::ffff:192.0.2.2", undefined]) {
      assert.equal(isLoopbackAddress(address), false, String(address));
    }
  });

  test("on 0.0.0.0 it warns once naming the fix, refuses publishes from another machine and takes those of this one", {
    skip: NO_OUTSIDE,
  }, async (t) => {
    const { port, warnings } = await mount(t, "0.0.0.0");
    assert.deepEqual(await publish("127.0.0.1", port), [200]);
    assert.deepEqual(await publish(OUTSIDE!, port), [403, "SSEHUB_ERR_AUTH_PUBLISH_LOOPBACK_ONLY"]);
    assert.deepEqual(await publish(OUTSIDE!, port, "/.well-known/mercure"), [
      403,
      "SSEHUB_ERR_AUTH_PUBLISH_LOOPBACK_ONLY",
    ]);
    // Subscribing and reading stay open to every peer.
    assert.equal((await fetch(`http://${OUTSIDE}:${port}/topics`)).status, 200);
    assert.equal(warnings.length, 1, JSON.stringify(warnings));
    assert.equal(warnings[0]!.code, "SSEHUB_ERR_AUTH_PUBLISH_LOOPBACK_ONLY");
    assert.match(warnings[0]!.msg, /listens on 0\.0\.0\.0/);
    assert.match(warnings[0]!.msg, /publisherJwtKey/);
    assert.match(warnings[0]!.msg, /anonymousPublish to true/);
  });

  test("anonymousPublish: true says it is intended: no warning, publishes from anywhere", {
    skip: NO_OUTSIDE,
  }, async (t) => {
    const { port, warnings } = await mount(t, "0.0.0.0", { anonymousPublish: true });
    assert.deepEqual(await publish(OUTSIDE!, port), [200]);
    assert.deepEqual(warnings, []);
  });

  test("a publisher key closes publishing: no warning, and the token decides", {
    skip: NO_OUTSIDE,
  }, async (t) => {
    const { port, warnings } = await mount(t, "0.0.0.0", { publisherJwtKey: "k".repeat(32) });
    assert.deepEqual(await publish(OUTSIDE!, port), [401, "SSEHUB_ERR_AUTH_MISSING"]);
    assert.deepEqual(warnings, []);
  });

  test("on loopback, as the README's embed example listens, nothing is logged and publishes pass", async (t) => {
    const { port, warnings } = await mount(t, "127.0.0.1");
    assert.deepEqual(await publish("127.0.0.1", port), [200]);
    assert.deepEqual(warnings, []);
  });
});
