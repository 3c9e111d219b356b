/**
 * `ssehub serve --workers 2` on a bad day, with real processes: a worker killed mid-stream, a
 * worker killed while publishers are busy, the primary killed. Every subscriber counts what it
 * lost, got twice or got out of order; zero lost is the target wherever the events still exist.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import {
  count,
  isAlive,
  Publishers,
  publish,
  ResumingSubscriber,
  seqOf,
} from "../helpers/fault-clients.js";
import { SseReader } from "../helpers/sse-reader.js";
import { listeningUrl, logLine, type Run, ssehub } from "../helpers/ssehub-process.js";
import { waitFor } from "../helpers/wait-for.js";

function workerPids(entry: { [key: string]: unknown }): number[] {
  return entry.pids as number[];
}

async function startCluster(t: Parameters<typeof ssehub>[0], extra: string[] = []) {
  const run = ssehub(t, [
    "serve",
    "--port",
    "0",
    "--workers",
    "2",
    "--retry-ms",
    "50",
    "--history-max-events",
    "100000",
    ...extra,
  ]);
  const url = await listeningUrl(run);
  const ready = await logLine(run, (e) => e.msg?.includes("cluster of 2 workers") === true);
  return { run, url, pids: workerPids(ready), startedAt: Date.now() };
}

/**
 * Five workers in a row dying within 2 s of their start stop the cluster (a crash loop): a test
 * that kills workers one after another waits until each is older than that. A condition on the
 * worker's age.
 */
const MIN_WORKER_LIFETIME_MS = 2000;

async function pastMinimumLifetime(startedAt: number): Promise<void> {
  await waitFor(
    () => Date.now() - startedAt > MIN_WORKER_LIFETIME_MS + 500,
    "the worker to be past the minimum lifetime",
  );
}

function replacementsStarted(run: Run): number[] {
  const pids: number[] = [];
  for (const line of run.stdout) {
    const entry = JSON.parse(line) as { msg?: string; pid?: number };
    if (entry.msg === "A replacement worker serves the port") pids.push(entry.pid!);
  }
  return pids;
}

describe("ssehub serve --workers 2, when a worker dies", () => {
  it("resumes the dead worker's clients on the others and its replacement with no loss", async (t) => {
    const { run, url, pids, startedAt } = await startCluster(t);
    const subscribers: ResumingSubscriber[] = [];
    // Connections are handed out in turn: these spread over both workers.
    for (let i = 0; i < 6; i++)
      subscribers.push(await ResumingSubscriber.open(`${url}/events/ticks`));
    const publishers = new Publishers(url, 2, 5);
    t.after(async () => {
      await publishers.stop();
      for (const subscriber of subscribers) await subscriber.close();
    });
    await waitFor(() => publishers.acknowledged.length >= 100, "100 events published");
    await pastMinimumLifetime(startedAt);

    process.kill(pids[0]!, "SIGKILL");
    await waitFor(() => replacementsStarted(run).length === 1, "the replacement worker");
    const before = publishers.acknowledged.length;
    await waitFor(() => publishers.acknowledged.length >= before + 100, "100 more events");

    // Late comers resume from an early event: half of them land on the replacement.
    const firstId = publishers.acknowledged[10]!;
    const late: SseReader[] = [];
    for (let i = 0; i < 4; i++)
      late.push(await SseReader.open(`${url}/events/ticks`, { lastEventId: firstId }));
    t.after(() => {
      for (const reader of late) reader.close();
    });

    await publishers.stop();
    const acknowledged = publishers.acknowledged;
    const newest = Math.max(...acknowledged.map(seqOf));
    for (const subscriber of subscribers) {
      await waitFor(
        () => subscriber.events.some((e) => e.lastEventId !== "" && seqOf(e.lastEventId) >= newest),
        `subscriber to reach seq ${newest}`,
      );
    }
    for (const reader of late) {
      await waitFor(
        () => reader.events.some((e) => e.lastEventId !== "" && seqOf(e.lastEventId) >= newest),
        `late reader to reach seq ${newest}`,
      );
    }
    const reconnected = subscribers.filter((s) => s.connections > 1).length;
    assert.ok(reconnected > 0, "some subscribers were on the killed worker");
    for (const subscriber of subscribers) {
      assert.deepEqual(count(subscriber.events, acknowledged, 0), {
        lost: 0,
        duplicated: 0,
        reordered: 0,
        resets: [],
      });
    }
    for (const reader of late) {
      assert.deepEqual(count(reader.events, acknowledged, seqOf(firstId)), {
        lost: 0,
        duplicated: 0,
        reordered: 0,
        resets: [],
      });
    }
    run.child.kill("SIGTERM");
    assert.equal(await run.exited, 0, run.stderr.join("\n"));
  });

  it("never takes the primary down, however often a worker is killed while publishing", async (t) => {
    const { run, url, pids, startedAt } = await startCluster(t);
    const publishers = new Publishers(url, 4, 1);
    t.after(() => publishers.stop());
    const alive = pids.map((pid) => ({ pid, startedAt }));
    for (let kill = 1; kill <= 5; kill++) {
      const published = publishers.acknowledged.length;
      await waitFor(() => publishers.acknowledged.length >= published + 100, "100 more events");
      const victim = alive.shift()!;
      await pastMinimumLifetime(victim.startedAt);
      process.kill(victim.pid, "SIGKILL");
      const replacement = await waitFor(
        () => replacementsStarted(run)[kill - 1] ?? (run.child.exitCode !== null ? -1 : undefined),
        `replacement ${kill}`,
      );
      assert.notEqual(replacement, -1, `the primary died: ${run.stderr.join("\n")}`);
      alive.push({ pid: replacement, startedAt: Date.now() });
    }
    await publishers.stop();
    assert.equal(run.child.exitCode, null, "the primary still runs");
    assert.doesNotMatch(run.stderr.join("\n"), /ERR_IPC_CHANNEL_CLOSED|EPIPE|Error/);
    run.child.kill("SIGTERM");
    assert.equal(await run.exited, 0, run.stderr.join("\n"));
  });
});

