/**
 * `ssehub serve --redis` on a bad day, with real processes: a Redis that hangs with its
 * connections open (SIGSTOP, then SIGCONT), and a Redis that restarts without persistence and
 * so loses its data. Each test counts, per subscriber, the events lost, duplicated and
 * reordered: none of what was acknowledged may be lost, and a reset never opens a new gap.
 *
 * Skipped, with the reason, on a machine without redis-server.
 */
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { parseEventId } from "../../src/protocol/event-id.js";
import type { ParsedEvent } from "../../src/protocol/parse.js";
import {
  type Answer,
  type HubNode,
  request,
  startRedisNodes,
  waitForStatus,
} from "../helpers/hub-nodes.js";
import { startRedis } from "../helpers/redis-server.js";
import { requireTools } from "../helpers/require-tool.js";
import { SseReader } from "../helpers/sse-reader.js";
import { sleep, waitFor } from "../helpers/wait-for.js";

const skip = requireTools(["redis-server"]);

/** The Redis deadline the nodes run with here (`--redis-timeout-ms`), short to keep tests short. */
const REDIS_TIMEOUT_MS = 800;
/**
 * How long a subscriber that got every event it expects keeps listening for one too many (a
 * duplicate) before the count. A slow machine only makes this check weaker, never false.
 */
const DUPLICATE_WAIT_MS = 100;

/** Starts `count` nodes on one Redis, with a short heartbeat and Redis deadline. */
function startNodes(t: TestContext, redisUrl: string, count: number): Promise<HubNode[]> {
  return startRedisNodes(t, Array<string>(count).fill(redisUrl), [
    "--heartbeat-ms",
    "200",
    "--redis-timeout-ms",
    String(REDIS_TIMEOUT_MS),
  ]);
}

/** A publish and what it was answered. */
interface Attempt {
  readonly data: string;
  readonly status: number;
  readonly id: string | undefined;
}

async function tryPublish(node: HubNode, topic: string, data: string): Promise<Attempt> {
  const answer = await request(`${node.url}/publish`, "POST", { topic, data });
  return {
    data,
    status: answer.status,
    id: answer.status === 200 ? (answer.json.id as string) : undefined,
  };
}

/** Lost, duplicated and reordered events of one subscriber, against what was acknowledged. */
interface Tally {
  readonly lost: string[];
  readonly duplicated: string[];
  readonly reordered: string[];
}

/**
 * Compares what a subscriber received with the acknowledged publishes (`acknowledged`, data ->
 * id) and those that got no 200 (`unconfirmed`: Redis may have run them after the deadline, so
 * they may arrive, at most once).
 */
function tally(
  received: readonly ParsedEvent[],
  acknowledged: ReadonlyMap<string, string>,
  unconfirmed: ReadonlySet<string>,
): Tally {
  const seen = new Map<string, number>();
  const duplicated: string[] = [];
  const reordered: string[] = [];
  let lastSeq = 0;
  for (const event of received) {
    const count = (seen.get(event.data) ?? 0) + 1;
    seen.set(event.data, count);
    if (count > 1) duplicated.push(event.data);
    const seq = parseEventId(event.lastEventId)?.seq ?? 0;
    if (seq <= lastSeq) reordered.push(`${event.data} (${event.lastEventId})`);
    lastSeq = seq;
    if (!acknowledged.has(event.data) && !unconfirmed.has(event.data)) {
      reordered.push(`${event.data}: never published`);
    }
    const id = acknowledged.get(event.data);
    if (id !== undefined && id !== event.lastEventId) {
      reordered.push(`${event.data} came as ${event.lastEventId}, acknowledged as ${id}`);
    }
  }
  const lost = [...acknowledged.keys()].filter((data) => !seen.has(data));
  return { lost, duplicated, reordered };
}

