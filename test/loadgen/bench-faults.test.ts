/**
 * `ssehub bench faults` end to end, with real processes: a worker of `ssehub serve --workers 2`
 * killed, and the redis-server under two `ssehub serve --redis` nodes paused. Asserts the shape
 * of the report and that its counts add up (every delivery owed is delivered, lost, or of a
 * refused publish and not delivered), never a
 * timing, and never zero loss: the hub does not promise that through these faults on main.
 */

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, type TestContext, test } from "node:test";
import { runBench } from "../../src/loadgen/bench.js";
import { childPidsOf } from "../../src/loadgen/proc-stats.js";
import type { BenchResult, FaultReport } from "../../src/loadgen/result.js";
import { formatResultText } from "../../src/loadgen/result-format.js";
import { startRedisNodes } from "../helpers/hub-nodes.js";
import { redisCommand, startRedis } from "../helpers/redis-server.js";
import { requireTools } from "../helpers/require-tool.js";
import { listeningUrl, logLine, ssehub } from "../helpers/ssehub-process.js";

const skipRedis = requireTools(["redis-server"]);

/**
 * The drain and the connect timeout of the runs. A fault may lose events for good, and the
 * drain then waits for them in vain: it is kept short, and events later than it count as lost,
 * which the tests accept (they assert the counts add up, not that nothing was lost). A
 * reconnect that gets no answer within the timeout is tried again: a connection handed to a
 * worker that was just killed may never be answered.
 */
const BOUNDS = { drainMs: 5000, connectTimeoutMs: 10_000 } as const;

/**
 * The counts of one fault add up: every delivery owed to a counted subscriber arrived (once or
 * more), is lost (an acknowledged publish) or is refusedNotDelivered (a refused one), and the
 * publisher's requests are answered 2xx or counted as errors.
 */
function assertConsistent(report: FaultReport): void {
  assert.equal(report.error, null, `the fault was injected: ${report.error}`);
  assert.ok(report.pid !== null && report.pid > 0);
  assert.ok(report.subscribers > 0, "subscribers were counted");
  assert.ok(report.published > 0, "events were published");
  assert.equal(report.published + report.publishErrors, report.publishRequests);
  const statuses = Object.values(report.publishStatusCodes).reduce((a, b) => a + b, 0);
  assert.equal(statuses, report.publishRequests, "every request has a status or `closed`");
  // One topic: every counted subscriber is owed every request published in the window.
  assert.equal(report.expected, report.publishRequests * report.subscribers);
  assert.equal(
    report.delivered - report.duplicated + report.lost + report.refusedNotDelivered,
    report.expected,
  );
  // Every counted subscriber either got or missed each refused publish's event.
  assert.equal(
    report.refusedNotDelivered + report.refusedDelivered,
    report.publishErrors * report.subscribers,
  );
  const resets = Object.values(report.resetReasons).reduce((a, b) => a + b, 0);
  assert.equal(resets, report.resets);
  assert.ok(report.recovery.subscribersRecovered <= report.subscribers);
  assert.ok(report.faultSeconds >= 0 && report.injectedAfterSeconds >= 0);
}

/** The whole run's delivery section adds up the faults' windows. */
function assertTotals(result: BenchResult): void {
  const faults = result.faults;
  assert.ok(faults !== null);
  const delivery = result.delivery;
  assert.ok(delivery !== null);
  const sum = (pick: (r: FaultReport) => number): number =>
    faults.faults.reduce((total, report) => total + pick(report), 0);
  for (const field of [
    "published",
    "delivered",
    "lost",
    "refusedNotDelivered",
    "refusedDelivered",
    "duplicated",
  ] as const) {
    assert.equal(
      delivery[field],
      sum((r) => r[field]),
      field,
    );
  }
  assert.equal(result.verify?.mismatches, 0, "the scanner agrees with the full parser");
  const text = formatResultText(result);
  assert.match(text, /^Faults \(/m);
  assert.match(text, /^ {2}fault +published +pub errors +delivered +lost +refused +refused dlv /m);
  for (const report of faults.faults) assert.match(text, new RegExp(`^  ${report.fault} `, "m"));
}

/** Clock ticks per second of /proc/<pid>/stat's start time. */
const CLOCK_TICKS_PER_SECOND = 100;

/** Seconds since `pid` started, from /proc. */
function processAgeSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
  // starttime is field 22 of the line: 20 after the command name.
  const startTicks = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]);
  const uptime = Number(readFileSync("/proc/uptime", "latin1").split(" ")[0]);
  return uptime - startTicks / CLOCK_TICKS_PER_SECOND;
}

/**
 * Waits until every pid is older than `seconds`. The primary stops the cluster when a worker
 * dies within 2 s of its start (a crash loop, src/cluster/primary.ts): the worker killed here
 * must have outlived that.
 */
