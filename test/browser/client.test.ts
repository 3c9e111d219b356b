/**
 * The project's own client (src/client, compiled to plain ES modules) runs in headless
 * Chromium, loaded as a module by a page of another origin: it subscribes over the browser's
 * fetch, gets every field as published, survives a drop while the hub cannot be reached and
 * resumes exactly, and hands the hub's reset notices to onReset (history passed, hub
 * restarted).
 */
import assert from "node:assert/strict";
import type { Server as HttpServer } from "node:http";
import { describe, it } from "node:test";
import {
  type OpenedBrowser,
  openBrowser,
  recordRequests,
  type SeenRequest,
  serveStatic,
  waitInPage,
} from "../helpers/browser.js";
import { postJson, type StartedHub, startHub } from "../helpers/start-hub.js";

/** The hub's `retry:`, in ms: the base of the client's backoff. */
const RETRY_MS = 100;
/** The client's largest backoff window, in ms, so that a test never waits long. */
const BACKOFF_MAX_MS = 400;

/** What the page records of each event the client hands to onEvent. */
interface Received {
  readonly type: string;
  readonly data: string;
  readonly lastEventId: string;
}

/** What the page records of each reset notice. */
interface Reset {
  readonly reason: string;
  readonly lastEventId: string;
  readonly currentEventId: string;
  /** How many events onEvent had got before the notice. */
  readonly receivedBefore: number;
}

/** The page's globals. */
interface PageState {
  received: Received[];
  resets: Reset[];
  errors: { code: string; message: string; willReconnect: boolean }[];
  opens: number;
  client: { readonly lastEventId: string; readonly state: string };
}

/**
 * The page: imports the compiled client from the site (`/src/client/index.js`) and subscribes
 * to the hub and topics of its query string.
 */
const CLIENT_PAGE = `<!doctype html>
<html lang="en">
<meta charset="utf-8">
<title>ssehub client</title>
<script type="module">
  import { createClient } from "/src/client/index.js";

  const params = new URLSearchParams(location.search);
  window.received = [];
  window.resets = [];
  window.errors = [];
  window.opens = 0;
  window.client = createClient({
    url: params.get("hub"),
    topics: params.getAll("topic"),
    backoffMaxMs: ${BACKOFF_MAX_MS},
    onEvent: (event) => {
      window.received.push({ type: event.type, data: event.data, lastEventId: event.lastEventId });
    },
    onReset: ({ reason, lastEventId, currentEventId }) => {
      window.resets.push({ reason, lastEventId, currentEventId, receivedBefore: window.received.length });
    },
    onOpen: () => {
      window.opens++;
    },
    onError: (error) => {
      window.errors.push({ code: error.code, message: error.message, willReconnect: error.willReconnect });
    },
  });
</script>
</html>
`;

function waitFor<Arg>(
  browser: OpenedBrowser,
  what: string,
  predicate: (arg: Arg) => boolean,
  arg: Arg,
): Promise<void> {
  return waitInPage(browser, what, predicate, arg, () => {
    const { received, resets, errors, opens, client } = window as unknown as PageState;
    return { received, resets, errors, opens, state: client?.state };
  });
}

function pageState(browser: OpenedBrowser) {
  return browser.page.evaluate(() => {
    const { received, resets, errors, opens, client } = window as unknown as PageState;
    return { received, resets, errors, opens, lastEventId: client.lastEventId };
  });
}

/** Publishes one event over HTTP and returns its id. */
async function publish(hubUrl: string, body: Record<string, unknown>): Promise<string> {
  // A new connection each time: a pooled one may have been dropped by the hub.
  const answer = await postJson(`${hubUrl}/publish`, body, { newConnection: true });
  assert.equal(answer.status, 200, `publish ${JSON.stringify(body)}: ${JSON.stringify(answer)}`);
  return answer.body.id as string;
}

