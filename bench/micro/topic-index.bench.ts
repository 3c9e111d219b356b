/**
 * Micro benchmark of the topic index (src/hub/topic-index.ts): add, remove, a reconnect
 * (remove then add) and lookup, at SUBSCRIBERS subscribers laid out three ways: all on one
 * topic, one topic each, three topics each out of SUBSCRIBERS / 10. Lookups run beside a plain
 * Map<string, Set> get, the floor the index adds its bookkeeping to. DESIGN principle 3 asks
 * for O(1) lookup: the ns per operation should not grow with SUBSCRIBERS.
 *
 *   npm run build && node dist/bench/micro/topic-index.bench.js
 *
 * Sized by env: SUBSCRIBERS (default 10000), LOOKUPS (per round, default 1000000), ROUNDS,
 * WARMUP_ROUNDS (see harness.ts). Not run by the tests.
 * @module
 */
import { type IndexedSubscriber, NORMAL_LANE, TopicIndex } from "../../src/hub/topic-index.js";
import {
  formatNs,
  formatRate,
  formatRatio,
  measure,
  printPreamble,
  printTable,
} from "./harness.js";

const SUBSCRIBERS = Number(process.env.SUBSCRIBERS ?? 10_000);
const LOOKUPS = Number(process.env.LOOKUPS ?? 1_000_000);
/** Indexes built and emptied per round of add and remove: about 100,000 operations. */
const COPIES = Math.max(1, Math.ceil(100_000 / SUBSCRIBERS));

/** A subscriber as the index sees it: its topics and its lane, nothing else. */
class Member implements IndexedSubscriber {
  readonly topics: readonly string[];
  readonly lane = NORMAL_LANE;

  constructor(topics: readonly string[]) {
    this.topics = topics;
  }
}

interface Layout {
  readonly name: string;
  readonly members: readonly Member[];
  /** The topics that have subscribers, for lookups. */
  readonly topics: readonly string[];
}

function topicNames(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `topic-${i}`);
}

function layouts(): Layout[] {
  const one = topicNames(1);
  const each = topicNames(SUBSCRIBERS);
  const tenth = topicNames(Math.max(3, Math.floor(SUBSCRIBERS / 10)));
  return [
    {
      name: `${SUBSCRIBERS} subscribers on 1 topic`,
      members: Array.from({ length: SUBSCRIBERS }, () => new Member(one)),
      topics: one,
    },
    {
      name: `${SUBSCRIBERS} subscribers on 1 topic each`,
      members: each.map((topic) => new Member([topic])),
      topics: each,
    },
    {
      name: `${SUBSCRIBERS} subscribers on 3 of ${tenth.length} topics each`,
      members: Array.from(
        { length: SUBSCRIBERS },
        (_, i) => new Member([0, 1, 2].map((j) => tenth[(i * 7 + j) % tenth.length]!)),
      ),
      topics: tenth,
    },
  ];
}

function filled(members: readonly Member[]): TopicIndex<Member> {
  const index = new TopicIndex<Member>();
  for (const member of members) index.add(member);
  return index;
}

/** Runs each case; answers rows of name, ns/op, ops/s, ratio to the first. */
async function rowsOf(
  cases: readonly { name: string; ops: number; prepare?: () => void; run: () => number }[],
): Promise<string[][]> {
  const rows: string[][] = [];
  let base = 0;
  for (const c of cases) {
    const ns = (await measure(c)) / c.ops;
    if (base === 0) base = ns;
    rows.push([c.name, formatNs(ns), formatRate(1e9 / ns), formatRatio(ns, base)]);
  }
  return rows;
}

printPreamble("topic-index");
const headers = ["case", "ns/op", "ops/s", "vs first"];

for (const layout of layouts()) {
  const { members, topics } = layout;
  // Each round works on COPIES indexes, so that a round lasts long enough to time well.
  let indexes: TopicIndex<Member>[] = [];
  const ops = members.length * COPIES;
  const rows = await rowsOf([
    {
      name: "add (into an empty index)",
      ops,
      prepare() {
        indexes = Array.from({ length: COPIES }, () => new TopicIndex<Member>());
      },
      run() {
        let total = 0;
        for (const index of indexes) {
          for (const member of members) index.add(member);
          total += index.subscriptionCount;
        }
        return total;
      },
    },
    {
      name: "remove (down to empty)",
      ops,
      prepare() {
        indexes = Array.from({ length: COPIES }, () => filled(members));
      },
      run() {
        let total = 0;
        for (const index of indexes) {
          for (const member of members) index.remove(member);
          total += index.topicCount;
        }
        return total;
      },
    },
    {
      name: "reconnect (remove + add, index full)",
      ops,
      prepare() {
        indexes = Array.from({ length: COPIES }, () => filled(members));
      },
      run() {
        let total = 0;
        for (const index of indexes) {
          for (const member of members) {
            index.remove(member);
            index.add(member);
          }
          total += index.subscriptionCount;
        }
        return total;
      },
    },
  ]);
  indexes = [];
  printTable(`${layout.name}: add and remove, ns per subscriber`, headers, rows);

  // Lookups: each round walks the topics LOOKUPS times in all.
  const full = filled(members);
  const plain = new Map<string, Set<Member>>();
  for (const member of members) {
    for (const topic of member.topics) {
      const set = plain.get(topic);
      if (set === undefined) plain.set(topic, new Set([member]));
      else set.add(member);
    }
  }
  const missing = topics.map((topic) => `${topic}-absent`);
  const lookupRows = await rowsOf([
    {
      name: "TopicIndex.subscribersOf, hit",
      ops: LOOKUPS,
      run() {
        let total = 0;
        for (let i = 0, t = 0; i < LOOKUPS; i++, t = t + 1 === topics.length ? 0 : t + 1) {
          total += full.subscribersOf(topics[t]!)?.size ?? 0;
        }
        return total;
      },
    },
    {
      name: "TopicIndex.subscribersOf, miss",
      ops: LOOKUPS,
      run() {
        let total = 0;
        for (let i = 0, t = 0; i < LOOKUPS; i++, t = t + 1 === missing.length ? 0 : t + 1) {
          total += full.subscribersOf(missing[t]!)?.size ?? 0;
        }
        return total;
      },
    },
    {
      name: "plain Map.get, hit (the floor)",
      ops: LOOKUPS,
      run() {
        let total = 0;
        for (let i = 0, t = 0; i < LOOKUPS; i++, t = t + 1 === topics.length ? 0 : t + 1) {
          total += plain.get(topics[t]!)?.size ?? 0;
        }
        return total;
      },
    },
  ]);
  printTable(`${layout.name}: lookup by topic, ns per lookup`, headers, lookupRows);
}
