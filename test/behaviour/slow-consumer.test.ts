/**
 * A subscriber that stops reading while 100 MB is published to its topic cannot hurt the
 * others: under `disconnect` it is cut off, under `drop` it gets a gap notice, a healthy
 * subscriber of the same topic gets everything, and the bytes queued for the slow one stay
 * within the cap.
 */
import assert from "node:assert/strict";
import type { Socket } from "node:net";
import { describe, it } from "node:test";
import { SseReader } from "../helpers/sse-reader.js";
import { postJson, startHub } from "../helpers/start-hub.js";
import { waitFor } from "../helpers/wait-for.js";

const EVENT_BYTES = 100 * 1024;
const EVENTS = 1000; // 100 MB in all
const MAX_QUEUE_BYTES = 1024 * 1024;

async function publishHundredMegabytes(url: string, onEach?: () => void): Promise<void> {
  const filler = "x".repeat(EVENT_BYTES);
  for (let i = 0; i < EVENTS; i++) {
    const answer = await postJson(`${url}/publish`, { topic: "ticks", data: `${i} ${filler}` });
    assert.equal(answer.status, 200);
    onEach?.();
  }
}

/** Tracks the largest backlog the server held for the connection from `localPort`. */
function backlogWatcher(sockets: Set<Socket>, localPort: () => number) {
  let max = 0;
  return {
    sample(): void {
      for (const socket of sockets) {
        if (socket.remotePort === localPort()) max = Math.max(max, socket.writableLength);
      }
    },
    get max(): number {
      return max;
    },
  };
}

describe("slow consumer", () => {
  it("is disconnected under policy disconnect while a healthy subscriber gets everything", async (t) => {
    const { url, server } = await startHub(t, {
      maxQueueBytes: MAX_QUEUE_BYTES,
      historyMaxEvents: 20,
    });
    const sockets = new Set<Socket>();
    server.server.on("connection", (socket: Socket) => sockets.add(socket));
    const slow = await SseReader.open(`${url}/events/ticks`, { keepEvents: false });
    t.after(() => slow.close());
    slow.pause();
    let expected = 0;
    let inOrder = true;
    const healthy = await SseReader.open(`${url}/events/ticks`, {
      keepEvents: false,
      onEvent: (event) => {
        if (!event.data.startsWith(`${expected} `)) inOrder = false;
        expected++;
      },
    });
    t.after(() => healthy.close());
    const watcher = backlogWatcher(sockets, () => slow.localPort);

    await publishHundredMegabytes(url, () => watcher.sample());
    await healthy.waitForEvents(EVENTS);

    assert.equal(inOrder, true, "the healthy subscriber got every event in order");
    slow.resume(); // read what the kernel still holds, up to the end of the stream
    await slow.ended;
    assert.ok(slow.eventCount < EVENTS, `the slow one was cut off (${slow.eventCount} events)`);
    const stats = server.hub.stats();
    assert.equal(stats.slowConsumerDisconnects, 1);
    assert.ok(
      watcher.max <= MAX_QUEUE_BYTES + 2 * EVENT_BYTES,
      `backlog ${watcher.max} stays near the cap`,
    );
  });

  it("gets a gap notice under policy drop and keeps its connection", async (t) => {
    const { url, server } = await startHub(t, {
      maxQueueBytes: MAX_QUEUE_BYTES,
      historyMaxEvents: 20,
      slowConsumerPolicy: "drop",
      heartbeatMs: 200,
    });
    const sockets = new Set<Socket>();
    server.server.on("connection", (socket: Socket) => sockets.add(socket));
    let gap: { dropped: number } | undefined;
    let lastData = "";
    const slow = await SseReader.open(`${url}/events/ticks`, {
      keepEvents: false,
      onEvent: (event) => {
        if (event.type === "ssehub-gap") gap = JSON.parse(event.data);
        else lastData = event.data;
      },
    });
    t.after(() => slow.close());
    slow.pause();
    const healthy = await SseReader.open(`${url}/events/ticks`, { keepEvents: false });
    t.after(() => healthy.close());
    const watcher = backlogWatcher(sockets, () => slow.localPort);

    await publishHundredMegabytes(url, () => watcher.sample());
    await healthy.waitForEvents(EVENTS);
    assert.ok(server.hub.stats().slowConsumerDrops > 0, "events were dropped");
    assert.ok(watcher.max <= MAX_QUEUE_BYTES + 2 * EVENT_BYTES, `backlog ${watcher.max}`);

    slow.resume();
    await waitFor(() => gap !== undefined || slow.isEnded, "a gap notice");
    assert.ok(gap, "a gap notice arrived once the reader caught up");
    assert.ok(gap.dropped > 0);
    await postJson(`${url}/publish`, { topic: "ticks", data: "after" });
    await waitFor(() => lastData === "after" || slow.isEnded, "the event after the gap");
    assert.equal(lastData, "after", "the stream goes on after the gap");
    assert.equal(slow.isEnded, false);
    assert.equal(server.hub.stats().slowConsumerDisconnects, 0);
  });
});
