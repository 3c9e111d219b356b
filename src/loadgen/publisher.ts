/**
 * The publisher of the load tool, in the controller process: events with the tool's payload
 * (payload.ts) over PublishConnections, either at a fixed rate (fanout, topics, churn) or as
 * fast as the server answers (publish).
 *
 * At a rate, a 1 ms timer sends the events that are due since the start, so the average rate
 * holds whatever the timer's jitter; the events of one tick leave in one write per connection.
 * A stream's events always travel on the same connection, pipelined, so the server receives
 * them in sequence order: any reordering a subscriber sees happened inside the server.
 *
 * Answers come back in the order of the requests, so the publisher keeps, per connection, the
 * stream and sequence number of every request in flight and knows which ones the server
 * refused (non-2xx) or never answered (connection closed): `refused`.
 * @module
 */
import { Histogram } from "./histogram.js";
import { formatPayload, monotonicMicros } from "./payload.js";
import { PublishConnection, type PublishConnectionHandler } from "./publish-connection.js";
import type { StreamSeq } from "./seq-tracker.js";
import type { Target } from "./targets.js";

/** Requests in flight per connection before the rate publisher holds back. */
const MAX_IN_FLIGHT = 4096;
/** The rate publisher's tick, in ms. */
const TICK_MS = 1;
/** How long to wait for the last answers once publishing stops, in ms. */
const SETTLE_TIMEOUT_MS = 10_000;
/** Pause before a flood connection that lost its socket tries again, in ms. */
const FLOOD_RETRY_MS = 10;

/** Options of a Publisher. */
export interface PublisherOptions {
  readonly target: Target;
  /** The name of topic `index`. */
  readonly topicName: (index: number) => string;
  /** The data size of every event, in bytes. */
  readonly sizeBytes: number;
  /** Keep-alive connections to open. */
  readonly connections: number;
  /** How many streams (sequence counters) to keep. */
  readonly streams: number;
}

/** What one run of the publisher did. */
export interface PublishReport {
  /** Requests written. */
  readonly sent: number;
  /** Answered 2xx. */
  readonly ok: number;
  /** Answered otherwise, or lost with their connection. */
  readonly errors: number;
  readonly statusCodes: Readonly<Record<string, number>>;
  /** From writing a request to reading its whole answer, in µs. */
  readonly latency: Histogram;
  /** How long the publisher ran, in seconds (answers to the last requests not included). */
  readonly seconds: number;
}

/** The stream and sequence number of each request of one connection in flight, oldest first. */
class InFlightEvents {
  /** Pairs: stream, seq, stream, seq, ... */
  #pairs: number[] = [];
  #head = 0;

  push(stream: number, seq: number): void {
    this.#pairs.push(stream, seq);
  }

