/**
 * Micro benchmark of the hub's fan-out (src/hub: publish -> encode once -> history ->
 * dispatcher -> one write per subscriber per turn), without sockets: every subscriber's sink
 * is an in-memory counter, so what is timed is the hub's own work per delivery.
 *
 * One turn publishes K events to every topic, awaits the publishes, then waits one
 * `setImmediate`, in which the dispatcher flushes. A delivery is one event reaching one
 * subscriber. K = 1, 10, 100 side by side show what batching per turn buys (DESIGN
 * principle 2). Topologies:
 *   - 1 topic x SUBSCRIBERS subscribers
 *   - SUBSCRIBERS topics x 1 subscriber
 *   - SUBSCRIBERS subscribers on 3 of 100 topics each (100 distinct topic sets)
 *   - SUBSCRIBERS subscribers on 3 random topics of SUBSCRIBERS (about SUBSCRIBERS distinct sets)
 *
 *   npm run build && node dist/bench/micro/dispatch.bench.js
 *
 * Sized by env: SUBSCRIBERS (default 1000), ROUND_MS (target time of a round, default 100),
 * ROUNDS, WARMUP_ROUNDS (see harness.ts). Not run by the tests.
 * @module
 */
import { createHub, type Hub } from "../../src/hub/hub.js";
import type { PublishInput } from "../../src/hub/publish-input.js";
import type { Sink } from "../../src/hub/sink.js";
import {
  formatNs,
  formatRate,
  measure,
  printPreamble,
  printTable,
  ROUNDS,
  WARMUP_ROUNDS,
} from "./harness.js";

const SUBSCRIBERS = Number(process.env.SUBSCRIBERS ?? 1000);
const ROUND_MS = Number(process.env.ROUND_MS ?? 100);
/** About 100 bytes of JSON, the size of a price tick. */
const DATA = JSON.stringify({ symbol: "EURUSD", bid: 1.08423, ask: 1.08431, ts: 1_795_321_573 });

/** The smallest sink: counts writes and bytes, never queues, never closes by itself. */
class CountingSink implements Sink {
  writes = 0;
  bytes = 0;
  queuedBytes = 0;
  isClosed = false;

  write(chunk: Buffer | string): void {
    this.writes++;
    this.bytes += chunk.length;
  }

  close(): void {
    this.isClosed = true;
  }

  destroy(): void {
    this.isClosed = true;
  }
}

interface Topology {
  readonly name: string;
  readonly topics: readonly string[];
  /** The topics of each subscriber. */
  readonly subscriptions: readonly (readonly string[])[];
  /** Events per topic per turn to try. */
  readonly perTopic: readonly number[];
}

function topicNames(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `topic-${i}`);
}

