import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ClusterBus, type IpcChannel } from "../../src/bus/cluster-bus.js";
import { createHub, type Hub } from "../../src/hub/hub.js";
import type { HubOptions } from "../../src/hub/hub-options.js";
import { type HubStatus, RESET_EVENT } from "../../src/hub/types.js";
import { nextTurn, RecordingSink } from "../helpers/recording-sink.js";
import { sleep, waitFor } from "../helpers/wait-for.js";

function hubFor(t: { after(fn: () => unknown): void }, options: HubOptions = {}): Hub {
  const hub = createHub(options);
  t.after(() => hub.close());
  return hub;
}

describe("Hub.publish()", () => {
  it("gives ids that increase across all topics and carry the epoch", async (t) => {
    const hub = hubFor(t);
    const a = await hub.publish({ topic: "a", data: "1" });
    const b = await hub.publish({ topic: "b", data: "2" });
    assert.equal(a.id, `urn:ssehub:${hub.epoch}:1`);
    assert.equal(b.id, `urn:ssehub:${hub.epoch}:2`);
    assert.deepEqual(b.topics, ["b"]);
  });

  it("serializes JSON values and keeps strings as they are", async (t) => {
    const hub = hubFor(t);
    const sink = new RecordingSink();
    hub.subscribe({ topics: ["a"], sink });
    hub.publish({ topic: "a", data: { n: 1, s: "x" } });
    hub.publish({ topic: "a", data: "plain" });
    hub.publish({ topic: "a", data: 42 });
    await nextTurn();
    assert.deepEqual(sink.data(), ['{"n":1,"s":"x"}', "plain", "42"]);
  });

  it("rejects bad input with a typed error and publishes nothing", async (t) => {
    const hub = hubFor(t);
    const cases: [unknown, string][] = [
      [{ data: "x" }, "SSEHUB_ERR_TOPIC_MISSING"],
      [{ topics: [], data: "x" }, "SSEHUB_ERR_TOPIC_MISSING"],
      [{ topic: "a b", data: "x" }, "SSEHUB_ERR_TOPIC_INVALID"],
      [{ topic: "x".repeat(300), data: "x" }, "SSEHUB_ERR_TOPIC_INVALID"],
      [{ topic: "a" }, "SSEHUB_ERR_EVENT_INVALID_DATA"],
      [{ topic: "a", data: "x", event: "a\nb" }, "SSEHUB_ERR_EVENT_INVALID_TYPE"],
      [{ topic: "a", data: "x", retry: -1 }, "SSEHUB_ERR_EVENT_INVALID_RETRY"],
      [{ topic: "a", data: "x", retry: 1.5 }, "SSEHUB_ERR_EVENT_INVALID_RETRY"],
      [{ topic: "a", data: "x", color: "1" }, "SSEHUB_ERR_PUBLISH_MALFORMED"],
      [{ topics: "a", data: "x" }, "SSEHUB_ERR_TOPIC_INVALID"],
      [{ topic: "a", topics: ["b"], data: "x" }, "SSEHUB_ERR_PUBLISH_MALFORMED"],
      [null, "SSEHUB_ERR_PUBLISH_MALFORMED"],
    ];
    for (const [input, code] of cases) {
      await assert.rejects(
        () => hub.publish(input as never),
        (error: Error & { code?: string }) => error.code === code,
        `${JSON.stringify(input)} -> ${code}`,
      );
    }
    assert.equal(hub.stats().eventsPublished, 0);
  });

  it("counts a publish's topics against maxTopicsPerPublish, not maxTopicsPerSubscription", async (t) => {
    const hub = hubFor(t, { maxTopicsPerPublish: 2, maxTopicsPerSubscription: 5 });
    await assert.rejects(() => hub.publish({ topics: ["a", "b", "c"], data: "x" }), {
      code: "SSEHUB_ERR_PUBLISH_TOO_MANY_TOPICS",
      details: { limit: 2 },
    });
    const wide = hubFor(t, { maxTopicsPerPublish: 5, maxTopicsPerSubscription: 1 });
    const result = await wide.publish({ topics: ["a", "b", "c"], data: "x" });
    assert.deepEqual(result.topics, ["a", "b", "c"]);
  });

  it("publishes a batch only when every event in it is valid", async (t) => {
    const hub = hubFor(t, { maxBatchEvents: 3 });
    await assert.rejects(
      () =>
        hub.publishBatch([
          { topic: "a", data: "1" },
          { topic: "a b", data: "2" },
        ]),
      { code: "SSEHUB_ERR_TOPIC_INVALID" },
    );
    assert.equal(hub.stats().eventsPublished, 0);
    await assert.rejects(() => hub.publishBatch(Array(4).fill({ topic: "a", data: "x" })), {
      code: "SSEHUB_ERR_PUBLISH_TOO_MANY_EVENTS",
    });
    const results = await hub.publishBatch([
      { topic: "a", data: "1" },
      { topics: ["a", "b"], data: "2" },
    ]);
    assert.deepEqual(
      results.map((r) => r.id),
      [`urn:ssehub:${hub.epoch}:1`, `urn:ssehub:${hub.epoch}:2`],
    );
  });
});

