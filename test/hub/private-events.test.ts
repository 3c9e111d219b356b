import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createHub } from "../../src/hub/hub.js";
import type { PrivateAccess } from "../../src/hub/subscriber.js";
import { nextTurn, RecordingSink } from "../helpers/recording-sink.js";

/** Access to the private events of the topics named. */
function accessTo(...topics: string[]): PrivateAccess {
  return { allows: (eventTopics) => eventTopics.some((topic) => topics.includes(topic)) };
}

describe("private events", () => {
  it("reach only subscribers whose access matches one of the event's topics", async (t) => {
    const hub = createHub();
    t.after(() => hub.close());
    const anonymous = new RecordingSink();
    const granted = new RecordingSink();
    const other = new RecordingSink();
    hub.subscribe({ topics: ["a"], sink: anonymous });
    hub.subscribe({ topics: ["a"], sink: granted, access: accessTo("a") });
    hub.subscribe({ topics: ["a"], sink: other, access: accessTo("b") });
    // One turn holds public and private events together: each subscriber gets its own part.
    void hub.publish({ topic: "a", data: "public 1" });
    void hub.publish({ topic: "a", data: "secret", private: true });
    void hub.publish({ topic: "a", data: "public 2" });
    await nextTurn();
    await nextTurn();
    assert.deepEqual(anonymous.data(), ["public 1", "public 2"]);
    assert.deepEqual(granted.data(), ["public 1", "secret", "public 2"]);
    assert.deepEqual(other.data(), ["public 1", "public 2"]);
  });

  it("match on any topic of the event, alternates included, and reach a multi-topic subscriber once", async (t) => {
    const hub = createHub();
    t.after(() => hub.close());
    const multi = new RecordingSink();
    hub.subscribe({ topics: ["a", "b"], sink: multi, access: accessTo("b") });
    await hub.publish({ topics: ["a", "b"], data: "both", private: true });
    await hub.publish({ topics: ["a"], data: "a only", private: true });
    await nextTurn();
    assert.deepEqual(multi.data(), ["both"]);
  });

  it("are left out of a replay for a subscriber without access, and kept for one with it", async (t) => {
    const hub = createHub();
    t.after(() => hub.close());
    const first = await hub.publish({ topic: "a", data: "0" });
    await hub.publish({ topic: "a", data: "secret", private: true });
    await hub.publish({ topic: "a", data: "1" });
    const anonymous = new RecordingSink();
    const granted = new RecordingSink();
    hub.subscribe({ topics: ["a"], sink: anonymous, lastEventId: first.id });
    hub.subscribe({ topics: ["a"], sink: granted, lastEventId: first.id, access: accessTo("a") });
    await nextTurn();
    await nextTurn();
    assert.deepEqual(anonymous.data(), ["1"]);
    assert.deepEqual(granted.data(), ["secret", "1"]);
  });

  it("refuses a private flag that is not a boolean", async (t) => {
    const hub = createHub();
    t.after(() => hub.close());
    await assert.rejects(
      hub.publish({ topic: "a", data: "x", private: "yes" as unknown as boolean }),
      { code: "SSEHUB_ERR_PUBLISH_MALFORMED" },
    );
  });
});

describe("publisher-given ids", () => {
  it("are sent as the event's id, answered back, and resume like the hub's own ids", async (t) => {
    const hub = createHub();
    t.after(() => hub.close());
    const first = await hub.publish({ topic: "a", data: "0", id: "urn:uuid:first" });
    assert.equal(first.id, "urn:uuid:first");
    await hub.publish({ topic: "a", data: "1" });
    const [third] = await hub.publishBatch([{ topic: "a", data: "2", id: "third" }]);
    assert.equal(third!.id, "third");
    const sink = new RecordingSink();
    hub.subscribe({ topics: ["a"], sink, lastEventId: "urn:uuid:first" });
    await nextTurn();
    await nextTurn();
    const events = sink.events();
    assert.deepEqual(
      events.map((e) => [e.id, e.data]),
      [
        [events[0]!.id, "1"],
        ["third", "2"],
      ],
    );
    assert.match(events[0]!.id!, /^urn:ssehub:[0-9a-z]+:2$/);
  });

  it("refuse an id with a line break", async (t) => {
    const hub = createHub();
    t.after(() => hub.close());
    await assert.rejects(hub.publish({ topic: "a", data: "x", id: "a\nb" }), {
      code: "SSEHUB_ERR_EVENT_INVALID_ID",
    });
  });
});

describe("publisher-given ids in the hub's own form", () => {
  it("are refused, so that a resume never mistakes one for a place in the hub's order", async (t) => {
    const hub = createHub();
    t.after(() => hub.close());
    await hub.publish({ topic: "a", data: "0" });
    await assert.rejects(
      hub.publish({ topic: "a", data: "forged", id: `urn:ssehub:${hub.epoch}:1` }),
      {
        code: "SSEHUB_ERR_EVENT_RESERVED_ID",
      },
    );
  });
});
