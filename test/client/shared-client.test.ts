/**
 * The shared client outside a browser tab, and the key that decides which tabs share a
 * connection. Sharing itself (SharedWorker, leader tab) is tested in Chromium:
 * test/browser/shared-client.test.ts.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createSharedClient, type ParsedEvent, type ResetNotice } from "../../src/client/index.js";
import {
  type SharedConnectionSpec,
  sharedConnectionKey,
} from "../../src/client/shared-messages.js";
import { startHub } from "../helpers/start-hub.js";
import { waitFor } from "../helpers/wait-for.js";

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

  it("subscribes on its own where nothing can share, routing events and notices alike", async (t) => {
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