describe("Hub.subscribe()", () => {
  it("writes the retry hint at once, before any event", (t) => {
    const hub = hubFor(t, { retryMs: 2500 });
    const sink = new RecordingSink();
    hub.subscribe({ topics: ["a"], sink });
    assert.equal(sink.text(), "retry: 2500\n\n");
  });

  it("rejects bad topic lists before touching the sink", (t) => {
    const hub = hubFor(t, { maxTopicsPerSubscription: 2 });
    const sink = new RecordingSink();
    assert.throws(() => hub.subscribe({ topics: ["a", "b", "c"], sink }), {
      code: "SSEHUB_ERR_SUBSCRIBE_TOO_MANY_TOPICS",
    });
    assert.throws(() => hub.subscribe({ topics: [], sink }), { code: "SSEHUB_ERR_TOPIC_MISSING" });
    assert.throws(() => hub.subscribe({ topics: ["a\tb"], sink }), {
      code: "SSEHUB_ERR_TOPIC_INVALID",
    });
    assert.equal(sink.chunks.length, 0);
  });

  it("sends the events of one turn in one write", async (t) => {
    const hub = hubFor(t);
    const sink = new RecordingSink();
    hub.subscribe({ topics: ["a"], sink });
    for (let i = 0; i < 50; i++) hub.publish({ topic: "a", data: `e${i}` });
    await nextTurn();
    assert.equal(sink.chunks.length, 2, "the retry hint, then one write for 50 events");
    assert.equal(sink.data().length, 50);
  });

  it("delivers an event published to several topics once, in id order across topics", async (t) => {
    const hub = hubFor(t);
    const both = new RecordingSink();
    const onlyB = new RecordingSink();
    hub.subscribe({ topics: ["a", "b"], sink: both });
    hub.subscribe({ topics: ["b"], sink: onlyB });
    hub.publish({ topic: "a", data: "1" });
    hub.publish({ topic: "b", data: "2" });
    hub.publish({ topics: ["a", "b"], data: "3" });
    hub.publish({ topic: "a", data: "4" });
    hub.publish({ topic: "c", data: "5" });
    await nextTurn();
    assert.deepEqual(both.data(), ["1", "2", "3", "4"]);
    assert.deepEqual(
      both.events().map((e) => e.id),
      [1, 2, 3, 4].map((n) => `urn:ssehub:${hub.epoch}:${n}`),
    );
    assert.deepEqual(onlyB.data(), ["2", "3"]);
    assert.equal(both.chunks.length, 2, "one write for the turn");
  });

  it("does not send a new subscriber events published before it arrived", async (t) => {
    const hub = hubFor(t);
    hub.publish({ topic: "a", data: "before" });
    const sink = new RecordingSink();
    hub.subscribe({ topics: ["a"], sink });
    hub.publish({ topic: "a", data: "after" });
    await nextTurn();
    assert.deepEqual(sink.data(), ["after"]);
  });

  it("stops delivering once the subscription is closed", async (t) => {
    const hub = hubFor(t);
    const sink = new RecordingSink();
    const subscription = hub.subscribe({ topics: ["a"], sink });
    subscription.close();
    assert.equal(subscription.isClosed, true);
    hub.publish({ topic: "a", data: "x" });
    await nextTurn();
    assert.deepEqual(sink.data(), []);
    assert.equal(hub.stats().subscribers, 0);
  });
});

