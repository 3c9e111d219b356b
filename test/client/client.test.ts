import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, it, type TestContext } from "node:test";
import {
  createClient,
  type GapNotice,
  type ParsedEvent,
  type ResetNotice,
  SsehubClient,
  type SsehubClientError,
  type SsehubClientOptions,
} from "../../src/client/index.js";
import { SsehubError } from "../../src/errors.js";
import { HUNG_AFTER_MS } from "../helpers/wait-for.js";

/** One request the test hub received. */
interface Hit {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly url: URL;
}

/**
 * A node:http server on 127.0.0.1 whose every request waits for the test to answer it, in
 * order: `await hub.next()` gives the next request.
 */
class TestHub {
  readonly requests: Hit[] = [];
  readonly #queued: Hit[] = [];
  readonly #waiting: Array<(hit: Hit) => void> = [];
  base = "";

  static async start(t: TestContext): Promise<TestHub> {
    const hub = new TestHub();
    const server = createServer((req, res) => {
      const hit = { req, res, url: new URL(req.url ?? "/", "http://127.0.0.1") };
      hub.requests.push(hit);
      const waiter = hub.#waiting.shift();
      if (waiter === undefined) hub.#queued.push(hit);
      else waiter(hit);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    t.after(() => {
      server.closeAllConnections();
      server.close();
    });
    hub.base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return hub;
  }

  /** The next request, once it arrives. */
  next(what = "a request"): Promise<Hit> {
    const queued = this.#queued.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return withTimeout(
      new Promise<Hit>((resolve) => this.#waiting.push(resolve)),
      `waiting for ${what}`,
    );
  }
}

/** Starts an event stream on `res` and writes `text`. */
function openStream(res: ServerResponse, text = ""): void {
  res.writeHead(200, { "Content-Type": "text/event-stream; charset=utf-8" });
  res.flushHeaders();
  if (text !== "") res.write(text);
}

/** `promise`, or a failure naming `what` when the test is taken for hung. */
function withTimeout<T>(promise: Promise<T>, what: string, ms = HUNG_AFTER_MS): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Waits until `condition` holds; fails naming `what` when the test is taken for hung. */
async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + HUNG_AFTER_MS;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * Only before asserting that something did not happen (no further request): there is no event
 * to wait for then, and a slow machine only makes such a check weaker, never false.
 */
const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A client recording everything it reports; closed after the test. */
function record(
  t: TestContext,
  options: Omit<SsehubClientOptions, "onEvent" | "onOpen" | "onError"> &
    Partial<Pick<SsehubClientOptions, "onEvent">>,
) {
  const events: ParsedEvent[] = [];
  const errors: SsehubClientError[] = [];
  let opens = 0;
  const client = new SsehubClient({
    onEvent: (event) => events.push(event),
    ...options,
    onOpen: () => opens++,
    onError: (error) => errors.push(error),
  });
  t.after(() => client.close());
  return { client, events, errors, opens: () => opens };
}

function ev(data: string, type = "message", lastEventId = ""): ParsedEvent {
  return { type, data, lastEventId };
}

describe("SsehubClient", () => {
  it("SsehubClient receives the events of its topics and reports the open", async (t) => {
    const hub = await TestHub.start(t);
    const { client, events, errors, opens } = record(t, { url: hub.base, topics: ["a", "b c"] });
    assert.equal(client.state, "connecting");
    const { req, res, url } = await hub.next();
    assert.equal(url.pathname, "/events");
    assert.deepEqual(url.searchParams.getAll("topic"), ["a", "b c"]);
    assert.equal(req.headers.accept, "text/event-stream");
    assert.equal(req.headers["last-event-id"], undefined);

    openStream(res, ": hello\n\nretry: 1000\n\nid: e-1\nevent: t\ndata: a\n\nid: e-2\ndata: b\nda");
    res.write("ta: c\n\n");
    await until(() => events.length === 2, "two events");
    assert.deepEqual(events, [ev("a", "t", "e-1"), ev("b\nc", "message", "e-2")]);
    assert.equal(opens(), 1);
    assert.equal(client.state, "open");
    assert.equal(client.lastEventId, "e-2");
    assert.deepEqual(errors, []);
  });

  it("SsehubClient reconnects after the hub drops the stream and sends Last-Event-ID", async (t) => {
    const hub = await TestHub.start(t);
    const { events, errors, opens } = record(t, {
      url: hub.base,
      topics: ["a"],
      backoffBaseMs: 10,
    });

    const first = await hub.next("the first connection");
    openStream(first.res, "id: e-1\ndata: one\n\nid: e-2\ndata: two\n\n");
    await until(() => events.length === 2, "two events");
    first.res.end();

    const second = await hub.next("a reconnection after the stream ended");
    assert.equal(second.req.headers["last-event-id"], "e-2");
    // An event cut off by a broken connection is never dispatched.
    openStream(second.res, "id: e-3\ndata: three\n\nid: e-4\ndata: cut off");
    await until(() => events.length === 3, "the third event");
    second.res.destroy();

    const third = await hub.next("a reconnection after the socket broke");
    assert.equal(third.req.headers["last-event-id"], "e-3");
    openStream(third.res, "id: e-4\ndata: four\n\n");
    await until(() => events.length === 4, "the fourth event");

    assert.deepEqual(events, [
      ev("one", "message", "e-1"),
      ev("two", "message", "e-2"),
      ev("three", "message", "e-3"),
      ev("four", "message", "e-4"),
    ]);
    assert.equal(opens(), 3);
    assert.equal(errors.length, 2);
    assert.equal(errors[0]?.code, "SSEHUB_ERR_CLIENT_DISCONNECTED");
    assert.ok(errors.every((error) => error.willReconnect));
  });

  it("SsehubClient sends the lastEventId option on its first request", async (t) => {
    const hub = await TestHub.start(t);
    const { client } = record(t, { url: hub.base, topics: ["a"], lastEventId: "e-41" });
    const { req } = await hub.next();
    assert.equal(req.headers["last-event-id"], "e-41");
    assert.equal(client.lastEventId, "e-41");
  });

  it("SsehubClient sends the id of a block without data on reconnect", async (t) => {
    const hub = await TestHub.start(t);
    const { client } = record(t, { url: hub.base, topics: ["a"], backoffBaseMs: 10 });
    const first = await hub.next();
    openStream(first.res, "id: e-9\n\n");
    await until(() => client.lastEventId === "e-9", "the id to be committed");
    first.res.end();
    const second = await hub.next("a reconnection");
    assert.equal(second.req.headers["last-event-id"], "e-9");
  });

  it("SsehubClient waits the hub's retry instead of its own backoff base", async (t) => {
    const hub = await TestHub.start(t);
    // An hour of backoff: only the hub's retry of 20 ms lets the reconnection come in time.
    const { events } = record(t, { url: hub.base, topics: ["a"], backoffBaseMs: 3_600_000 });
    const first = await hub.next();
    openStream(first.res, "retry: 20\n\nid: e-1\ndata: a\n\n");
    await until(() => events.length === 1, "the event");
    first.res.end();
    const second = await hub.next("a reconnection within the hub's retry");
    assert.equal(second.req.headers["last-event-id"], "e-1");
  });

  it("SsehubClient.close() aborts the stream and stops reconnecting", async (t) => {
    const hub = await TestHub.start(t);
    const { client, events } = record(t, { url: hub.base, topics: ["a"], backoffBaseMs: 1 });
    const { req, res } = await hub.next();
    const aborted = new Promise<void>((resolve) => req.once("close", () => resolve()));
    openStream(res, "data: a\n\n");
    await until(() => events.length === 1, "the event");

    client.close();
    assert.equal(client.state, "closed");
    await withTimeout(client.closed, "for closed to settle");
    await withTimeout(aborted, "for the request to be aborted");
    await delay(50);
    assert.equal(hub.requests.length, 1);
    client.close();
  });

  it("SsehubClient.close() during the wait before a reconnection stops it", async (t) => {
    const hub = await TestHub.start(t);
    const { client } = record(t, { url: hub.base, topics: ["a"], backoffBaseMs: 3_600_000 });
    const { res } = await hub.next();
    openStream(res, "data: a\n\n");
    res.end();
    await until(() => client.state === "connecting", "the client to wait for a reconnection");
    client.close();
    await withTimeout(client.closed, "for closed to settle");
    assert.equal(hub.requests.length, 1);
  });

  it("SsehubClient.close() inside onEvent drops the rest of the chunk", async (t) => {
    const hub = await TestHub.start(t);
    const seen: string[] = [];
    const client: SsehubClient = createClient({
      url: hub.base,
      topics: ["a"],
      onEvent: (event) => {
        seen.push(event.data);
        client.close();
      },
    });
    t.after(() => client.close());
    const { res } = await hub.next();
    openStream(res, "data: a\n\ndata: b\n\n");
    await withTimeout(client.closed, "for closed to settle");
    assert.deepEqual(seen, ["a"]);
  });

  it("SsehubClient hands the hub's reset and gap events to onReset and onGap", async (t) => {
    const hub = await TestHub.start(t);
    const resets: ResetNotice[] = [];
    const gaps: GapNotice[] = [];
    const { client, events } = record(t, {
      url: hub.base,
      topics: ["a"],
      lastEventId: "old-3",
      onReset: (notice) => resets.push(notice),
      onGap: (notice) => gaps.push(notice),
    });
    const { res } = await hub.next();
    const reset =
      '{"reason":"unknown-epoch","lastEventId":"old-3","currentEventId":"urn:ssehub:k1:7"}';
    openStream(
      res,
      `id: urn:ssehub:k1:7\nevent: ssehub-reset\ndata: ${reset}\n\n` +
        "id: urn:ssehub:k1:8\ndata: live\n\n" +
        'event: ssehub-gap\ndata: {"dropped":12,"lastEventId":"urn:ssehub:k1:8"}\n\n',
    );
    await until(() => gaps.length === 1, "the gap notice");
    assert.deepEqual(resets, [
      {
        reason: "unknown-epoch",
        lastEventId: "old-3",
        currentEventId: "urn:ssehub:k1:7",
        event: ev(reset, "ssehub-reset", "urn:ssehub:k1:7"),
      },
    ]);
    assert.deepEqual(gaps, [
      {
        dropped: 12,
        lastEventId: "urn:ssehub:k1:8",
        event: ev(
          '{"dropped":12,"lastEventId":"urn:ssehub:k1:8"}',
          "ssehub-gap",
          "urn:ssehub:k1:8",
        ),
      },
    ]);
    assert.deepEqual(events, [ev("live", "message", "urn:ssehub:k1:8")]);
    assert.equal(client.lastEventId, "urn:ssehub:k1:8");
  });

  it("SsehubClient hands a reset event to onEvent when onReset is not set", async (t) => {
    const hub = await TestHub.start(t);
    const { events } = record(t, { url: hub.base, topics: ["a"] });
    const { res } = await hub.next();
    openStream(res, 'event: ssehub-reset\ndata: {"reason":"history-evicted"}\n\n');
    await until(() => events.length === 1, "the reset event");
    assert.deepEqual(events, [ev('{"reason":"history-evicted"}', "ssehub-reset")]);
  });

  it("SsehubClient reads a reset event whose data is not JSON", async (t) => {
    const hub = await TestHub.start(t);
    const resets: ResetNotice[] = [];
    record(t, { url: hub.base, topics: ["a"], onReset: (notice) => resets.push(notice) });
    const { res } = await hub.next();
    openStream(res, "event: ssehub-reset\ndata: gone\n\n");
    await until(() => resets.length === 1, "the reset notice");
    assert.equal(resets[0]?.reason, "unknown");
    assert.equal(resets[0]?.lastEventId, "");
  });

  it("SsehubClient stops on a 4xx answer and reports the status and the hub's code", async (t) => {
    const hub = await TestHub.start(t);
    const { client, errors } = record(t, { url: hub.base, topics: ["a b"], backoffBaseMs: 1 });
    const { res } = await hub.next();
    res.writeHead(400, { "Content-Type": "application/json" });
    res.end(
      JSON.stringify({
        statusCode: 400,
        code: "SSEHUB_ERR_TOPIC_INVALID",
        message: 'Cannot use topic "a b": topic names may not contain spaces',
      }),
    );
    await withTimeout(client.closed, "for the client to stop");
    assert.equal(client.state, "closed");
    assert.equal(errors.length, 1);
    const [error] = errors;
    assert.equal(error?.code, "SSEHUB_ERR_CLIENT_HTTP_STATUS");
    assert.equal(error?.status, 400);
    assert.equal(error?.hubCode, "SSEHUB_ERR_TOPIC_INVALID");
    assert.equal(error?.willReconnect, false);
    assert.match(error?.message ?? "", /answered 400: SSEHUB_ERR_TOPIC_INVALID: Cannot use topic/);
    await delay(30);
    assert.equal(hub.requests.length, 1);
  });

  it("SsehubClient retries after a 503 and a 429, then opens", async (t) => {
    const hub = await TestHub.start(t);
    const { errors, events } = record(t, { url: hub.base, topics: ["a"], backoffBaseMs: 5 });
    const first = await hub.next();
    first.res.writeHead(503).end();
    const second = await hub.next("a retry after 503");
    second.res.writeHead(429, { "Content-Type": "text/plain" }).end("slow down");
    const third = await hub.next("a retry after 429");
    openStream(third.res, "data: ok\n\n");
    await until(() => events.length === 1, "the event");
    assert.deepEqual(
      errors.map((error) => [error.code, error.status, error.hubCode, error.willReconnect]),
      [
        ["SSEHUB_ERR_CLIENT_HTTP_STATUS", 503, undefined, true],
        ["SSEHUB_ERR_CLIENT_HTTP_STATUS", 429, undefined, true],
      ],
    );
  });

  it("SsehubClient stops on a 204 answer", async (t) => {
    const hub = await TestHub.start(t);
    const { client, errors } = record(t, { url: hub.base, topics: ["a"], backoffBaseMs: 1 });
    const { res } = await hub.next();
    res.writeHead(204).end();
    await withTimeout(client.closed, "for the client to stop");
    assert.equal(errors[0]?.status, 204);
    assert.equal(errors[0]?.willReconnect, false);
  });

  it("SsehubClient treats an answer that is not text/event-stream as an error and retries", async (t) => {
    const hub = await TestHub.start(t);
    const { errors, events } = record(t, { url: hub.base, topics: ["a"], backoffBaseMs: 5 });
    const first = await hub.next();
    first.res.writeHead(200, { "Content-Type": "text/html" }).end("data: not events\n\n");
    const second = await hub.next("a retry");
    openStream(second.res, "data: ok\n\n");
    await until(() => events.length === 1, "the event");
    assert.deepEqual(events, [ev("ok")]);
    assert.equal(errors.length, 1);
    assert.equal(errors[0]?.code, "SSEHUB_ERR_CLIENT_CONTENT_TYPE");
    assert.equal(errors[0]?.willReconnect, true);
  });

  it("SsehubClient reports a refused connection and keeps trying", async (t) => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const { port } = probe.address() as AddressInfo;
    await new Promise((resolve) => probe.close(resolve));

    const { client, errors } = record(t, {
      url: `http://127.0.0.1:${port}`,
      topics: ["a"],
      backoffBaseMs: 1,
      backoffMaxMs: 5,
    });
    await until(() => errors.length >= 3, "three failed attempts");
    assert.ok(errors.every((error) => error.code === "SSEHUB_ERR_CLIENT_NETWORK"));
    assert.ok(errors.every((error) => error.willReconnect));
    assert.equal(client.state, "connecting");
    client.close();
    await withTimeout(client.closed, "for closed to settle");
  });

  it("SsehubClient keeps the path and the query of the base URL", async (t) => {
    const hub = await TestHub.start(t);
    const { client } = record(t, { url: `${hub.base}/hub/?token=x`, topics: ["a/b", "c"] });
    const { url } = await hub.next();
    assert.equal(url.pathname, "/hub/events");
    assert.equal(url.searchParams.get("token"), "x");
    assert.deepEqual(url.searchParams.getAll("topic"), ["a/b", "c"]);
    assert.equal(client.url, `${hub.base}/hub/events?token=x&topic=a%2Fb&topic=c`);
  });

  it("SsehubClient sends the extra headers", async (t) => {
    const hub = await TestHub.start(t);
    record(t, { url: hub.base, topics: ["a"], headers: { Authorization: "Bearer t0k" } });
    const { req } = await hub.next();
    assert.equal(req.headers.authorization, "Bearer t0k");
  });

  it("SsehubClient calls the fetch option as a plain function, as browsers require", async (t) => {
    const hub = await TestHub.start(t);
    const receivers: unknown[] = [];
    const client = createClient({
      url: hub.base,
      topics: ["a"],
      fetch: function (this: unknown, input: RequestInfo | URL, init?: RequestInit) {
        receivers.push(this);
        return fetch(input, init);
      },
    });
    t.after(() => client.close());
    await hub.next();
    assert.deepEqual(receivers, [undefined]);
  });

  it("a handler that throws does not stop the stream", async (t) => {
    const hub = await TestHub.start(t);
    const seen: string[] = [];
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown) => uncaught.push(error);
    // node:test reports uncaught exceptions as failures; catch the one thrown on purpose.
    const listeners = process.listeners("uncaughtException");
    process.removeAllListeners("uncaughtException");
    process.on("uncaughtException", onUncaught);
    t.after(() => {
      process.off("uncaughtException", onUncaught);
      for (const listener of listeners) process.on("uncaughtException", listener);
    });
    const client = createClient({
      url: hub.base,
      topics: ["a"],
      onEvent: (event) => {
        seen.push(event.data);
        if (event.data === "a") throw new Error("handler failed");
      },
    });
    t.after(() => client.close());
    const { res } = await hub.next();
    openStream(res, "data: a\n\ndata: b\n\n");
    await until(() => seen.length === 2 && uncaught.length === 1, "both events");
    assert.deepEqual(seen, ["a", "b"]);
    assert.match(String(uncaught[0]), /handler failed/);
  });
});

describe("new SsehubClient()", () => {
  const bad: ReadonlyArray<readonly [string, Partial<SsehubClientOptions>, RegExp]> = [
    ["no topic", { topics: [] }, /topics must be a non-empty array/],
    ["an empty topic", { topics: ["a", ""] }, /topics must be a non-empty array/],
    ["a relative URL outside a browser", { url: "/hub" }, /url must be an absolute URL/],
    ["a negative backoff", { backoffBaseMs: -1 }, /backoffBaseMs must be a finite number/],
    ["an infinite backoff", { backoffMaxMs: Number.POSITIVE_INFINITY }, /backoffMaxMs/],
    ["a last event id with LF", { lastEventId: "a\nb" }, /lastEventId may not contain/],
  ];
  for (const [what, options, message] of bad) {
    it(`new SsehubClient() rejects ${what} with SSEHUB_ERR_OPTIONS_INVALID`, () => {
      assert.throws(
        () => new SsehubClient({ url: "http://127.0.0.1:1", topics: ["a"], ...options }),
        (error: unknown) =>
          error instanceof SsehubError &&
          error.code === "SSEHUB_ERR_OPTIONS_INVALID" &&
          message.test(error.message),
      );
    });
  }
});
