/**
 * Priority topics (option priorityTopics, topic-priority.ts): which topics they are, the
 * lanes of the topic index, and, on a real hub, that a priority subscriber's events are
 * written before a large fan-out of another topic, while every subscriber still gets each
 * event once and in seq order.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createHub, type Hub } from "../../src/hub/hub.js";
import type { HubOptions } from "../../src/hub/hub-options.js";
import type { Sink } from "../../src/hub/sink.js";
import { EXPRESS_LANE, type Lane, NORMAL_LANE, TopicIndex } from "../../src/hub/topic-index.js";
import { TopicPriority } from "../../src/hub/topic-priority.js";
import { RecordingSink } from "../helpers/recording-sink.js";
import { waitFor } from "../helpers/wait-for.js";

function hubFor(t: { after(fn: () => unknown): void }, options: HubOptions = {}): Hub {
  const hub = createHub(options);
  t.after(() => hub.close());
  return hub;
}

/** Sinks that note, in one shared log, which of them was written when. */
class OrderedSink extends RecordingSink {
  readonly #log: string[];
  readonly #name: string;

  constructor(log: string[], name: string) {
    super();
    this.#log = log;
    this.#name = name;
  }

  override write(chunk: Buffer | string): void {
    if (String(chunk).includes("data:")) this.#log.push(this.#name);
    super.write(chunk);
  }
}

describe("TopicPriority", () => {
  it("names topics exactly or by a prefix followed by *", () => {
    const priority = new TopicPriority(["alerts", "orders/*"]);
    assert.equal(priority.isEnabled, true);
    assert.equal(priority.isPriority("alerts"), true);
    assert.equal(priority.isPriority("alerts/1"), false, "an exact entry is not a prefix");
    assert.equal(priority.isPriority("orders/42"), true);
    assert.equal(priority.isPriority("orders/"), true);
    assert.equal(priority.isPriority("orders"), false);
    assert.equal(priority.anyPriority(["news", "orders/1"]), true);
    assert.equal(priority.allPriority(["alerts", "orders/1"]), true);
    assert.equal(priority.allPriority(["alerts", "news"]), false);
    assert.equal(priority.allPriority([]), false, "a subscriber of patterns only is not one");
  });

  it("is off with no entry, and `*` alone makes every topic a priority topic", () => {
    assert.equal(new TopicPriority([]).isEnabled, false);
    assert.equal(new TopicPriority(["*"]).isPriority("anything"), true);
  });
});

describe("TopicIndex lanes", () => {
  const member = (topics: string[], lane: Lane) => ({ topics, lane });

  it("walks each lane apart and counts both", () => {
    const index = new TopicIndex<ReturnType<typeof member>>();
    const normal = member(["a", "b"], NORMAL_LANE);
    const express = member(["a", "c"], EXPRESS_LANE);
    index.add(normal);
    index.add(express);
    assert.deepEqual([...(index.subscribersOf("a", NORMAL_LANE) ?? [])], [normal]);
    assert.deepEqual([...(index.subscribersOf("a", EXPRESS_LANE) ?? [])], [express]);
    assert.equal(index.subscribersOf("c"), undefined, "the normal lane by default");
    assert.equal(index.subscriberCountOf("a"), 2);
    assert.equal(index.has("c"), true);
    assert.deepEqual([...index.topics()].sort(), ["a", "b", "c"]);
    assert.equal(index.topicCount, 3);
    assert.equal(index.subscriptionCount, 4);
    assert.equal(index.subscribers().size, 2);
    index.remove(express);
    assert.equal(index.has("c"), false);
    assert.equal(index.topicCount, 2);
    assert.equal(index.subscriptionCount, 2);
  });
});

