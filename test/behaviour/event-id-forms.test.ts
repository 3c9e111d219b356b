/**
 * The hub's ids (`urn:ssehub:<epoch>:<seq>`) and the ids publishers choose live side by side:
 * app ids such as `order-42` are taken and resumed from, an id in the hub's namespace is refused
 * from a publisher, and a client resumes exactly from the hub's ids, also from one of the form
 * earlier builds gave (`<epoch>-<seq>`) while its epoch is current. Over real sockets, with the
 * memory history and with the Redis history (two hubs on one Redis, as in a rolling deploy).
 */
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import type { ParsedEvent } from "../../src/protocol/parse.js";
import { startRedis } from "../helpers/redis-server.js";
import { requireTools } from "../helpers/require-tool.js";
import { SseReader } from "../helpers/sse-reader.js";
import { postJson, startHub, startRedisHub } from "../helpers/start-hub.js";
import { waitFor } from "../helpers/wait-for.js";

/** A hub over HTTP: where to reach it and the epoch of its ids. */
interface HubUnderTest {
  readonly url: string;
  readonly epoch: () => string;
}

/** Opens a server on a memory history. */
async function memoryHub(t: TestContext): Promise<HubUnderTest> {
  const { server, url } = await startHub(t);
  return { url, epoch: () => server.hub.epoch };
}

/** Opens a server on the Redis history of `redisUrl` under the prefix `ids`. */
async function redisHub(t: TestContext, redisUrl: string): Promise<HubUnderTest> {
  const { server, url } = await startRedisHub(t, redisUrl, {
    prefix: "ids",
    historyMaxEvents: 100,
  });
  return { url, epoch: () => server.hub.epoch };
}

/** Publishes `data` on topic `ids`, with the publisher's `id` when given; answers the hub's id. */
async function publish(hub: HubUnderTest, data: string, id?: string): Promise<string> {
  const answer = await postJson(`${hub.url}/publish`, { topic: "ids", data, id });
  assert.equal(answer.status, 200, `publish of ${data}: ${JSON.stringify(answer.body)}`);
  return answer.body.id as string;
}

/**
 * What a client resuming after `lastEventId` (header, or the query parameter `lastEventID`)
 * gets: every event up to a marker published once the stream is open, so that nothing is
 * missing and nothing more (a reset notice, a duplicate) can hide behind a wait.
 */
async function resumeFrom(
  t: TestContext,
  hub: HubUnderTest,
  lastEventId: string,
  via: "header" | "query" = "header",
): Promise<string[]> {
  const url =
    via === "header"
      ? `${hub.url}/events/ids`
      : `${hub.url}/events/ids?lastEventID=${encodeURIComponent(lastEventId)}`;
  const reader = await SseReader.open(url, via === "header" ? { lastEventId } : {});
  t.after(() => reader.close());
  await publish(hub, "marker");
  await waitFor(
    () => reader.events.some((event) => event.data === "marker"),
    `the marker after resuming from ${lastEventId}`,
  );
  return reader.events.map(describeEvent);
}

function describeEvent(event: ParsedEvent): string {
  if (event.type === "message") return `${event.lastEventId} ${event.data}`;
  return `${event.type} ${JSON.parse(event.data).reason}`;
}