/** A small deterministic PRNG (mulberry32), so every run builds the same topology. */
function randomOf(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function topologies(): Topology[] {
  const one = topicNames(1);
  const many = topicNames(SUBSCRIBERS);
  const hundred = topicNames(100);
  const random = randomOf(42);
  return [
    {
      name: `1 topic x ${SUBSCRIBERS} subscribers`,
      topics: one,
      subscriptions: Array.from({ length: SUBSCRIBERS }, () => one),
      perTopic: [1, 10, 100],
    },
    {
      name: `${SUBSCRIBERS} topics x 1 subscriber`,
      topics: many,
      subscriptions: many.map((topic) => [topic]),
      perTopic: [1, 10, 100],
    },
    {
      name: `${SUBSCRIBERS} subscribers on 3 of 100 topics (100 distinct sets)`,
      topics: hundred,
      subscriptions: Array.from({ length: SUBSCRIBERS }, (_, i) =>
        [0, 1, 2].map((j) => hundred[(i + j) % 100]!),
      ),
      perTopic: [1, 10, 100],
    },
    {
      name: `${SUBSCRIBERS} subscribers on 3 random of ${SUBSCRIBERS} topics (distinct sets)`,
      topics: many,
      subscriptions: Array.from({ length: SUBSCRIBERS }, () => {
        const picked = new Set<string>();
        while (picked.size < 3) picked.add(many[Math.floor(random() * many.length)]!);
        return [...picked];
      }),
      perTopic: [1, 10],
    },
  ];
}

/**
 * Publishes `inputs`, waits for every publish (publish answers a promise), then for the
 * dispatcher: its `setImmediate` was scheduled by the first publish, before ours.
 */
async function turn(hub: Hub, inputs: readonly PublishInput[]): Promise<void> {
  const pending: Promise<unknown>[] = [];
  for (const input of inputs) {
    const result: unknown = hub.publish(input);
    if (result instanceof Promise) pending.push(result);
  }
  if (pending.length > 0) await Promise.all(pending);
  await new Promise<void>((resolve) => setImmediate(resolve));
}

interface Row {
  readonly perTopic: number;
  readonly events: number;
  readonly deliveries: number;
  readonly nsPerDelivery: number;
  readonly nsPerEvent: number;
  readonly writesPerSubscriber: number;
}

async function measureTopology(topology: Topology, perTopic: number): Promise<Row> {
  const hub = createHub({ heartbeatMs: 3_600_000 });
  const sinks = topology.subscriptions.map((topics) => {
    const sink = new CountingSink();
    hub.subscribe({ topics, sink });
    return sink;
  });
  const inputs: PublishInput[] = [];
  for (let k = 0; k < perTopic; k++) {
    for (const topic of topology.topics) inputs.push({ topic, data: DATA });
  }
  const expectedPerTurn = topology.subscriptions.reduce(
    (sum, topics) => sum + topics.length * perTopic,
    0,
  );

  // Size a round to about ROUND_MS from a few timed turns.
  for (let i = 0; i < 3; i++) await turn(hub, inputs);
  const start = process.hrtime.bigint();
  for (let i = 0; i < 3; i++) await turn(hub, inputs);
  const turnNs = Number(process.hrtime.bigint() - start) / 3;
  const turns = Math.max(1, Math.min(100_000, Math.round((ROUND_MS * 1e6) / turnNs)));

  const writesBefore = sinks.reduce((sum, sink) => sum + sink.writes, 0);
  const ns = await measure({
    async run() {
      const before = hub.stats().deliveries;
      for (let i = 0; i < turns; i++) await turn(hub, inputs);
      const delivered = hub.stats().deliveries - before;
      if (delivered !== expectedPerTurn * turns) {
        throw new Error(
          `${topology.name}: ${delivered} deliveries, expected ${expectedPerTurn * turns}`,
        );
      }
      return delivered;
    },
  });
  const writes = sinks.reduce((sum, sink) => sum + sink.writes, 0) - writesBefore;
  await hub.close();
  const deliveries = expectedPerTurn * turns;
  return {
    perTopic,
    events: inputs.length,
    deliveries: expectedPerTurn,
    nsPerDelivery: ns / deliveries,
    nsPerEvent: ns / (inputs.length * turns),
    writesPerSubscriber: writes / ((WARMUP_ROUNDS + ROUNDS) * turns * sinks.length),
  };
}

printPreamble(`dispatch (rounds of about ${ROUND_MS} ms)`);
for (const topology of topologies()) {
  const rows: string[][] = [];
  for (const perTopic of topology.perTopic) {
    const row = await measureTopology(topology, perTopic);
    rows.push([
      String(row.perTopic),
      row.events.toLocaleString("en-US"),
      row.deliveries.toLocaleString("en-US"),
      formatNs(row.nsPerDelivery),
      formatRate(1e9 / row.nsPerDelivery),
      formatNs(row.nsPerEvent),
      row.writesPerSubscriber.toFixed(2),
    ]);
  }
  printTable(
    topology.name,
    [
      "events/topic/turn",
      "events/turn",
      "deliveries/turn",
      "ns/delivery",
      "deliveries/s",
      "ns/event",
      "writes/sub/turn",
    ],
    rows,
  );
}