describe("ssehub serve --redis on a bad day", { skip }, () => {
  it("answers 503 and turns not-ready while Redis hangs, then recovers by itself with nothing acknowledged lost", async (t) => {
    const redis = await startRedis(t);
    const nodes = await startNodes(t, redis.url, 2);
    const [a, b] = nodes as [HubNode, HubNode];
    const readers = await Promise.all(
      nodes.map(async (node) => {
        const reader = await SseReader.open(`${node.url}/events/h`);
        t.after(() => reader.close());
        return reader;
      }),
    );
    const attempts: Attempt[] = [];
    // A publisher that goes on through the whole fault, on both nodes in turn.
    let publishing = true;
    let n = 0;
    const background = (async () => {
      while (publishing) {
        const node = n % 2 === 0 ? a : b;
        attempts.push(await tryPublish(node, "h", `bg ${n++}`));
        await sleep(10);
      }
    })();
    await waitFor(() => attempts.filter((x) => x.status === 200).length >= 20, "publishes before");

    const pid = redis.pid!;
    process.kill(pid, "SIGSTOP");
    t.after(() => {
      if (redis.isRunning) process.kill(pid, "SIGCONT");
    });
    // Publishes sent while Redis is stopped: each is answered (not left hanging), with 503.
    const during: Answer[] = [];
    for (const node of nodes) {
      for (let i = 0; i < 2; i++) {
        const data = `stopped ${during.length}`;
        during.push(await request(`${node.url}/publish`, "POST", { topic: "h", data }));
      }
    }
    for (const answer of during) {
      assert.equal(answer.status, 503, JSON.stringify(answer.json));
      assert.equal(answer.json.code, "SSEHUB_ERR_BUS_UNAVAILABLE");
      assert.match(String(answer.headers["retry-after"]), /^\d+$/);
    }
    for (const node of nodes) await waitForStatus(node, "/readyz", 503);
    for (const [i, reader] of readers.entries()) {
      assert.equal(reader.isEnded, false, `the stream on ${nodes[i]!.name} stays open`);
    }
    const refusedBeforeResume = attempts.length;

    process.kill(pid, "SIGCONT");
    for (const node of nodes) await waitForStatus(node, "/readyz", 200);
    const okAfter = (): number =>
      attempts.slice(refusedBeforeResume).filter((x) => x.status === 200).length;
    await waitFor(() => okAfter() >= 20, "publishes after Redis answers again");
    publishing = false;
    await background;

    const acknowledged = new Map<string, string>();
    const unconfirmed = new Set<string>(during.map((_, i) => `stopped ${i}`));
    for (const attempt of attempts) {
      if (attempt.status === 200) acknowledged.set(attempt.data, attempt.id!);
      else unconfirmed.add(attempt.data);
    }
    assert.ok(
      attempts.some((x) => x.status === 503),
      "the background publisher met the fault too",
    );
    for (const [i, reader] of readers.entries()) {
      await waitFor(
        () => acknowledged.size <= reader.eventCount,
        `${nodes[i]!.name}'s subscriber to catch up`,
      ).catch(() => {});
      await sleep(DUPLICATE_WAIT_MS);
      const result = tally(reader.events, acknowledged, unconfirmed);
      t.diagnostic(
        `${nodes[i]!.name}: ${reader.eventCount} received, ${acknowledged.size} acknowledged, ` +
          `${unconfirmed.size} unconfirmed; lost ${result.lost.length}, duplicated ` +
          `${result.duplicated.length}, reordered ${result.reordered.length}`,
      );
      assert.deepEqual(result, { lost: [], duplicated: [], reordered: [] }, nodes[i]!.name);
      assert.equal(reader.isEnded, false, `the stream on ${nodes[i]!.name} never ended`);
    }
  });

  it("after Redis lost its data, a returning subscriber gets the reset, then every event of the new epoch", async (t) => {
    // No persistence: a restart starts Redis empty.
    const redis = await startRedis(t, { args: ["--appendonly", "no", "--save", ""] });
    const [a, b] = (await startNodes(t, redis.url, 2)) as [HubNode, HubNode];
    const topicSets = [["x"], ["x", "y"], ["y"]];
    const firsts = await Promise.all(
      topicSets.map(async (topics) => {
        const reader = await SseReader.open(
          `${a.url}/events?${topics.map((topic) => `topic=${topic}`).join("&")}`,
        );
        t.after(() => reader.close());
        return reader;
      }),
    );
    for (let i = 0; i < 6; i++) {
      const attempt = await tryPublish(i % 2 ? b : a, i % 3 === 2 ? "y" : "x", `old ${i}`);
      assert.equal(attempt.status, 200);
    }
    await waitFor(() => firsts.every((reader) => reader.eventCount >= 2), "the old events");
    await sleep(DUPLICATE_WAIT_MS);
    const lastIds = firsts.map((reader) => reader.events.at(-1)!.lastEventId);

    await redis.stop();
    await redis.start();
    // The nodes notice the new epoch and end their streams, so that clients resume.
    await waitFor(() => firsts.every((reader) => reader.isEnded), "the old streams to end");
    for (const node of [a, b]) await waitForStatus(node, "/readyz", 200);

    // Published after Redis came back and before the subscribers return: Redis holds them.
    const fresh: { data: string; topic: string; id: string }[] = [];
    for (let i = 0; i < 30; i++) {
      const topic = i % 3 === 2 ? "y" : "x";
      const attempt = await tryPublish(i % 2 ? a : b, topic, `new ${i}`);
      assert.equal(attempt.status, 200, `publish of new ${i}`);
      fresh.push({ data: attempt.data, topic, id: attempt.id! });
    }

    for (const [k, topics] of topicSets.entries()) {
      for (const node of [a, b]) {
        const again = await SseReader.open(
          `${node.url}/events?${topics.map((topic) => `topic=${topic}`).join("&")}`,
          { lastEventId: lastIds[k]! },
        );
        t.after(() => again.close());
        const expected = fresh.filter((e) => topics.includes(e.topic));
        await waitFor(() => again.eventCount >= expected.length + 1, "the reset and the replay");
        await sleep(DUPLICATE_WAIT_MS);
        const [reset, ...rest] = again.events;
        const what = `subscriber of ${topics.join(",")} back on ${node.name}`;
        assert.equal(reset?.type, "ssehub-reset", what);
        assert.equal(JSON.parse(reset!.data).reason, "unknown-epoch", what);
        const acknowledged = new Map(expected.map((e) => [e.data, e.id]));
        const result = tally(rest, acknowledged, new Set());
        t.diagnostic(
          `${what}: ${rest.length} of ${expected.length} after the reset; lost ${result.lost.length}`,
        );
        assert.deepEqual(result, { lost: [], duplicated: [], reordered: [] }, what);
        again.close();
      }
    }
  });
});
