/**
 * Micro benchmark of the SSE encoder (src/protocol/encode.ts), the step the hub runs once per
 * published event (DESIGN principle 1): short single-line data, multi-line data and 1 KB of
 * JSON; with `Buffer.from` after it, as the hub does; the `data:` line splitter beside two
 * alternatives; and serializeData for string and object data.
 *
 *   npm run build && node dist/bench/micro/encode.bench.js
 *
 * Sized by env: ITERATIONS (calls per round, default 200000), ROUNDS, WARMUP_ROUNDS (see
 * harness.ts). Not run by the tests.
 * @module
 */
import { encodeData, encodeEvent, serializeData } from "../../src/protocol/encode.js";
import { formatEventId, newEpoch } from "../../src/protocol/event-id.js";
import {
  formatNs,
  formatRate,
  formatRatio,
  measure,
  printPreamble,
  printTable,
} from "./harness.js";

const ITERATIONS = Number(process.env.ITERATIONS ?? 200_000);
/** Calls per round for the cases that handle about 1 KB per call. */
const ITERATIONS_1K = Math.max(1, Math.round(ITERATIONS / 10));

const ID = formatEventId(newEpoch(), 1_234_567);
const SHORT = "EURUSD 1.08423";
const MULTI_LINE = [
  "first line of a multi-line event",
  "second line of a multi-line event",
  "third line of a multi-line event",
  "fourth line of a multi-line event",
  "fifth line of a multi-line event",
].join("\n");

/** A JSON object whose text is about `bytes` long. */
function jsonObjectOf(bytes: number): Record<string, unknown> {
  const object: Record<string, unknown> = { type: "order-update", seq: 123_456, ts: 1_795_321_573 };
  for (let i = 0; JSON.stringify(object).length < bytes; i++) {
    object[`field${i}`] = i % 3 === 0 ? i * 1.25 : `value number ${i} of the object`;
  }
  return object;
}
const JSON_1K = JSON.stringify(jsonObjectOf(1024));
/** Parsed back, as a publish body arrives: fast properties, unlike the object built above. */
const OBJECT_1K: unknown = JSON.parse(JSON_1K);
/** The same object pretty-printed: about 40 lines. */
const JSON_1K_PRETTY = JSON.stringify(OBJECT_1K, null, 2);

const ANY_LINE_BREAK_G = /\r\n|\r|\n/g;

/** Alternative to encodeData: one global replace. */
function encodeDataReplace(data: string): string {
  return `data: ${data.replace(ANY_LINE_BREAK_G, "\ndata: ")}\n`;
}

/** Alternative to encodeData: one pass over the char codes, slicing each line. */
function encodeDataScan(data: string): string {
  let out = "";
  let start = 0;
  for (let i = 0; i < data.length; i++) {
    const c = data.charCodeAt(i);
    if (c === 10 || c === 13) {
      out += `data: ${data.slice(start, i)}\n`;
      if (c === 13 && data.charCodeAt(i + 1) === 10) i++;
      start = i + 1;
    }
  }
  return `${out}data: ${data.slice(start)}\n`;
}

// The alternatives must produce the same bytes before their speed means anything.
for (const sample of [SHORT, MULTI_LINE, JSON_1K_PRETTY, "a\r\nb\rc\n", "\n", ""]) {
  const expected = encodeData(sample);
  for (const alternative of [encodeDataReplace, encodeDataScan]) {
    if (alternative(sample) !== expected) {
      throw new Error(`${alternative.name} differs from encodeData on ${JSON.stringify(sample)}`);
    }
  }
}

interface Case {
  readonly name: string;
  /** Calls per round: ITERATIONS, or ITERATIONS_1K for the 1 KB cases. */
  readonly calls: number;
  /** Makes `calls` calls; returns the chars produced. */
  readonly run: () => number;
}

async function group(title: string, cases: readonly Case[]): Promise<void> {
  const rows: string[][] = [];
  let base = 0;
  for (const c of cases) {
    const length = c.run() / c.calls;
    const ns = (await measure({ run: c.run })) / c.calls;
    if (base === 0) base = ns;
    rows.push([
      c.name,
      String(Math.round(length)),
      formatNs(ns),
      formatRate(1e9 / ns),
      ((length * 1e9) / ns / 1024 / 1024).toFixed(0),
      formatRatio(ns, base),
    ]);
  }
  printTable(title, ["case", "out chars", "ns/op", "ops/s", "MB/s", "vs first"], rows);
}

printPreamble(
  `encode (${ITERATIONS.toLocaleString("en-US")} calls per round, ${ITERATIONS_1K.toLocaleString("en-US")} for 1 KB cases)`,
);

// encodeEvent answers a rope (the parts are joined lazily); Buffer.from flattens it, so the
// second group is the cost the hub pays per event.
await group("encodeEvent: id + data (the text, joined lazily)", [
  {
    name: "short single-line",
    calls: ITERATIONS,
    run() {
      let total = 0;
      for (let i = 0; i < ITERATIONS; i++) total += encodeEvent({ id: ID, data: SHORT }).length;
      return total;
    },
  },
  {
    name: "short single-line, with event type",
    calls: ITERATIONS,
    run() {
      let total = 0;
      for (let i = 0; i < ITERATIONS; i++) {
        total += encodeEvent({ id: ID, event: "price", data: SHORT }).length;
      }
      return total;
    },
  },
  {
    name: "multi-line (5 lines)",
    calls: ITERATIONS,
    run() {
      let total = 0;
      for (let i = 0; i < ITERATIONS; i++) {
        total += encodeEvent({ id: ID, data: MULTI_LINE }).length;
      }
      return total;
    },
  },
  {
    name: "1 KB JSON, one line",
    calls: ITERATIONS_1K,
    run() {
      let total = 0;
      for (let i = 0; i < ITERATIONS_1K; i++)
        total += encodeEvent({ id: ID, data: JSON_1K }).length;
      return total;
    },
  },
]);

