/**
 * The shared client outside a browser tab, and the key that decides which tabs share a
 * connection. Sharing itself (SharedWorker, leader tab) is tested in Chromium:
 * test/browser/shared-client.test.ts.
 */
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import {
  createSharedClient,
  type ParsedEvent,
  type ResetNotice,
  type SsehubClientError,
} from "../../src/client/index.js";
import {
  type HolderMessage,
  type SharedConnectionSpec,
  sharedConnectionKey,
  type WorkerRequest,
} from "../../src/client/shared-messages.js";
import { startHub } from "../helpers/start-hub.js";
import { sleep, waitFor } from "../helpers/wait-for.js";

const SPEC: SharedConnectionSpec = {
  url: "https://hub.example/",
  topics: ["orders", "alerts"],
  lastEventId: "",
  headers: { Authorization: "Bearer token-of-ann" },
};

describe("sharedConnectionKey", () => {
  it("is the same for the same topics in any order and header names in any case", () => {
    const key = sharedConnectionKey("ssehub", SPEC);
    const alike = {
      ...SPEC,
      topics: ["alerts", "orders", "alerts"],
      headers: { authorization: "Bearer token-of-ann" },
      lastEventId: "urn:ssehub:x:1", // where a tab stands does not make another connection
    };
    assert.equal(sharedConnectionKey("ssehub", alike), key);
  });

  it("differs for other credentials, topics, hub or name, and shows no header value", () => {
    const key = sharedConnectionKey("ssehub", SPEC);
    const others = [
      sharedConnectionKey("ssehub", { ...SPEC, headers: { Authorization: "Bearer token-of-bob" } }),
      sharedConnectionKey("ssehub", { ...SPEC, headers: {} }),
      sharedConnectionKey("ssehub", { ...SPEC, topics: ["orders"] }),
      sharedConnectionKey("ssehub", { ...SPEC, url: "https://other.example/" }),
      sharedConnectionKey("admin-app", SPEC),
    ];
    assert.equal(new Set([key, ...others]).size, others.length + 1, JSON.stringify(others));
    for (const k of [key, ...others]) assert.doesNotMatch(k, /token|Bearer/);
  });
});

describe("createSharedClient outside a browser tab", () => {
  it("refuses the options a client refuses", () => {
    assert.throws(() => createSharedClient({ url: "http://127.0.0.1:1", topics: [] }), {
      code: "SSEHUB_ERR_OPTIONS_INVALID",
    });
  });

  it("subscribes outside a browser, routing events and notices alike", async (t) => {
    const started = await startHub(t);
    const events: ParsedEvent[] = [];
    const resets: ResetNotice[] = [];
    const client = createSharedClient({
      url: started.url,
      topics: ["a"],
      // An id of no epoch of this hub: it answers with a reset notice, then goes live.
      lastEventId: "urn:ssehub:gone:1",
      sharedWorker: "/never-used.js",
      onEvent: (event) => events.push(event),
      onReset: (notice) => resets.push(notice),
    });
    t.after(() => client.close());
    // Node has no SharedWorker; Node 20 has no Web Locks, later versions elect a leader.
    assert.ok(["own-connection", "leader-tab"].includes(client.transport), client.transport);
    await waitFor(() => client.state === "open", "the stream to open");
    const { id } = await started.server.hub.publish({ topic: "a", data: "one" });
    await waitFor(() => events.length === 1, "the event");
    assert.deepEqual(events, [{ type: "message", data: "one", lastEventId: id }]);
    assert.equal(resets.length, 1);
    assert.equal(resets[0]?.lastEventId, "urn:ssehub:gone:1");
    assert.equal(client.lastEventId, id);
    assert.equal(client.leading, true);
    client.close();
    await client.closed;
    assert.equal(client.state, "closed");
    await waitFor(() => started.server.hub.stats().subscribers === 0, "the stream to end");
  });
});

/** A stand-in SharedWorker: the test plays the worker on the other end of the port. */
function fakeSharedWorker(t: TestContext): {
  readonly worker: MessagePort;
  readonly url: string[];
} {
  const channel = new MessageChannel();
  const url: string[] = [];
  class FakeSharedWorker {
    readonly port = channel.port1;
    onerror: (() => void) | null = null;
    constructor(scriptUrl: string) {
      url.push(String(scriptUrl));
    }
  }
  const scope = globalThis as { SharedWorker?: unknown };
  scope.SharedWorker = FakeSharedWorker;
  t.after(() => {
    delete scope.SharedWorker;
    channel.port1.close();
    channel.port2.close();
  });
  return { worker: channel.port2, url };
}

/** The next message the fake worker gets from the tab. */
function nextRequest(worker: MessagePort): Promise<WorkerRequest> {
  return new Promise((resolve) => {
    worker.addEventListener("message", (message) => resolve(message.data as WorkerRequest), {
      once: true,
    });
  });
}