describe("Hub with writeDelayMs", () => {
  it("writes the events of several turns once, after the delay", async (t) => {
    // The delay is a setTimeout: mocked, so that a slow machine cannot stretch three turns
    // past it. setImmediate (one turn) stays real.
    t.mock.timers.enable({ apis: ["setTimeout"] });
    const hub = hubFor(t, { writeDelayMs: 60 });
    const sink = new RecordingSink();
    hub.subscribe({ topics: ["a"], sink });
    for (let i = 0; i < 3; i++) {
      await hub.publish({ topic: "a", data: `e${i}` });
      await nextTurn();
    }
    assert.equal(sink.chunks.length, 1, "only the retry hint before the delay is over");
    t.mock.timers.tick(59);
    assert.equal(sink.chunks.length, 1, "not written before the delay");
    t.mock.timers.tick(1);
    assert.equal(sink.chunks.length, 2, "the retry hint, then one write for three turns");
    assert.deepEqual(sink.data(), ["e0", "e1", "e2"]);
  });

  it("writes every turn without a delay", async (t) => {
    const hub = hubFor(t);
    const sink = new RecordingSink();
    hub.subscribe({ topics: ["a"], sink });
    for (let i = 0; i < 3; i++) {
      await hub.publish({ topic: "a", data: `e${i}` });
      await nextTurn();
    }
    assert.equal(sink.chunks.length, 4, "the retry hint, then one write per turn");
  });

  it("keeps the seam exact for a subscriber that resumes while events wait", async (t) => {
    const hub = hubFor(t, { writeDelayMs: 40 });
    const first = await hub.publish({ topic: "a", data: "1" });
    await hub.publish({ topic: "a", data: "2" });
    const resumed = new RecordingSink();
    const fresh = new RecordingSink();
    hub.subscribe({ topics: ["a"], sink: resumed, lastEventId: first.id });
    hub.subscribe({ topics: ["a"], sink: fresh });
    await hub.publish({ topic: "a", data: "3" });
    await waitFor(() => resumed.data().length === 2 && fresh.data().length === 1);
    // A duplicate would come in a later write, whose timer (40 ms) was set before this one:
    // timers fire in order of their due time, so it would be here however slow the machine.
    await sleep(80);
    assert.deepEqual(resumed.data(), ["2", "3"], "2 by replay, 3 live, nothing twice");
    assert.deepEqual(fresh.data(), ["3"], "only what was published after it came");
  });

  it("delivers what waits when the hub closes", async (t) => {
    const hub = createHub({ writeDelayMs: 1000 });
    const sink = new RecordingSink();
    hub.subscribe({ topics: ["a"], sink });
    await hub.publish({ topic: "a", data: "last" });
    await hub.close();
    assert.deepEqual(sink.data(), ["last"]);
    assert.equal(sink.closed, true);
    t.after(() => hub.close());
  });
});

