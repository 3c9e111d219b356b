import assert from "node:assert/strict";
import { once } from "node:events";
import net from "node:net";
import { Writable } from "node:stream";
import { describe, test } from "node:test";
import { createLogger } from "../../src/http/telemetry/logger.js";
import { waitFor } from "../helpers/wait-for.js";
import { startServer } from "./start-server.js";

describe("slow consumers over HTTP", () => {
  test("a subscriber that stops reading is cut off, logged at warn and counted in /metrics", async (t) => {
    const lines: { level: number; msg: string }[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        lines.push(JSON.parse(chunk.toString("utf8")) as { level: number; msg: string });
        callback();
      },
    });
    const { ssehub, url, port } = await startServer(t, {
      maxQueueBytes: 64 * 1024,
      logger: createLogger("info", destination),
    });
    const socket = net.connect(port, "127.0.0.1");
    t.after(() => socket.destroy());
    await once(socket, "connect");
    socket.on("error", () => {});
    socket.write("GET /events?topic=flood HTTP/1.1\r\nHost: x\r\n\r\n");
    await once(socket, "data");
    socket.pause();

    const data = "x".repeat(64 * 1024);
    await waitFor(
      () => {
        if (ssehub.hub.stats().slowConsumerDisconnects > 0) return true;
        for (let i = 0; i < 20; i++) ssehub.hub.publish({ topic: "flood", data });
        return false;
      },
      "the slow consumer to be cut off",
      { intervalMs: 5 },
    );
    assert.equal(ssehub.hub.stats().slowConsumerDisconnects, 1);
    assert.ok(lines.some((line) => line.level === 40 && /slow consumer/i.test(line.msg)));
    const text = await (await fetch(`${url}/metrics`)).text();
    assert.match(text, /^ssehub_slow_consumer_total\{reason="disconnect"\} 1$/m);
    assert.match(text, /^ssehub_subscribers 0$/m);
    // No scrape before the cut: no busiest topic known yet, so its topic counts as other.
    assert.match(
      text,
      /^ssehub_slow_consumer_actions_total\{policy="disconnect",topic="other"\} 1$/m,
    );
  });
});
