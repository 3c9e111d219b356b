import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { describe, it } from "node:test";
import {
  ClusterBus,
  type ClusterMessage,
  ClusterSequencer,
  type IpcChannel,
  joinClusterBus,
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
  it("welcomes a worker that joins late with the events its siblings hold", async () => {
    const sequencer = new ClusterSequencer("e3");
    const [aWorker, aPrimary] = channelPair();
    const [bWorker, bPrimary] = channelPair();
    sequencer.add(aPrimary);
    const a = new ClusterBus(aWorker, { epoch: "e3", joinedAfterSeq: 0 });
    a.start(() => {});
    await a.publish([{ topics: ["t"], data: "before", event: undefined, retry: undefined }]);
    await a.publish([{ topics: ["u"], data: "before too", event: undefined, retry: undefined }]);
    sequencer.add(bPrimary); // a replacement, forked now
    const joining = joinClusterBus(bWorker, { historyMaxEvents: 10, historyMaxAgeMs: 60_000 });
    const { bus: b, history } = await joining;
    const seen: SequencedEvent[] = [];
    const start = b.start((events) => seen.push(...events));
    assert.deepEqual(start, { epoch: "e3", joinedAfterSeq: 2, historyFloor: 0 });
    assert.deepEqual(
      history.readAfter(["t", "u"], 0).events.map((e) => [e.id, e.data]),
      [
        ["urn:ssehub:e3:1", "before"],
        ["urn:ssehub:e3:2", "before too"],
      ],
    );
    await a.publish([{ topics: ["t"], data: "after", event: undefined, retry: undefined }]);
    await waitFor(() => seen.length > 0, "b to be handed the next event");
    assert.deepEqual(
      seen.map((e) => [e.seq, e.data]),
      [[3, "after"]],
    );
    a.close();
    b.close();
  });

  it("drops a send to a worker whose channel has closed instead of throwing", async () => {
    const sequencer = new ClusterSequencer("e6");
    const [aWorker, aPrimary] = channelPair();
    sequencer.add(aPrimary);
    const a = new ClusterBus(aWorker, { epoch: "e6", joinedAfterSeq: 0 });
    a.start(() => {});
    // A channel as Node's ChildProcess has it once its process died: without a callback the
    // failure is an 'error' event, unhandled here, so it is thrown.
    const dead = new EventEmitter();
    const deadChannel: IpcChannel = {
      send(_message, callback) {
        const error = Object.assign(new Error("Channel closed"), {
          code: "ERR_IPC_CHANNEL_CLOSED",
        });
        if (callback === undefined) throw error;
        setImmediate(() => callback(error));
        return false;
      },
      on: (event, listener) => dead.on(event, listener),
      off: (event, listener) => dead.off(event, listener),
    };
    sequencer.add(deadChannel);
    dead.emit("message", { type: "ssehub:join" });
    const first = await a.publish([
      { topics: ["t"], data: "x", event: undefined, retry: undefined },
    ]);
    assert.equal(first, 1);
    a.close();
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

  it("refuses publishes, and fails those waiting, once the primary is gone", async () => {
    const process = new EventEmitter(); // a worker's end; no primary answers
    const worker: IpcChannel = {
      send: () => true,
      on: (event, listener) => process.on(event, listener),
      off: (event, listener) => process.off(event, listener),
    };
    const bus = new ClusterBus(worker, { epoch: "e7", joinedAfterSeq: 0 });
    bus.start(() => {});
    assert.equal(bus.isReady, true);
    const pending = bus.publish([{ topics: ["t"], data: "x", event: undefined, retry: undefined }]);
    process.emit("disconnect");
    await assert.rejects(pending, { code: "SSEHUB_ERR_BUS_UNAVAILABLE" });
    assert.equal(bus.isReady, false);
    assert.equal(bus.backlog, 0);
    await assert.rejects(
      bus.publish([{ topics: ["t"], data: "y", event: undefined, retry: undefined }]),
      { code: "SSEHUB_ERR_BUS_UNAVAILABLE" },
    );
    bus.close();
  });
});