describe("Hub.subscribe() with lastEventId", () => {
  it("replays what came after the id, then goes live with no duplicate and no gap", async (t) => {
    const hub = hubFor(t);
    const ids = [];
    for (let i = 1; i <= 10; i++) ids.push((await hub.publish({ topic: "a", data: `${i}` })).id);
    await nextTurn();
    const sink = new RecordingSink();
    hub.subscribe({ topics: ["a"], lastEventId: ids[3], sink });
    hub.publish({ topic: "a", data: "11" });
    await waitFor(() => sink.data().length >= 7);
    hub.publish({ topic: "a", data: "12" });
    await nextTurn();
    assert.deepEqual(sink.data(), ["5", "6", "7", "8", "9", "10", "11", "12"]);
  });

  it("merges the history of several topics by id", async (t) => {
    const hub = hubFor(t);
    const first = await hub.publish({ topic: "a", data: "a1" });
    hub.publish({ topic: "b", data: "b2" });
    hub.publish({ topics: ["a", "b"], data: "ab3" });
    hub.publish({ topic: "a", data: "a4" });
    hub.publish({ topic: "c", data: "c5" });
    const sink = new RecordingSink();
    hub.subscribe({ topics: ["a", "b"], lastEventId: first.id, sink });
    await waitFor(() => sink.data().length >= 3);
    assert.deepEqual(sink.data(), ["b2", "ab3", "a4"]);
  });

  it("keeps order when events are published while a long replay is written", async (t) => {
    const hub = hubFor(t, { historyMaxEvents: 5000 });
    const start = await hub.publish({ topic: "a", data: "0" });
    const payload = "x".repeat(500);
    for (let i = 1; i <= 3000; i++) hub.publish({ topic: "a", data: `${i} ${payload}` });
    const sink = new RecordingSink();
    hub.subscribe({ topics: ["a"], lastEventId: start.id, sink });
    for (let i = 3001; i <= 3100; i++) {
      hub.publish({ topic: "a", data: `${i} ${payload}` });
      await nextTurn();
    }
    await waitFor(() => sink.data().length >= 3100);
    const numbers = sink.data().map((d) => Number(d.split(" ")[0]));
    assert.deepEqual(
      numbers,
      Array.from({ length: 3100 }, (_, i) => i + 1),
    );
    assert.ok(sink.chunks.length > 3, "the replay is written in several chunks");
  });

  it("sends a reset when history no longer reaches back to the id, then what it still holds", async (t) => {
    const hub = hubFor(t, { historyMaxEvents: 3 });
    const first = await hub.publish({ topic: "a", data: "1" });
    for (let i = 2; i <= 6; i++) hub.publish({ topic: "a", data: `${i}` });
    const sink = new RecordingSink();
    hub.subscribe({ topics: ["a"], lastEventId: first.id, sink });
    hub.publish({ topic: "a", data: "7" });
    await waitFor(() => sink.data().length >= 4);
    const [reset, ...rest] = sink.events();
    assert.equal(reset?.event, RESET_EVENT);
    // The gap is 2..3 (evicted): the notice ends it where the replay of 4..6 begins.
    assert.equal(reset?.id, `urn:ssehub:${hub.epoch}:3`);
    assert.deepEqual(JSON.parse(reset!.data), {
      reason: "history-evicted",
      lastEventId: first.id,
      currentEventId: `urn:ssehub:${hub.epoch}:3`,
    });
    assert.deepEqual(
      rest.map((e) => [e.id, e.data]),
      [4, 5, 6, 7].map((seq) => [`urn:ssehub:${hub.epoch}:${seq}`, `${seq}`]),
    );
    assert.equal(hub.stats().resets, 1);
  });

  it("after an unknown-epoch reset, replays the current epoch from its start, then goes live", async (t) => {
    const hub = hubFor(t);
    for (let i = 1; i <= 3; i++) await hub.publish({ topic: "a", data: `${i}` });
    const sink = new RecordingSink();
    hub.subscribe({ topics: ["a"], lastEventId: "zzzz-40", sink });
    hub.publish({ topic: "a", data: "4" });
    await waitFor(() => sink.data().length >= 4);
    const [reset, ...rest] = sink.events();
    assert.equal(reset?.event, RESET_EVENT);
    assert.deepEqual(JSON.parse(reset!.data), {
      reason: "unknown-epoch",
      lastEventId: "zzzz-40",
      currentEventId: `urn:ssehub:${hub.epoch}:0`,
    });
    assert.deepEqual(
      rest.map((e) => e.data),
      ["1", "2", "3", "4"],
    );
  });

  it("goes live from the newest event after an invalid-id reset: nothing says where the client stands", async (t) => {
    const hub = hubFor(t);
    await hub.publish({ topic: "a", data: "1" });
    const sink = new RecordingSink();
    hub.subscribe({ topics: ["a"], lastEventId: "not an id", sink });
    hub.publish({ topic: "a", data: "2" });
    await waitFor(() => sink.data().length >= 1);
    const [reset, live] = sink.events();
    assert.equal(reset?.id, `urn:ssehub:${hub.epoch}:1`);
    assert.equal(JSON.parse(reset!.data).reason, "invalid-id");
    assert.equal(live?.data, "2");
  });

  it("replays exactly when the evicted events are older than the id", async (t) => {
    const hub = hubFor(t, { historyMaxEvents: 3 });
    const ids = [];
    for (let i = 1; i <= 6; i++) ids.push((await hub.publish({ topic: "a", data: `${i}` })).id);
    const sink = new RecordingSink();
    hub.subscribe({ topics: ["a"], lastEventId: ids[2], sink });
    await waitFor(() => sink.data().length >= 3);
    assert.deepEqual(sink.data(), ["4", "5", "6"]);
  });

  it("sends a reset for an id of another epoch or a malformed id", async (t) => {
    const hub = hubFor(t);
    hub.publish({ topic: "a", data: "1" });
    const cases: [string, string][] = [
      ["urn:ssehub:zzzz:1", "unknown-epoch"],
      ["zzzz-1", "unknown-epoch"],
      ["not an id", "invalid-id"],
      [`urn:ssehub:${hub.epoch}:99`, "invalid-id"],
    ];
    for (const [lastEventId, reason] of cases) {
      const sink = new RecordingSink();
      hub.subscribe({ topics: ["a"], lastEventId, sink });
      await waitFor(() => sink.events().length >= 1);
      const [reset] = sink.events();
      assert.equal(reset?.event, RESET_EVENT);
      assert.equal(JSON.parse(reset!.data).reason, reason, lastEventId);
    }
  });

  it("sends a reset after events expired by age", async (t) => {
    const hub = hubFor(t, { historyMaxAgeMs: 50 });
    const first = await hub.publish({ topic: "a", data: "1" });
    hub.publish({ topic: "a", data: "2" });
    await waitFor(() => hub.topic("a") === undefined, "topic a to expire");
    const sink = new RecordingSink();
    hub.subscribe({ topics: ["a"], lastEventId: first.id, sink });
    await waitFor(() => sink.events().length >= 1);
    assert.equal(JSON.parse(sink.events()[0]!.data).reason, "history-evicted");
  });
});

