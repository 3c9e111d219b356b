import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { SignJWT } from "jose";
import { SOCKET_TAKEOVER_ENV } from "../../src/http/transport/socket-takeover.js";
import { encodeSegment, subscriptionsPath } from "../../src/mercure/presence.js";
import { type FetchStream, openFetchStream } from "../helpers/fetch-stream.js";
import { sleep, waitFor } from "../helpers/wait-for.js";
import { expectError } from "../http/expect-error.js";
import { startServer } from "../http/start-server.js";

const HUB = "/.well-known/mercure";
const SUBSCRIPTIONS = "/.well-known/mercure/subscriptions";
/** The selector that grants (and subscribes to) every resource and event of the API. */
const EVERY_SUBSCRIPTION = "/.well-known/mercure/subscriptions{/topic}{/subscriber}";
const KEY = "subscriber-secret-of-at-least-32-bytes";
/**
 * The server's shutdown waits up to shutdownTimeoutMs for connections to go, and a stream the
 * client aborted may keep its count for that long: these tests are not about shutdown.
 */
const OPTIONS = { subscriberJwtKey: KEY, subscriptionEvents: true, shutdownTimeoutMs: 100 };
const BOOKS = "https://example.com/books/{id}";
const A_TOPIC = "https://example.com/a-topic";
/**
 * How long a test listens for an event that must not come before it asserts that none did.
 * There is no event to wait for when nothing should happen; a slow machine only makes such a
 * check weaker, never false.
 */
const NOTHING_MORE_MS = 50;
const UUID_URN = /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function subscriberToken(subscribe: string[], payload?: unknown): Promise<string> {
  return new SignJWT({ mercure: { subscribe, ...(payload === undefined ? {} : { payload }) } })
    .setProtectedHeader({ alg: "HS256" })
    .sign(new TextEncoder().encode(KEY));
}

function bearer(token: string): Record<string, string> {
  return { Authorization: `Bearer ${token}` };
}

/** Opens a Mercure stream on `selectors`, closed after the test. */
async function openMercure(
  t: { after(fn: () => void): void },
  url: string,
  selectors: string[],
  headers: Record<string, string> = {},
): Promise<FetchStream> {
  const query = selectors.map((s) => `topic=${encodeURIComponent(s)}`).join("&");
  const stream = await openFetchStream(`${url}${HUB}?${query}`, headers);
  t.after(() => stream.close());
  assert.equal(stream.status, 200);
  return stream;
}

interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Record<string, unknown>;
}

async function get(url: string, token: string): Promise<Answer> {
  const response = await fetch(url, { headers: bearer(token) });
  return {
    status: response.status,
    headers: response.headers,
    body: (await response.json()) as Record<string, unknown>,
  };
}

/** Waits until the hub has taken `count` events: its lastEventId no longer moves. */
function published(ssehub: { hub: { stats(): { eventsPublished: number } } }, count: number) {
  return waitFor(async () => (ssehub.hub.stats().eventsPublished === count ? true : undefined));
}

type Subscription = Record<string, unknown>;

/** Lists `path` until it holds `count` subscriptions; answers the whole body. */
function listOf(url: string, path: string, token: string, count: number): Promise<Answer> {
  return waitFor(async () => {
    const answer = await get(`${url}${path}`, token);
    const subscriptions = answer.body.subscriptions as Subscription[] | undefined;
    return subscriptions?.length === count ? answer : undefined;
  });
}

function dataOf(stream: FetchStream): Subscription[] {
  return stream.events.map((event) => JSON.parse(event.data) as Subscription);
}

describe("encodeSegment() and subscriptionsPath()", () => {
  test("encodeSegment() percent-encodes all but the unreserved characters (RFC 6570)", () => {
    assert.equal(encodeSegment(BOOKS), "https%3A%2F%2Fexample.com%2Fbooks%2F%7Bid%7D");
    assert.equal(encodeSegment("a!b'c(d)e*f~g-h.i_j"), "a%21b%27c%28d%29e%2Af~g-h.i_j");
    assert.equal(encodeSegment("é 100%"), "%C3%A9%20100%25");
    assert.equal(encodeSegment("a\uD800b"), "a%EF%BF%BDb");
  });

  test("subscriptionsPath() names a subscription as the Mercure spec's example does", () => {
    assert.equal(
      subscriptionsPath(
        "https://example.com/{selector}",
        "urn:uuid:bb3de268-05b0-4c65-b44e-8f9acefc29d6",
      ),
      "/.well-known/mercure/subscriptions/https%3A%2F%2Fexample.com%2F%7Bselector%7D/urn%3Auuid%3Abb3de268-05b0-4c65-b44e-8f9acefc29d6",
    );
    assert.equal(subscriptionsPath(), SUBSCRIPTIONS);
    assert.equal(
      subscriptionsPath(A_TOPIC),
      `${SUBSCRIPTIONS}/https%3A%2F%2Fexample.com%2Fa-topic`,
    );
  });
});

