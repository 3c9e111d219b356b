/**
 * `ssehub serve --redis`: several nodes (separate processes on their own ports) sharing one
 * Redis behave as one hub. A publish on any node reaches the subscribers of every node, ids
 * increase across nodes, a client resumes on whichever node it reconnects to (also one that lags
 * behind, or when its own node was killed), and an outage of Redis, or a partition of one node
 * from it, costs no event: the nodes refuse publishes with 503 meanwhile, keep their streams
 * alive and catch up afterwards.
 *
 * Each test starts its own redis-server (test/helpers/redis-server.ts) and ssehub processes.
 * Skipped, with the reason, on a machine without redis-server (a failure in CI: see
 * test/helpers/require-tool.ts).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseEventId } from "../../src/protocol/event-id.js";
import type { ParsedEvent } from "../../src/protocol/parse.js";
import {
  type HubNode,
  request,
  startRedisNodes as startNodes,
  waitForStatus,
} from "../helpers/hub-nodes.js";
import { startRedis } from "../helpers/redis-server.js";
import { requireTools } from "../helpers/require-tool.js";
import { SseReader } from "../helpers/sse-reader.js";
import { startTcpProxy } from "../helpers/tcp-proxy.js";
import { sleep, waitFor } from "../helpers/wait-for.js";

const skip = requireTools(["redis-server"]);

/** Latency between a lagging node and Redis, each way, in ms. */
const LAG_MS = 25;
/**
 * How long a subscriber that got every event it expects keeps listening for one too many (a
 * duplicate) before the assert. There is no event to wait for when nothing more should come; a
 * slow machine only makes this check weaker, never false.
 */
const DUPLICATE_WAIT_MS = 50;

/** A deterministic pseudo-random generator, so a failure can be replayed (mulberry32). */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Polls `check` until it holds; answers false (and lets the caller's assert say what is
 * missing) only when the test is taken for hung.
 */
async function waitUntil(check: () => boolean): Promise<boolean> {
  try {
    await waitFor(check);
    return true;
  } catch {
    return false;
  }
}

/** An event as published, with the id its publish answered. */
interface Published {
  readonly id: string;
  readonly seq: number;
  readonly data: string;
  readonly topics: readonly string[];
}

/** POSTs one event to `node` and checks the 200 answer; returns what a subscriber should get. */
async function publish(node: HubNode, topics: readonly string[], data: string) {
  const body = topics.length === 1 ? { topic: topics[0], data } : { topics, data };
  const answer = await request(`${node.url}/publish`, "POST", body);
  assert.equal(
    answer.status,
    200,
    `publish of ${data} on ${node.name}: ${JSON.stringify(answer.json)}`,
  );
  const id = answer.json.id as string;
  const parsed = parseEventId(id);
  assert.ok(parsed, `publish of ${data} on ${node.name} answered the id ${JSON.stringify(id)}`);
  assert.deepEqual(answer.json.topics, topics);
  return { id, seq: parsed.seq, data, topics } satisfies Published;
}

/** Asserts that the ids of `events`, in this order, share one epoch and increase strictly. */
function assertIncreasing(events: readonly Published[], what: string): void {
  const epochs = new Set(events.map((e) => parseEventId(e.id)?.epoch));
  assert.equal(epochs.size, 1, `${what}: one epoch for every id, got ${[...epochs].join(", ")}`);
  for (let i = 1; i < events.length; i++) {
    assert.ok(
      events[i]!.seq > events[i - 1]!.seq,
      `${what}: ${events[i]!.id} (${events[i]!.data}) follows ${events[i - 1]!.id} ` +
        `(${events[i - 1]!.data})`,
    );
  }
}

/** What a subscription to `topics` should receive of `published`: its events in id order. */
function expectedFor(published: readonly Published[], topics: readonly string[]): string[] {
  return published
    .filter((e) => e.topics.some((topic) => topics.includes(topic)))
    .sort((a, b) => a.seq - b.seq)
    .map((e) => `message ${e.id} ${e.data}`);
}

/** What a subscriber received, in the form of expectedFor(). */
function seen(events: readonly ParsedEvent[]): string[] {
  return events.map((e) => `${e.type} ${e.lastEventId} ${e.data}`);
}