describe("Hub slow consumers", () => {
  it("disconnects a subscriber past maxQueueBytes under policy disconnect", async (t) => {
    const hub = hubFor(t, { maxQueueBytes: 4096 });
    const statuses: HubStatus[] = [];
    hub.on("status", (status) => statuses.push(status));
    const slow = new RecordingSink();
    slow.stalled = true;
    const healthy = new RecordingSink();
    hub.subscribe({ topics: ["a"], sink: slow });
    hub.subscribe({ topics: ["a"], sink: healthy });
    for (let i = 0; i < 20; i++) {
      hub.publish({ topic: "a", data: "y".repeat(1000) });
      await nextTurn();
    }
    assert.equal(slow.destroyed, true);
    assert.equal(healthy.data().length, 20);
    assert.equal(hub.stats().slowConsumerDisconnects, 1);
    assert.equal(hub.stats().subscribers, 1);
    assert.equal(statuses[0]?.type, "slow-consumer-disconnected");
  });

  it("skips events and then sends a gap notice under policy drop", async (t) => {
    const hub = hubFor(t, { maxQueueBytes: 4096, slowConsumerPolicy: "drop", heartbeatMs: 160 });
    const slow = new RecordingSink();
    slow.stalled = true;
    hub.subscribe({ topics: ["a"], sink: slow });
    for (let i = 0; i < 20; i++) {
      hub.publish({ topic: "a", data: `${i} ${"z".repeat(1000)}` });
      await nextTurn();
    }
    assert.equal(slow.destroyed, false);
    const delivered = slow.data().length;
    assert.ok(delivered < 20, `some events were skipped (${delivered} delivered)`);
    assert.equal(hub.stats().slowConsumerDrops, 20 - delivered);
    slow.stalled = false;
    slow.queuedBytes = 0; // the reader caught up
    hub.publish({ topic: "a", data: "after" });
    await nextTurn();
    const events = slow.events();
    const gap = events.find((e) => e.event === "ssehub-gap");
    assert.ok(gap, "a gap notice was sent");
    assert.equal(JSON.parse(gap.data).dropped, 20 - delivered);
    assert.equal(events.at(-1)?.data, "after");
  });
});

