/**
 * `ssehub serve --workers 2`: two processes on one port behave as one hub. A subscriber on one
 * worker gets what is published on the other, ids increase across both, and a client resumes
 * on whichever worker its reconnection lands.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseEventId } from "../../src/protocol/event-id.js";
// request() opens a new connection each time, so that the cluster hands it to the next worker.
import { request } from "../helpers/hub-nodes.js";
import { SseReader } from "../helpers/sse-reader.js";
import { listeningUrl, logLine, ssehub } from "../helpers/ssehub-process.js";

/** The seq of one of the hub's ids; fails on any other id. */
function seqOf(id: string): number {
  const parsed = parseEventId(id);
  assert.ok(parsed, `${JSON.stringify(id)} is one of the hub's ids`);
  return parsed.seq;
}

describe("ssehub serve --workers 2", () => {
  it("behaves as one hub across its workers", async (t) => {
    const run = ssehub(t, ["serve", "--port", "0", "--workers", "2", "--retry-ms", "50"]);
    const url = await listeningUrl(run);
    await logLine(run, (e) => e.msg?.includes("cluster of 2 workers") === true);

    // Connections spread over both workers.
    const pids = new Set<unknown>();
    for (let i = 0; i < 6; i++) pids.add((await request(`${url}/healthz`, "GET")).json.pid);
    assert.equal(pids.size, 2, "both workers answer");

    const readers: SseReader[] = [];
    for (let i = 0; i < 4; i++) readers.push(await SseReader.open(`${url}/events/orders`));
    t.after(() => {
      for (const reader of readers) reader.close();
    });

    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      const answer = await request(`${url}/publish`, "POST", { topic: "orders", data: `${i}` });
      assert.equal(answer.status, 200);
      ids.push(answer.json.id as string);
    }
    const seqs = ids.map(seqOf);
    assert.deepEqual(
      seqs,
      seqs.map((_, i) => seqs[0]! + i),
      "ids increase by one across workers",
    );
    for (const reader of readers) {
      await reader.waitForEvents(20);
      assert.deepEqual(
        reader.events.map((e) => e.data),
        Array.from({ length: 20 }, (_, i) => `${i}`),
      );
      assert.deepEqual(
        reader.events.map((e) => e.lastEventId),
        ids,
      );
    }

    // Resume on whichever worker the reconnection lands: try several, so both are hit.
    for (let attempt = 0; attempt < 4; attempt++) {
      const resumed = await SseReader.open(`${url}/events/orders`, { lastEventId: ids[9]! });
      await resumed.waitForEvents(10);
      resumed.close();
      assert.deepEqual(
        resumed.events.map((e) => e.data),
        Array.from({ length: 10 }, (_, i) => `${i + 10}`),
      );
    }

    run.child.kill("SIGTERM");
    assert.equal(await run.exited, 0, run.stderr.join("\n"));
  });

  it("resumes with an id the worker has not seen yet instead of resetting", async (t) => {
    const run = ssehub(t, ["serve", "--port", "0", "--workers", "2"]);
    const url = await listeningUrl(run);
    await logLine(run, (e) => e.msg?.includes("cluster of 2 workers") === true);
    // Publish and resume at once over fresh connections, many times: a resume may land on the
    // worker that has not yet taken the event it names. It must never get a reset.
    for (let i = 0; i < 30; i++) {
      const { json } = await request(`${url}/publish`, "POST", { topic: "fast", data: `${i}` });
      const reader = await SseReader.open(`${url}/events/fast`, { lastEventId: json.id as string });
      await request(`${url}/publish`, "POST", { topic: "fast", data: `next ${i}` });
      await reader.waitForEvents(1);
      reader.close();
      assert.equal(reader.events[0]?.type, "message");
      assert.equal(reader.events[0]?.data, `next ${i}`);
    }
    run.child.kill("SIGTERM");
    assert.equal(await run.exited, 0);
  });
});