await group("encodeEvent then Buffer.from: the hub's whole encode step per event", [
  {
    name: "short single-line",
    calls: ITERATIONS,
    run() {
      let total = 0;
      for (let i = 0; i < ITERATIONS; i++) {
        total += Buffer.from(encodeEvent({ id: ID, data: SHORT })).length;
      }
      return total;
    },
  },
  {
    name: "multi-line (5 lines)",
    calls: ITERATIONS,
    run() {
      let total = 0;
      for (let i = 0; i < ITERATIONS; i++) {
        total += Buffer.from(encodeEvent({ id: ID, data: MULTI_LINE })).length;
      }
      return total;
    },
  },
  {
    name: "1 KB JSON, one line",
    calls: ITERATIONS_1K,
    run() {
      let total = 0;
      for (let i = 0; i < ITERATIONS_1K; i++) {
        total += Buffer.from(encodeEvent({ id: ID, data: JSON_1K })).length;
      }
      return total;
    },
  },
]);

await group("encodeData on multi-line data: split (ours) vs replace vs char scan", [
  {
    name: "5 lines: encodeData (split)",
    calls: ITERATIONS,
    run() {
      let total = 0;
      for (let i = 0; i < ITERATIONS; i++) total += encodeData(MULTI_LINE).length;
      return total;
    },
  },
  {
    name: "5 lines: replace",
    calls: ITERATIONS,
    run() {
      let total = 0;
      for (let i = 0; i < ITERATIONS; i++) total += encodeDataReplace(MULTI_LINE).length;
      return total;
    },
  },
  {
    name: "5 lines: char scan",
    calls: ITERATIONS,
    run() {
      let total = 0;
      for (let i = 0; i < ITERATIONS; i++) total += encodeDataScan(MULTI_LINE).length;
      return total;
    },
  },
  {
    name: "1 KB pretty JSON: encodeData (split)",
    calls: ITERATIONS_1K,
    run() {
      let total = 0;
      for (let i = 0; i < ITERATIONS_1K; i++) total += encodeData(JSON_1K_PRETTY).length;
      return total;
    },
  },
  {
    name: "1 KB pretty JSON: replace",
    calls: ITERATIONS_1K,
    run() {
      let total = 0;
      for (let i = 0; i < ITERATIONS_1K; i++) total += encodeDataReplace(JSON_1K_PRETTY).length;
      return total;
    },
  },
  {
    name: "1 KB pretty JSON: char scan",
    calls: ITERATIONS_1K,
    run() {
      let total = 0;
      for (let i = 0; i < ITERATIONS_1K; i++) total += encodeDataScan(JSON_1K_PRETTY).length;
      return total;
    },
  },
]);

await group("serializeData: what publish does to the data before encoding", [
  {
    name: "string (kept as it is)",
    calls: ITERATIONS,
    run() {
      let total = 0;
      for (let i = 0; i < ITERATIONS; i++) total += serializeData(JSON_1K).length;
      return total;
    },
  },
  {
    name: "1 KB object (JSON.stringify)",
    calls: ITERATIONS_1K,
    run() {
      let total = 0;
      for (let i = 0; i < ITERATIONS_1K; i++) total += serializeData(OBJECT_1K).length;
      return total;
    },
  },
]);

// Ten short events of one tick into one Buffer: as the hub does it now (a Buffer per event,
// kept for history, joined by the dispatcher) beside joining the text first and making one
// Buffer, whose subarrays could serve history. ns per event.
const TICK_EVENTS = 10;
const TICK_IDS = Array.from({ length: TICK_EVENTS }, (_, i) => formatEventId(newEpoch(), i + 1));
await group(`${TICK_EVENTS} short events of one tick into one Buffer (ns per event)`, [
  {
    name: "Buffer.from per event, Buffer.concat",
    calls: ITERATIONS,
    run() {
      let total = 0;
      const frames: Buffer[] = new Array(TICK_EVENTS);
      for (let i = 0; i < ITERATIONS; i += TICK_EVENTS) {
        for (let j = 0; j < TICK_EVENTS; j++) {
          frames[j] = Buffer.from(encodeEvent({ id: TICK_IDS[j], data: SHORT }));
        }
        total += Buffer.concat(frames).length;
      }
      return total;
    },
  },
  {
    name: "text joined, one Buffer.from",
    calls: ITERATIONS,
    run() {
      let total = 0;
      for (let i = 0; i < ITERATIONS; i += TICK_EVENTS) {
        let text = "";
        for (let j = 0; j < TICK_EVENTS; j++) text += encodeEvent({ id: TICK_IDS[j], data: SHORT });
        total += Buffer.from(text).length;
      }
      return total;
    },
  },
]);
