/**
 * Mercure's active subscriptions in draft-08's shapes (Mercure hub 1.0), beside draft-07's, on a
 * real hub: subscription events on `/subscriptions/{match_type}/{match}/{subscriber}` with the
 * SSE type `mercure`, the plain JSON documents, the API's paths, and who may read them (draft-07
 * claims and draft-08 access tokens).
 */
import assert from "node:assert/strict";
import { describe, type TestContext, test } from "node:test";
import { SignJWT } from "jose";
import { subscriptionsPath } from "../../src/mercure/presence.js";
import { subscriptionsPath08 } from "../../src/mercure/subscription-08.js";
import { encodeSegment } from "../../src/mercure/subscription-path.js";
import { type FetchStream, openFetchStream } from "../helpers/fetch-stream.js";
import { sleep, waitFor } from "../helpers/wait-for.js";
import { expectError } from "../http/expect-error.js";
import { startServer } from "../http/start-server.js";
import { accessToken, bearer, DRAFT08 } from "./access-tokens.js";
import { HUB } from "./mercure-form.js";

const SUBSCRIPTIONS = "/.well-known/mercure/subscriptions";
const KEY = "subscriber-secret-of-at-least-32-bytes";
/** Draft-07 URI templates granting every draft-08 and every draft-07 subscription resource. */
const EVERY_08 = "/.well-known/mercure/subscriptions{/match_type}{/match}{/subscriber}";
const EVERY_07 = "/.well-known/mercure/subscriptions{/topic}{/subscriber}";
const OPTIONS = { subscriberJwtKey: KEY, subscriptionEvents: true, shutdownTimeoutMs: 100 };
const A_TOPIC = "https://example.com/a-topic";
/** A matcher holding `%` and `:`: each is percent-encoded once in paths. */
const ODD_TOPIC = "https://example.com/a%20b:c";
const BOOKS = "https://example.com/books/:id";
const MEDIA_08 = "application/mercure+json";
/** How long a test listens for an event that must not come (a slow machine only weakens it). */
const NOTHING_MORE_MS = 50;
const UUID_URN = /^urn:uuid:[0-9a-f-]{36}$/;

type Doc = Record<string, unknown>;

function draft07Token(subscribe: string[], payload?: unknown): Promise<string> {
  return new SignJWT({ mercure: { subscribe, ...(payload === undefined ? {} : { payload }) } })
    .setProtectedHeader({ alg: "HS256" })
    .sign(new TextEncoder().encode(KEY));
}

/** Opens a Mercure stream with `params` (name, value), closed after the test. */
async function open(
  t: TestContext,
  url: string,
  params: [string, string][],
  headers: Record<string, string> = {},
): Promise<FetchStream> {
  const stream = await openFetchStream(`${url}${HUB}?${new URLSearchParams(params)}`, headers);
  t.after(() => stream.close());
  assert.equal(stream.status, 200);
  return stream;
}

interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Doc;
}

async function get(url: string, headers: Record<string, string>): Promise<Answer> {
  const response = await fetch(url, { headers });
  return {
    status: response.status,
    headers: response.headers,
    body: (await response.json()) as Doc,
  };
}

/** Gets `path` until its collection holds `count` subscriptions. */
function listOf(
  url: string,
  path: string,
  headers: Record<string, string>,
  count: number,
): Promise<Answer> {
  return waitFor(async () => {
    const answer = await get(`${url}${path}`, headers);
    const subscriptions = answer.body.subscriptions as Doc[] | undefined;
    return subscriptions?.length === count ? answer : undefined;
  }, `${count} subscriptions at ${path}`);
}

function dataOf(stream: FetchStream, from = 0): Doc[] {
  return stream.events.slice(from).map((event) => JSON.parse(event.data) as Doc);
}