/** The browser and the page's site; then a hub that allows the site's origin. */
async function setUp(t: { after(fn: () => unknown): void }, hubOptions: Record<string, unknown>) {
  // One after the other: each registers its own cleanup, which must happen within the test.
  const browser = await openBrowser(t);
  const site = await serveStatic(t, { "/client.html": CLIENT_PAGE });
  const hub = await startHub(t, { corsOrigins: [site.origin], retryMs: RETRY_MS, ...hubOptions });
  const requests = recordRequests(hub.server.server as HttpServer);
  const query = new URLSearchParams([
    ["hub", hub.url],
    ["topic", "a"],
    ["topic", "b"],
  ]);
  await browser.page.goto(`${site.origin}/client.html?${query}`);
  await waitFor(
    browser,
    "the stream to open",
    (n) => (window as unknown as PageState).opens >= n,
    1,
  );
  return { browser, site, hub, requests };
}

/**
 * Drops every connection of the hub and stops it listening, so that the client's attempts to
 * come back fail until `comeBack()`. Events published meanwhile go through the library API.
 */
async function takeHubAway(hub: StartedHub): Promise<{ comeBack(): Promise<void> }> {
  const server = hub.server.server as HttpServer;
  const { port } = new URL(hub.url);
  server.close();
  server.closeAllConnections();
  return {
    comeBack: () =>
      new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(Number(port), "127.0.0.1", () => {
          server.off("error", reject);
          resolve();
        });
      }),
  };
}

/** Waits until the page's client has failed to reconnect at least once. */
function waitForFailedAttempt(browser: OpenedBrowser): Promise<void> {
  return waitFor(
    browser,
    "a failed reconnection",
    (code) => (window as unknown as PageState).errors.some((e) => e.code === code),
    "SSEHUB_ERR_CLIENT_NETWORK",
  );
}

function streamRequests(requests: readonly SeenRequest[], method = "GET"): SeenRequest[] {
  return requests.filter((r) => r.method === method && r.url.startsWith("/events"));
}

/** Uncaught errors of the page: none expected (failed fetches are logged, not thrown). */
function uncaught(browser: OpenedBrowser): string[] {
  return browser.pageLog.filter((line) => line.startsWith("uncaught:"));
}

