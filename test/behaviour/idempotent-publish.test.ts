/**
 * Idempotent publish with real processes: a publisher that lost its answer retries with the
 * same Idempotency-Key on another worker of `ssehub serve --workers 2`, or on another node of a
 * hub on Redis, and gets the first answer; subscribers on every process get the event once.
 * The same key with another body answers 422 there too, and a key is new again once its window
 * has passed (Redis forgets it by itself).
 *
 * The Redis cases start their own redis-server (test/helpers/redis-server.ts); they are skipped,
 * with the reason, on a machine without it (a failure in CI: see test/helpers/require-tool.ts).
 */
import assert from "node:assert/strict";
import http from "node:http";
import { describe, it, type TestContext } from "node:test";
import { startRedis } from "../helpers/redis-server.js";
import { requireTools } from "../helpers/require-tool.js";
import { SseReader } from "../helpers/sse-reader.js";
import { listeningUrl, logLine, ssehub } from "../helpers/ssehub-process.js";
import { waitFor } from "../helpers/wait-for.js";

interface Answer {
  readonly status: number;
  readonly body: string;
}

/** A publisher on one keep-alive connection: every request lands on the same process. */
class Publisher {
  readonly #agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  readonly #url: string;

  constructor(t: TestContext, url: string) {
    this.#url = url;
    t.after(() => this.#agent.destroy());
  }

  /** The pid of the process that serves this publisher's connection. */
  async pid(): Promise<number> {
    const answer = await this.request("GET", "/healthz");
    return (JSON.parse(answer.body) as { pid: number }).pid;
  }

  publish(body: unknown, key?: string): Promise<Answer> {
    return this.request("POST", "/publish", body, key);
  }

  request(method: string, path: string, body?: unknown, key?: string): Promise<Answer> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: Record<string, string> = {};
    if (payload !== undefined) headers["content-type"] = "application/json";
    if (key !== undefined) headers["idempotency-key"] = key;
    return new Promise((resolve, reject) => {
      const req = http.request(
        `${this.#url}${path}`,
        { method, agent: this.#agent, headers },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("end", () =>
            resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }),
          );
          res.on("error", reject);
        },
      );
      req.on("error", reject);
      req.end(payload);
    });
  }
}

/** Data of every event each reader got, once each has the unkeyed event `end`. */
async function receivedUntilEnd(readers: readonly SseReader[]): Promise<string[][]> {
  for (const reader of readers) {
    await waitFor(() => reader.events.some((e) => e.data === "end"), "the last event");
  }
  return readers.map((reader) => reader.events.map((e) => e.data));
}

describe("Idempotency-Key across the workers of ssehub serve --workers 2", () => {
  it("a retry on the other worker answers the first id, and subscribers get the event once", async (t) => {
    const run = ssehub(t, ["serve", "--port", "0", "--workers", "2"]);
    const url = await listeningUrl(run);
    await logLine(run, (e) => e.msg?.includes("cluster of 2 workers") === true);
    // Two publishers pinned to different workers (the cluster hands connections out in turn).
    const first = new Publisher(t, url);
    const firstPid = await first.pid();
    const other = await waitFor(async () => {
      const candidate = new Publisher(t, url);
      return (await candidate.pid()) !== firstPid ? candidate : undefined;
    }, "a connection to the other worker");

    const readers = await Promise.all(
      Array.from({ length: 4 }, () => SseReader.open(`${url}/events/orders`)),
    );
    t.after(() => {
      for (const reader of readers) reader.close();
    });
    const pids = new Set<number>();
    for (let i = 0; i < 4; i++) pids.add(await new Publisher(t, url).pid());
    assert.equal(pids.size, 2, "both workers serve");

    const body = { topic: "orders", data: "paid" };
    const answer = await first.publish(body, "order-7");
    assert.equal(answer.status, 200, answer.body);
    assert.deepEqual(await other.publish(body, "order-7"), answer, "retry on the other worker");
    assert.deepEqual(await first.publish(body, "order-7"), answer, "retry on the same worker");
    const batch = [
      { topic: "orders", data: "b1" },
      { topic: "orders", data: "b2" },
    ];
    const batchAnswer = await other.publish(batch, "batch-7");
    assert.equal(batchAnswer.status, 200);
    assert.deepEqual(await first.publish(batch, "batch-7"), batchAnswer);
    const refused = await other.publish({ topic: "orders", data: "refunded" }, "order-7");
    assert.equal(refused.status, 422);
    assert.match(refused.body, /SSEHUB_ERR_PUBLISH_IDEMPOTENCY_KEY_REUSED/);

    assert.equal((await first.publish({ topic: "orders", data: "end" })).status, 200);
    for (const events of await receivedUntilEnd(readers)) {
      assert.deepEqual(events, ["paid", "b1", "b2", "end"]);
    }
    run.child.kill("SIGTERM");
    assert.equal(await run.exited, 0, run.stderr.join("\n"));
  });
});