/** The resume tests, run on one kind of history. */
function resumeCases(start: (t: TestContext) => Promise<HubUnderTest>): void {
  it("takes the app ids order-42, user-1 and invoice-2024 and resumes after each of them", async (t) => {
    const hub = await start(t);
    const ids = [
      await publish(hub, "a", "order-42"),
      await publish(hub, "b", "user-1"),
      await publish(hub, "c", "invoice-2024"),
      await publish(hub, "d"),
    ];
    assert.deepEqual(ids.slice(0, 3), ["order-42", "user-1", "invoice-2024"]);
    assert.match(ids[3]!, /^urn:ssehub:[0-9a-z]+:4$/);
    assert.deepEqual(await resumeFrom(t, hub, "order-42"), [
      "user-1 b",
      "invoice-2024 c",
      `${ids[3]} d`,
      `urn:ssehub:${hub.epoch()}:5 marker`,
    ]);
    assert.deepEqual(await resumeFrom(t, hub, "invoice-2024", "query"), [
      `${ids[3]} d`,
      `urn:ssehub:${hub.epoch()}:5 marker`,
      `urn:ssehub:${hub.epoch()}:6 marker`,
    ]);
  });

  it("resumes exactly after an id of its own, from the header and from the query", async (t) => {
    const hub = await start(t);
    const ids = [await publish(hub, "1"), await publish(hub, "2"), await publish(hub, "3")];
    assert.deepEqual(
      ids,
      [1, 2, 3].map((seq) => `urn:ssehub:${hub.epoch()}:${seq}`),
    );
    assert.deepEqual(await resumeFrom(t, hub, ids[0]!), [
      `${ids[1]} 2`,
      `${ids[2]} 3`,
      `urn:ssehub:${hub.epoch()}:4 marker`,
    ]);
    assert.deepEqual(await resumeFrom(t, hub, ids[1]!, "query"), [
      `${ids[2]} 3`,
      `urn:ssehub:${hub.epoch()}:4 marker`,
      `urn:ssehub:${hub.epoch()}:5 marker`,
    ]);
  });

  it("resumes exactly after an id of the old form <epoch>-<seq> while its epoch is current", async (t) => {
    const hub = await start(t);
    const ids = [await publish(hub, "1"), await publish(hub, "2"), await publish(hub, "3")];
    assert.deepEqual(await resumeFrom(t, hub, `${hub.epoch()}-1`), [
      `${ids[1]} 2`,
      `${ids[2]} 3`,
      `urn:ssehub:${hub.epoch()}:4 marker`,
    ]);
  });

  it("takes a publisher's id that looks like an old id of the current epoch for the publisher's", async (t) => {
    const hub = await start(t);
    const first = await publish(hub, "1");
    // The publisher's id names seq 2 here, while the old form would read seq 1.
    const lookalike = `${hub.epoch()}-1`;
    assert.equal(await publish(hub, "2", lookalike), lookalike);
    await publish(hub, "3");
    assert.ok(first.endsWith(":1"));
    assert.deepEqual(await resumeFrom(t, hub, lookalike), [
      `urn:ssehub:${hub.epoch()}:3 3`,
      `urn:ssehub:${hub.epoch()}:4 marker`,
    ]);
  });

  it("answers an id of another epoch, in either form, with a reset and everything it keeps", async (t) => {
    const hub = await start(t);
    const id = await publish(hub, "1");
    for (const other of ["urn:ssehub:zzzz:1", "zzzz-1"]) {
      const got = await resumeFrom(t, hub, other);
      assert.deepEqual(got.slice(0, 2), ["ssehub-reset unknown-epoch", `${id} 1`], other);
      assert.equal(got.at(-1)?.endsWith(" marker"), true, other);
    }
  });

  it("refuses an id in the hub's namespace from a publisher, in any case, with its code", async (t) => {
    const hub = await start(t);
    const own = await publish(hub, "1");
    for (const id of [own, `urn:ssehub:${hub.epoch()}:99`, "URN:SSEHUB:abc:1", "urn:ssehub:mine"]) {
      const answer = await postJson(`${hub.url}/publish`, { topic: "ids", data: "x", id });
      assert.equal(answer.status, 400, id);
      assert.equal(answer.body.code, "SSEHUB_ERR_EVENT_RESERVED_ID", id);
      assert.equal(
        answer.body.message,
        `Cannot publish the event with the id ${JSON.stringify(id)}: ids starting with "urn:ssehub:" are the hub's own; choose another`,
      );
    }
  });
}

describe("event ids on a memory history", () => {
  resumeCases(memoryHub);
});

describe("event ids on a Redis history", { skip: requireTools(["redis-server"]) }, () => {
  resumeCases(async (t) => redisHub(t, (await startRedis(t)).url));

  it("resumes from an old-form id on a hub that joined after the event, as in a rolling deploy", async (t) => {
    const redis = await startRedis(t);
    const before = await redisHub(t, redis.url);
    const ids = [
      await publish(before, "1"),
      await publish(before, "2"),
      await publish(before, "3"),
    ];
    const after = await redisHub(t, redis.url);
    assert.equal(after.epoch(), before.epoch(), "the epoch lives in Redis");
    assert.deepEqual(await resumeFrom(t, after, `${after.epoch()}-1`), [
      `${ids[1]} 2`,
      `${ids[2]} 3`,
      `urn:ssehub:${after.epoch()}:4 marker`,
    ]);
    assert.deepEqual(await resumeFrom(t, after, ids[1]!), [
      `${ids[2]} 3`,
      `urn:ssehub:${after.epoch()}:4 marker`,
      `urn:ssehub:${after.epoch()}:5 marker`,
    ]);
  });
});