async function waitUntilOlder(pids: readonly number[], seconds: number): Promise<void> {
  while (pids.some((pid) => processAgeSeconds(pid) < seconds)) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Reports what a run lost, for whoever reads the test's output. */
function note(t: TestContext, result: BenchResult): void {
  for (const r of result.faults?.faults ?? []) {
    t.diagnostic(
      `${r.fault}: published ${r.published}, publish statuses ${JSON.stringify(r.publishStatusCodes)}, delivered ${r.delivered}, lost ${r.lost}, refused not delivered ${r.refusedNotDelivered}, refused delivered ${r.refusedDelivered}, duplicated ${r.duplicated}, reordered ${r.reordered}, resets ${JSON.stringify(r.resetReasons)}, recovery ${JSON.stringify(r.recovery)}`,
    );
  }
}

describe("ssehub bench faults", () => {
  test("kill-worker kills one worker of ssehub serve --workers 2, never the primary, and reports the counts", async (t) => {
    const run = ssehub(t, ["serve", "--port", "0", "--workers", "2", "--retry-ms", "50"]);
    const url = await listeningUrl(run);
    await logLine(run, (e) => e.msg?.includes("cluster of 2 workers") === true);
    const primary = run.child.pid!;
    const workersBefore = childPidsOf(primary);
    assert.equal(workersBefore.length, 2);
    await waitUntilOlder(workersBefore, 3);

    const result = await runBench({
      scenario: "faults",
      url,
      faults: ["kill-worker"],
      subscribers: 6,
      rate: 100,
      faultIntervalMs: 2000,
      ...BOUNDS,
    });
    note(t, result);
    assert.equal(result.scenario, "faults");
    assert.equal(result.params.faults, "kill-worker");
    assert.equal(result.connections.established, 6);
    const [report] = result.faults?.faults ?? [];
    assert.ok(report !== undefined);
    assert.equal(report.fault, "kill-worker");
    assertConsistent(report);
    assert.ok(workersBefore.includes(report.pid!), "the process killed was a worker");
    assert.notEqual(report.pid, primary, "the primary was not signalled");
    // The tool never signals the primary; on main a worker's death may still crash it
    // (ERR_IPC_CHANNEL_CLOSED), which is the hub's to fix: say so, do not fail on it.
    assert.equal(run.child.signalCode, null, "nothing signalled the primary");
    if (run.child.exitCode !== null) {
      // Not the crash-loop guard (the workers were older than it): a crash of the primary.
      t.diagnostic(
        `the primary exited with ${run.child.exitCode} after its worker was killed: ${[...run.stdout.slice(-3), ...run.stderr.slice(-3)].join(" | ")}`,
      );
    }
    assert.ok(report.dropped > 0, "the streams of the killed worker were dropped");
    assertTotals(result);
  });

  test("pause-redis stops and resumes the redis-server of two ssehub nodes and reports the counts", {
    skip: skipRedis,
  }, async (t) => {
    const redis = await startRedis(t, { args: ["--appendonly", "no", "--save", ""] });
    const nodes = await startRedisNodes(t, [redis.url, redis.url], ["--redis-timeout-ms", "500"]);
    const urls = nodes.map((node) => node.url);

    const result = await runBench({
      scenario: "faults",
      urls,
      faults: ["pause-redis"],
      subscribers: 6,
      rate: 50,
      faultIntervalMs: 2000,
      pauseMs: 1000,
      ...BOUNDS,
    });
    note(t, result);
    const [report] = result.faults?.faults ?? [];
    assert.ok(report !== undefined);
    assert.equal(report.fault, "pause-redis");
    assertConsistent(report);
    assert.equal(report.pid, redis.pid, "the redis-server of the nodes was the one paused");
    assert.ok(report.faultSeconds >= 1, "Redis stayed stopped for the pause");
    assert.ok(redis.isRunning);
    assertTotals(result);
  });

  test("restart-redis kills the redis-server and starts a new one on its port, and reports the counts", {
    skip: skipRedis,
  }, async (t) => {
    const redis = await startRedis(t, { args: ["--appendonly", "no", "--save", ""] });
    const [node] = await startRedisNodes(t, [redis.url], ["--redis-timeout-ms", "500"]);
    const url = node!.url;
    let restarted: number | null = null;
    // The redis-server the tool starts replaces the test's: it goes after the test too.
    t.after(() => {
      if (restarted !== null) process.kill(restarted, "SIGKILL");
    });

    const result = await runBench({
      scenario: "faults",
      url,
      faults: ["restart-redis"],
      subscribers: 4,
      rate: 50,
      faultIntervalMs: 2000,
      ...BOUNDS,
    });
    note(t, result);
    const [report] = result.faults?.faults ?? [];
    assert.ok(report !== undefined);
    restarted = report.newPid;
    assert.equal(report.fault, "restart-redis");
    assertConsistent(report);
    assert.ok(report.newPid !== null && report.newPid !== report.pid, "a new redis-server runs");
    assert.equal(await redisCommand(redis.port, ["PING"]), "PONG");
    assertTotals(result);
  });

  test("a fault the target cannot have is refused before the run starts", async (t) => {
    const run = ssehub(t, ["serve", "--port", "0"]);
    const url = await listeningUrl(run);
    await assert.rejects(
      runBench({ scenario: "faults", url, faults: ["kill-worker"], subscribers: 1 }),
      (error: Error & { code?: string }) =>
        error.code === "SSEHUB_ERR_OPTIONS_INVALID" &&
        /kill-worker needs a target with workers/.test(error.message),
    );
    await assert.rejects(
      runBench({ scenario: "faults", url, faults: ["pause-redis"], subscribers: 1 }),
      (error: Error & { code?: string }) =>
        error.code === "SSEHUB_ERR_OPTIONS_INVALID" &&
        /need the target's Redis/.test(error.message),
    );
    await assert.rejects(
      runBench({
        scenario: "faults",
        url,
        faults: ["pause-redis"],
        redisUrl: "redis://10.0.0.1:6379",
        subscribers: 1,
      }),
      /not on loopback/,
    );
  });
});