  /** Takes the oldest request's pair off; undefined when none is known. */
  shift(): StreamSeq | undefined {
    if (this.#head >= this.#pairs.length) return undefined;
    const pair: StreamSeq = [this.#pairs[this.#head]!, this.#pairs[this.#head + 1]!];
    this.#head += 2;
    if (this.#head > 2048 && this.#head * 2 > this.#pairs.length) {
      this.#pairs = this.#pairs.slice(this.#head);
      this.#head = 0;
    }
    return pair;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Publishes the tool's events; keeps the last sequence number of every stream across runs. */
export class Publisher implements PublishConnectionHandler {
  readonly #options: PublisherOptions;
  readonly #connections: PublishConnection[];
  /** The last sequence number sent per stream. */
  readonly #sequences: number[];
  readonly #heads = new Map<number, string>();
  #latency = new Histogram();
  #statusCodes: Record<string, number> = {};
  #ok = 0;
  #errors = 0;
  /** Set while flooding: an answer triggers the next request. */
  #flooding = false;
  /** Monotonic µs from which a 2xx answer counts for firstOkAfterUs; 0: not watching. */
  #watchFromUs = 0;
  #firstOkAfterUs = 0;
  /** Per connection, the events of the requests in flight. */
  readonly #inFlight: InFlightEvents[];
  /** The events of the requests refused or lost since the run started. */
  #refused: StreamSeq[] = [];

  constructor(options: PublisherOptions) {
    this.#options = options;
    this.#sequences = new Array<number>(options.streams).fill(0);
    this.#connections = Array.from(
      { length: options.connections },
      (_, id) => new PublishConnection(id, options.target.publish, undefined, this),
    );
    this.#inFlight = this.#connections.map(() => new InFlightEvents());
  }

  /**
   * The stream and sequence number of every event whose publish was refused (non-2xx) or lost
   * with its connection since the current run started: the publisher was told they failed.
   */
  get refused(): readonly StreamSeq[] {
    return [...this.#refused];
  }

  /** The last sequence number sent on every stream. */
  get sequences(): readonly number[] {
    return [...this.#sequences];
  }

  onAnswer(connection: PublishConnection, status: number, latencyUs: number): void {
    const key = String(status);
    this.#statusCodes[key] = (this.#statusCodes[key] ?? 0) + 1;
    const event = this.#inFlight[connection.id]!.shift();
    if (status >= 200 && status < 300) {
      this.#ok++;
      this.#latency.record(latencyUs);
      if (this.#watchFromUs > 0 && this.#firstOkAfterUs === 0) {
        const nowUs = monotonicMicros();
        if (nowUs - latencyUs >= this.#watchFromUs) this.#firstOkAfterUs = nowUs;
      }
    } else {
      this.#errors++;
      if (event !== undefined) this.#refused.push(event);
    }
    if (this.#flooding) this.#sendFlood(connection);
  }

  onLost(connection: PublishConnection, count: number): void {
    this.#statusCodes.closed = (this.#statusCodes.closed ?? 0) + count;
    this.#errors += count;
    const inFlight = this.#inFlight[connection.id]!;
    for (let i = 0; i < count; i++) {
      const event = inFlight.shift();
      if (event !== undefined) this.#refused.push(event);
    }
    if (this.#flooding) {
      setTimeout(() => {
        if (this.#flooding) this.#sendFlood(connection);
      }, FLOOD_RETRY_MS);
    }
  }

  /**
   * Watches for the first 2xx answer to a request written at or after `atUs` (monotonic µs):
   * when the publisher recovered after a fault. 0 stops watching.
   */
  watchFrom(atUs: number): void {
    this.#watchFromUs = atUs;
    this.#firstOkAfterUs = 0;
  }

  /** Monotonic µs of the first 2xx answer to a request written since watchFrom(); 0: none. */
  get firstOkAfterUs(): number {
    return this.#firstOkAfterUs;
  }

  /** The HTTP request of one event on topic `topic`, to be sent on connection `connection`. */
  #request(topic: number, stream: number, sentUs: number, connection: number): string {
    const { target, sizeBytes, topicName } = this.#options;
    const seq = ++this.#sequences[stream]!;
    this.#inFlight[connection]!.push(stream, seq);
    const request = target.publishRequest(
      topicName(topic),
      formatPayload(seq, sentUs, stream, sizeBytes),
    );
    let head = this.#heads.get(topic);
    if (head === undefined) {
      head = `${request.method} ${request.path} HTTP/1.1\r\nHost: ${target.publish.hostHeader}\r\n`;
      for (const [name, value] of Object.entries(request.headers)) head += `${name}: ${value}\r\n`;
      this.#heads.set(topic, head);
    }
    return `${head}Content-Length: ${Buffer.byteLength(request.body)}\r\n\r\n${request.body}`;
  }

  #startRun(): void {
    this.#latency = new Histogram();
    this.#statusCodes = {};
    this.#ok = 0;
    this.#errors = 0;
    this.#refused = [];
  }

  async #settle(): Promise<void> {
    const deadline = performance.now() + SETTLE_TIMEOUT_MS;
    while (this.#connections.some((c) => c.inFlight > 0) && performance.now() < deadline) {
      await sleep(5);
    }
    // Requests still unanswered are lost: closing counts them.
    for (const connection of this.#connections) {
      if (connection.inFlight > 0) connection.close();
    }
  }

  #report(sent: number, seconds: number): PublishReport {
    return {
      sent,
      ok: this.#ok,
      errors: this.#errors,
      statusCodes: { ...this.#statusCodes },
      latency: this.#latency,
      seconds,
    };
  }

  /**
   * Publishes `rate` events per second for `durationMs`, round robin over topics 0..topics-1;
   * the stream of an event is its topic. Resolves once every request is answered or lost.
   */
  async runAtRate(
    rate: number,
    durationMs: number,
    topics: number,
    signal?: AbortSignal,
  ): Promise<PublishReport> {
    this.#startRun();
    const connections = this.#connections;
    const batches = new Array<string>(connections.length).fill("");
    const counts = new Array<number>(connections.length).fill(0);
    let sent = 0;
    let next = 0;
    const started = performance.now();
    let elapsed = 0;
    while (signal?.aborted !== true) {
      elapsed = performance.now() - started;
      if (elapsed >= durationMs) break;
      let due = Math.floor((elapsed / 1000) * rate) + 1 - sent;
      if (due > 0) {
        const nowUs = monotonicMicros();
        while (due > 0) {
          const topic = next % topics;
          const c = topic % connections.length;
          // A connection that falls that far behind holds the rest back, in order.
          if (connections[c]!.inFlight + counts[c]! >= MAX_IN_FLIGHT) break;
          batches[c] += this.#request(topic, topic, nowUs, c);
          counts[c]!++;
          next++;
          sent++;
          due--;
        }
        for (let c = 0; c < connections.length; c++) {
          if (counts[c] === 0) continue;
          connections[c]!.send(batches[c]!, counts[c]!, nowUs);
          batches[c] = "";
          counts[c] = 0;
        }
      }
      await sleep(TICK_MS);
    }
    await this.#settle();
    return this.#report(sent, elapsed / 1000);
  }

  #floodSent = 0;

  #sendFlood(connection: PublishConnection): void {
    const nowUs = monotonicMicros();
    this.#floodSent++;
    connection.send(this.#request(0, connection.id, nowUs, connection.id), 1, nowUs);
  }

  /**
   * Publishes on topic 0 as fast as the server answers for `durationMs`: one request in flight
   * per connection, the next written when the answer arrives. Connection i is stream i.
   */
  async flood(durationMs: number, signal?: AbortSignal): Promise<PublishReport> {
    this.#startRun();
    this.#floodSent = 0;
    this.#flooding = true;
    const started = performance.now();
    for (const connection of this.#connections) this.#sendFlood(connection);
    const deadline = started + durationMs;
    while (signal?.aborted !== true && performance.now() < deadline) {
      await sleep(Math.min(50, Math.max(1, deadline - performance.now())));
    }
    this.#flooding = false;
    const seconds = (performance.now() - started) / 1000;
    await this.#settle();
    return this.#report(this.#floodSent, seconds);
  }

  /** Closes every connection. */
  close(): void {
    for (const connection of this.#connections) connection.close();
  }
}
