import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { describe, it } from "node:test";
import {
  ClusterBus,
  type ClusterMessage,
  ClusterSequencer,
  type IpcChannel,
} from "../../src/bus/cluster-bus.js";
import { LocalBus } from "../../src/bus/local-bus.js";
import type { SequencedEvent } from "../../src/history/stored-event.js";
import { runBusConformance } from "../conformance/bus.suite.js";
import { waitFor } from "../helpers/wait-for.js";

/**
 * Two ends of an IPC channel inside one process. Messages go through structuredClone and
 * arrive on a later turn, in order, as over a real pipe; the real processes are covered by
 * test/behaviour/cluster.test.ts.
 */
function channelPair(): [IpcChannel, IpcChannel] {
  const a = new EventEmitter();
  const b = new EventEmitter();
  const end = (self: EventEmitter, peer: EventEmitter): IpcChannel => ({
    send(message: ClusterMessage) {
      const copy = structuredClone(message);
      setImmediate(() => peer.emit("message", copy));
      return true;
    },
    on: (event, listener) => self.on(event, listener),
    off: (event, listener) => self.off(event, listener),
  });
  return [end(a, b), end(b, a)];
}

runBusConformance(
  "LocalBus",
  () => {
    const bus = new LocalBus("e1");
    return { buses: [bus], close: () => bus.close() };
  },
  1,
);

runBusConformance(
  "ClusterBus",
  (members) => {
    const sequencer = new ClusterSequencer("e2");
    const buses = Array.from({ length: members }, () => {
      const [workerEnd, primaryEnd] = channelPair();
      sequencer.add(primaryEnd);
      return new ClusterBus(workerEnd, { epoch: "e2", joinedAfterSeq: sequencer.current });
    });
    return {
      buses,
      close: () => {
        for (const bus of buses) bus.close();
      },
    };
  },
  3,
);

describe("ClusterSequencer", () => {
  it("holds the events ordered before a worker joins and sends them when it does", async () => {
    const sequencer = new ClusterSequencer("e3");
    const [aWorker, aPrimary] = channelPair();
    const [bWorker, bPrimary] = channelPair();
    sequencer.add(aPrimary);
    const a = new ClusterBus(aWorker, { epoch: "e3", joinedAfterSeq: 0 });
    a.start(() => {});
    await a.publish([{ topics: ["t"], data: "before", event: undefined, retry: undefined }]);
    sequencer.add(bPrimary); // forked now: joins after seq 1
    const b = new ClusterBus(bWorker, { epoch: "e3", joinedAfterSeq: sequencer.current });
    await a.publish([
      { topics: ["t"], data: "while b starts", event: undefined, retry: undefined },
    ]);
    const seen: SequencedEvent[] = [];
    const start = b.start((events) => seen.push(...events));
    assert.equal(start.joinedAfterSeq, 1);
    await waitFor(() => seen.length > 0, "b to be handed the held event");
    // Seq 1 would have come first: b sees the events in seq order.
    assert.deepEqual(
      seen.map((e) => [e.seq, e.data]),
      [[2, "while b starts"]],
    );
    a.close();
    b.close();
  });

  it("rejects publishes still waiting when the bus closes", async () => {
    const [worker] = channelPair(); // no primary answers
    const bus = new ClusterBus(worker, { epoch: "e4", joinedAfterSeq: 0 });
    bus.start(() => {});
    const pending = bus.publish([{ topics: ["t"], data: "x", event: undefined, retry: undefined }]);
    assert.equal(bus.backlog, 1);
    bus.close();
    await assert.rejects(pending, /closed before the primary answered/);
    assert.equal(bus.backlog, 0);
  });

  it("fromEnv() refuses to start without the primary's join point", () => {
    const [worker] = channelPair();
    assert.throws(() => ClusterBus.fromEnv({}, worker), /SSEHUB_CLUSTER_EPOCH/);
    const bus = ClusterBus.fromEnv({ SSEHUB_CLUSTER_EPOCH: "e5", SSEHUB_CLUSTER_SEQ: "7" }, worker);
    assert.deepEqual(
      bus.start(() => {}),
      { epoch: "e5", joinedAfterSeq: 7 },
    );
    bus.close();
  });
});