function eventsPath(topics: readonly string[]): string {
  return topics.length === 1
    ? `/events/${topics[0]}`
    : `/events?${topics.map((topic) => `topic=${topic}`).join("&")}`;
}

/** Opens a stream on `node` for `topics`, closed after the test. */
async function subscribe(
  t: { after(fn: () => unknown): void },
  node: HubNode,
  topics: readonly string[],
): Promise<SseReader> {
  const reader = await SseReader.open(`${node.url}${eventsPath(topics)}`);
  t.after(() => reader.close());
  return reader;
}

/**
 * A client that moves between nodes: when its stream ends (cut by itself after a random number
 * of events, or by a node that died) it reconnects to another node with Last-Event-ID, as an
 * EventSource does.
 */
class RoamingSubscriber {
  readonly label: string;
  readonly topics: readonly string[];
  /** The plain events received, in order, over every connection. */
  readonly received: ParsedEvent[] = [];
  /** Events of any other type (ssehub-reset, ssehub-gap): none is expected. */
  readonly notices: ParsedEvent[] = [];
  /** The node of each connection, in order. */
  readonly visited: string[] = [];
  /** Failed connection attempts. */
  readonly failures: string[] = [];
  readonly #nodes: () => readonly HubNode[];
  readonly #next: () => number;
  readonly #cutEvery: readonly [number, number] | undefined;
  #lastEventId: string | undefined;
  #reader: SseReader | undefined;
  #stopped = false;

  /**
   * @param nodes the nodes it may reconnect to (the one it leaves is left out).
   * @param cutEvery cut the connection after between [min, max) events; never when undefined.
   */
  constructor(
    label: string,
    topics: readonly string[],
    nodes: () => readonly HubNode[],
    next: () => number,
    cutEvery?: readonly [number, number],
  ) {
    this.label = label;
    this.topics = topics;
    this.#nodes = nodes;
    this.#next = next;
    this.#cutEvery = cutEvery;
  }

  get reconnects(): number {
    return this.visited.length - 1;
  }