describe("Hub slow consumers under policy conflate", () => {
  it("sends only the newest event per key once the subscriber has drained", async (t) => {
    const hub = hubFor(t, { maxQueueBytes: 4096, slowConsumerPolicy: "conflate" });
    const statuses: HubStatus[] = [];
    hub.on("status", (status) => statuses.push(status));
    const slow = new RecordingSink();
    slow.stalled = true;
    hub.subscribe({ topics: ["prices"], sink: slow });
    const pad = "p".repeat(1000);
    for (let i = 0; i < 10; i++) {
      await hub.publish({ topic: "prices", key: "EUR", data: `EUR ${i} ${pad}` });
      await hub.publish({ topic: "prices", key: "USD", data: `USD ${i} ${pad}` });
      await nextTurn();
    }
    const before = slow.data().length;
    assert.ok(before < 20, `the lagging subscriber stopped getting every event (${before})`);
    assert.equal(statuses[0]?.type, "slow-consumer-conflating");
    slow.stalled = false;
    slow.queuedBytes = 0;
    await waitFor(() => slow.data().length > before, "the conflated events");
    const after = slow
      .data()
      .slice(before)
      .map((d) => d.split(" ").slice(0, 2).join(" "));
    assert.deepEqual(after, ["EUR 9", "USD 9"], "only the newest per key, in seq order");
    assert.ok(hub.stats().slowConsumerConflated > 0);
    assert.equal(slow.destroyed, false);
    await hub.publish({ topic: "prices", key: "EUR", data: "EUR 10" });
    await nextTurn();
    assert.equal(slow.data().at(-1), "EUR 10", "the stream goes on live");
  });

  it("conflates by topic when events carry no key", async (t) => {
    const hub = hubFor(t, { maxQueueBytes: 2048, slowConsumerPolicy: "conflate" });
    const slow = new RecordingSink();
    slow.stalled = true;
    hub.subscribe({ topics: ["a", "b"], sink: slow });
    for (let i = 0; i < 6; i++) {
      await hub.publish({ topic: "a", data: `a${i} ${"x".repeat(600)}` });
      await hub.publish({ topic: "b", data: `b${i} ${"x".repeat(600)}` });
      await nextTurn();
    }
    const before = slow.data().length;
    slow.stalled = false;
    slow.queuedBytes = 0;
    await hub.publish({ topic: "a", data: "a-live" });
    await nextTurn();
    const after = slow
      .data()
      .slice(before)
      .map((d) => d.split(" ")[0]);
    assert.deepEqual(after, ["b5", "a-live"]);
  });

  it("rejects a key that is not a short string", async (t) => {
    const hub = hubFor(t);
    await assert.rejects(() => hub.publish({ topic: "a", data: "x", key: "" }), {
      code: "SSEHUB_ERR_PUBLISH_MALFORMED",
    });
  });
});

