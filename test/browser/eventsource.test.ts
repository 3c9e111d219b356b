/**
 * A real browser's own EventSource (headless Chromium) subscribes to the hub from a page of
 * another origin: it gets every field as published, reconnects by itself with Last-Event-ID
 * after the hub drops it and gets what it missed exactly once, and is told by `ssehub-reset`
 * when history no longer covers its Last-Event-ID.
 */
import assert from "node:assert/strict";
import type { Server as HttpServer } from "node:http";
import { describe, it } from "node:test";
import type { PublishInput } from "../../src/hub/publish-input.js";
import {
  type OpenedBrowser,
  openBrowser,
  recordRequests,
  type SeenRequest,
  serveStatic,
  waitInPage,
} from "../helpers/browser.js";
import { postJson, type StartedHub, startHub } from "../helpers/start-hub.js";

/**
 * The hub's `retry:`, in ms: how long the browser stays away after a drop. The events of its
 * absence are published in the same turn as the drop (dropAndPublish), so they are in history
 * before it can be back, however slow the machine; each test checks that from the time of the
 * reconnection.
 */
const RECONNECT_MS = 500;

/** What the page records of each event. */
interface Received {
  readonly type: string;
  readonly data: string;
  readonly lastEventId: string;
}

/** The page's globals. */
interface PageState {
  received: Received[];
  opens: number;
  /** The EventSource's readyState at each `error` event: 0 (CONNECTING) while it retries. */
  errorStates: number[];
}

/**
 * The page: a native EventSource on the URL in its `stream` query parameter, listening to the
 * event types the tests publish and to the hub's reset notice.
 */
const EVENTSOURCE_PAGE = `<!doctype html>
<html lang="en">
<meta charset="utf-8">
<title>ssehub EventSource</title>
<script>
  window.received = [];
  window.opens = 0;
  window.errorStates = [];
  const source = new EventSource(new URLSearchParams(location.search).get("stream"));
  for (const type of ["message", "price", "ssehub-reset"]) {
    source.addEventListener(type, (event) => {
      window.received.push({ type: event.type, data: event.data, lastEventId: event.lastEventId });
    });
  }
  source.addEventListener("open", () => {
    window.opens++;
  });
  source.addEventListener("error", () => {
    window.errorStates.push(source.readyState);
  });
</script>
</html>
`;

/**
 * Publishes one event over HTTP and returns its id. A new connection each time: a pooled one
 * may have been dropped by the hub.
 */
async function publish(hubUrl: string, body: PublishInput): Promise<string> {
  const answer = await postJson(`${hubUrl}/publish`, body, { newConnection: true });
  assert.equal(answer.status, 200, `publish ${JSON.stringify(body)}: ${JSON.stringify(answer)}`);
  return answer.body.id as string;
}

/** The browser, the page's site and a hub that allows the site's origin. */
async function setUp(t: { after(fn: () => unknown): void }, hubOptions: Record<string, unknown>) {
  // One after the other: each registers its own cleanup, which must happen within the test.
  const browser = await openBrowser(t);
  const site = await serveStatic(t, { "/eventsource.html": EVENTSOURCE_PAGE });
  const hub = await startHub(t, {
    corsOrigins: [site.origin],
    retryMs: RECONNECT_MS,
    ...hubOptions,
  });
  const requests = recordRequests(hub.server.server as HttpServer);
  const stream = `${hub.url}/events?topic=a&topic=b`;
  await browser.page.goto(`${site.origin}/eventsource.html?stream=${encodeURIComponent(stream)}`);
  await waitFor(
    browser,
    "the stream to open",
    (n) => (window as unknown as PageState).opens === n,
    1,
  );
  return { browser, site, hub, requests };
}

function waitFor<Arg>(
  browser: OpenedBrowser,
  what: string,
  predicate: (arg: Arg) => boolean,
  arg: Arg,
): Promise<void> {
  return waitInPage(browser, what, predicate, arg, () => {
    const { received, opens, errorStates } = window as unknown as PageState;
    return { received, opens, errorStates };
  });
}

function received(browser: OpenedBrowser): Promise<Received[]> {
  return browser.page.evaluate(() => (window as unknown as PageState).received);
}

/** The hub's GET /events requests. */
function streamRequests(requests: readonly SeenRequest[], method = "GET"): SeenRequest[] {
  return requests.filter((r) => r.method === method && r.url.startsWith("/events"));
}

/**
 * Drops every connection of the hub, as a crash of the network would, and publishes `bodies`
 * through the library API in the same turn: they are in history before the event loop can take
 * the browser's reconnection. Answers their ids, and the time they were all published.
 */
async function dropAndPublish(
  hub: StartedHub,
  bodies: readonly PublishInput[],
): Promise<{ ids: string[]; publishedAt: number }> {
  (hub.server.server as HttpServer).closeAllConnections();
  const published = bodies.map((body) => hub.server.hub.publish(body));
  const publishedAt = performance.now();
  const ids = (await Promise.all(published)).map((result) => result.id);
  return { ids, publishedAt };
}