  async connect(node: HubNode): Promise<void> {
    const cutEvery = this.#cutEvery;
    let cutAfter =
      cutEvery === undefined
        ? Number.POSITIVE_INFINITY
        : this.received.length +
          cutEvery[0] +
          Math.floor(this.#next() * (cutEvery[1] - cutEvery[0]));
    // Events can arrive before open() resolves, so the cut may be decided before `reader` is set.
    let reader: SseReader | undefined;
    let cut = false;
    const lastEventId = this.#lastEventId;
    reader = await SseReader.open(`${node.url}${eventsPath(this.topics)}`, {
      keepEvents: false,
      ...(lastEventId === undefined ? {} : { lastEventId }),
      onEvent: (event) => {
        this.#lastEventId = event.lastEventId;
        if (event.type === "message") this.received.push(event);
        else this.notices.push(event);
        if (this.received.length >= cutAfter && !this.#stopped) {
          cutAfter = Number.POSITIVE_INFINITY;
          cut = true;
          reader?.close();
        }
      },
    });
    this.visited.push(node.name);
    if (cut) reader.close();
    this.#reader = reader;
    void reader.ended.then(() => this.#moveOn(node));
  }

  async #moveOn(from: HubNode): Promise<void> {
    for (let attempt = 0; attempt < 20; attempt++) {
      await sleep(Math.floor(this.#next() * 20));
      if (this.#stopped) return;
      const candidates = this.#nodes().filter((node) => node !== from);
      const node = candidates[Math.floor(this.#next() * candidates.length)]!;
      try {
        await this.connect(node);
        return;
      } catch (error) {
        this.failures.push(`${node.name}: ${(error as Error).message}`);
      }
    }
  }

  /** Asserts that it got exactly `expected` (see expectedFor), once it got as many. */
  async assertReceived(expected: readonly string[]): Promise<void> {
    await waitUntil(() => this.received.length >= expected.length);
    await sleep(DUPLICATE_WAIT_MS);
    const context =
      `${this.label} (${this.topics.join(",")}) over ${this.visited.join(" -> ")}; ` +
      `failed connections: ${JSON.stringify(this.failures)}`;
    assert.deepEqual(seen(this.notices), [], `no notice for ${context}`);
    assert.deepEqual(seen(this.received), expected, `every event once, in order, for ${context}`);
  }

  stop(): void {
    this.#stopped = true;
    this.#reader?.close();
  }
}

describe("ssehub serve --redis: nodes sharing one Redis", { skip }, () => {
  it("delivers a publish on any node to the subscribers of every node, ids increasing across nodes", async (t) => {
    const redis = await startRedis(t);
    const nodes = await startNodes(t, [redis.url, redis.url, redis.url]);
    const subscribers: { node: HubNode; topics: string[]; reader: SseReader }[] = [];
    for (const node of nodes) {
      for (const topics of [["orders"], ["orders", "audit"]]) {
        subscribers.push({ node, topics, reader: await subscribe(t, node, topics) });
      }
    }

    const published: Published[] = [];
    for (let i = 0; i < 45; i++) {
      const topics = i % 5 === 4 ? ["audit"] : i % 5 === 3 ? ["orders", "audit"] : ["orders"];
      published.push(await publish(nodes[i % nodes.length]!, topics, `event ${i}`));
    }
    assertIncreasing(published, "publishes made in turn on nodes A, B and C");

    for (const { node, topics, reader } of subscribers) {
      const expected = expectedFor(published, topics);
      await waitUntil(() => reader.eventCount >= expected.length);
      await sleep(DUPLICATE_WAIT_MS);
      assert.deepEqual(
        seen(reader.events),
        expected,
        `subscriber of ${topics.join(",")} on ${node.name}`,
      );
    }
  });

  it("resumes a client exactly on whichever node it reconnects to, also one that lags behind", async (t) => {
    const redis = await startRedis(t);
    // Node B reaches Redis through a proxy that adds latency, so it takes every event later than
    // A and C: a client that moves to it may name an id it has not seen yet.
    const lagging = await startTcpProxy(t, redis.port, { delayMs: LAG_MS });
    const nodes = await startNodes(t, [redis.url, `redis://127.0.0.1:${lagging.port}`, redis.url]);
    const next = random(20261122);
    const topicSets = [["t0"], ["t1"], ["t0", "t1"], ["t1", "t2", "t3"], ["t0", "t2"], ["t3"]];
    const roamers = topicSets.map(
      (topics, i) => new RoamingSubscriber(`roamer ${i}`, topics, () => nodes, next, [8, 40]),
    );
    t.after(() => {
      for (const roamer of roamers) roamer.stop();
    });
    await Promise.all(roamers.map((roamer, i) => roamer.connect(nodes[i % nodes.length]!)));

    // Two publishers at once, each on a node drawn at random for every publish.
    const EACH = 150;
    const TOPICS = ["t0", "t1", "t2", "t3"];
    const byPublisher: Published[][] = [[], []];
    await Promise.all(
      byPublisher.map(async (mine, p) => {
        for (let i = 0; i < EACH; i++) {
          const topics = TOPICS.filter(() => next() < 0.35);
          if (topics.length === 0) topics.push(TOPICS[Math.floor(next() * TOPICS.length)]!);
          const node = nodes[Math.floor(next() * nodes.length)]!;
          mine.push(await publish(node, topics, `p${p} ${i}`));
        }
      }),
    );
    for (const [p, mine] of byPublisher.entries()) {
      assertIncreasing(mine, `publisher ${p}, publishing on random nodes`);
    }
    const published = byPublisher.flat();
    assert.equal(new Set(published.map((e) => e.seq)).size, published.length, "no id twice");

    for (const roamer of roamers) {
      await roamer.assertReceived(expectedFor(published, roamer.topics));
      assert.ok(roamer.reconnects >= 3, `${roamer.label} moved ${roamer.reconnects} times`);
      assert.ok(
        new Set(roamer.visited).size >= 2,
        `${roamer.label} visited ${roamer.visited.join(" -> ")}`,
      );
    }
    for (const roamer of roamers) roamer.stop();
  });

  it("resumes the clients of a node killed with SIGKILL on a surviving node, with no loss", async (t) => {
    const redis = await startRedis(t);
    const nodes = await startNodes(t, [redis.url, redis.url, redis.url]);
    const [victim, publisher, other] = nodes as [HubNode, HubNode, HubNode];
    const survivors = [publisher, other];
    const next = random(7);
    const topicSets = [["k0"], ["k0"], ["k1"], ["k0", "k1"]];
    const clients = topicSets.map(
      (topics, i) => new RoamingSubscriber(`client ${i}`, topics, () => survivors, next),
    );
    t.after(() => {
      for (const client of clients) client.stop();
    });
    for (const client of clients) await client.connect(victim);
    const watcher = await subscribe(t, other, ["k0", "k1"]);

    const topicsOf = (i: number): string[] => (i % 3 === 0 ? ["k0", "k1"] : [`k${i % 2}`]);
    const published: Published[] = [];
    for (let i = 0; i < 20; i++) published.push(await publish(publisher, topicsOf(i), `${i}`));
    // Every client is mid-stream: it holds an id to resume from.
    for (const client of clients) {
      const expected = expectedFor(published, client.topics);
      await waitUntil(() => client.received.length >= expected.length);
      assert.deepEqual(seen(client.received), expected, `${client.label} before the kill`);
    }

    // Publishing goes on on another node; the victim dies in the middle of it.
    for (let i = 20; i < 220; i++) {
      if (i === 60) victim.run.child.kill("SIGKILL");
      published.push(await publish(publisher, topicsOf(i), `${i}`));
      await sleep(2);
    }
    assert.equal(await victim.run.exited, null);
    assert.equal(victim.run.child.signalCode, "SIGKILL");
    assertIncreasing(published, "publishes on node B");

    for (const client of clients) {
      await client.assertReceived(expectedFor(published, client.topics));
      assert.equal(client.visited[0], victim.name);
      assert.equal(client.reconnects, 1, `${client.label}: ${client.visited.join(" -> ")}`);
    }
    await waitUntil(() => watcher.eventCount >= published.length);
    assert.deepEqual(
      seen(watcher.events),
      expectedFor(published, ["k0", "k1"]),
      `subscriber on ${other.name}`,
    );
    for (const client of clients) client.stop();
  });

  it("refuses publishes with 503 while Redis is down, keeps streams alive, and goes on once it is back", async (t) => {
    const redis = await startRedis(t);
    const nodes = await startNodes(t, [redis.url, redis.url], ["--heartbeat-ms", "200"]);
    const readers = await Promise.all(nodes.map((node) => subscribe(t, node, ["r"])));
    const published: Published[] = [];
    for (let i = 0; i < 6; i++) published.push(await publish(nodes[i % 2]!, ["r"], `before ${i}`));
    for (const reader of readers) await waitUntil(() => reader.eventCount >= 6);

    await redis.stop();
    for (const node of nodes) {
      for (let i = 0; i < 3; i++) {
        const answer = await request(`${node.url}/publish`, "POST", { topic: "r", data: "lost" });
        assert.equal(answer.status, 503, `publish on ${node.name} while Redis is down`);
        assert.match(
          String(answer.headers["retry-after"]),
          /^\d+$/,
          `Retry-After of the 503 on ${node.name}`,
        );
        assert.equal(answer.json.code, "SSEHUB_ERR_BUS_UNAVAILABLE", JSON.stringify(answer.json));
      }
      await waitForStatus(node, "/readyz", 503);
    }
    const heartbeatsBefore = readers.map((reader) => reader.comments);
    for (const [i, reader] of readers.entries()) {
      await waitFor(
        () => reader.comments >= heartbeatsBefore[i]! + 2 || reader.isEnded,
        `heartbeats on ${nodes[i]!.name} while Redis is down`,
      );
      assert.equal(reader.isEnded, false, `the stream on ${nodes[i]!.name} stays open`);
    }
    for (const node of nodes) {
      const answer = await request(`${node.url}/readyz`, "GET");
      assert.equal(answer.status, 503, `${node.name} stays unready while Redis is down`);
    }

    await redis.start();
    for (const node of nodes) {
      const tookMs = await waitForStatus(node, "/readyz", 200);
      t.diagnostic(`${node.name} ready ${tookMs} ms after Redis came back`);
    }
    for (let i = 0; i < 6; i++) published.push(await publish(nodes[i % 2]!, ["r"], `after ${i}`));
    assertIncreasing(published, "publishes before and after the outage");

    for (const [i, reader] of readers.entries()) {
      await waitUntil(() => reader.eventCount >= published.length);
      await sleep(DUPLICATE_WAIT_MS);
      assert.deepEqual(
        seen(reader.events),
        expectedFor(published, ["r"]),
        `subscriber on ${nodes[i]!.name}`,
      );
    }
  });

  it("catches a node partitioned from Redis up on what other nodes published meanwhile", async (t) => {
    const redis = await startRedis(t);
    const proxy = await startTcpProxy(t, redis.port);
    const [cutOff, linked] = (await startNodes(
      t,
      [`redis://127.0.0.1:${proxy.port}`, redis.url],
      ["--heartbeat-ms", "200"],
    )) as [HubNode, HubNode];
    const subscribers: { node: HubNode; topics: string[]; reader: SseReader }[] = [];
    for (const [node, topics] of [
      [cutOff, ["a"]],
      [cutOff, ["a", "b"]],
      [cutOff, ["b"]],
      [linked, ["a", "b"]],
    ] as const) {
      subscribers.push({ node, topics: [...topics], reader: await subscribe(t, node, topics) });
    }
    const topicsOf = (i: number): string[] => (i % 4 === 3 ? ["a", "b"] : [i % 2 ? "b" : "a"]);
    const published: Published[] = [];
    for (let i = 0; i < 6; i++) {
      published.push(await publish(i < 3 ? linked : cutOff, topicsOf(i), `before ${i}`));
    }
    for (const { topics, reader } of subscribers) {
      const expected = expectedFor(published, topics);
      await waitUntil(() => reader.eventCount >= expected.length);
    }

    proxy.cut();
    await waitForStatus(cutOff, "/readyz", 503);
    const refused = await request(`${cutOff.url}/publish`, "POST", { topic: "a", data: "lost" });
    assert.equal(refused.status, 503, `publish on the partitioned ${cutOff.name}`);
    assert.equal(refused.json.code, "SSEHUB_ERR_BUS_UNAVAILABLE", JSON.stringify(refused.json));
    assert.equal((await request(`${linked.url}/readyz`, "GET")).status, 200);
    const heartbeatsBefore = subscribers.map(({ reader }) => reader.comments);
    for (let i = 6; i < 46; i++) published.push(await publish(linked, topicsOf(i), `during ${i}`));
    for (const [i, { node, reader }] of subscribers.entries()) {
      await waitFor(
        () => reader.comments > heartbeatsBefore[i]! || reader.isEnded,
        `heartbeats on ${node.name}`,
      );
      assert.equal(reader.isEnded, false, `the stream on ${node.name} stays open`);
    }

    proxy.restore();
    const tookMs = await waitForStatus(cutOff, "/readyz", 200);
    t.diagnostic(`${cutOff.name} ready ${tookMs} ms after the partition ended`);
    for (const { node, topics, reader } of subscribers) {
      const expected = expectedFor(published, topics);
      await waitUntil(() => reader.eventCount >= expected.length);
      await sleep(DUPLICATE_WAIT_MS);
      assert.deepEqual(
        seen(reader.events),
        expected,
        `subscriber of ${topics.join(",")} on ${node.name} after the partition`,
      );
    }

    for (let i = 46; i < 52; i++) {
      published.push(await publish(i % 2 ? cutOff : linked, topicsOf(i), `after ${i}`));
    }
    assertIncreasing(published, "publishes before, during and after the partition");
    for (const { node, topics, reader } of subscribers) {
      const expected = expectedFor(published, topics);
      await waitUntil(() => reader.eventCount >= expected.length);
      await sleep(DUPLICATE_WAIT_MS);
      assert.deepEqual(
        seen(reader.events),
        expected,
        `subscriber of ${topics.join(",")} on ${node.name}`,
      );
    }
  });
});
