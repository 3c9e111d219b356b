/**
 * dispatchTimeoutMs with real sockets: a subscriber that stops reading is disconnected once its
 * connection has taken nothing for the timeout, even under policy `drop` and with a queue cap it
 * never reaches, while a healthy subscriber of the same topic keeps its stream.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SseReader } from "../helpers/sse-reader.js";
import { startHub } from "../helpers/start-hub.js";
import { waitFor } from "../helpers/wait-for.js";

const EVENT_BYTES = 64 * 1024;

describe("dispatch timeout", () => {
  it("disconnects a subscriber that stopped reading, whatever the policy", async (t) => {
    const { url, server } = await startHub(t, {
      maxQueueBytes: 1_073_741_824, // never reached: only the timeout can cut the reader off
      slowConsumerPolicy: "drop",
      dispatchTimeoutMs: 300,
      heartbeatMs: 100,
      historyMaxEvents: 10,
    });
    const stopped = await SseReader.open(`${url}/events/ticks`, { keepEvents: false });
    t.after(() => stopped.close());
    stopped.pause();
    const healthy = await SseReader.open(`${url}/events/ticks`, { keepEvents: false });
    t.after(() => healthy.close());
    const filler = "x".repeat(EVENT_BYTES);
    let published = 0;
    // Publishes until the kernel's buffers are full and the hub gives up on the stopped reader.
    await waitFor(
      async () => {
        if (server.hub.stats().slowConsumerDisconnects > 0) return true;
        for (let i = 0; i < 16; i++) {
          await server.hub.publish({ topic: "ticks", data: `${published++} ${filler}` });
        }
        return false;
      },
      "the stopped reader disconnected",
      { intervalMs: 20 },
    );
    await healthy.waitForEvents(published);
    assert.equal(server.hub.stats().subscribers, 1, "the healthy subscriber keeps its stream");
    stopped.resume();
    await stopped.ended;
  });
});
