/**
 * The data of every event the load tool publishes: `s=<seq> t=<µs> k=<stream> xxxx...`.
 *
 * - `s`: the sequence number within its stream, from 1, increasing by one.
 * - `t`: the send time, in microseconds of the monotonic clock (CLOCK_MONOTONIC on Linux, shared
 *   by every process of the machine), so a worker process subtracts it from its own clock.
 * - `k`: the stream: the topic's number, or the publishing connection's in the `publish`
 *   scenario, so that sequences stay in order within a stream.
 * - Padding with `x` up to the size asked for.
 *
 * Digits and spaces only: the receiver reads the numbers from the bytes without building a
 * string (stream-scanner.ts), and no JSON or SSE escaping ever applies.
 * @module
 */

/** The fields of a payload. */
export interface Payload {
  readonly seq: number;
  readonly sentUs: number;
  readonly stream: number;
}

/** Padding strings by length, made once. */
const paddings: string[] = [];

function padding(length: number): string {
  let pad = paddings[length];
  if (pad === undefined) {
    pad = "x".repeat(length);
    paddings[length] = pad;
  }
  return pad;
}

/** Now, in microseconds of the monotonic clock shared by the processes of the machine. */
export function monotonicMicros(): number {
  const [seconds, nanos] = process.hrtime();
  return seconds * 1_000_000 + Math.floor(nanos / 1000);
}

/**
 * The data of an event: `s=<seq> t=<sentUs> k=<stream>`, then a space and `x` padding when
 * `size` leaves room (the data is never cut below its fields).
 * @param size the data length to reach, in bytes
 */
export function formatPayload(seq: number, sentUs: number, stream: number, size: number): string {
  const fields = `s=${seq} t=${sentUs} k=${stream}`;
  const room = size - fields.length - 1;
  return room > 0 ? `${fields} ${padding(room)}` : fields;
}

const PAYLOAD = /^s=(\d+) t=(\d+) k=(\d+)(?: |$)/;

/** The fields of `data`, or undefined when it is not a payload of the load tool. */
export function parsePayload(data: string): Payload | undefined {
  const match = PAYLOAD.exec(data);
  if (match === null) return undefined;
  return { seq: Number(match[1]), sentUs: Number(match[2]), stream: Number(match[3]) };
}
