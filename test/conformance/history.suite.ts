/**
 * The contract every HistoryStore keeps (src/history/history-store.ts), run against each
 * implementation. A shared store (Redis) is written by the bus's ordering step, not by
 * `append`, so a fixture publishes through whatever feeds its store, and may read back through
 * several stores (a node that saw the events, one that joined afterwards).
 */
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import type { HistoryRead, HistoryStore, StoredEvent } from "../../src/history/history-store.js";
import type { PreparedEvent } from "../../src/history/stored-event.js";
import { waitFor } from "../helpers/wait-for.js";

/** Limits of the store under test. */
export interface HistoryLimits {
  readonly maxEvents: number;
  readonly maxAgeMs: number;
}

export interface HistoryFixture {
  /** Orders and keeps `events` (in this order); resolves with them as stored. */
  publish(events: readonly PreparedEvent[]): Promise<StoredEvent[]>;
  /** The stores to read back through, after the publishes; each must answer the same. */
  readers(): Promise<readonly HistoryStore[]>;
  close(): void | Promise<void>;
}

function event(data: string, topics: string[]): PreparedEvent {
  return { topics, data, event: undefined, retry: undefined };
}

function summary(events: readonly StoredEvent[]): [number, string, readonly string[]][] {
  return events.map((e) => [e.seq, e.data, e.topics]);
}

export function runHistoryConformance(
  name: string,
  create: (limits: HistoryLimits, t: TestContext) => Promise<HistoryFixture>,
  options: { readonly skip?: string | false } = {},
): void {
  describe(`${name} (history conformance)`, { skip: options.skip ?? false }, () => {
    it("readAfter() merges the topics' events after a seq, in seq order, each once", async (t) => {
      const fixture = await create({ maxEvents: 100, maxAgeMs: 60_000 }, t);
      t.after(() => fixture.close());
      const stored = await fixture.publish([
        event("a1", ["a"]),
        event("b1", ["b"]),
        event("ab", ["a", "b"]),
        event("c1", ["c"]),
        event("a2", ["a"]),
      ]);
      for (const store of await fixture.readers()) {
        const all = await store.readAfter(["a", "b"], 0);
        assert.equal(all.complete, true);
        assert.deepEqual(summary(all.events), summary([0, 1, 2, 4].map((i) => stored[i]!)));
        const later = await store.readAfter(["b", "a"], stored[1]!.seq);
        assert.deepEqual(summary(later.events), summary([stored[2]!, stored[4]!]));
        const frame = later.events[0]!.bytes.toString();
        assert.equal(frame, `id: ${stored[2]!.id}\ndata: ab\n\n`);
      }
    });

    it("readAfter() keeps event type, retry, key, the private flag and ids of the store's epoch", async (t) => {
      const fixture = await create({ maxEvents: 100, maxAgeMs: 60_000 }, t);
      t.after(() => fixture.close());
      const [stored] = await fixture.publish([
        {
          topics: ["x"],
          data: "line 1\nline 2",
          event: "tick",
          retry: 1500,
          key: "k1",
          private: true,
        },
      ]);
      for (const store of await fixture.readers()) {
        const read = await store.readAfter(["x"], 0);
        const got = read.events[0]!;
        assert.deepEqual(
          [got.id, got.event, got.key, got.private, got.data, got.bytes.toString()],
          [stored!.id, "tick", "k1", true, "line 1\nline 2", stored!.bytes.toString()],
        );
      }
    });

    it("readAfter() is complete and empty for a topic that never had an event", async (t) => {
      const fixture = await create({ maxEvents: 100, maxAgeMs: 60_000 }, t);
      t.after(() => fixture.close());
      await fixture.publish([event("a1", ["a"])]);
      for (const store of await fixture.readers()) {
        assert.deepEqual(await store.readAfter(["nothing-here"], 0), {
          events: [],
          complete: true,
        });
      }
    });

    it("past the count limit, a read from before the evicted events is incomplete", async (t) => {
      const fixture = await create({ maxEvents: 3, maxAgeMs: 60_000 }, t);
      t.after(() => fixture.close());
      const stored = await fixture.publish(
        ["1", "2", "3", "4", "5"].map((data) => event(data, ["a"])),
      );
      for (const store of await fixture.readers()) {
        const fromStart = await store.readAfter(["a"], 0);
        assert.equal(fromStart.complete, false, "events 1 and 2 were evicted");
        const kept = await store.readAfter(["a"], stored[1]!.seq);
        assert.equal(kept.complete, true);
        assert.deepEqual(
          kept.events.map((e) => e.data),
          ["3", "4", "5"],
        );
      }
    });

    it("past the age limit, events leave and a read that needed them is incomplete", async (t) => {
      // Ages come from the real clock (a shared store stamps events with its server's time), so
      // the test cannot move time by hand. It waits until the old event has aged out, then
      // checks a fresh event in a round that read it back within maxAgeMs of publishing it: a
      // round that the machine made slower than that proves nothing, so it is tried again.
      const maxAgeMs = 1000;
      const fixture = await create({ maxEvents: 100, maxAgeMs }, t);
      t.after(() => fixture.close());
      const [old] = await fixture.publish([event("old", ["a"])]);
      const stores = await fixture.readers();
      await waitFor(async () => {
        for (const store of stores) {
          store.expire(Date.now());
          const all = await store.readAfter(["a"], 0);
          if (all.complete || all.events.some((e) => e.data === "old")) return false;
        }
        return true;
      }, "the old event to age out");
      /** The newest event that may have aged out by now. */
      let agedOut = old!;
      await waitFor(async () => {
        const publishedFrom = Date.now();
        const [fresh] = await fixture.publish([event("fresh", ["a"])]);
        const reads: { all: HistoryRead; after: HistoryRead }[] = [];
        for (const store of await fixture.readers()) {
          store.expire(Date.now());
          const all = await store.readAfter(["a"], 0);
          reads.push({ all, after: await store.readAfter(["a"], agedOut.seq) });
        }
        if (Date.now() - publishedFrom >= maxAgeMs) {
          agedOut = fresh!;
          return false;
        }
        for (const { all, after } of reads) {
          assert.equal(all.complete, false, "the old event is gone");
          assert.ok(all.events.every((e) => e.data !== "old"));
          assert.equal(after.complete, true);
          assert.deepEqual(
            after.events.map((e) => e.id),
            [fresh!.id],
          );
        }
        return true;
      }, "a round that reads a fresh event back within maxAgeMs");
    });

    it("with a limit of 0 events nothing is kept, and a read after published events is incomplete", async (t) => {
      const fixture = await create({ maxEvents: 0, maxAgeMs: 60_000 }, t);
      t.after(() => fixture.close());
      await fixture.publish([event("1", ["a"]), event("2", ["a"])]);
      for (const store of await fixture.readers()) {
        const read = await store.readAfter(["a"], 0);
        assert.deepEqual([read.events.length, read.complete], [0, false]);
      }
    });
  });
}
