import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { StallReport } from "../../src/diagnostics/diagnosis.js";
import { type DiagnosisFigures, verdictsOf } from "../../src/http/telemetry/verdicts.js";

const NOW = Date.parse("2026-12-07T12:00:00Z");

function figures(changes: Partial<DiagnosisFigures> = {}): DiagnosisFigures {
  return {
    kind: "ssehub-diagnosis",
    version: 1,
    at: new Date(NOW).toISOString(),
    pid: 1,
    uptimeSeconds: 60,
    stallThresholdMs: 100,
    eventLoop: {
      delayP50Ms: 0.1,
      delayP99Ms: 2,
      delayMaxMs: 5,
      utilization: 0.2,
      windowSeconds: 30,
    },
    stalls: {
      total: 0,
      byPhase: { dispatch: 0, replay: 0, publish: 0, "bus-catch-up": 0, gc: 0, unknown: 0 },
      recent: [],
    },
    gc: { count: 3, totalMs: 4, longestMs: 2, windowSeconds: 30 },
    slowConsumers: { disconnects: 0, drops: 0, conflated: 0, recentByTopic: [] },
    queues: {
      publishBacklog: 0,
      maxPublishBacklog: 10_000,
      queuedBytes: 0,
      maxQueuedBytes: 0,
      maxQueuedTopics: [],
      subscribersPastHalfCap: 0,
      maxQueueBytes: 1_048_576,
    },
    hotTopics: { bySubscribers: [], byRecentEvents: [] },
    bus: null,
    subscribers: 0,
    topics: 0,
    ...changes,
  };
}

function stall(changes: Partial<StallReport>): StallReport {
  return {
    at: new Date(NOW - 1000).toISOString(),
    phase: "dispatch",
    durationMs: 240,
    topic: "prices",
    subscribers: 40_000,
    bytesQueued: 4_000_000,
    batchSize: 1,
    summary: "Fan-out ...",
    ...changes,
  };
}

describe("verdictsOf", () => {
  test("quiet figures give no verdict", () => {
    assert.deepEqual(verdictsOf(figures(), NOW), []);
  });

  test("a recent fan-out stall names its subscribers and topic and advises --workers", () => {
    const recent = [stall({ durationMs: 120 }), stall({ durationMs: 240 })];
    const [verdict, ...rest] = verdictsOf(
      figures({ stalls: { total: 2, byPhase: figures().stalls.byPhase, recent } }),
      NOW,
    );
    assert.deepEqual(rest, []);
    assert.equal(verdict!.rule, "fan-out-stalls");
    assert.equal(verdict!.severity, "action");
    assert.equal(
      verdict!.finding,
      'Publishes and new subscribers wait behind a fan-out of 40000 subscriber(s) on topic "prices": one turn of the event loop blocks for 240 ms',
    );
    assert.match(
      verdict!.evidence[0]!,
      /^2 stall\(s\) of this kind in the last 10 minutes; the worst 240 ms/,
    );
    assert.match(verdict!.advice, /--workers/);
  });

  test("stalls older than 10 minutes ask for nothing", () => {
    const old = stall({ at: new Date(NOW - 11 * 60_000).toISOString() });
    const verdicts = verdictsOf(
      figures({ stalls: { total: 1, byPhase: figures().stalls.byPhase, recent: [old] } }),
      NOW,
    );
    assert.deepEqual(verdicts, []);
  });

  test("bus trouble, a publish backlog and a late loop ask for action; slow consumers are a note", () => {
    const verdicts = verdictsOf(
      figures({
        eventLoop: {
          delayP50Ms: 3,
          delayP99Ms: 150,
          delayMaxMs: 300,
          utilization: 0.97,
          windowSeconds: 40,
        },
        bus: { connected: true, disconnects: 0, lagSeconds: 2.5 },
        queues: { ...figures().queues, publishBacklog: 8000 },
        slowConsumers: {
          disconnects: 4,
          drops: 0,
          conflated: 0,
          recentByTopic: [{ topic: "ticks", count: 4 }],
        },
      }),
      NOW,
    );
    assert.deepEqual(
      verdicts.map((v) => [v.rule, v.severity]),
      [
        ["event-loop-delay", "action"],
        ["publish-backlog", "action"],
        ["bus-lag", "action"],
        ["slow-consumers", "note"],
      ],
    );
    const disconnected = verdictsOf(
      figures({ bus: { connected: false, disconnects: 3, lagSeconds: 0 } }),
      NOW,
    );
    assert.equal(disconnected[0]!.rule, "bus-disconnected");
  });
});
