/**
 * Resume is exact: subscribers on several topics that drop their connection at random points
 * while events are published, and come back with Last-Event-ID, end up with every event of their
 * topics once, in order. All over real sockets.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ParsedEvent } from "../../src/protocol/parse.js";
import { SseReader } from "../helpers/sse-reader.js";
import { postJson, startHub } from "../helpers/start-hub.js";
import { waitFor } from "../helpers/wait-for.js";

const TOPICS = ["t0", "t1", "t2", "t3", "t4"];

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

/** A subscriber that reconnects with Last-Event-ID after cutting its connection at random. */
class FlakySubscriber {
  readonly received: ParsedEvent[] = [];
  readonly topics: string[];
  reconnects = 0;
  resets = 0;
  #reader: SseReader | undefined;
  #stopped = false;
  #url: string;
  #next: () => number;

  constructor(url: string, topics: string[], next: () => number) {
    this.#url = `${url}/events?${topics.map((t) => `topic=${t}`).join("&")}`;
    this.topics = topics;
    this.#next = next;
  }

  async connect(): Promise<void> {
    const lastEventId = this.received.at(-1)?.lastEventId;
    let cutAfter = this.received.length + 20 + Math.floor(this.#next() * 300);
    // Events can arrive before open() resolves, so the cut may be decided before `reader` is set.
    let reader: SseReader | undefined;
    let cut = false;
    reader = await SseReader.open(this.#url, {
      keepEvents: false,
      ...(lastEventId === undefined ? {} : { lastEventId }),
      onEvent: (event) => {
        if (event.type === "ssehub-reset") this.resets++;
        else this.received.push(event);
        if (this.received.length >= cutAfter && !this.#stopped) {
          cutAfter = Number.POSITIVE_INFINITY;
          cut = true;
          reader?.close();
        }
      },
    });
    if (cut) reader.close();
    this.#reader = reader;
    void reader.ended.then(async () => {
      if (this.#stopped) return;
      this.reconnects++;
      await new Promise((resolve) => setTimeout(resolve, Math.floor(this.#next() * 20)));
      if (this.#stopped) return;
      await this.connect().catch((error: unknown) => {
        // A reconnection under way when the test stopped may meet the server shutting down.
        if (!this.#stopped) throw error;
      });
    });
  }

  stop(): void {
    this.#stopped = true;
    this.#reader?.close();
  }
}

describe("resume after reconnect", () => {
  it("loses, repeats and reorders nothing while subscribers drop and resume at random", async (t) => {
    const { url } = await startHub(t, { historyMaxEvents: 100_000 });
    const next = random(20261122);
    const subscribers: FlakySubscriber[] = [];
    for (let i = 0; i < 8; i++) {
      const topics = TOPICS.filter(() => next() < 0.4);
      if (topics.length === 0) topics.push(TOPICS[i % TOPICS.length]!);
      subscribers.push(new FlakySubscriber(url, topics, next));
    }
    t.after(() => {
      for (const s of subscribers) s.stop();
    });
    await Promise.all(subscribers.map((s) => s.connect()));

    const published: { data: string; topics: string[] }[] = [];
    const TOTAL = 3000;
    while (published.length < TOTAL) {
      const batchSize = next() < 0.2 ? 1 + Math.floor(next() * 20) : 1;
      const batch = [];
      for (let i = 0; i < batchSize && published.length < TOTAL; i++) {
        const topics = TOPICS.filter(() => next() < 0.3);
        if (topics.length === 0) topics.push(TOPICS[Math.floor(next() * TOPICS.length)]!);
        const event = { data: `${published.length}`, topics };
        published.push(event);
        batch.push(event);
      }
      const answer = await postJson(`${url}/publish`, batch.length === 1 ? batch[0] : batch);
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
    }

    for (const subscriber of subscribers) {
      const expected = published
        .filter((e) => e.topics.some((topic) => subscriber.topics.includes(topic)))
        .map((e) => e.data);
      await waitFor(() => subscriber.received.length >= expected.length).catch(() => {
        // the assert below says what is missing
      });
      assert.deepEqual(
        subscriber.received.map((e) => e.data),
        expected,
        `subscriber of ${subscriber.topics.join(",")} after ${subscriber.reconnects} reconnects`,
      );
      assert.equal(subscriber.resets, 0);
      assert.ok(subscriber.reconnects >= 1, "the subscriber did reconnect");
    }
    // Stopped before the server closes (the after hooks close it first): a subscriber that cut
    // its connection on its last event must not reconnect into the shutdown and be refused.
    for (const subscriber of subscribers) subscriber.stop();
  });

  it("sends a reset, then what history still holds, then live events, when history no longer covers the gap", async (t) => {
    const { url } = await startHub(t, { historyMaxEvents: 10 });
    const first = await SseReader.open(`${url}/events/news`);
    t.after(() => first.close());
    await postJson(`${url}/publish`, { topic: "news", data: "seen" });
    await first.waitForEvents(1);
    const lastEventId = first.lastEventId!;
    first.close();
    for (let i = 0; i < 30; i++) await postJson(`${url}/publish`, { topic: "news", data: `${i}` });

    const again = await SseReader.open(`${url}/events/news`, { lastEventId });
    t.after(() => again.close());
    await postJson(`${url}/publish`, { topic: "news", data: "live" });
    await again.waitForEvents(12);
    const [reset, ...rest] = again.events;
    assert.equal(reset?.type, "ssehub-reset");
    assert.equal(JSON.parse(reset!.data).reason, "history-evicted");
    // History keeps the newest 10 (20..29): they follow the notice, none skipped, then live.
    assert.deepEqual(
      rest.map((e) => e.data),
      [...Array.from({ length: 10 }, (_, i) => `${20 + i}`), "live"],
    );
  });
});