function event(data: string, id: string): ParsedEvent {
  return { type: "message", data, lastEventId: id };
}

describe("a tab of a shared subscription", () => {
  it("shares without the SharedWorker when it stays silent past sharedWorkerTimeoutMs", async (t) => {
    fakeSharedWorker(t); // a worker that never answers, and never fails either
    const client = createSharedClient({
      url: "http://127.0.0.1:9/hub",
      topics: ["a"],
      sharedWorker: "/worker-that-hangs.js",
      sharedWorkerTimeoutMs: 20,
      backoffMaxMs: 100,
    });
    t.after(() => client.close());
    assert.equal(client.transport, "shared-worker");
    await waitFor(() => client.transport !== "shared-worker", "the tab to give up on the worker");
    assert.ok(["leader-tab", "own-connection"].includes(client.transport), client.transport);
  });

  it("keeps a worker that answered, however long it then stays quiet", async (t) => {
    const { worker } = fakeSharedWorker(t);
    const client = createSharedClient({
      url: "http://127.0.0.1:9/hub",
      topics: ["a"],
      sharedWorker: "/worker.js",
      sharedWorkerTimeoutMs: 20,
    });
    t.after(() => client.close());
    const request = await nextRequest(worker);
    assert.equal(request.kind, "subscribe");
    worker.postMessage({ kind: "open" } satisfies HolderMessage);
    await waitFor(() => client.state === "open", "the worker's word to arrive");
    await sleep(60); // past the timeout: a condition cannot show that nothing happens
    assert.equal(client.transport, "shared-worker");
  });

  it("subscribes with its key, joins an open stream and drops only another holder's copies", async (t) => {
    const { worker, url } = fakeSharedWorker(t);
    const seen: string[] = [];
    const errors: SsehubClientError[] = [];
    let opens = 0;
    const client = createSharedClient({
      url: "http://127.0.0.1:9/hub",
      topics: ["a"],
      headers: { Authorization: "Bearer t" },
      sharedWorker: "/worker.js",
      onEvent: (e) => seen.push(`${e.data}@${e.lastEventId}`),
      onOpen: () => opens++,
      onError: (error) => errors.push(error),
    });
    t.after(() => client.close());
    assert.equal(client.transport, "shared-worker");
    assert.deepEqual(url, ["/worker.js"]);
    const subscribe = await nextRequest(worker);
    assert.equal(subscribe.kind, "subscribe");
    if (subscribe.kind !== "subscribe") return;
    assert.equal(subscribe.spec.url, "http://127.0.0.1:9/hub");
    assert.deepEqual(subscribe.spec.headers, { Authorization: "Bearer t" });
    assert.equal(subscribe.key, sharedConnectionKey("ssehub", subscribe.spec));

    const messages: HolderMessage[] = [
      // The tab joins a stream that is open already.
      { kind: "status", state: "open", lastEventId: "1" },
      { kind: "event", event: event("two", "2"), holder: "old" },
      { kind: "event", event: event("three", "3"), holder: "old" },
      // The old holder is gone; the new one resumes from 2, as it had not got 3 yet.
      { kind: "status", state: "connecting", lastEventId: "2" },
      { kind: "open" },
      { kind: "event", event: event("three", "3"), holder: "new" },
      { kind: "event", event: event("four", "4"), holder: "new" },
      // The old holder's broadcast of 4, late: the tab has it already.
      { kind: "event", event: event("four", "4"), holder: "old" },
      // A publisher may give two events one id: one holder's stream is delivered as it comes.
      { kind: "event", event: event("four again", "4"), holder: "new" },
      {
        kind: "error",
        error: {
          code: "SSEHUB_ERR_CLIENT_HTTP_STATUS",
          message: "refused",
          willReconnect: false,
          status: 403,
          hubCode: "SSEHUB_ERR_AUTH_DENIED",
          hubMessage: undefined,
        },
      },
      { kind: "event", event: event("after the end", "5"), holder: "new" },
    ];
    const unsubscribed = nextRequest(worker);
    for (const message of messages) worker.postMessage(message);
    assert.deepEqual(await unsubscribed, { kind: "unsubscribe" }, "a refusal closes the tab");
    await client.closed;

    assert.deepEqual(seen, ["two@2", "three@3", "four@4", "four again@4"]);
    assert.equal(opens, 2, "joining an open stream, then the new holder's open");
    assert.equal(errors.length, 1);
    assert.equal(errors[0]?.code, "SSEHUB_ERR_CLIENT_HTTP_STATUS");
    assert.equal(errors[0]?.status, 403);
    assert.equal(errors[0]?.hubCode, "SSEHUB_ERR_AUTH_DENIED");
    assert.equal(errors[0]?.willReconnect, false);
    assert.equal(client.state, "closed");
    assert.equal(client.lastEventId, "4");
  });
});