describe("priority topics on a hub", () => {
  /** More subscribers than one slice of a fan-out serves (DEFAULT_SLICE_SUBSCRIBERS). */
  const BULK = 2500;

  async function raceOf(t: { after(fn: () => unknown): void }, options: HubOptions) {
    const hub = hubFor(t, options);
    const log: string[] = [];
    for (let i = 0; i < BULK; i++) {
      hub.subscribe({ topics: ["bulk"], sink: new OrderedSink(log, "bulk") });
    }
    const alert = new OrderedSink(log, "alert");
    hub.subscribe({ topics: ["alerts/fire"], sink: alert });
    // Both in one turn: the bulk event first.
    const published = Promise.all([
      hub.publish({ topic: "bulk", data: "b" }),
      hub.publish({ topic: "alerts/fire", data: "a" }),
    ]);
    await published;
    await waitFor(() => log.length === BULK + 1, "every write");
    return { log, alert };
  }

  it("writes a priority subscriber's event before the fan-out of another topic", async (t) => {
    const { log, alert } = await raceOf(t, { priorityTopics: ["alerts/*"] });
    assert.equal(log.indexOf("alert"), 0, "the alert is the first event written");
    assert.deepEqual(alert.data(), ["a"]);
  });

  it("without priority topics, the same alert waits behind the bulk fan-out", async (t) => {
    const { log } = await raceOf(t, {});
    assert.ok(log.indexOf("alert") >= 1000, `alert written at ${log.indexOf("alert")}`);
  });

  it("gives every event once and in seq order, in either lane and across them", async (t) => {
    const hub = hubFor(t, { priorityTopics: ["p1", "p2"] });
    const onlyPriority = new RecordingSink(); // express lane: all its topics are priority
    const mixed = new RecordingSink(); // normal lane: one of its topics is not
    const plain = new RecordingSink();
    hub.subscribe({ topics: ["p1", "p2"], sink: onlyPriority });
    hub.subscribe({ topics: ["p1", "n"], sink: mixed });
    hub.subscribe({ topics: ["n"], sink: plain });
    const sent: { topics: string[]; data: string }[] = [];
    for (let i = 0; i < 60; i++) {
      const topics = [["p1"], ["p2"], ["n"], ["p1", "n"], ["p2", "p1"]][i % 5]!;
      sent.push({ topics, data: `e${i}` });
    }
    await Promise.all(sent.map((event) => hub.publish(event)));
    const want = (topics: string[]) =>
      sent.filter((e) => e.topics.some((topic) => topics.includes(topic))).map((e) => e.data);
    await waitFor(
      () =>
        onlyPriority.data().length === want(["p1", "p2"]).length &&
        mixed.data().length === want(["p1", "n"]).length &&
        plain.data().length === want(["n"]).length,
      "every delivery",
    );
    assert.deepEqual(onlyPriority.data(), want(["p1", "p2"]));
    assert.deepEqual(mixed.data(), want(["p1", "n"]));
    assert.deepEqual(plain.data(), want(["n"]));
  });

  it("counts and lists the subscribers of both lanes, and ends them all on close", async () => {
    const hub = createHub({ priorityTopics: ["p"] });
    const express = new RecordingSink();
    const normal = new RecordingSink();
    hub.subscribe({ topics: ["p"], sink: express });
    hub.subscribe({ topics: ["p", "n"], sink: normal });
    assert.equal(hub.subscriberCountOf("p"), 2);
    assert.equal(hub.stats().subscriptions, 3);
    assert.equal(hub.stats().topics, 2);
    assert.deepEqual(
      hub.topics().map((topic) => [topic.topic, topic.subscribers]),
      [
        ["n", 1],
        ["p", 2],
      ],
    );
    assert.deepEqual(
      hub.loadFigures(5).topTopics.map((top) => [top.topic, top.subscribers]),
      [
        ["p", 2],
        ["n", 1],
      ],
    );
    await hub.close();
    assert.equal((express as Sink).isClosed, true);
    assert.equal((normal as Sink).isClosed, true);
  });

  it("refuses a priority entry that is not a string list", () => {
    assert.throws(
      () => createHub({ priorityTopics: "p" as never }),
      (error: Error & { code?: string }) => error.code === "SSEHUB_ERR_OPTIONS_INVALID",
    );
  });
});
