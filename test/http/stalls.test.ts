import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Diagnosis, StallReport } from "../../src/diagnostics/diagnosis.js";
import { RecordingSink } from "../helpers/recording-sink.js";
import { waitFor } from "../helpers/wait-for.js";
import { startServer } from "./start-server.js";

const ADMIN_TOKEN = "a-long-admin-token-for-stall-tests";

interface StallsBody {
  readonly pid: number;
  readonly thresholdMs: number;
  readonly total: number;
  readonly byPhase: Record<string, number>;
  readonly reports: StallReport[];
}

async function getJson<T>(url: string, path: string): Promise<T> {
  const response = await fetch(`${url}${path}`, {
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
  });
  assert.equal(response.status, 200, `${path} answered ${response.status}`);
  return (await response.json()) as T;
}

/** Waits until /admin/stalls holds a report that `matches`, and returns it. */
function reportOf(url: string, matches: (report: StallReport) => boolean): Promise<StallReport> {
  return waitFor(
    async () => (await getJson<StallsBody>(url, "/admin/stalls")).reports.find(matches),
    "a matching stall report",
  );
}

/** Blocks the event loop for `ms` without yielding. */
function busyWait(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // Nothing: the point is to hold the loop.
  }
}

describe("stall reports", () => {
  test("a huge fan-out is reported as dispatch, naming its topic, subscribers and bytes", async (t) => {
    const { ssehub, url } = await startServer(t, {
      stallThresholdMs: 5,
      adminToken: ADMIN_TOKEN,
    });
    const subscribers = 20_000;
    for (let i = 0; i < subscribers; i++) {
      ssehub.hub.subscribe({ topics: ["crowded"], sink: new RecordingSink() });
    }
    // Each publish is one fan-out to every subscriber; publish until one blocks past 5 ms.
    const report = await waitFor(async () => {
      await ssehub.hub.publish({ topic: "crowded", data: "x".repeat(100) });
      return (await getJson<StallsBody>(url, "/admin/stalls")).reports.find(
        (r) => r.phase === "dispatch",
      );
    }, "a dispatch stall report");
    assert.equal(report.topic, "crowded");
    assert.equal(report.subscribers, subscribers);
    // A publish may come while the previous fan-out is still under way: its slices let the
    // loop take it, and the next fan-out carries both.
    assert.ok(report.batchSize >= 1);
    assert.ok(report.bytesQueued > subscribers * 100, `bytesQueued ${report.bytesQueued}`);
    assert.ok(report.durationMs >= 5);
    assert.match(report.summary, /20000 subscriber\(s\).*"crowded"/);

    const diagnosis = await getJson<Diagnosis>(url, "/admin/diagnosis");
    assert.equal(diagnosis.healthy, false);
    const verdict = diagnosis.verdicts.find((v) => v.rule === "fan-out-stalls");
    assert.ok(verdict, JSON.stringify(diagnosis.verdicts));
    assert.equal(verdict.severity, "action");
    assert.match(verdict.finding, /fan-out of 20000 subscriber\(s\) on topic "crowded"/);
    assert.match(verdict.advice, /--workers/);
    assert.deepEqual(diagnosis.hotTopics.bySubscribers[0], {
      topic: "crowded",
      subscribers,
    });
    assert.equal(diagnosis.hotTopics.byRecentEvents[0]?.topic, "crowded");
  });

  test("a resume of a large history is reported as replay, with the events it read", async (t) => {
    const topics = ["history-a", "history-b", "history-c", "history-d"];
    const perTopic = 40_000;
    const { ssehub, url } = await startServer(t, {
      stallThresholdMs: 5,
      adminToken: ADMIN_TOKEN,
      historyMaxEvents: perTopic,
      maxBatchEvents: 10_000,
      maxPublishBacklog: 100_000,
    });
    const batch = Array.from({ length: 10_000 }, (_, i) => ({
      topic: topics[i % topics.length]!,
      data: `event ${i}`,
    }));
    let firstId = "";
    for (let round = 0; round < perTopic / 2500; round++) {
      const results = await ssehub.hub.publishBatch(batch);
      if (firstId === "") firstId = results[0]!.id;
    }
    const expected = perTopic * topics.length - 1;
    const sink = new RecordingSink();
    ssehub.hub.subscribe({ topics, lastEventId: firstId, sink });
    const report = await reportOf(url, (r) => r.phase === "replay" && r.batchSize === expected);
    assert.equal(report.topic, "history-a");
    assert.ok(report.durationMs >= 5);
    assert.match(report.summary, /resume on "history-a" handled 159999 event\(s\) of history/);
  });

  test("a big batch publish is reported as publish, with its size and body bytes", async (t) => {
    const { url } = await startServer(t, {
      stallThresholdMs: 5,
      adminToken: ADMIN_TOKEN,
      maxBatchEvents: 20_000,
      maxPublishBacklog: 100_000,
      maxBodyBytes: 16_777_216,
    });
    const events = Array.from({ length: 20_000 }, (_, i) => ({
      topic: "bulk",
      data: { n: i, text: "some words in every event" },
    }));
    const body = JSON.stringify(events);
    const response = await fetch(`${url}/publish`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });
    assert.equal(response.status, 200);
    const report = await reportOf(url, (r) => r.phase === "publish" && r.batchSize === 20_000);
    assert.equal(report.topic, "bulk");
    assert.equal(report.bytesQueued, Buffer.byteLength(body));
    assert.match(report.summary, /publish of 20000 event\(s\)/);
    const diagnosis = await getJson<Diagnosis>(url, "/admin/diagnosis");
    assert.ok(diagnosis.verdicts.some((v) => v.rule === "publish-stalls"));
  });

  test("a loop blocked outside the hub's own work is reported as unknown", async (t) => {
    const { url } = await startServer(t, { stallThresholdMs: 20, adminToken: ADMIN_TOKEN });
    setTimeout(() => busyWait(200), 0);
    const report = await reportOf(url, (r) => r.phase === "unknown");
    assert.ok(report.durationMs >= 20, `durationMs ${report.durationMs}`);
    assert.equal(report.topic, null);
    assert.match(report.summary, /outside the hub's own timed work/);

    const metrics = await (await fetch(`${url}/metrics`)).text();
    assert.match(metrics, /ssehub_stalls_total\{phase="unknown"\} [1-9]/);
    assert.match(metrics, /ssehub_stalls_total\{phase="dispatch"\} 0/);

    const diagnosis = await getJson<Diagnosis>(url, "/admin/diagnosis");
    assert.equal(diagnosis.stalls.byPhase.unknown >= 1, true);
    assert.ok(diagnosis.eventLoop.delayMaxMs >= 20, `delayMaxMs ${diagnosis.eventLoop.delayMaxMs}`);
    const verdict = diagnosis.verdicts.find((v) => v.rule === "unknown-stalls");
    assert.ok(verdict);
    assert.match(verdict.advice, /--cpu-prof/);
  });

  test("with stallProfileMs, a CPU profile of the seconds after a stall is kept", async (t) => {
    const { url } = await startServer(t, {
      stallThresholdMs: 20,
      stallProfileMs: 100,
      adminToken: ADMIN_TOKEN,
    });
    const none = await fetch(`${url}/admin/stalls/profile`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    assert.equal(none.status, 404);
    assert.match(((await none.json()) as { message: string }).message, /stallProfileMs/);
    setTimeout(() => busyWait(100), 0);
    const body = await waitFor(async () => {
      const stalls = await getJson<StallsBody & { profile: { trigger: StallReport } | null }>(
        url,
        "/admin/stalls",
      );
      return stalls.profile ?? undefined;
    }, "a CPU profile");
    assert.equal(body.trigger.phase, "unknown");
    const response = await fetch(`${url}/admin/stalls/profile`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-disposition") ?? "", /\.cpuprofile"$/);
    const profile = (await response.json()) as { nodes: unknown[]; startTime: number };
    assert.ok(profile.nodes.length > 0);
    assert.equal(typeof profile.startTime, "number");
  });

  test("the diagnosis shows slow consumers and queue depths as notes", async (t) => {
    const { ssehub, url } = await startServer(t, {
      adminToken: ADMIN_TOKEN,
      maxQueueBytes: 10_000,
    });
    const lagging = new RecordingSink();
    lagging.queuedBytes = 8000; // past half of the cap, under the cap
    ssehub.hub.subscribe({ topics: ["ticks", "news"], sink: lagging });
    const stuck = new RecordingSink();
    stuck.queuedBytes = 20_000; // past the cap: disconnected at the next event
    ssehub.hub.subscribe({ topics: ["ticks"], sink: stuck });
    await ssehub.hub.publish({ topic: "ticks", data: "tick" });
    await waitFor(() => stuck.destroyed, "the slow consumer disconnected");

    const diagnosis = await getJson<Diagnosis>(url, "/admin/diagnosis");
    assert.equal(diagnosis.slowConsumers.disconnects, 1);
    assert.deepEqual(diagnosis.slowConsumers.recentByTopic, [{ topic: "ticks", count: 1 }]);
    assert.equal(diagnosis.queues.subscribersPastHalfCap, 1);
    assert.equal(diagnosis.queues.maxQueuedBytes, 8000);
    assert.deepEqual(diagnosis.queues.maxQueuedTopics, ["ticks", "news"]);
    assert.equal(diagnosis.queues.maxQueueBytes, 10_000);
    // Only these two: a loaded machine may add a stall verdict, which is no failure here.
    const notes = diagnosis.verdicts.filter((verdict) => verdict.severity === "note");
    assert.deepEqual(
      notes.map((verdict) => verdict.rule),
      ["slow-consumers", "queued-bytes"],
    );
    assert.match(
      notes[0]!.finding,
      /1 slow-consumer action\(s\) in the last 10 minutes, most on topic "ticks"/,
    );
  });

  test("stallThresholdMs 0 turns the watcher off", async (t) => {
    const { url } = await startServer(t, { stallThresholdMs: 0, adminToken: ADMIN_TOKEN });
    const body = await getJson<StallsBody>(url, "/admin/stalls");
    assert.equal(body.thresholdMs, 0);
    assert.deepEqual(body.reports, []);
    const diagnosis = await getJson<Diagnosis>(url, "/admin/diagnosis");
    assert.ok(diagnosis.verdicts.some((v) => v.rule === "stall-watcher-off"));
    assert.equal(diagnosis.healthy, true);
  });

  test("the stall endpoints sit behind the admin gate", async (t) => {
    const { url } = await startServer(t, {
      subscriberJwtKey: "a-subscriber-key-of-32-bytes-at-least",
      adminToken: ADMIN_TOKEN,
    });
    for (const path of ["/admin/stalls", "/admin/diagnosis"]) {
      const missing = await fetch(`${url}${path}`);
      assert.equal(missing.status, 401, path);
      const wrong = await fetch(`${url}${path}`, { headers: { authorization: "Bearer nope" } });
      assert.equal(wrong.status, 401, path);
    }
    const diagnosis = await getJson<Diagnosis>(url, "/admin/diagnosis");
    assert.equal(diagnosis.kind, "ssehub-diagnosis");
    assert.equal(diagnosis.pid, process.pid);
    assert.equal(diagnosis.stallThresholdMs, 100);
  });
});
