/**
 * dispatchTimeoutMs on one subscriber, driven by the heartbeat visits and an injected clock: a
 * reader whose connection takes nothing is disconnected once the timeout has passed since the
 * last visit that saw progress; a busy reader whose queue never empties but keeps moving is not.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Subscriber, type SubscriberHost } from "../../src/hub/subscriber.js";
import { RecordingSink } from "../helpers/recording-sink.js";

function hostWith(clock: { ms: number }, disconnected: number[]): SubscriberHost {
  return {
    maxQueueBytes: 1 << 30,
    policy: "drop",
    dispatchTimeoutMs: 1000,
    now: () => clock.ms,
    counters: {
      deliveries: 0,
      bytesWritten: 0,
      slowConsumerDisconnects: 0,
      slowConsumerDrops: 0,
      slowConsumerConflated: 0,
    },
    idOf: (seq) => `e-${seq}`,
    slowConsumerDisconnected(_subscriber, queuedBytes) {
      disconnected.push(queuedBytes);
    },
    slowConsumerDropping() {},
    slowConsumerConflating() {},
  };
}

describe("dispatchTimeoutMs", () => {
  it("disconnects a reader that took no byte for the timeout, whatever the policy", () => {
    const clock = { ms: 0 };
    const disconnected: number[] = [];
    const sink = new RecordingSink();
    const subscriber = new Subscriber(hostWith(clock, disconnected), sink, ["a"], 0, false);
    sink.stalled = true;
    subscriber.writeDirect("data: x\n\n");
    subscriber.heartbeat(); // first sight of the backlog
    clock.ms = 999;
    subscriber.heartbeat();
    assert.equal(sink.destroyed, false);
    clock.ms = 1000;
    subscriber.heartbeat();
    assert.equal(sink.destroyed, true);
    assert.deepEqual(disconnected, [sink.queuedBytes]);
  });

  it("keeps a busy reader whose queue never empties but keeps moving", () => {
    const clock = { ms: 0 };
    const disconnected: number[] = [];
    const sink = new RecordingSink();
    const subscriber = new Subscriber(hostWith(clock, disconnected), sink, ["a"], 0, false);
    sink.stalled = true;
    for (let visit = 0; visit < 10; visit++) {
      subscriber.writeDirect("data: more\n\n");
      // The connection took some bytes since the last visit, not all.
      sink.queuedBytes -= 5;
      subscriber.heartbeat();
      clock.ms += 2000;
    }
    assert.equal(sink.destroyed, false);
    assert.deepEqual(disconnected, []);
  });

  it("keeps a reader whose queue is empty at each visit, however long", () => {
    const clock = { ms: 0 };
    const disconnected: number[] = [];
    const sink = new RecordingSink();
    const subscriber = new Subscriber(hostWith(clock, disconnected), sink, ["a"], 0, false);
    for (let visit = 0; visit < 5; visit++) {
      subscriber.heartbeat();
      clock.ms += 5000;
    }
    assert.equal(sink.destroyed, false);
  });
});
