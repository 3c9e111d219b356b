/**
 * The clients of the fault tests: publishers that note which publishes were answered 200 (those
 * events exist), subscribers that resume with Last-Event-ID as EventSource does, and the count
 * of what a subscriber lost, got twice or out of order against them.
 */
import assert from "node:assert/strict";
import http from "node:http";
import { parseEventId } from "../../src/protocol/event-id.js";
import type { ParsedEvent } from "../../src/protocol/parse.js";
import { SseReader } from "./sse-reader.js";
import { sleep } from "./wait-for.js";

/** How long a publisher waits for an answer before it gives up, in ms. */
const PUBLISH_DEADLINE_MS = 5000;

/** One publish on a new connection (the cluster hands each to the next worker); 0 on failure. */
export function publish(url: string, data: string): Promise<{ status: number; id?: string }> {
  const payload = Buffer.from(JSON.stringify({ topic: "ticks", data }));
  return new Promise((resolve) => {
    const req = http.request(
      `${url}/publish`,
      { method: "POST", agent: false, headers: { "content-type": "application/json" } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const body = Buffer.concat(chunks).toString();
          const id = res.statusCode === 200 ? (JSON.parse(body) as { id: string }).id : undefined;
          resolve({ status: res.statusCode ?? 0, ...(id === undefined ? {} : { id }) });
        });
        res.on("error", () => resolve({ status: 0 }));
      },
    );
    req.on("error", () => resolve({ status: 0 }));
    // A publisher's own deadline: a connection that node:cluster handed to a worker just as it
    // died is never answered (see docs/architecture.md, "Cluster mode").
    req.setTimeout(PUBLISH_DEADLINE_MS, () => req.destroy());
    req.end(payload);
  });
}

/** The seq of one of the hub's ids; fails on any other id. */
export function seqOf(id: string): number {
  const parsed = parseEventId(id);
  assert.ok(parsed, `${JSON.stringify(id)} is one of the hub's ids`);
  return parsed.seq;
}

/** Publishers at a steady pace, each on fresh connections, until stopped. */
export class Publishers {
  /** Ids of the publishes that were answered 200: these events exist. */
  readonly acknowledged: string[] = [];
  failed = 0;
  #stopped = false;
  readonly #loops: Promise<void>[] = [];

  constructor(url: string, count: number, pauseMs: number) {
    for (let p = 0; p < count; p++) {
      this.#loops.push(
        (async () => {
          for (let i = 0; !this.#stopped; i++) {
            const answer = await publish(url, `${p}:${i}`);
            if (answer.id !== undefined) this.acknowledged.push(answer.id);
            else this.failed++;
            await sleep(pauseMs); // pacing, not waiting for a condition
          }
        })(),
      );
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all(this.#loops);
  }
}

/**
 * A client that reconnects with Last-Event-ID whenever its stream ends, as EventSource does,
 * and keeps every event of all its connections.
 */
export class ResumingSubscriber {
  readonly events: ParsedEvent[] = [];
  connections = 0;
  #reader: SseReader | undefined;
  #stopped = false;
  readonly #loop: Promise<void>;

  private constructor(url: string, first: SseReader) {
    this.#reader = first;
    this.connections = 1;
    this.#loop = this.#run(url, first);
  }

  static async open(url: string): Promise<ResumingSubscriber> {
    const subscriber = new ResumingSubscriber(url, await SseReader.open(url));
    return subscriber;
  }

  get lastEventId(): string | undefined {
    return this.events.at(-1)?.lastEventId;
  }

  async #run(url: string, first: SseReader): Promise<void> {
    let reader: SseReader | undefined = first;
    while (!this.#stopped) {
      if (reader === undefined) {
        const lastEventId = this.lastEventId;
        try {
          reader = await SseReader.open(url, lastEventId === undefined ? {} : { lastEventId });
          this.#reader = reader;
          this.connections++;
        } catch {
          await sleep(20); // the port refused for a moment: try again, as a browser would
          continue;
        }
      }
      const taken = reader;
      const drained = new Promise<void>((resolve) => {
        const poll = setInterval(() => {
          while (taken.events.length > 0) this.events.push(taken.events.shift()!);
          if (taken.isEnded || this.#stopped) {
            clearInterval(poll);
            resolve();
          }
        }, 5);
      });
      await drained;
      while (taken.events.length > 0) this.events.push(taken.events.shift()!);
      reader = undefined;
    }
  }

  async close(): Promise<void> {
    this.#stopped = true;
    this.#reader?.close();
    await this.#loop;
  }
}

/** Lost, duplicated and reordered events of `events` against the acknowledged ids. */
export function count(
  events: readonly ParsedEvent[],
  acknowledged: readonly string[],
  fromSeq: number,
) {
  const resets = events.filter((e) => e.type === "ssehub-reset");
  const seqs = events.filter((e) => e.type === "message").map((e) => seqOf(e.lastEventId));
  const seen = new Set(seqs);
  const duplicated = seqs.length - seen.size;
  let reordered = 0;
  for (let i = 1; i < seqs.length; i++) if (seqs[i]! < seqs[i - 1]!) reordered++;
  const lost = acknowledged.map(seqOf).filter((seq) => seq > fromSeq && !seen.has(seq)).length;
  return { lost, duplicated, reordered, resets: resets.map((e) => e.data) };
}

/** True while a process with `pid` exists. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