describe("Mercure's subscriptions API", () => {
  test("GET /.well-known/mercure/subscriptions lists every active subscription as JSON-LD", async (t) => {
    const { url, ssehub } = await startServer(t, OPTIONS);
    const reader = await subscriberToken([EVERY_SUBSCRIPTION]);
    const alice = await subscriberToken([BOOKS], { user: "alice" });
    await openMercure(t, url, [BOOKS, A_TOPIC], bearer(alice));
    await openMercure(t, url, [A_TOPIC]);
    // ssehub's own streams are not Mercure subscriptions.
    const own = await openFetchStream(`${url}/events?topic=${encodeURIComponent(A_TOPIC)}`);
    t.after(() => own.close());
    await published(ssehub, 3);

    const { headers, body } = await listOf(url, SUBSCRIPTIONS, reader, 3);
    assert.equal(headers.get("content-type"), "application/ld+json");
    assert.equal(headers.get("link"), `<${HUB}>; rel="mercure"`);
    assert.equal(headers.get("cache-control"), "no-store");
    const subscriptions = body.subscriptions as Subscription[];
    const [first, second, third] = subscriptions as [Subscription, Subscription, Subscription];
    assert.match(String(first.subscriber), UUID_URN);
    assert.match(String(third.subscriber), UUID_URN);
    assert.equal(second.subscriber, first.subscriber);
    assert.notEqual(third.subscriber, first.subscriber);
    const aliceId = String(first.subscriber);
    const anonymousId = String(third.subscriber);
    assert.deepEqual(body, {
      "@context": "https://mercure.rocks/",
      id: SUBSCRIPTIONS,
      type: "Subscriptions",
      lastEventID: ssehub.hub.lastEventId,
      subscriptions: [
        {
          id: subscriptionsPath(BOOKS, aliceId),
          type: "Subscription",
          topic: BOOKS,
          subscriber: aliceId,
          active: true,
          payload: { user: "alice" },
        },
        {
          id: subscriptionsPath(A_TOPIC, aliceId),
          type: "Subscription",
          topic: A_TOPIC,
          subscriber: aliceId,
          active: true,
          payload: { user: "alice" },
        },
        // Without a token (or a payload claim), no payload.
        {
          id: subscriptionsPath(A_TOPIC, anonymousId),
          type: "Subscription",
          topic: A_TOPIC,
          subscriber: anonymousId,
          active: true,
        },
      ],
    });
  });

  test("GET .../subscriptions/{topic} lists the subscriptions of one topic selector", async (t) => {
    const { url } = await startServer(t, OPTIONS);
    const reader = await subscriberToken([EVERY_SUBSCRIPTION]);
    await openMercure(t, url, [BOOKS, A_TOPIC]);
    await openMercure(t, url, [A_TOPIC]);
    await openMercure(t, url, ["https://example.com/other"]);
    await listOf(url, SUBSCRIPTIONS, reader, 4);

    const path = `${SUBSCRIPTIONS}/${encodeSegment(A_TOPIC)}`;
    const { body } = await get(`${url}${path}`, reader);
    assert.equal(body["@context"], "https://mercure.rocks/");
    assert.equal(body.id, path);
    assert.equal(body.type, "Subscriptions");
    const subscriptions = body.subscriptions as Subscription[];
    assert.deepEqual(
      subscriptions.map((s) => s.topic),
      [A_TOPIC, A_TOPIC],
    );
    for (const subscription of subscriptions) {
      assert.equal(subscription.id, subscriptionsPath(A_TOPIC, String(subscription.subscriber)));
      assert.equal(subscription["@context"], undefined);
    }
    // The selector is compared as written: a template is not matched against topics here.
    const books = await get(`${url}${SUBSCRIPTIONS}/${encodeSegment(BOOKS)}`, reader);
    assert.equal((books.body.subscriptions as Subscription[]).length, 1);
    const none = await get(
      `${url}${SUBSCRIPTIONS}/${encodeSegment("https://example.com/books/1")}`,
      reader,
    );
    assert.equal(none.status, 200);
    assert.deepEqual(none.body.subscriptions, []);
  });

  test("GET .../subscriptions/{topic}/{subscriber} answers one subscription, then 404 once it ends", async (t) => {
    const { url, ssehub } = await startServer(t, OPTIONS);
    const reader = await subscriberToken([EVERY_SUBSCRIPTION]);
    const token = await subscriberToken([], { room: 7 });
    const stream = await openMercure(t, url, [BOOKS, A_TOPIC], bearer(token));
    const { body } = await listOf(url, SUBSCRIPTIONS, reader, 2);
    await published(ssehub, 2);
    const subscriber = String((body.subscriptions as Subscription[])[0]!.subscriber);
    const path = subscriptionsPath(BOOKS, subscriber);

    const one = await get(`${url}${path}`, reader);
    assert.equal(one.status, 200);
    assert.equal(one.headers.get("content-type"), "application/ld+json");
    assert.deepEqual(one.body, {
      "@context": "https://mercure.rocks/",
      id: path,
      type: "Subscription",
      topic: BOOKS,
      subscriber,
      active: true,
      payload: { room: 7 },
      lastEventID: ssehub.hub.lastEventId,
    });
    // Lower-case escapes name the same resource.
    const lower = await get(
      `${url}${path.replace(/%[0-9A-F]{2}/g, (e) => e.toLowerCase())}`,
      reader,
    );
    assert.equal(lower.body.id, path);

    await expectError(
      `${url}${subscriptionsPath(BOOKS, "urn:uuid:00000000-0000-4000-8000-000000000000")}`,
      404,
      "SSEHUB_ERR_SUBSCRIPTION_NOT_FOUND",
      { headers: bearer(reader) },
    );
    await expectError(
      `${url}${subscriptionsPath("https://example.com/other", subscriber)}`,
      404,
      "SSEHUB_ERR_SUBSCRIPTION_NOT_FOUND",
      { headers: bearer(reader) },
    );
    stream.close();
    await waitFor(async () =>
      (await fetch(`${url}${path}`, { headers: bearer(reader) })).status === 404 ? true : undefined,
    );
    await listOf(url, SUBSCRIPTIONS, reader, 0);
  });

  test("the API needs a subscriber token whose subscribe claim matches the resource: 401, 403", async (t) => {
    // anonymousSubscribe is on (the default): it opens streams, not the subscriptions API.
    const { url } = await startServer(t, OPTIONS);
    await expectError(`${url}${SUBSCRIPTIONS}`, 401, "SSEHUB_ERR_AUTH_MISSING");
    const { headers } = await expectError(
      `${url}${SUBSCRIPTIONS}`,
      401,
      "SSEHUB_ERR_AUTH_INVALID",
      {
        headers: bearer("not-a-jwt"),
      },
    );
    assert.match(headers.get("www-authenticate") ?? "", /^Bearer/);
    const books = await subscriberToken([BOOKS]);
    await expectError(`${url}${SUBSCRIPTIONS}`, 403, "SSEHUB_ERR_AUTH_FORBIDDEN", {
      headers: bearer(books),
    });

    // A token for one topic selector's subscriptions reads those, and nothing else.
    const oneTopic = await subscriberToken([
      `${SUBSCRIPTIONS}/${encodeSegment(A_TOPIC)}{/subscriber}`,
    ]);
    const stream = await openMercure(t, url, [A_TOPIC, BOOKS]);
    const { body } = await listOf(url, `${SUBSCRIPTIONS}/${encodeSegment(A_TOPIC)}`, oneTopic, 1);
    const subscriber = String((body.subscriptions as Subscription[])[0]!.subscriber);
    assert.equal(
      (await get(`${url}${subscriptionsPath(A_TOPIC, subscriber)}`, oneTopic)).status,
      200,
    );
    for (const path of [
      SUBSCRIPTIONS,
      subscriptionsPath(BOOKS),
      subscriptionsPath(BOOKS, subscriber),
    ]) {
      await expectError(`${url}${path}`, 403, "SSEHUB_ERR_AUTH_FORBIDDEN", {
        headers: bearer(oneTopic),
      });
    }
    // Who may not read a subscription does not learn whether it exists: 403 before 404.
    await expectError(
      `${url}${subscriptionsPath(BOOKS, "urn:uuid:unknown")}`,
      403,
      "SSEHUB_ERR_AUTH_FORBIDDEN",
      { headers: bearer(oneTopic) },
    );
    stream.close();
  });

  test("a hub without a subscriber key cannot check tokens, so it refuses the API (401)", async (t) => {
    const { url } = await startServer(t, { subscriptionEvents: true });
    await expectError(`${url}${SUBSCRIPTIONS}`, 401, "SSEHUB_ERR_AUTH_MISSING");
    const token = await subscriberToken(["*"]);
    await expectError(`${url}${SUBSCRIPTIONS}`, 401, "SSEHUB_ERR_AUTH_INVALID", {
      headers: bearer(token),
    });
  });

  test("a path of another shape answers 404, a broken escape 400, another method 405", async (t) => {
    const { url } = await startServer(t, OPTIONS);
    const reader = await subscriberToken([EVERY_SUBSCRIPTION]);
    const init = { headers: bearer(reader) };
    await expectError(`${url}${SUBSCRIPTIONS}/a/b/c`, 404, "SSEHUB_ERR_ROUTE_NOT_FOUND", init);
    await expectError(`${url}${SUBSCRIPTIONS}/`, 404, "SSEHUB_ERR_ROUTE_NOT_FOUND", init);
    await expectError(`${url}${SUBSCRIPTIONS}/a//b`, 404, "SSEHUB_ERR_ROUTE_NOT_FOUND", init);
    await expectError(`${url}${SUBSCRIPTIONS}/%E0%A4%A`, 400, "SSEHUB_ERR_TOPIC_INVALID", init);
    const { headers } = await expectError(
      `${url}${SUBSCRIPTIONS}`,
      405,
      "SSEHUB_ERR_METHOD_NOT_ALLOWED",
      {
        method: "POST",
        ...init,
      },
    );
    assert.equal(headers.get("allow"), "GET, OPTIONS");
  });

  test("with subscriptionEvents off (the default) the API answers 404", async (t) => {
    const { url } = await startServer(t, { subscriberJwtKey: KEY });
    const reader = await subscriberToken([EVERY_SUBSCRIPTION]);
    for (const path of [
      SUBSCRIPTIONS,
      subscriptionsPath(A_TOPIC),
      subscriptionsPath(A_TOPIC, "x"),
    ]) {
      await expectError(`${url}${path}`, 404, "SSEHUB_ERR_ROUTE_NOT_FOUND", {
        headers: bearer(reader),
      });
    }
  });
});