describe("the ssehub client in Chromium", () => {
  it("receives what is published and resumes exactly once after a drop", async (t) => {
    const { browser, site, hub, requests } = await setUp(t, {});

    const price = { eur: 1.08, label: "€ über" };
    const expected: Received[] = [];
    const sendOverHttp = async (
      body: Record<string, unknown>,
      event: Omit<Received, "lastEventId">,
    ) => {
      expected.push({ ...event, lastEventId: await publish(hub.url, body) });
    };
    await sendOverHttp(
      { topic: "a", data: "line one\nline two\r\nline three\rline four" },
      { type: "message", data: "line one\nline two\nline three\nline four" },
    );
    await sendOverHttp(
      { topic: "b", data: "héllo wörld ✓ 日本語 🎉" },
      { type: "message", data: "héllo wörld ✓ 日本語 🎉" },
    );
    await sendOverHttp(
      { topic: "a", event: "price", data: price },
      { type: "price", data: JSON.stringify(price) },
    );
    await sendOverHttp({ topics: ["a", "b"], data: "" }, { type: "message", data: "" });
    await waitFor(
      browser,
      "the first events",
      (n) => (window as unknown as PageState).received.length >= n,
      4,
    );
    assert.deepEqual((await pageState(browser)).received, expected);

    const away = await takeHubAway(hub);
    for (const [i, topics] of [["a"], ["b"], ["b", "a"]].entries()) {
      const { id } = await hub.server.hub.publish({ topics, data: `away ${i}\n✓` });
      expected.push({ type: "message", data: `away ${i}\n✓`, lastEventId: id });
    }
    await waitForFailedAttempt(browser);
    await away.comeBack();
    await waitFor(
      browser,
      "the reconnection",
      (n) => (window as unknown as PageState).opens >= n,
      2,
    );
    await sendOverHttp(
      { topic: "b", event: "price", data: "live" },
      { type: "price", data: "live" },
    );
    await waitFor(
      browser,
      "every event",
      (n) => (window as unknown as PageState).received.length >= n,
      8,
    );

    const state = await pageState(browser);
    assert.deepEqual(state.received, expected, "every event once, in order");
    assert.equal(state.lastEventId, expected.at(-1)?.lastEventId);
    assert.deepEqual(state.resets, []);
    assert.ok(
      state.errors.every((e) => e.willReconnect),
      `every error is one the client recovers from: ${JSON.stringify(state.errors)}`,
    );

    const streams = streamRequests(requests);
    assert.equal(streams.length, 2, "the failed attempts never reached the hub");
    assert.equal(streams[0]?.lastEventId, undefined);
    assert.equal(streams[0]?.origin, site.origin);
    assert.equal(
      streams[1]?.lastEventId,
      expected[3]?.lastEventId,
      "resumes after the last id it got",
    );
    // Last-Event-ID is not a CORS-safelisted header for fetch: the browser asked first.
    const preflights = streamRequests(requests, "OPTIONS");
    assert.equal(preflights.length, 1, "one preflight, before the resume");
    assert.ok((preflights[0]?.at ?? 0) < (streams[1]?.at ?? 0));
    assert.deepEqual(uncaught(browser), []);
  });

  it("hands the reset notice to onReset when history no longer holds its last id", async (t) => {
    const { browser, hub } = await setUp(t, { historyMaxEvents: 2 });

    const kept = await publish(hub.url, { topic: "a", data: "before" });
    await waitFor(
      browser,
      "the first event",
      (n) => (window as unknown as PageState).received.length >= n,
      1,
    );

    const away = await takeHubAway(hub);
    const ids: string[] = [];
    // Four events on a topic that keeps two: the two after `kept` are gone from history.
    for (let i = 0; i < 4; i++)
      ids.push((await hub.server.hub.publish({ topic: "a", data: `${i}` })).id);
    await waitForFailedAttempt(browser);
    await away.comeBack();
    await waitFor(
      browser,
      "the reset notice",
      (n) => (window as unknown as PageState).resets.length >= n,
      1,
    );
    const liveId = await publish(hub.url, { topic: "b", data: "live" });
    await waitFor(
      browser,
      "the live event",
      (n) => (window as unknown as PageState).received.length >= n,
      4,
    );

    const state = await pageState(browser);
    // The notice names the gap (the two evicted events); what history still holds follows it.
    assert.deepEqual(state.resets, [
      { reason: "history-evicted", lastEventId: kept, currentEventId: ids[1], receivedBefore: 1 },
    ]);
    assert.deepEqual(state.received, [
      { type: "message", data: "before", lastEventId: kept },
      { type: "message", data: "2", lastEventId: ids[2] },
      { type: "message", data: "3", lastEventId: ids[3] },
      { type: "message", data: "live", lastEventId: liveId },
    ]);
    assert.equal(state.lastEventId, liveId);
    assert.deepEqual(uncaught(browser), []);
  });

  it("hands the reset notice to onReset when the hub restarted without its history", async (t) => {
    const { browser, site, hub } = await setUp(t, { shutdownRetryJitterMs: RETRY_MS });

    const before = await publish(hub.url, { topic: "a", data: "before the restart" });
    await waitFor(
      browser,
      "the first event",
      (n) => (window as unknown as PageState).received.length >= n,
      1,
    );

    await hub.server.close();
    const { port } = new URL(hub.url);
    const restarted = await startHub(t, {
      port: Number(port),
      corsOrigins: [site.origin],
      retryMs: RETRY_MS,
    });
    await waitFor(
      browser,
      "the reset notice",
      (n) => (window as unknown as PageState).resets.length >= n,
      1,
    );
    const liveId = await publish(restarted.url, { topic: "b", data: "after the restart" });
    await waitFor(
      browser,
      "the live event",
      (n) => (window as unknown as PageState).received.length >= n,
      2,
    );

    const state = await pageState(browser);
    assert.equal(state.resets.length, 1);
    assert.equal(state.resets[0]?.reason, "unknown-epoch");
    assert.equal(state.resets[0]?.lastEventId, before);
    assert.deepEqual(
      state.received.map((e) => e.data),
      ["before the restart", "after the restart"],
    );
    assert.equal(state.lastEventId, liveId);
    assert.deepEqual(uncaught(browser), []);
  });
});
