/**
 * `ssehub serve --data-dir` on a bad day, with real processes: the hub killed with SIGKILL
 * while publishers and subscribers are busy, then started again on the same directory; and a
 * disk that refuses writes. Every event answered 200 must reach every subscriber once, in
 * order, with no reset; an event the disk refused must reach nobody.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { describe, it, type TestContext } from "node:test";
import {
  count,
  isAlive,
  Publishers,
  publish,
  ResumingSubscriber,
  seqOf,
} from "../helpers/fault-clients.js";
import { requireTools } from "../helpers/require-tool.js";
import { SseReader } from "../helpers/sse-reader.js";
import { listeningUrl, logLine, type Run, ssehub } from "../helpers/ssehub-process.js";
import { tempDir } from "../helpers/temp-dir.js";
import { waitFor } from "../helpers/wait-for.js";

/** `ssehub serve` on `port` (0: any) keeping history in `dataDir`. */
function serve(
  t: Parameters<typeof ssehub>[0],
  dataDir: string,
  port: number,
  through: string[] = [],
  extra: string[] = [],
) {
  return ssehub(
    t,
    [
      "serve",
      "--port",
      String(port),
      "--data-dir",
      dataDir,
      "--retry-ms",
      "50",
      "--history-max-events",
      "100000",
      ...extra,
    ],
    {},
    through,
  );
}

async function workerPids(run: Run): Promise<number[]> {
  const ready = await logLine(run, (e) => e.msg?.includes("cluster of 2 workers") === true);
  return ready.pids as number[];
}

/**
 * Subscribers and publishers on a hub with a data directory; the hub (every process of it) is
 * killed with SIGKILL mid-stream and started again on the same port and directory.
 */
async function killAndRestart(t: TestContext, extra: string[]): Promise<void> {
  const dataDir = tempDir(t);
  const first = serve(t, dataDir, 0, [], extra);
  const url = await listeningUrl(first);
  const port = Number(new URL(url).port);
  const subscribers: ResumingSubscriber[] = [];
  for (let i = 0; i < 3; i++)
    subscribers.push(await ResumingSubscriber.open(`${url}/events/ticks`));
  const publishers = new Publishers(url, 2, 2);
  t.after(async () => {
    await publishers.stop();
    for (const subscriber of subscribers) await subscriber.close();
  });
  await waitFor(() => publishers.acknowledged.length >= 200, "200 events published");

  const workers = extra.length === 0 ? [] : await workerPids(first);
  first.child.kill("SIGKILL");
  for (const pid of workers) process.kill(pid, "SIGKILL");
  await first.exited;
  await waitFor(() => workers.every((pid) => !isAlive(pid)), "every worker to be gone");
  const beforeKill = publishers.acknowledged.length;
  const second = serve(t, dataDir, port, [], extra);
  await listeningUrl(second);
  const opened = await logLine(
    second,
    (e) => e.msg?.startsWith("Opened the data directory") === true,
  );
  assert.ok((opened.lastSeq as number) >= beforeKill, JSON.stringify(opened));
  await waitFor(() => publishers.acknowledged.length >= beforeKill + 200, "200 more events");
  await publishers.stop();

  const acknowledged = publishers.acknowledged;
  assert.ok(
    new Set(acknowledged.map((id) => id.split(":")[2])).size === 1,
    "one epoch across the restart",
  );
  for (const subscriber of subscribers) {
    await waitFor(
      () => count(subscriber.events, acknowledged, 0).lost === 0,
      "the subscriber to hold every acknowledged event",
    );
    assert.deepEqual(count(subscriber.events, acknowledged, 0), {
      lost: 0,
      duplicated: 0,
      reordered: 0,
      resets: [],
    });
    assert.ok(subscriber.connections >= 2, "it did reconnect across the restart");
  }
  // A client that comes back later, from the first event, is served everything from disk.
  const late = await SseReader.open(`${url}/events/ticks`, { lastEventId: acknowledged[0]! });
  t.after(() => late.close());
  await waitFor(
    () => count(late.events, acknowledged, seqOf(acknowledged[0]!)).lost === 0,
    "the late client to catch up",
  );
  assert.deepEqual(count(late.events, acknowledged, seqOf(acknowledged[0]!)).resets, []);
}

/**
 * A hub whose data directory stops taking writes (a full disk), then takes them again, then is
 * killed and started again.
 */