describe("Mercure's subscription events", () => {
  for (const takeover of [true, false]) {
    test(`each selector of a Mercure stream publishes a private update when it opens and when it closes (${takeover ? "socket takeover" : "res.write"})`, async (t) => {
      if (!takeover) {
        const previous = process.env[SOCKET_TAKEOVER_ENV];
        process.env[SOCKET_TAKEOVER_ENV] = "off";
        t.after(() => {
          if (previous === undefined) delete process.env[SOCKET_TAKEOVER_ENV];
          else process.env[SOCKET_TAKEOVER_ENV] = previous;
        });
      }
      const { url } = await startServer(t, OPTIONS);
      const reader = await subscriberToken([EVERY_SUBSCRIPTION]);
      const watcher = await openMercure(t, url, [EVERY_SUBSCRIPTION], bearer(reader));
      // Private: a subscriber without the grant gets none of them.
      const outsider = await openMercure(t, url, [EVERY_SUBSCRIPTION]);
      // The watcher's own subscription comes first, as in Mercure, then the outsider's.
      await watcher.waitForEvents(2);
      const [own] = dataOf(watcher) as [Subscription];
      assert.equal(own.topic, EVERY_SUBSCRIPTION);
      assert.equal(own.active, true);

      const token = await subscriberToken([], { user: "bob" });
      const bob = await openMercure(t, url, [BOOKS, A_TOPIC], bearer(token));
      await watcher.waitForEvents(4);
      const opened = dataOf(watcher).slice(2);
      const subscriber = String(opened[0]!.subscriber);
      assert.match(subscriber, UUID_URN);
      assert.deepEqual(opened, [
        {
          "@context": "https://mercure.rocks/",
          id: subscriptionsPath(BOOKS, subscriber),
          type: "Subscription",
          topic: BOOKS,
          subscriber,
          active: true,
          payload: { user: "bob" },
        },
        {
          "@context": "https://mercure.rocks/",
          id: subscriptionsPath(A_TOPIC, subscriber),
          type: "Subscription",
          topic: A_TOPIC,
          subscriber,
          active: true,
          payload: { user: "bob" },
        },
      ]);
      // The event's topic is the subscription's id: the watcher matched it with its template.
      assert.equal(watcher.events[2]!.type, "message");

      bob.close();
      await watcher.waitForEvents(6);
      assert.deepEqual(
        dataOf(watcher)
          .slice(4)
          .map((d) => [d.topic, d.subscriber, d.active]),
        [
          [BOOKS, subscriber, false],
          [A_TOPIC, subscriber, false],
        ],
      );
      await sleep(NOTHING_MORE_MS);
      assert.equal(outsider.events.length, 0);
    });
  }

  test("a watcher resuming from the list's lastEventID misses no event that followed the list", async (t) => {
    const { url, ssehub } = await startServer(t, OPTIONS);
    const reader = await subscriberToken([EVERY_SUBSCRIPTION]);
    await openMercure(t, url, [A_TOPIC]);
    await published(ssehub, 1);
    const { body } = await listOf(url, SUBSCRIPTIONS, reader, 1);
    assert.notEqual(body.lastEventID, "earliest");
    const lastEventID = String(body.lastEventID);
    await openMercure(t, url, [BOOKS]);
    await listOf(url, SUBSCRIPTIONS, reader, 2);
    const watcher = await openMercure(t, url, [EVERY_SUBSCRIPTION], {
      ...bearer(reader),
      "Last-Event-ID": lastEventID,
    });
    // BOOKS's opening (from history), then the watcher's own (live).
    await watcher.waitForEvents(2);
    assert.deepEqual(
      dataOf(watcher).map((d) => d.topic),
      [BOOKS, EVERY_SUBSCRIPTION],
    );
  });

  test("with subscriptionEvents off, Mercure streams publish nothing", async (t) => {
    const { url, ssehub } = await startServer(t, { ...OPTIONS, subscriptionEvents: false });
    const reader = await subscriberToken([EVERY_SUBSCRIPTION]);
    const watcher = await openMercure(t, url, [EVERY_SUBSCRIPTION], bearer(reader));
    const stream = await openMercure(t, url, [BOOKS, A_TOPIC]);
    await waitFor(async () => (ssehub.hub.stats().subscribers === 2 ? true : undefined));
    stream.close();
    await waitFor(async () => (ssehub.hub.stats().subscribers === 1 ? true : undefined));
    await sleep(NOTHING_MORE_MS);
    assert.equal(ssehub.hub.stats().eventsPublished, 0);
    assert.equal(watcher.events.length, 0);
  });

  test("a selector whose subscription topic passes maxTopicLength publishes no event, the others do", async (t) => {
    const { url } = await startServer(t, { ...OPTIONS, maxTopicLength: 200 });
    const reader = await subscriberToken([EVERY_SUBSCRIPTION]);
    const watcher = await openMercure(t, url, [EVERY_SUBSCRIPTION], bearer(reader));
    await watcher.waitForEvents(1);
    // 120 characters, 128 encoded: its subscription's topic has 213.
    const long = `https://example.com/${"x".repeat(100)}`;
    assert.ok(subscriptionsPath(long, `urn:uuid:${"0".repeat(36)}`).length > 200);
    await openMercure(t, url, [long, "short"]);
    await watcher.waitForEvents(2);
    await sleep(NOTHING_MORE_MS);
    assert.deepEqual(
      dataOf(watcher).map((d) => d.topic),
      [EVERY_SUBSCRIPTION, "short"],
    );
    // The API still lists it.
    await listOf(url, subscriptionsPath(long), reader, 1);
  });
});