describe("subscriptionsPath08()", () => {
  test("names a subscription as Mercure 1.0's example does, each variable encoded once", () => {
    assert.equal(
      subscriptionsPath08(
        "urlpattern",
        "https://example.com/:selector",
        "urn:uuid:bb3de268-05b0-4c65-b44e-8f9acefc29d6",
      ),
      "/.well-known/mercure/subscriptions/urlpattern/https%3A%2F%2Fexample.com%2F%3Aselector/urn%3Auuid%3Abb3de268-05b0-4c65-b44e-8f9acefc29d6",
    );
    assert.equal(
      subscriptionsPath08("exact", ODD_TOPIC),
      `${SUBSCRIPTIONS}/exact/https%3A%2F%2Fexample.com%2Fa%2520b%3Ac`,
    );
    assert.equal(subscriptionsPath08(), SUBSCRIPTIONS);
  });
});

describe("draft-08 subscription events", () => {
  test("a draft-08 stream's matchers publish events of type mercure on {match_type}/{match}/{subscriber}; a draft-07 stream's keep draft-07's shape", async (t) => {
    const { url } = await startServer(t, OPTIONS);
    const reader = await draft07Token([EVERY_08, EVERY_07]);
    const watcher = await open(t, url, [["match", "*"]], bearer(reader));
    // Its own subscription (exact `*`) comes first.
    await watcher.waitForEvents(1);
    const [own] = dataOf(watcher) as [Doc];
    assert.deepEqual([own.match_type, own.match, own.active], ["exact", "*", true]);

    const token = await draft07Token([], { user: "bob" });
    const bob = await open(
      t,
      url,
      [
        ["match", ODD_TOPIC],
        ["match_urlpattern", BOOKS],
      ],
      bearer(token),
    );
    await watcher.waitForEvents(3);
    const opened = dataOf(watcher, 1);
    const subscriber = String(opened[0]?.subscriber);
    assert.match(subscriber, UUID_URN);
    assert.deepEqual(opened, [
      {
        id: `${SUBSCRIPTIONS}/exact/${encodeSegment(ODD_TOPIC)}/${encodeSegment(subscriber)}`,
        type: "subscription",
        match_type: "exact",
        match: ODD_TOPIC,
        subscriber,
        active: true,
        payload: { user: "bob" },
      },
      {
        id: subscriptionsPath08("urlpattern", BOOKS, subscriber),
        type: "subscription",
        match_type: "urlpattern",
        match: BOOKS,
        subscriber,
        active: true,
        payload: { user: "bob" },
      },
    ]);
    // The SSE type tells them from data on a shared EventSource; the topic is the id.
    assert.deepEqual(
      watcher.events.slice(1).map((event) => event.type),
      ["mercure", "mercure"],
    );

    bob.close();
    await watcher.waitForEvents(5);
    assert.deepEqual(
      dataOf(watcher, 3).map((d) => [d.match_type, d.match, d.subscriber, d.active]),
      [
        ["exact", ODD_TOPIC, subscriber, false],
        ["urlpattern", BOOKS, subscriber, false],
      ],
    );
    assert.equal(watcher.events[4]?.type, "mercure");

    // A draft-07 stream, side by side: draft-07 path, JSON-LD document, the default type.
    await open(t, url, [["topic", A_TOPIC]]);
    await watcher.waitForEvents(6);
    const [draft07] = dataOf(watcher, 5) as [Doc];
    assert.equal(watcher.events[5]?.type, "message");
    assert.equal(draft07["@context"], "https://mercure.rocks/");
    assert.equal(draft07.type, "Subscription");
    assert.equal(draft07.topic, A_TOPIC);
    assert.equal(draft07.id, subscriptionsPath(A_TOPIC, String(draft07.subscriber)));
    assert.equal(draft07.match_type, undefined);
  });

  test("a draft-07 watcher's template matches draft-07 events only: draft-08 topics have three segments", async (t) => {
    const { url } = await startServer(t, OPTIONS);
    const reader = await draft07Token([EVERY_07]);
    const watcher = await open(t, url, [["topic", EVERY_07]], bearer(reader));
    await watcher.waitForEvents(1);
    await open(t, url, [["match", A_TOPIC]]);
    await open(t, url, [["topic", A_TOPIC]]);
    await watcher.waitForEvents(2);
    await sleep(NOTHING_MORE_MS);
    assert.deepEqual(
      dataOf(watcher).map((d) => [d.topic, d.match]),
      [
        [EVERY_07, undefined],
        [A_TOPIC, undefined],
      ],
    );
  });

  test("the same matcher twice is one subscription; the same value of two types is two", async (t) => {
    const { url } = await startServer(t, OPTIONS);
    const reader = await draft07Token([EVERY_08]);
    await open(t, url, [
      ["match", A_TOPIC],
      ["match_exact", A_TOPIC],
      ["match_urlpattern", A_TOPIC],
    ]);
    const { body } = await listOf(url, SUBSCRIPTIONS, { ...bearer(reader), Accept: MEDIA_08 }, 2);
    assert.deepEqual(
      (body.subscriptions as Doc[]).map((s) => [s.match_type, s.match]),
      [
        ["exact", A_TOPIC],
        ["urlpattern", A_TOPIC],
      ],
    );
  });

  test("a draft-08 event is private: granted by a draft-08 access token's subscribe on its topic, not otherwise", async (t) => {
    const { url } = await startServer(t, { ...DRAFT08, subscriptionEvents: true });
    const everything = await accessToken([{ actions: ["subscribe"], topics: [{ match: "*" }] }]);
    const books = await accessToken([{ actions: ["subscribe"], topics: [{ match: A_TOPIC }] }]);
    const watcher = await open(t, url, [["match", "*"]], bearer(everything));
    const outsider = await open(t, url, [["match", "*"]], bearer(books));
    const anonymous = await open(t, url, [["match", "*"]]);
    // Each of the three streams is a subscription: the watcher sees all three.
    await watcher.waitForEvents(3);
    assert.deepEqual(
      watcher.events.map((event) => event.type),
      ["mercure", "mercure", "mercure"],
    );
    await open(t, url, [["match", A_TOPIC]]);
    await watcher.waitForEvents(4);
    await sleep(NOTHING_MORE_MS);
    assert.equal(outsider.events.length, 0);
    assert.equal(anonymous.events.length, 0);
  });
});

