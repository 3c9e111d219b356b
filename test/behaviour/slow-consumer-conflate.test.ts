/**
 * Policy conflate over real sockets: a reader that stops reading while prices tick keeps its
 * connection and, once it reads again, gets the newest price per key and then the live stream;
 * a healthy reader of the same topic gets every tick.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SseReader } from "../helpers/sse-reader.js";
import { postJson, startHub } from "../helpers/start-hub.js";
import { waitFor } from "../helpers/wait-for.js";

const KEYS = ["EUR", "USD", "GBP"];
const ROUNDS = 300;

describe("slow consumer under policy conflate", () => {
  it("gets the newest event per key after lagging, and every later event", async (t) => {
    const { url, server } = await startHub(t, {
      maxQueueBytes: 64 * 1024,
      slowConsumerPolicy: "conflate",
      heartbeatMs: 200,
    });
    const slowData: string[] = [];
    const slow = await SseReader.open(`${url}/events/prices`, {
      keepEvents: false,
      onEvent: (event) => slowData.push(event.data.slice(0, event.data.indexOf(" "))),
    });
    t.after(() => slow.close());
    slow.pause();
    const healthy = await SseReader.open(`${url}/events/prices`, { keepEvents: false });
    t.after(() => healthy.close());

    const pad = "x".repeat(20_000);
    for (let round = 0; round < ROUNDS; round++) {
      for (const key of KEYS) {
        const answer = await postJson(`${url}/publish`, {
          topic: "prices",
          key,
          data: `${key}:${round} ${pad}`,
        });
        assert.equal(answer.status, 200);
      }
    }
    await healthy.waitForEvents(ROUNDS * KEYS.length);
    assert.ok(server.hub.stats().slowConsumerConflated > 0, "events were conflated");

    slow.resume();
    const last = KEYS.map((key) => `${key}:${ROUNDS - 1}`);
    await waitFor(
      () => last.every((value) => slowData.includes(value)) || slow.isEnded,
      "the newest event per key",
    );
    assert.ok(slowData.length < ROUNDS * KEYS.length, `it lagged (${slowData.length} events)`);
    assert.deepEqual(slowData.slice(-3).sort(), [...last].sort(), "ends on the newest per key");
    for (const key of KEYS) {
      const rounds = slowData
        .filter((d) => d.startsWith(`${key}:`))
        .map((d) => Number(d.split(":")[1]));
      assert.deepEqual(
        rounds,
        [...rounds].sort((a, b) => a - b),
        `${key} only moves forward`,
      );
    }

    await postJson(`${url}/publish`, { topic: "prices", key: "EUR", data: "EUR:live tail" });
    await waitFor(() => slowData.at(-1) === "EUR:live" || slow.isEnded, "the live event");
    assert.equal(slowData.at(-1), "EUR:live", "the stream goes on live");
    assert.equal(slow.isEnded, false);
  });
});
