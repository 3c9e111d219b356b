import assert from "node:assert/strict";
import diagnosticsChannel from "node:diagnostics_channel";
import { EventEmitter } from "node:events";
import { after, before, describe, type TestContext, test } from "node:test";
import {
  type GatherChannel,
  type GatherWorker,
  primaryGone,
  SnapshotGatherer,
  WorkerSnapshots,
} from "../../src/cluster/index.js";
import { INTERNALS_FALLBACK_CHANNEL } from "../../src/index.js";

/**
 * One end of an IPC channel: `send` delivers to the other end a turn later, as Node's does,
 * and throws once the channel is closed.
 */
class End extends EventEmitter {
  peer: End | undefined;
  closed = false;

  send(message: unknown, callback?: (error: Error | null) => void): boolean {
    if (this.closed) throw new Error("ERR_IPC_CHANNEL_CLOSED");
    const peer = this.peer!;
    setImmediate(() => {
      if (!peer.closed) peer.emit("message", structuredClone(message));
      callback?.(null);
    });
    return true;
  }
}

/** A worker as the primary sees it, and the worker's own end (its `process`). */
function fork(id: number): { primarySide: GatherWorker & End; workerSide: GatherChannel & End } {
  const primarySide = Object.assign(new End(), { id, process: { pid: 1000 + id } });
  const workerSide = new End();
  primarySide.peer = workerSide;
  workerSide.peer = primarySide;
  return {
    primarySide: primarySide as GatherWorker & End,
    workerSide: workerSide as GatherChannel & End,
  };
}

function cluster(t: TestContext, count: number, timeoutMs = 60_000) {
  const gatherer = new SnapshotGatherer(timeoutMs);
  const workers = Array.from({ length: count }, (_, i) => {
    const { primarySide, workerSide } = fork(i + 1);
    gatherer.add(primarySide);
    const snapshots = new WorkerSnapshots(workerSide, timeoutMs);
    t.after(() => snapshots.close());
    return { primarySide, workerSide, snapshots };
  });
  return { gatherer, workers };
}

// The gathering's timers are unref'd (a real IPC channel keeps a worker alive); this one keeps
// the test process alive while a test waits for them.
let keepAlive: NodeJS.Timeout;
before(() => {
  keepAlive = setInterval(() => {}, 1000);
});
after(() => clearInterval(keepAlive));

describe("gathering snapshots from every worker", () => {
  test("a worker gets every worker's snapshot, itself included, in worker order", async (t) => {
    const { workers } = cluster(t, 3);
    for (const [i, { snapshots }] of workers.entries()) {
      snapshots.provide("stats", async () => ({ subscribers: i * 10 }));
    }
    const rows = await workers[1]!.snapshots.gather("stats");
    assert.deepEqual(rows, [
      { worker: 1, pid: 1001, payload: { subscribers: 0 } },
      { worker: 2, pid: 1002, payload: { subscribers: 10 } },
      { worker: 3, pid: 1003, payload: { subscribers: 20 } },
    ]);
  });

  test("a worker that dies during a round is left out, and the round ends without waiting for it", async (t) => {
    const { gatherer, workers } = cluster(t, 2);
    workers[0]!.snapshots.provide("stats", () => "one");
    // Worker 2 never answers: its process is gone, its channel closed.
    workers[1]!.workerSide.closed = true;
    workers[1]!.primarySide.closed = true;
    const rows = workers[0]!.snapshots.gather("stats");
    setImmediate(() => gatherer.remove(workers[1]!.primarySide));
    assert.deepEqual(await rows, [{ worker: 1, pid: 1001, payload: "one" }]);
  });

  test("a worker without that snapshot, or whose provider fails, is left out", async (t) => {
    const { workers } = cluster(t, 3);
    workers[0]!.snapshots.provide("stats", () => 1);
    workers[1]!.snapshots.provide("stats", () => {
      throw new Error("broken");
    });
    const rows = await workers[0]!.snapshots.gather("stats");
    assert.deepEqual(rows, [{ worker: 1, pid: 1001, payload: 1 }]);
  });

  test("past its timeout the primary answers with the rows it has", async (t) => {
    const { workers } = cluster(t, 2, 50);
    workers[0]!.snapshots.provide("stats", () => 1);
    workers[1]!.snapshots.provide("stats", () => new Promise(() => {})); // never answers
    const rows = await workers[0]!.snapshots.gather("stats");
    assert.deepEqual(rows, [{ worker: 1, pid: 1001, payload: 1 }]);
  });

  test("with no primary to answer, gather resolves with no rows instead of hanging", async () => {
    const lonely = new End();
    lonely.peer = new End(); // nobody listens on the other end
    const snapshots = new WorkerSnapshots(lonely as GatherChannel & End, 10);
    assert.deepEqual(await snapshots.gather("stats"), []);
    snapshots.close();
  });

  test("the primary ignores the cluster bus's messages and survives sends to a closed channel", async (t) => {
    const { gatherer, workers } = cluster(t, 1);
    workers[0]!.snapshots.provide("stats", () => 1);
    workers[0]!.workerSide.send({ type: "ssehub:publish", requests: [] });
    workers[0]!.primarySide.closed = true;
    // The result cannot be sent back: dropped, nothing thrown.
    const rows = workers[0]!.snapshots.gather("stats");
    workers[0]!.workerSide.send({ type: "ssehub-gather:request", ref: 99, name: "stats" });
    setImmediate(() => gatherer.remove(workers[0]!.primarySide));
    workers[0]!.snapshots.close();
    assert.deepEqual(await rows, []);
  });
});

describe("primaryGone()", () => {
  function watch(t: TestContext): unknown[] {
    const seen: unknown[] = [];
    const listener = (message: unknown): void => {
      seen.push(message);
    };
    diagnosticsChannel.subscribe(INTERNALS_FALLBACK_CHANNEL, listener);
    t.after(() => diagnosticsChannel.unsubscribe(INTERNALS_FALLBACK_CHANNEL, listener));
    return seen;
  }

  test("marks the disconnect as expected on this Node's worker, and reports no fallback", async (t) => {
    const seen = watch(t);
    const source = new EventEmitter();
    // node:cluster's Worker has the field from its constructor on, set to undefined.
    const worker = { exitedAfterDisconnect: undefined as boolean | undefined };
    const gone = primaryGone(worker, source);
    source.emit("disconnect");
    await gone;
    assert.equal(worker.exitedAfterDisconnect, true);
    assert.deepEqual(seen, []);
  });

  test("keeps Node's own exit and reports the fallback when the worker has no such field", (t) => {
    const seen = watch(t);
    const source = new EventEmitter();
    void primaryGone({}, source);
    source.emit("disconnect");
    assert.deepEqual(seen, [
      { feature: "cluster-disconnect", reason: "no exitedAfterDisconnect on the worker" },
    ]);
  });
});