describe("ssehub serve --workers 2, when a worker dies right after its start", () => {
  it("replaces it and goes on serving", async (t) => {
    const { run, url, pids } = await startCluster(t);
    process.kill(pids[0]!, "SIGKILL");
    await waitFor(
      () => replacementsStarted(run).length === 1 || run.child.exitCode !== null,
      "the replacement worker, or the primary's exit",
    );
    assert.equal(run.child.exitCode, null, `the primary stopped: ${run.stdout.join("\n")}`);
    assert.equal((await publish(url, "after")).status, 200);
    run.child.kill("SIGTERM");
    assert.equal(await run.exited, 0, run.stderr.join("\n"));
  });

  it("stops the cluster with exit code 1 when every worker dies at its start", async (t) => {
    // Each worker (and only the workers) exits while it loads.
    const crashAtStart = fileURLToPath(
      new URL("../../../test/fixtures/crash-in-worker.cjs", import.meta.url),
    );
    const run = ssehub(t, ["serve", "--port", "0", "--workers", "2"], {
      NODE_OPTIONS: `--require ${crashAtStart}`,
    });
    assert.equal(await run.exited, 1, run.stderr.join("\n"));
    const fatal = run.stdout.find((line) => line.includes("in a row within"));
    assert.ok(fatal !== undefined, run.stdout.join("\n"));
    assert.equal((JSON.parse(fatal) as { earlyDeaths: number }).earlyDeaths, 5);
  });
});

describe("ssehub serve --workers 2, when the primary dies", () => {
  it("ends every stream with the retry hint and its workers exit cleanly", async (t) => {
    const { run, url, pids } = await startCluster(t);
    const readers: SseReader[] = [];
    for (let i = 0; i < 4; i++) readers.push(await SseReader.open(`${url}/events/ticks`));
    t.after(() => {
      for (const reader of readers) reader.close();
      for (const pid of pids) if (isAlive(pid)) process.kill(pid, "SIGKILL");
    });
    assert.equal((await publish(url, "before")).status, 200);
    for (const reader of readers) await reader.waitForEvents(1);
    // Publishers keep going while the primary dies: nothing they meet may crash a worker.
    const publishers = new Publishers(url, 2, 2);
    await waitFor(() => publishers.acknowledged.length >= 20, "20 events published");

    run.child.kill("SIGKILL");
    for (const reader of readers) await reader.ended;
    await publishers.stop();
    await waitFor(() => pids.every((pid) => !isAlive(pid)), "both workers to exit");
    await run.exited; // every worker closed its end of the shared stdout and stderr

    for (const reader of readers) {
      // The first retry: line opens the stream; the second is the shutdown's hint.
      assert.equal(reader.retries.length, 2, `retry lines: ${reader.retries.join(", ")}`);
    }
    const stopped = run.stdout.filter((line) => line.includes("Worker stopped"));
    assert.equal(stopped.length, 2, run.stdout.join("\n"));
    assert.doesNotMatch(run.stderr.join("\n"), /Error|\n\s+at /, run.stderr.join("\n"));
  });
});
