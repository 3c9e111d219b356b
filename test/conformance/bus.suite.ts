/**
 * The contract every Bus keeps (src/bus/bus.ts), run against each implementation.
 * `create(n)` returns n buses that share one order (members of one bus) and a cleanup; it may
 * connect to a server first (Redis), so it may return a promise.
 */
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import type { Bus } from "../../src/bus/bus.js";
import { claimIdempotency } from "../../src/bus/idempotency.js";
import type { PreparedEvent, SequencedEvent } from "../../src/history/stored-event.js";
import { waitFor } from "../helpers/wait-for.js";

export interface BusFixture {
  readonly buses: readonly Bus[];
  close(): void | Promise<void>;
}

function event(data: string, topics: string[] = ["t"]): PreparedEvent {
  return { topics, data, event: undefined, retry: undefined };
}

/**
 * @param maxMembers how many members one bus of this kind can have (a LocalBus has one)
 */
export function runBusConformance(
  name: string,
  create: (members: number, t: TestContext) => BusFixture | Promise<BusFixture>,
  maxMembers: number,
): void {
  describe(`${name} (bus conformance)`, () => {
    it("publish() resolves with the first seq after the events were delivered here", async (t) => {
      const fixture = await create(1, t);
      t.after(() => fixture.close());
      const bus = fixture.buses[0]!;
      const delivered: SequencedEvent[] = [];
      const start = bus.start((events) => delivered.push(...events));
      const first = await bus.publish([event("a"), event("b")]);
      assert.equal(first, start.joinedAfterSeq + 1);
      assert.deepEqual(
        delivered.map((e) => [e.seq, e.data]),
        [
          [first, "a"],
          [first + 1, "b"],
        ],
      );
      assert.ok(delivered.every((e) => typeof e.publishedAt === "number"));
    });

    it("gives every member the same events in the same seq order", async (t) => {
      const fixture = await create(maxMembers, t);
      t.after(() => fixture.close());
      const seen = fixture.buses.map(() => [] as SequencedEvent[]);
      fixture.buses.forEach((bus, i) => {
        bus.start((events) => seen[i]!.push(...events));
      });
      const publishes: Promise<number>[] = [];
      for (let round = 0; round < 20; round++) {
        fixture.buses.forEach((bus, i) => {
          publishes.push(bus.publish([event(`${i}:${round}`, ["t", `m${i}`])]));
        });
      }
      const seqs = await Promise.all(publishes);
      await waitFor(
        () => seen.every((events) => events.length >= seqs.length),
        "every member to be handed every event",
      );
      assert.equal(new Set(seqs).size, seqs.length, "every publish got its own seq");
      for (const events of seen) {
        assert.equal(events.length, seqs.length);
        assert.deepEqual(events, seen[0], "the same events in the same order everywhere");
        for (let i = 1; i < events.length; i++)
          assert.equal(events[i]!.seq, events[i - 1]!.seq + 1);
      }
    });

    it("keeps the events of one publish together and in order", async (t) => {
      const fixture = await create(1, t);
      t.after(() => fixture.close());
      const bus = fixture.buses[0]!;
      const seen: SequencedEvent[] = [];
      bus.start((events) => seen.push(...events));
      const first = await bus.publish([event("1"), event("2"), event("3")]);
      assert.deepEqual(
        seen.filter((e) => e.seq >= first).map((e) => e.data),
        ["1", "2", "3"],
      );
      assert.equal(bus.backlog, 0, "nothing left waiting once answered");
    });

    it("orders a publish once per idempotency key, on any member, and answers its first seq", async (t) => {
      const fixture = await create(maxMembers, t);
      t.after(() => fixture.close());
      const seen = fixture.buses.map(() => [] as SequencedEvent[]);
      fixture.buses.forEach((bus, i) => {
        bus.start((events) => seen[i]!.push(...events));
      });
      const unit = (key: string, data: string[]) =>
        claimIdempotency(
          data.map((d) => event(d)),
          key,
          "batch",
          60_000,
        );
      const first = await fixture.buses[0]!.publish(unit("k1", ["a", "b"]));
      // Retries: on every member, and two in the same turn (they meet in one step).
      const retries = await Promise.all([
        ...fixture.buses.map((bus) => bus.publish(unit("k1", ["a", "b"]))),
        fixture.buses.at(-1)!.publish(unit("k1", ["a", "b"])),
      ]);
      assert.deepEqual(
        retries,
        retries.map(() => first),
      );
      // Two new keys in one turn, one of them twice, between events without a key.
      const [other, plain, again, last] = await Promise.all([
        fixture.buses[0]!.publish(unit("k2", ["c"])),
        fixture.buses[0]!.publish([event("d")]),
        fixture.buses[0]!.publish(unit("k2", ["c"])),
        fixture.buses[0]!.publish(unit("k3", ["e"])),
      ]);
      assert.equal(again, other);
      assert.deepEqual([other, plain, last], [first + 2, first + 3, first + 4]);
      await assert.rejects(fixture.buses.at(-1)!.publish(unit("k1", ["a", "other"])), {
        code: "SSEHUB_ERR_PUBLISH_IDEMPOTENCY_KEY_REUSED",
      });
      await waitFor(
        () => seen.every((events) => events.length >= 5),
        "every member to be handed the events",
      );
      for (const events of seen) {
        assert.deepEqual(
          events.map((e) => [e.seq, e.data]),
          [
            [first, "a"],
            [first + 1, "b"],
            [first + 2, "c"],
            [first + 3, "d"],
            [first + 4, "e"],
          ],
          "each event once",
        );
        assert.ok(
          events.every((e) => !("idempotency" in e)),
          "the claim stays with the sequencer",
        );
      }
      for (const bus of fixture.buses) assert.equal(bus.backlog, 0);
    });
  });
}