describe("the draft-08 subscriptions API", () => {
  test("GET /subscriptions lists each draft's subscriptions in its shape: draft-08 when Accept asks for application/mercure+json", async (t) => {
    const { url, ssehub } = await startServer(t, OPTIONS);
    const reader = await draft07Token([EVERY_08, EVERY_07]);
    const alice = await draft07Token([], { user: "alice" });
    await open(t, url, [["match_urlpattern", BOOKS]], bearer(alice));
    await open(t, url, [["topic", A_TOPIC]]);

    const { headers, body } = await listOf(
      url,
      SUBSCRIPTIONS,
      { ...bearer(reader), Accept: MEDIA_08 },
      1,
    );
    assert.equal(headers.get("content-type"), MEDIA_08);
    assert.equal(headers.get("link"), `<${HUB}>; rel="mercure"`);
    assert.equal(headers.get("cache-control"), "no-store");
    const [subscription] = body.subscriptions as [Doc];
    const subscriber = String(subscription.subscriber);
    assert.deepEqual(body, {
      id: SUBSCRIPTIONS,
      type: "subscriptions",
      last_event_id: ssehub.hub.lastEventId,
      subscriptions: [
        {
          id: subscriptionsPath08("urlpattern", BOOKS, subscriber),
          type: "subscription",
          match_type: "urlpattern",
          match: BOOKS,
          subscriber,
          active: true,
          payload: { user: "alice" },
        },
      ],
    });

    // Without that Accept, the draft-07 list a draft-07 client always got: draft-07's only.
    const old = await listOf(url, SUBSCRIPTIONS, bearer(reader), 1);
    assert.equal(old.headers.get("content-type"), "application/ld+json");
    assert.equal(old.body.type, "Subscriptions");
    assert.equal(old.body.lastEventID, ssehub.hub.lastEventId);
    assert.deepEqual(
      (old.body.subscriptions as Doc[]).map((s) => s.topic),
      [A_TOPIC],
    );
  });

  test("GET .../{match_type}/{match} lists one matcher's, .../{subscriber} one subscription, 404 once it ends", async (t) => {
    const { url, ssehub } = await startServer(t, OPTIONS);
    const reader = bearer(await draft07Token([EVERY_08]));
    const bob = await open(t, url, [
      ["match", ODD_TOPIC],
      ["match_urlpattern", BOOKS],
    ]);
    await open(t, url, [["match", ODD_TOPIC]]);
    await open(t, url, [["match_urlpattern", ODD_TOPIC.replace(":c", "")]]);

    const path = subscriptionsPath08("exact", ODD_TOPIC);
    const { headers, body } = await listOf(url, path, reader, 2);
    assert.equal(headers.get("content-type"), MEDIA_08);
    assert.equal(body.id, path);
    assert.equal(body.type, "subscriptions");
    const listed = body.subscriptions as Doc[];
    assert.deepEqual(
      listed.map((s) => [s.match_type, s.match]),
      [
        ["exact", ODD_TOPIC],
        ["exact", ODD_TOPIC],
      ],
    );
    // The URL pattern `BOOKS` has its own collection; the exact one of the same text is empty.
    const patterns = await get(`${url}${subscriptionsPath08("urlpattern", BOOKS)}`, reader);
    assert.equal((patterns.body.subscriptions as Doc[]).length, 1);
    const exact = await get(`${url}${subscriptionsPath08("exact", BOOKS)}`, reader);
    assert.deepEqual(exact.body.subscriptions, []);

    const subscriber = String(listed[0]?.subscriber);
    const one = subscriptionsPath08("exact", ODD_TOPIC, subscriber);
    const found = await get(`${url}${one}`, reader);
    assert.equal(found.status, 200);
    assert.equal(found.headers.get("content-type"), MEDIA_08);
    assert.deepEqual(found.body, {
      id: one,
      type: "subscription",
      match_type: "exact",
      match: ODD_TOPIC,
      subscriber,
      active: true,
      last_event_id: ssehub.hub.lastEventId,
    });
    bob.close();
    await waitFor(async () =>
      (await get(`${url}${one}`, reader)).status === 404 ? true : undefined,
    );
    await expectError(`${url}${one}`, 404, "SSEHUB_ERR_SUBSCRIPTION_NOT_FOUND", {
      headers: reader,
    });
  });

  test("with a draft-08 access token, the API needs subscribe on the path asked: 401, 403, 200", async (t) => {
    const { url } = await startServer(t, { ...DRAFT08, subscriptionEvents: true });
    await open(t, url, [["match", A_TOPIC]]);
    const collection = subscriptionsPath08("exact", A_TOPIC);
    const onCollection = await accessToken([
      { actions: ["subscribe"], topics: [{ match: collection }] },
    ]);
    const everything = await accessToken([{ actions: ["subscribe"], topics: [{ match: "*" }] }]);
    await expectError(`${url}${collection}`, 401, "SSEHUB_ERR_AUTH_MISSING");
    const listed = await listOf(url, collection, bearer(onCollection), 1);
    assert.equal(listed.body.type, "subscriptions");
    // The exact grant covers that path only, not the whole collection nor one subscription.
    await expectError(`${url}${SUBSCRIPTIONS}`, 403, "SSEHUB_ERR_AUTH_FORBIDDEN", {
      headers: { ...bearer(onCollection), Accept: MEDIA_08 },
    });
    const subscriber = String((listed.body.subscriptions as [Doc])[0].subscriber);
    await expectError(
      `${url}${subscriptionsPath08("exact", A_TOPIC, subscriber)}`,
      403,
      "SSEHUB_ERR_AUTH_FORBIDDEN",
      { headers: bearer(onCollection) },
    );
    const all = await get(`${url}${SUBSCRIPTIONS}`, { ...bearer(everything), Accept: MEDIA_08 });
    assert.equal(all.status, 200);
    assert.equal((all.body.subscriptions as Doc[]).length, 1);
  });

  test("each subscription shows the payload of the access token's subscribe detail matching its matcher", async (t) => {
    const { url } = await startServer(t, { ...DRAFT08, subscriptionEvents: true });
    const token = await accessToken([
      { actions: ["subscribe"], topics: [{ match: A_TOPIC }], payload: { shelf: "topic" } },
      {
        actions: ["subscribe"],
        topics: [{ match: BOOKS, match_type: "urlpattern" }],
        payload: { shelf: "books" },
      },
      { actions: ["subscribe"], topics: [{ match: "*" }], payload: { shelf: "default" } },
    ]);
    await open(
      t,
      url,
      [
        ["match", A_TOPIC],
        ["match_urlpattern", BOOKS],
        ["match", ODD_TOPIC],
      ],
      bearer(token),
    );
    const { body } = await listOf(url, SUBSCRIPTIONS, { ...bearer(token), Accept: MEDIA_08 }, 3);
    assert.deepEqual(
      (body.subscriptions as Doc[]).map((s) => [s.match, s.payload]),
      [
        [A_TOPIC, { shelf: "topic" }],
        [BOOKS, { shelf: "books" }],
        [ODD_TOPIC, { shelf: "default" }],
      ],
    );
  });

  test("mercureProtocol draft-08 lists draft-08 shapes without Accept and has no draft-07 paths; draft-07 no draft-08 ones", async (t) => {
    const reader = bearer(await draft07Token([EVERY_08, EVERY_07]));
    const d08 = await startServer(t, { ...OPTIONS, mercureProtocol: "draft-08" });
    await open(t, d08.url, [["match", A_TOPIC]]);
    const list = await listOf(d08.url, SUBSCRIPTIONS, reader, 1);
    assert.equal(list.headers.get("content-type"), MEDIA_08);
    assert.equal(list.body.type, "subscriptions");
    await expectError(
      `${d08.url}${subscriptionsPath(A_TOPIC)}`,
      404,
      "SSEHUB_ERR_ROUTE_NOT_FOUND",
      { headers: reader },
    );

    const d07 = await startServer(t, { ...OPTIONS, mercureProtocol: "draft-07" });
    await open(t, d07.url, [["topic", A_TOPIC]]);
    const old = await listOf(d07.url, SUBSCRIPTIONS, { ...reader, Accept: MEDIA_08 }, 1);
    assert.equal(old.headers.get("content-type"), "application/ld+json");
    // Two segments are draft-07's topic and subscriber there; three are no path at all.
    await expectError(
      `${d07.url}${SUBSCRIPTIONS}/exact/x`,
      404,
      "SSEHUB_ERR_SUBSCRIPTION_NOT_FOUND",
      { headers: reader },
    );
    await expectError(
      `${d07.url}${subscriptionsPath08("exact", A_TOPIC, "urn:uuid:x")}`,
      404,
      "SSEHUB_ERR_ROUTE_NOT_FOUND",
      { headers: reader },
    );
  });

  test("an unknown matcher type answers 404; two segments of another first one are draft-07's", async (t) => {
    const { url } = await startServer(t, OPTIONS);
    const init = { headers: bearer(await draft07Token([EVERY_08, EVERY_07])) };
    await expectError(`${url}${SUBSCRIPTIONS}/regex/a/b`, 404, "SSEHUB_ERR_ROUTE_NOT_FOUND", init);
    await expectError(`${url}${SUBSCRIPTIONS}/Exact/a/b`, 404, "SSEHUB_ERR_ROUTE_NOT_FOUND", init);
    await expectError(`${url}${SUBSCRIPTIONS}/a/b`, 404, "SSEHUB_ERR_SUBSCRIPTION_NOT_FOUND", init);
    await expectError(
      `${url}${SUBSCRIPTIONS}/exact/%E0%A4%A`,
      400,
      "SSEHUB_ERR_TOPIC_INVALID",
      init,
    );
  });

  test("with CORS on, a script may read the Link header of an answer", async (t) => {
    const origin = "https://app.example";
    const { url } = await startServer(t, { ...OPTIONS, corsOrigins: [origin] });
    const reader = await draft07Token([EVERY_08]);
    const answer = await get(`${url}${SUBSCRIPTIONS}`, {
      ...bearer(reader),
      Accept: MEDIA_08,
      Origin: origin,
    });
    assert.equal(answer.status, 200);
    assert.equal(answer.headers.get("access-control-allow-origin"), origin);
    const exposed = (answer.headers.get("access-control-expose-headers") ?? "")
      .split(",")
      .map((name) => name.trim().toLowerCase());
    assert.ok(exposed.includes("link"), exposed.join(", "));
  });
});