const skip = requireTools(["redis-server"]);

describe("Idempotency-Key across two nodes on one Redis", { skip }, () => {
  async function twoNodes(t: TestContext, windowMs: number) {
    const redis = await startRedis(t);
    const args = ["serve", "--port", "0", "--redis", redis.url];
    const window = ["--idempotency-window-ms", String(windowMs)];
    const runs = [ssehub(t, [...args, ...window]), ssehub(t, [...args, ...window])];
    const urls = await Promise.all(runs.map((run) => listeningUrl(run)));
    return { runs, urls };
  }

  it("a retry on the other node answers the first id, and subscribers get the event once", async (t) => {
    const { runs, urls } = await twoNodes(t, 300_000);
    const readers = await Promise.all(urls.map((url) => SseReader.open(`${url}/events/orders`)));
    t.after(() => {
      for (const reader of readers) reader.close();
    });
    const [a, b] = urls.map((url) => new Publisher(t, url)) as [Publisher, Publisher];
    const body = { topic: "orders", data: "paid" };
    const answer = await a.publish(body, "order-7");
    assert.equal(answer.status, 200, answer.body);
    assert.deepEqual(await b.publish(body, "order-7"), answer, "retry on the other node");
    assert.deepEqual(await a.publish(body, "order-7"), answer, "retry on the same node");
    const refused = await b.publish({ topic: "orders", data: "refunded" }, "order-7");
    assert.equal(refused.status, 422);
    assert.match(refused.body, /SSEHUB_ERR_PUBLISH_IDEMPOTENCY_KEY_REUSED/);
    assert.equal((await a.publish({ topic: "orders", data: "end" })).status, 200);
    for (const events of await receivedUntilEnd(readers)) {
      assert.deepEqual(events, ["paid", "end"]);
    }
    for (const run of runs) run.child.kill("SIGTERM");
    for (const run of runs) assert.equal(await run.exited, 0, run.stderr.join("\n"));
  });

  it("a key is new again once its window has passed", async (t) => {
    const { runs, urls } = await twoNodes(t, 200);
    const reader = await SseReader.open(`${urls[1]}/events/orders`);
    t.after(() => reader.close());
    const [a, b] = urls.map((url) => new Publisher(t, url)) as [Publisher, Publisher];
    const body = { topic: "orders", data: "tick" };
    const answer = await a.publish(body, "tick-1");
    assert.equal(answer.status, 200, answer.body);
    // Retry on the other node until Redis has forgotten the key: then the retry publishes.
    const later = await waitFor(async () => {
      const retry = await b.publish(body, "tick-1");
      assert.equal(retry.status, 200, retry.body);
      return retry.body === answer.body ? undefined : retry;
    }, "the key to expire");
    assert.notEqual(later.body, answer.body);
    assert.equal((await a.publish({ topic: "orders", data: "end" })).status, 200);
    const [events] = await receivedUntilEnd([reader]);
    assert.deepEqual(events, ["tick", "tick", "end"]);
    for (const run of runs) run.child.kill("SIGTERM");
    for (const run of runs) assert.equal(await run.exited, 0, run.stderr.join("\n"));
  });
});