async function refuseWrites(t: TestContext, extra: string[]): Promise<void> {
  const dataDir = tempDir(t);
  // Files of this process may not grow past 64 KiB; past it a write fails (EFBIG) instead of
  // killing the process (SIGXFSZ ignored): a disk that fills up while the hub runs.
  const limited = serve(
    t,
    dataDir,
    0,
    ["bash", "-c", `trap '' XFSZ; ulimit -S -f 64; exec "$0" "$@"`],
    extra,
  );
  const url = await listeningUrl(limited);
  const port = Number(new URL(url).port);
  const subscriber = await ResumingSubscriber.open(`${url}/events/ticks`);
  t.after(() => subscriber.close());
  const acknowledged: string[] = [];
  let refused: { status: number; code?: string } | undefined;
  const filler = "x".repeat(1000);
  for (let i = 0; refused === undefined; i++) {
    const answer = await publish(url, `${i}:${filler}`);
    if (answer.id !== undefined) acknowledged.push(answer.id);
    else refused = { status: answer.status };
    assert.ok(i < 1000, "the disk refuses before 1 MB");
  }
  assert.equal(refused.status, 503);
  const body = await fetch(`${url}/publish`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ topic: "ticks", data: `refused too ${filler}` }),
  });
  assert.equal(body.status, 503);
  assert.equal(((await body.json()) as { code: string }).code, "SSEHUB_ERR_HISTORY_WRITE_FAILED");
  if (extra.length === 0) {
    // The operator sees it: refused batches counted, the files' size (the primary of --workers
    // writes, and is not scraped: its log says it).
    const metrics = await (await fetch(`${url}/metrics`)).text();
    const value = (name: string): number =>
      Number(new RegExp(`^${name} (\\S+)$`, "m").exec(metrics)?.[1]);
    assert.equal(value("ssehub_history_write_failures_total"), 2);
    assert.ok(value("ssehub_history_disk_bytes") > 60_000, metrics);
  }

  // The disk has room again: the same process goes on, and the refused events took no seq.
  execFileSync("prlimit", [`--pid=${limited.child.pid}`, "--fsize=unlimited"]);
  const back = await publish(url, "after the disk came back");
  assert.ok(back.id !== undefined, `answered ${back.status}`);
  assert.equal(seqOf(back.id), seqOf(acknowledged.at(-1)!) + 1, "refused events took no seq");

  const workers = extra.length === 0 ? [] : await workerPids(limited);
  limited.child.kill("SIGKILL");
  for (const pid of workers) process.kill(pid, "SIGKILL");
  await limited.exited;
  await waitFor(() => workers.every((pid) => !isAlive(pid)), "every worker to be gone");
  const again = serve(t, dataDir, port, [], extra);
  await listeningUrl(again);
  const restarted = await publish(url, "after a restart");
  assert.ok(restarted.id !== undefined);
  assert.equal(seqOf(restarted.id), seqOf(back.id) + 1);
  await waitFor(
    () => subscriber.events.some((e) => e.lastEventId === restarted.id),
    "the event after the restart",
  );
  assert.deepEqual(
    subscriber.events.filter((e) => e.type === "message").map((e) => e.lastEventId),
    [...acknowledged, back.id, restarted.id],
    "the subscriber got every answered event once, and nothing the disk refused",
  );
}

describe("ssehub serve --data-dir, killed and started again", () => {
  it("resumes every client with no loss, no duplicate and no reset after a SIGKILL mid-stream", async (t) => {
    await killAndRestart(t, []);
  });

  it("with --workers 2 (the primary writes), the same after the whole cluster is killed", async (t) => {
    await killAndRestart(t, ["--workers", "2"]);
  });

  it("a disk that refuses writes answers 503, delivers nothing of it, and loses no answered event", {
    skip: requireTools(["prlimit"]),
  }, async (t) => {
    await refuseWrites(t, []);
  });

  it("with --workers 2, a refused write in the primary answers 503 on the worker and takes no seq", {
    skip: requireTools(["prlimit"]),
  }, async (t) => {
    await refuseWrites(t, ["--workers", "2"]);
  });
});

describe("ssehub serve --data-dir, misused", () => {
  it("a second hub on a directory in use does not start, and says which process holds it", async (t) => {
    const dataDir = tempDir(t);
    const owner = serve(t, dataDir, 0);
    await listeningUrl(owner);
    const second = serve(t, dataDir, 0);
    assert.equal(await second.exited, 1);
    assert.match(
      second.stderr.join("\n"),
      new RegExp(`SSEHUB_ERR_DATA_DIR_LOCKED: .*process ${owner.child.pid} uses it`),
    );
  });

  it("with redis too, the configuration is refused (exit 2): history lives in one place", async (t) => {
    const run = ssehub(t, ["serve", "--data-dir", tempDir(t), "--redis", "redis://127.0.0.1:1"]);
    assert.equal(await run.exited, 2);
    assert.match(run.stderr.join("\n"), /dataDir and redis cannot both be set/);
  });
});
