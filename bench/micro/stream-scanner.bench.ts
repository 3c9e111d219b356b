/**
 * Micro benchmark of the load tool's subscriber reader (src/loadgen/stream-scanner.ts), the
 * step every subscriber of `ssehub bench` runs on every read: the HTTP response (chunked or
 * not), then the SSE lines, then the payload fields of each event. It must stay far cheaper
 * than the server it measures, or the load tool becomes the bottleneck.
 *
 * Each case is one response of EVENTS events of SIZE_BYTES of payload data, with ids as ssehub
 * sends them, fed the way the socket hands it over: 64 KiB reads when the subscriber falls
 * behind (a dense stream), or one read per chunk when it keeps up (each server write arrives
 * alone, so the cost per read counts).
 *
 * Beside the wall time of harness.ts, each round's CPU time (process.cpuUsage): on a shared
 * machine, time spent waiting for a core counts in the first and not in the second.
 *
 *   npm run build && node dist/bench/micro/stream-scanner.bench.js
 *
 * Sized by env: EVENTS (per round, default 100000), SIZE_BYTES (payload data, default 100),
 * ROUNDS, WARMUP_ROUNDS (see harness.ts). Not run by the tests.
 * @module
 */
import { formatPayload } from "../../src/loadgen/payload.js";
import { type ScanHandler, StreamScanner } from "../../src/loadgen/stream-scanner.js";
import {
  formatNs,
  formatRate,
  formatRatio,
  measure,
  median,
  printPreamble,
  printTable,
  ROUNDS,
} from "./harness.js";

const EVENTS = Number(process.env.EVENTS ?? 100_000);
const SIZE_BYTES = Number(process.env.SIZE_BYTES ?? 100);
const READ_BYTES = 64 * 1024;

const HEAD_CHUNKED =
  "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n" +
  "Transfer-Encoding: chunked\r\n\r\n";
const HEAD_RAW =
  "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n" +
  "Connection: close\r\n\r\n";

/** Counts what the scanner reports; the sum of the sequence numbers proves every field read. */
class Counter implements ScanHandler {
  events = 0;
  seqSum = 0;

  onHead(status: number): void {
    if (status !== 200) throw new Error(`The scanner read status ${status}`);
  }

  onEvent(_stream: number, seq: number): void {
    this.events++;
    this.seqSum += seq;
  }

  onForeignEvent(): void {
    throw new Error("The scanner did not recognize a payload");
  }
}

/** The SSE frames of EVENTS events, grouped `perWrite` to a server write. */
function writes(perWrite: number): string[] {
  const out: string[] = [];
  let write = "";
  for (let seq = 1; seq <= EVENTS; seq++) {
    write += `id: mf8k2q1a9x3c-${seq}\ndata: ${formatPayload(seq, 1_795_321_573_000 + seq, 0, SIZE_BYTES)}\n\n`;
    if (seq % perWrite === 0 || seq === EVENTS) {
      out.push(write);
      write = "";
    }
  }
  return out;
}

interface Case {
  readonly name: string;
  readonly trackIds: boolean;
  readonly wire: Buffer;
  /** `[start, end)` of each read, in pairs. */
  readonly reads: Int32Array;
}

/** A response of `frames`, each a chunk when `chunked`, read `READ_BYTES` at a time. */
function denseCase(name: string, frames: string[], chunked: boolean, trackIds = false): Case {
  const body = chunked
    ? frames.map((frame) => `${Buffer.byteLength(frame).toString(16)}\r\n${frame}\r\n`)
    : frames;
  const wire = Buffer.from((chunked ? HEAD_CHUNKED : HEAD_RAW) + body.join(""), "latin1");
  const count = Math.ceil(wire.length / READ_BYTES);
  const reads = new Int32Array(count * 2);
  for (let i = 0; i < count; i++) {
    reads[2 * i] = i * READ_BYTES;
    reads[2 * i + 1] = Math.min(wire.length, (i + 1) * READ_BYTES);
  }
  return { name, trackIds, wire, reads };
}

/** A chunked response of `frames` where every chunk arrives in a read of its own. */
function readPerChunkCase(name: string, frames: string[]): Case {
  const parts = [HEAD_CHUNKED];
  for (const frame of frames)
    parts.push(`${Buffer.byteLength(frame).toString(16)}\r\n${frame}\r\n`);
  const reads = new Int32Array(parts.length * 2);
  let at = 0;
  parts.forEach((part, i) => {
    reads[2 * i] = at;
    at += Buffer.byteLength(part, "latin1");
    reads[2 * i + 1] = at;
  });
  return { name, trackIds: false, wire: Buffer.from(parts.join(""), "latin1"), reads };
}

const one = writes(1);
const ten = writes(10);
const cases: Case[] = [
  denseCase("chunked, 1 event a chunk, 64 KiB reads", one, true),
  denseCase("chunked, 10 events a chunk, 64 KiB reads", ten, true),
  denseCase("chunked, 1 event a chunk, 64 KiB reads, ids", one, true, true),
  readPerChunkCase("chunked, 1 event a chunk, a read a chunk", one),
  readPerChunkCase("chunked, 10 events a chunk, a read a chunk", ten),
  denseCase("not chunked, 64 KiB reads", one, false),
];

printPreamble(
  `stream-scanner (${EVENTS.toLocaleString("en-US")} events of ${SIZE_BYTES} bytes of data per round)`,
);
const rows: string[][] = [];
let base = 0;
for (const c of cases) {
  const counter = new Counter();
  const scanner = new StreamScanner(counter, { trackIds: c.trackIds });
  const { wire, reads } = c;
  /** CPU time of every round, warm-up rounds first, in ns. */
  const cpuNs: number[] = [];
  const run = (): number => {
    const cpuBefore = process.cpuUsage();
    scanner.reset();
    counter.events = 0;
    for (let i = 0; i < reads.length; i += 2) scanner.feed(wire, reads[i]!, reads[i + 1]!);
    if (counter.events !== EVENTS) {
      throw new Error(`${c.name}: ${counter.events} events read, ${EVENTS} sent`);
    }
    const cpu = process.cpuUsage(cpuBefore);
    cpuNs.push((cpu.user + cpu.system) * 1000);
    return counter.seqSum;
  };
  const ns = (await measure({ run })) / EVENTS;
  const cpuNsPerEvent = median(cpuNs.slice(-ROUNDS)) / EVENTS;
  if (base === 0) base = ns;
  const wireBytesPerEvent = wire.length / EVENTS;
  rows.push([
    c.name,
    String(reads.length / 2),
    formatNs(ns),
    formatNs(cpuNsPerEvent),
    formatRate(1e9 / ns),
    ((wireBytesPerEvent * 1e9) / ns / 1024 / 1024).toFixed(0),
    formatRatio(ns, base),
  ]);
}
printTable(
  "StreamScanner.feed(): response head, chunked decoding, SSE lines, payload fields",
  ["case", "reads", "ns/event", "CPU ns/event", "events/s", "MB/s", "vs first"],
  rows,
);
