import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { TopicActivity } from "../../src/hub/topic-activity.js";

describe("TopicActivity", () => {
  test("take() answers the busiest topics of the window, busiest first, and sums the rest", () => {
    const activity = new TopicActivity(16);
    for (const [topic, events] of [
      ["a", 3],
      ["b", 5],
      ["c", 1],
    ] as const) {
      for (let i = 0; i < events; i++) activity.count(topic, 10);
    }
    assert.deepEqual(activity.take(2), {
      topics: [
        { topic: "b", events: 5, bytes: 50 },
        { topic: "a", events: 3, bytes: 30 },
      ],
      other: { events: 1, bytes: 10 },
    });
    assert.deepEqual(activity.take(2), { topics: [], other: { events: 0, bytes: 0 } });
  });

  test("tracks at most its capacity of topics, counts the others as other, and makes room at each take", () => {
    const activity = new TopicActivity(4);
    for (let i = 0; i < 10; i++) activity.count(`t${i}`, 1);
    const first = activity.take(10);
    assert.deepEqual(
      first.topics.map((t) => t.topic),
      ["t0", "t1", "t2", "t3"],
    );
    assert.equal(first.other.events, 6);
    // The busiest half stays; a newcomer that is busier than all finds room and leads.
    for (let i = 0; i < 5; i++) activity.count("new", 1);
    activity.count("t0", 1);
    const second = activity.take(1);
    assert.deepEqual(second.topics, [{ topic: "new", events: 5, bytes: 5 }]);
    assert.equal(second.other.events, 1);
  });
});
