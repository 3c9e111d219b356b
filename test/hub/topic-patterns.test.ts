import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createHub } from "../../src/hub/hub.js";
import type { TopicPattern } from "../../src/hub/subscriber.js";
import { nextTurn, RecordingSink } from "../helpers/recording-sink.js";

/** Topics starting with `prefix` (the HTTP layer builds real selectors: `*`, URI templates). */
function prefix(start: string): TopicPattern {
  return { source: `${start}*`, matches: (topic) => topic.startsWith(start) };
}

describe("subscriptions with topic patterns", () => {
  it("receive every event whose topic a pattern matches, each once, in order", async (t) => {
    const hub = createHub();
    t.after(() => hub.close());
    const books = new RecordingSink();
    const same = new RecordingSink();
    hub.subscribe({ topics: [], patterns: [prefix("/books/")], sink: books });
    hub.subscribe({ topics: [], patterns: [prefix("/books/")], sink: same });
    void hub.publish({ topic: "/books/1", data: "b1" });
    void hub.publish({ topic: "/authors/1", data: "a1" });
    void hub.publish({ topics: ["/books/2", "/books/3"], data: "b2+b3" });
    await nextTurn();
    await hub.publish({ topic: "/books/4", data: "b4" });
    await nextTurn();
    assert.deepEqual(books.data(), ["b1", "b2+b3", "b4"]);
    assert.deepEqual(same.data(), books.data());
  });

  it("combine exact topics and patterns, delivering an event matched by both once", async (t) => {
    const hub = createHub();
    t.after(() => hub.close());
    const sink = new RecordingSink();
    hub.subscribe({ topics: ["/authors/1"], patterns: [prefix("/books/")], sink });
    await hub.publish({ topics: ["/authors/1", "/books/9"], data: "both" });
    await hub.publish({ topic: "/authors/2", data: "neither" });
    await hub.publish({ topic: "/authors/1", data: "exact" });
    await nextTurn();
    assert.deepEqual(sink.data(), ["both", "exact"]);
    const stats = hub.stats();
    assert.equal(stats.subscribers, 1);
  });

  it("resume from the history of every topic a pattern matches", async (t) => {
    const hub = createHub();
    t.after(() => hub.close());
    const first = await hub.publish({ topic: "/books/1", data: "0" });
    await hub.publish({ topic: "/books/2", data: "1" });
    await hub.publish({ topic: "/authors/1", data: "x" });
    await hub.publish({ topic: "/books/1", data: "2" });
    const sink = new RecordingSink();
    hub.subscribe({ topics: [], patterns: [prefix("/books/")], sink, lastEventId: first.id });
    await nextTurn();
    await nextTurn();
    await hub.publish({ topic: "/books/3", data: "3" });
    await nextTurn();
    assert.deepEqual(sink.data(), ["1", "2", "3"]);
  });

  it("stop receiving once closed, and count against maxTopicsPerSubscription", async (t) => {
    const hub = createHub({ maxTopicsPerSubscription: 2 });
    t.after(() => hub.close());
    const sink = new RecordingSink();
    const subscription = hub.subscribe({ topics: [], patterns: [prefix("/a")], sink });
    subscription.close();
    await hub.publish({ topic: "/a1", data: "late" });
    await nextTurn();
    assert.deepEqual(sink.data(), []);
    assert.throws(
      () =>
        hub.subscribe({
          topics: ["x"],
          patterns: [prefix("/a"), prefix("/b")],
          sink: new RecordingSink(),
        }),
      { code: "SSEHUB_ERR_SUBSCRIBE_TOO_MANY_TOPICS" },
    );
  });
});

describe("Last-Event-ID earliest", () => {
  it("replays all the history kept, without a reset for what it no longer holds", async (t) => {
    const hub = createHub({ historyMaxEvents: 2 });
    t.after(() => hub.close());
    for (const data of ["0", "1", "2", "3"]) await hub.publish({ topic: "a", data });
    const sink = new RecordingSink();
    hub.subscribe({ topics: ["a"], sink, lastEventId: "earliest" });
    await nextTurn();
    await nextTurn();
    assert.deepEqual(
      sink.events().map((e) => [e.event ?? "message", e.data]),
      [
        ["message", "2"],
        ["message", "3"],
      ],
    );
  });
});