describe("Hub overload", () => {
  it("refuses publishes with SSEHUB_ERR_HUB_OVERLOADED while the bus backlog is full", async (t) => {
    // A cluster bus whose primary never answers: every publish stays in its backlog.
    const silent: IpcChannel = { send: () => true, on: () => silent, off: () => silent };
    const bus = new ClusterBus(silent, { epoch: "stuck", joinedAfterSeq: 0 });
    const hub = createHub({ maxPublishBacklog: 3 }, { bus });
    t.after(() => hub.close());
    const waiting = [1, 2, 3].map((i) => hub.publish({ topic: "a", data: `${i}` }));
    for (const pending of waiting) pending.catch(() => {});
    await assert.rejects(() => hub.publish({ topic: "a", data: "4" }), {
      code: "SSEHUB_ERR_HUB_OVERLOADED",
      status: 503,
    });
    await assert.rejects(() => hub.publishBatch([{ topic: "a", data: "5" }]), {
      code: "SSEHUB_ERR_HUB_OVERLOADED",
    });
    assert.equal(hub.stats().publishesRefused, 2);
  });
});

describe("Hub lifecycle", () => {
  it("sends heartbeat comments on silent streams", async (t) => {
    const hub = hubFor(t, { heartbeatMs: 160 });
    const sink = new RecordingSink();
    hub.subscribe({ topics: ["a"], sink });
    await waitFor(() => sink.text().includes(":\n\n"), "a heartbeat");
  });

  it("drops a topic once it has no subscriber and no history", async (t) => {
    const hub = hubFor(t, { historyMaxAgeMs: 30 });
    const sink = new RecordingSink();
    const subscription = hub.subscribe({ topics: ["a"], sink });
    hub.publish({ topic: "a", data: "1" });
    assert.equal(hub.topic("a")?.subscribers, 1);
    assert.equal(hub.topic("a")?.historySize, 1);
    subscription.close();
    assert.equal(hub.topic("a")?.subscribers, 0);
    await waitFor(() => hub.topic("a") === undefined, "topic a to be dropped");
    assert.deepEqual(hub.topics(), []);
  });

  it("reports topics with subscribers, history size and last id", async (t) => {
    const hub = hubFor(t);
    hub.subscribe({ topics: ["b"], sink: new RecordingSink() });
    const { id } = await hub.publish({ topic: "a", data: "1" });
    assert.deepEqual(hub.topics(), [
      { topic: "a", subscribers: 0, historySize: 1, lastEventId: id },
      { topic: "b", subscribers: 1, historySize: 0, lastEventId: null },
    ]);
    assert.equal(hub.stats().topics, 2);
  });

  it("close() delivers what is queued, sends a jittered retry and closes every stream", async () => {
    const hub = createHub({ retryMs: 1000, shutdownRetryJitterMs: 500 });
    const sink = new RecordingSink();
    hub.subscribe({ topics: ["a"], sink });
    hub.publish({ topic: "a", data: "last" });
    await hub.close();
    assert.deepEqual(sink.data(), ["last"]);
    const retry = /retry: (\d+)\n\n$/.exec(sink.text());
    assert.ok(retry, "ends with a retry hint");
    const delay = Number(retry[1]);
    assert.ok(delay >= 1000 && delay <= 1500, `retry ${delay} within [1000, 1500]`);
    assert.equal(sink.closed, true);
    await assert.rejects(() => hub.publish({ topic: "a", data: "x" }), {
      code: "SSEHUB_ERR_HUB_CLOSED",
    });
    assert.throws(() => hub.subscribe({ topics: ["a"], sink: new RecordingSink() }), {
      code: "SSEHUB_ERR_HUB_CLOSED",
    });
  });

  it("counts deliveries and bytes", async (t) => {
    const hub = hubFor(t);
    const a = new RecordingSink();
    const b = new RecordingSink();
    hub.subscribe({ topics: ["a"], sink: a });
    hub.subscribe({ topics: ["a"], sink: b });
    hub.publish({ topic: "a", data: "1" });
    hub.publish({ topic: "a", data: "2" });
    await nextTurn();
    const stats = hub.stats();
    assert.equal(stats.eventsPublished, 2);
    assert.equal(stats.deliveries, 4);
    assert.equal(stats.subscribers, 2);
    assert.equal(stats.subscriptions, 2);
    assert.ok(stats.bytesWritten > 0);
  });
});
