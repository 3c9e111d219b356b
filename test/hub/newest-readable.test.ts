/**
 * Hub.newestReadableId: the point a stream without Last-Event-ID starts from, as Mercure names
 * it: the newest event the subscriber may read among the newest READABLE_SCAN_LIMIT, else
 * `earliest`; never the id of a private event it may not read.
 */
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { openDurableEngine } from "../../src/bus/durable-engine.js";
import { createHub, type Hub, READABLE_SCAN_LIMIT } from "../../src/hub/hub.js";
import type { PrivateAccess } from "../../src/hub/subscriber.js";
import { EARLIEST } from "../../src/hub/types.js";
import { tempDir } from "../helpers/temp-dir.js";

const readsSecrets: PrivateAccess = { allows: (topics) => topics.includes("secret") };

describe("Hub.newestReadableId()", () => {
  it("is earliest before any event", async () => {
    const hub = createHub();
    assert.equal(hub.newestReadableId(undefined), EARLIEST);
    await hub.close();
  });

  it("skips private events the subscriber may not read, not those it may", async () => {
    const hub = createHub();
    const open = await hub.publish({ topic: "news", data: "1" });
    const secret = await hub.publish({ topic: "secret", data: "2", private: true });
    assert.equal(hub.newestReadableId(undefined), open.id);
    assert.equal(hub.newestReadableId(readsSecrets), secret.id);
    await hub.close();
  });

  it("names the publisher's id when the event has one", async () => {
    const hub = createHub();
    await hub.publish({ topic: "news", data: "1", id: "order-42" });
    assert.equal(hub.newestReadableId(undefined), "order-42");
    await hub.close();
  });

  it("looks back READABLE_SCAN_LIMIT events at most, then answers earliest", async () => {
    const hub = createHub();
    await hub.publish({ topic: "news", data: "public" });
    for (let i = 0; i < READABLE_SCAN_LIMIT; i++) {
      await hub.publish({ topic: "secret", data: String(i), private: true });
    }
    assert.equal(hub.newestReadableId(undefined), EARLIEST);
    assert.notEqual(hub.newestReadableId(readsSecrets), EARLIEST);
    await hub.close();
  });

  it("resumePointOf() names a resumed-from private event only to whom may read it", async () => {
    const hub = createHub();
    const open = await hub.publish({ topic: "news", data: "1" });
    const secret = await hub.publish({ topic: "secret", data: "2", private: true });
    assert.equal(hub.resumePointOf(open.id), open.id);
    assert.equal(hub.resumePointOf(secret.id, readsSecrets), secret.id);
    assert.equal(hub.resumePointOf(secret.id), open.id, "the newest readable one before it");
    assert.equal(hub.resumePointOf("urn:ssehub:another-epoch:1"), EARLIEST);
    await hub.close();
  });

  it("after a restart on a data directory, names the newest event read back", async (t) => {
    let open = "";
    let secret = "";
    const after = await restartedHub(t, 100, async (hub) => {
      open = (await hub.publish({ topic: "news", data: "1" })).id;
      secret = (await hub.publish({ topic: "secret", data: "2", private: true })).id;
    });
    assert.equal(after.newestReadableId(undefined), open);
    assert.equal(after.newestReadableId(readsSecrets), secret);
  });

  it("after a restart, looks back no further than the first event history no longer keeps", async (t) => {
    let newest = "";
    const after = await restartedHub(t, 1, async (hub) => {
      await hub.publish({ topic: "news", data: "public, kept" });
      await hub.publish({ topic: "secret", data: "evicted by the next", private: true });
      newest = (await hub.publish({ topic: "secret", data: "kept", private: true })).id;
    });
    assert.equal(after.newestReadableId(readsSecrets), newest);
    // The event between is gone, so whether a readable one came after "news" is unknown: naming
    // "news" could skip it. Without a gap the ring would name it (the test above).
    assert.equal(after.newestReadableId(undefined), EARLIEST);
  });
});

/**
 * A hub on a new data directory with `historyMaxEvents`: `before` publishes on it, then it
 * closes, and the hub returned is the one started again on the same directory.
 */
async function restartedHub(
  t: TestContext,
  historyMaxEvents: number,
  before: (hub: Hub) => Promise<void>,
): Promise<Hub> {
  const options = {
    dataDir: tempDir(t),
    dataMaxBytes: 64 * 1024 * 1024,
    dataSyncMs: 1000,
    historyMaxEvents,
    historyMaxAgeMs: 3_600_000,
  };
  const first = openDurableEngine(options);
  const hub = createHub({}, { bus: first.bus, history: first.history });
  await before(hub);
  await hub.close();
  first.close();
  const again = openDurableEngine(options);
  t.after(() => again.close());
  const restarted = createHub({}, { bus: again.bus, history: again.history });
  t.after(() => restarted.close());
  return restarted;
}