describe("Chromium's EventSource", () => {
  it("receives what is published, then resumes with Last-Event-ID exactly once after a drop", async (t) => {
    const { browser, site, hub, requests } = await setUp(t, {});

    const price = { eur: 1.08, label: "€ über" };
    const sent: [PublishInput, Omit<Received, "lastEventId">][] = [
      [
        { topic: "a", data: "line one\nline two\r\nline three\rline four" },
        { type: "message", data: "line one\nline two\nline three\nline four" },
      ],
      [
        { topic: "b", data: "héllo wörld ✓ 日本語 🎉 \u2028 end" },
        { type: "message", data: "héllo wörld ✓ 日本語 🎉 \u2028 end" },
      ],
      [
        { topic: "a", event: "price", data: price },
        { type: "price", data: JSON.stringify(price) },
      ],
      [
        { topics: ["a", "b"], data: " to both topics, once " },
        { type: "message", data: " to both topics, once " },
      ],
      [
        { topic: "b", data: "" },
        { type: "message", data: "" },
      ],
    ];
    const away: typeof sent = [
      [
        { topic: "b", data: "away 1" },
        { type: "message", data: "away 1" },
      ],
      [
        { topic: "a", event: "price", data: "away 2\nsecond line" },
        { type: "price", data: "away 2\nsecond line" },
      ],
      [
        { topics: ["b", "a"], data: "away 3 ✓" },
        { type: "message", data: "away 3 ✓" },
      ],
    ];
    const live: typeof sent = [
      [
        { topic: "a", data: "live 1" },
        { type: "message", data: "live 1" },
      ],
      [
        { topic: "b", event: "price", data: "live 2" },
        { type: "price", data: "live 2" },
      ],
    ];
    const expected: Received[] = [];
    const publishAll = async (batch: typeof sent) => {
      for (const [body, event] of batch) {
        expected.push({ ...event, lastEventId: await publish(hub.url, body) });
      }
    };

    await publishAll(sent);
    await waitFor(
      browser,
      "the first events",
      (n) => (window as unknown as PageState).received.length >= n,
      5,
    );
    assert.deepEqual(await received(browser), expected);

    const gone = await dropAndPublish(
      hub,
      away.map(([body]) => body),
    );
    away.forEach(([, event], i) => {
      expected.push({ ...event, lastEventId: gone.ids[i]! });
    });
    const publishedAwayAt = gone.publishedAt;
    await waitFor(
      browser,
      "the reconnection",
      (n) => (window as unknown as PageState).opens >= n,
      2,
    );
    await publishAll(live);
    await waitFor(
      browser,
      "every event",
      (n) => (window as unknown as PageState).received.length >= n,
      10,
    );
    assert.deepEqual(await received(browser), expected, "every event once, in order");

    const streams = streamRequests(requests);
    assert.equal(streams.length, 2, "one connection, then one reconnection");
    const [first, second] = streams as [SeenRequest, SeenRequest];
    assert.equal(first.lastEventId, undefined);
    assert.equal(first.origin, site.origin, "the browser sends the page's origin");
    assert.equal(second.url, first.url, "the browser reconnects to the same URL");
    assert.equal(second.lastEventId, expected[4]?.lastEventId, "with the last id it got");
    assert.deepEqual(
      streamRequests(requests, "OPTIONS"),
      [],
      "EventSource sends Last-Event-ID without a CORS preflight",
    );
    assert.ok(
      second.at > publishedAwayAt,
      "the browser came back after the events published while it was away, so they came from history",
    );
    assert.deepEqual(
      await browser.page.evaluate(() => (window as unknown as PageState).errorStates),
      [0],
      "one error event for the drop, with the EventSource still CONNECTING (it retries)",
    );
    assert.deepEqual(browser.pageLog, []);
  });

  it("gets ssehub-reset when history no longer holds its Last-Event-ID", async (t) => {
    const { browser, hub, requests } = await setUp(t, { historyMaxEvents: 2 });

    const kept = await publish(hub.url, { topic: "a", data: "before" });
    await waitFor(
      browser,
      "the first event",
      (n) => (window as unknown as PageState).received.length >= n,
      1,
    );

    // Four events on a topic that keeps two: the one after `kept` is gone from history.
    const gone = await dropAndPublish(
      hub,
      [0, 1, 2, 3].map((i) => ({ topic: "a", data: `away ${i}` })),
    );
    // The notice ends the gap (the two evicted events) where what history still holds begins.
    const gapEnd = gone.ids[1]!;
    const publishedAwayAt = gone.publishedAt;
    await waitFor(
      browser,
      "the reset notice",
      (n) => (window as unknown as PageState).received.length >= n,
      2,
    );
    const liveId = await publish(hub.url, { topic: "b", data: "live" });
    await waitFor(
      browser,
      "the live event",
      (n) => (window as unknown as PageState).received.length >= n,
      5,
    );

    const got = await received(browser);
    assert.deepEqual(got, [
      { type: "message", data: "before", lastEventId: kept },
      {
        type: "ssehub-reset",
        data: JSON.stringify({
          reason: "history-evicted",
          lastEventId: kept,
          currentEventId: gapEnd,
        }),
        lastEventId: gapEnd,
      },
      { type: "message", data: "away 2", lastEventId: gone.ids[2] },
      { type: "message", data: "away 3", lastEventId: gone.ids[3] },
      { type: "message", data: "live", lastEventId: liveId },
    ]);
    const streams = streamRequests(requests);
    assert.equal(streams.length, 2);
    assert.equal(streams[1]?.lastEventId, kept);
    assert.ok((streams[1]?.at ?? 0) > publishedAwayAt, "the browser came back after the publishes");
    assert.deepEqual(browser.pageLog, []);
  });
});
