/**
 * Micro benchmark of the SSE parser (src/protocol/parse.ts): how many events and megabytes per
 * second one core parses, fed as a client gets them (byte chunks off the socket) and as text.
 * eventsource-parser runs beside it on the same input, as a reference.
 *
 *   npm run build && node dist/bench/micro/parse.bench.js
 *
 * Sized by env: BENCH_MB (stream size, default 32), CHUNK_BYTES (default 65536), ROUNDS
 * (measured rounds, default 7). Prints the median round. Not run by the tests.
 * @module
 */
import { createParser } from "eventsource-parser";
import { encodeEvent } from "../../src/protocol/encode.js";
import { SseParser } from "../../src/protocol/parse.js";

const STREAM_BYTES = Number(process.env.BENCH_MB ?? 32) * 1024 * 1024;
const CHUNK_BYTES = Number(process.env.CHUNK_BYTES ?? 65_536);
const ROUNDS = Number(process.env.ROUNDS ?? 7);

/** A stream shaped like a hub's: ids, some types, JSON data, a few multi-line events. */
function buildStream(): { bytes: Uint8Array; events: number } {
  const parts: string[] = [": ok\n\n", "retry: 3000\n\n"];
  let size = 0;
  let events = 0;
  for (let seq = 1; size < STREAM_BYTES; seq++) {
    const frame =
      seq % 50 === 0
        ? encodeEvent({
            id: `mf8k2q1a9x3c-${seq}`,
            event: "report",
            data: "line one\nline two\nline three",
          })
        : encodeEvent({
            id: `mf8k2q1a9x3c-${seq}`,
            event: seq % 3 === 0 ? "price" : undefined,
            data: JSON.stringify({ symbol: "EURUSD", bid: 1.0842 + seq / 1e7, seq }),
          });
    parts.push(frame);
    size += frame.length;
    events++;
    if (seq % 1000 === 0) parts.push(":\n\n");
  }
  return { bytes: new TextEncoder().encode(parts.join("")), events };
}

function chunksOf(bytes: Uint8Array): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += CHUNK_BYTES)
    chunks.push(bytes.subarray(i, i + CHUNK_BYTES));
  return chunks;
}

interface Candidate {
  readonly name: string;
  /** Parses every chunk with a fresh parser, returns the number of events seen. */
  run(): number;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

function measure(candidate: Candidate, expectedEvents: number, totalBytes: number): void {
  // Two warm-up rounds let the JIT settle before the measured ones.
  for (let i = 0; i < 2; i++) candidate.run();
  const seconds: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const start = process.hrtime.bigint();
    const seen = candidate.run();
    seconds.push(Number(process.hrtime.bigint() - start) / 1e9);
    if (seen !== expectedEvents) {
      throw new Error(`${candidate.name} saw ${seen} events, expected ${expectedEvents}`);
    }
  }
  const s = median(seconds);
  const eventsPerSecond = Math.round(expectedEvents / s).toLocaleString("en-US");
  const mbPerSecond = (totalBytes / 1024 / 1024 / s).toFixed(1);
  console.log(
    `${candidate.name.padEnd(46)} ${eventsPerSecond.padStart(12)} events/s ${mbPerSecond.padStart(8)} MB/s  (median of ${ROUNDS}, ${(s * 1000).toFixed(1)} ms)`,
  );
}

const { bytes, events } = buildStream();
const byteChunks = chunksOf(bytes);
const textChunks = (() => {
  const decoder = new TextDecoder();
  return byteChunks.map((chunk) => decoder.decode(chunk, { stream: true }));
})();

const candidates: Candidate[] = [
  {
    name: "SseParser, byte chunks",
    run() {
      let count = 0;
      const parser = new SseParser({ onEvent: () => count++ });
      for (const chunk of byteChunks) parser.feed(chunk);
      return count;
    },
  },
  {
    name: "SseParser, text chunks",
    run() {
      let count = 0;
      const parser = new SseParser({ onEvent: () => count++ });
      for (const chunk of textChunks) parser.feed(chunk);
      return count;
    },
  },
  {
    name: "eventsource-parser, byte chunks (TextDecoder)",
    run() {
      let count = 0;
      const parser = createParser({ onEvent: () => count++ });
      const decoder = new TextDecoder();
      for (const chunk of byteChunks) parser.feed(decoder.decode(chunk, { stream: true }));
      return count;
    },
  },
  {
    name: "eventsource-parser, text chunks",
    run() {
      let count = 0;
      const parser = createParser({ onEvent: () => count++ });
      for (const chunk of textChunks) parser.feed(chunk);
      return count;
    },
  },
];

console.log(
  `parse: ${events.toLocaleString("en-US")} events, ${(bytes.length / 1024 / 1024).toFixed(1)} MB in ${byteChunks.length} chunks of ${CHUNK_BYTES} bytes, Node ${process.version}`,
);
for (const candidate of candidates) measure(candidate, events, bytes.length);
