/**
 * One connection for every tab of an origin (createSharedClient), in headless Chromium: several
 * pages of one browser subscribe alike and the hub sees one stream; each page gets every event
 * of its topics once, in order; pages with other topics get a connection of their own; and when
 * tabs go (the leader tab among them) mid-stream, the tabs left lose and repeat nothing. Both
 * ways of sharing: the SharedWorker, and the leader tab elected over Web Locks and
 * BroadcastChannel (the page deletes SharedWorker before the client loads).
 */
import assert from "node:assert/strict";
import type { Server as HttpServer } from "node:http";
import { describe, it } from "node:test";
import {
  type OpenedBrowser,
  openBrowser,
  PAGE_WAIT_MS,
  recordRequests,
  type SeenRequest,
  serveStatic,
  waitInPage,
} from "../helpers/browser.js";
import { type StartedHub, startHub } from "../helpers/start-hub.js";
import { sleep, waitFor } from "../helpers/wait-for.js";

/** What a page records of each event. */
interface Received {
  readonly data: string;
  readonly lastEventId: string;
}

/** The page's globals. */
interface PageState {
  received: Received[];
  errors: { code: string; message: string }[];
  opens: number;
  client: { readonly transport: string; readonly leading: boolean; readonly state: string };
}

/**
 * The page: optionally removes SharedWorker (to force the leader tab), then subscribes with
 * createSharedClient to the hub and topics of its query string.
 */
const SHARED_PAGE = `<!doctype html>
<html lang="en">
<meta charset="utf-8">
<title>ssehub shared client</title>
<script type="module">
  const params = new URLSearchParams(location.search);
  if (params.has("no-shared-worker")) delete window.SharedWorker;
  const { createSharedClient } = await import("/src/client/index.js");
  window.received = [];
  window.errors = [];
  window.opens = 0;
  window.client = createSharedClient({
    url: params.get("hub"),
    topics: params.getAll("topic"),
    sharedWorker: params.get("worker") ?? "/src/client/shared-worker.js",
    backoffMaxMs: 400,
    onEvent: (event) => window.received.push({ data: event.data, lastEventId: event.lastEventId }),
    onOpen: () => window.opens++,
    onError: (error) => window.errors.push({ code: error.code, message: error.message }),
  });
</script>
</html>
`;

function state(): unknown {
  const { received, errors, opens, client } = window as unknown as PageState;
  return { received: received?.length, errors, opens, transport: client?.transport };
}

/** Waits until the page has got `count` events. */
function waitForEvents(tab: OpenedBrowser, count: number): Promise<void> {
  return waitInPage(
    tab,
    `${count} events`,
    (n) => (window as unknown as PageState).received?.length >= n,
    count,
    state,
  );
}

function received(tab: OpenedBrowser): Promise<Received[]> {
  return tab.page.evaluate(() => (window as unknown as PageState).received);
}

function clientOf(tab: OpenedBrowser): Promise<{ transport: string; leading: boolean }> {
  return tab.page.evaluate(() => {
    const { transport, leading } = (window as unknown as PageState).client;
    return { transport, leading };
  });
}

interface Setup {
  readonly hub: StartedHub;
  readonly requests: SeenRequest[];
  /** Opens a tab subscribed to `topics` and waits until its subscription is open. */
  openTab(topics: readonly string[]): Promise<OpenedBrowser>;
}

async function setUp(
  t: { after(fn: () => unknown): void },
  { sharedWorker, workerUrl }: { sharedWorker: boolean; workerUrl?: string },
): Promise<Setup> {
  const browser = await openBrowser(t);
  const site = await serveStatic(t, { "/shared.html": SHARED_PAGE });
  const hub = await startHub(t, { corsOrigins: [site.origin], retryMs: 100 });
  const requests = recordRequests(hub.server.server as HttpServer);
  let first = true;
  return {
    hub,
    requests,
    async openTab(topics) {
      // The browser comes with one page: the first tab.
      const page = first ? browser.page : await browser.context.newPage();
      first = false;
      page.setDefaultTimeout(PAGE_WAIT_MS);
      const pageLog: string[] = [];
      page.on("pageerror", (error) => pageLog.push(`uncaught: ${error.message}`));
      const tab: OpenedBrowser = { context: browser.context, page, pageLog };
      const query = new URLSearchParams([["hub", hub.url], ...topics.map((x) => ["topic", x])]);
      if (!sharedWorker) query.set("no-shared-worker", "");
      if (workerUrl !== undefined) query.set("worker", workerUrl);
      await page.goto(`${site.origin}/shared.html?${query}`);
      await waitInPage(
        tab,
        "the subscription to open",
        () => (window as unknown as PageState).opens >= 1,
        undefined,
        state,
      );
      return tab;
    },
  };
}

function streams(requests: readonly SeenRequest[]): SeenRequest[] {
  return requests.filter((r) => r.method === "GET" && r.url.startsWith("/events"));
}

/** Publishes `count` events on `topics` through the library API; returns what a page records. */
async function publish(hub: StartedHub, topics: string[], label: string, count: number) {
  const sent: Received[] = [];
  for (let i = 0; i < count; i++) {
    const data = `${label} ${i}`;
    const { id } = await hub.server.hub.publish({ topics, data });
    sent.push({ data, lastEventId: id });
  }
  return sent;
}

/**
 * Publishes on `topics` every few ms while `during` runs, then until `more` events followed it;
 * returns everything published, in order.
 */
async function publishAround(
  hub: StartedHub,
  topics: string[],
  during: () => Promise<void>,
): Promise<Received[]> {
  const sent: Received[] = [];
  let done = false;
  let after = 0;
  const publishing = (async () => {
    // At least 20 events after `during` ended, so that the takeover happens mid-stream.
    while (!done || after < 20) {
      const data = `around ${sent.length}`;
      const { id } = await hub.server.hub.publish({ topics, data });
      sent.push({ data, lastEventId: id });
      if (done) after++;
      await sleep(5); // pacing, so that the stream runs while the tab goes
    }
  })();
  await during();
  done = true;
  await publishing;
  return sent;
}

for (const sharedWorker of [true, false]) {
  const transport = sharedWorker ? "shared-worker" : "leader-tab";

  describe(`the shared client in Chromium, through the ${transport}`, () => {
    it("serves every tab of one origin over one stream, a stream per set of topics", async (t) => {
      const { hub, requests, openTab } = await setUp(t, { sharedWorker });
      const tabs: OpenedBrowser[] = [];
      for (let i = 0; i < 3; i++) tabs.push(await openTab(["a", "b"]));
      // The same set in another order shares the stream; another set has one of its own.
      tabs.push(await openTab(["b", "a"]));
      const other = await openTab(["c"]);
      for (const tab of [...tabs, other]) assert.equal((await clientOf(tab)).transport, transport);

      const sent = [
        ...(await publish(hub, ["a"], "a", 3)),
        ...(await publish(hub, ["b"], "b", 3)),
        ...(await publish(hub, ["a", "b"], "both", 2)),
      ];
      const forOther = await publish(hub, ["c"], "c", 2);
      for (const tab of tabs) await waitForEvents(tab, sent.length);
      await waitForEvents(other, forOther.length);
      for (const [i, tab] of tabs.entries()) {
        assert.deepEqual(await received(tab), sent, `tab ${i}: every event once, in order`);
      }
      assert.deepEqual(await received(other), forOther, "the tab on c gets only c");

      assert.equal(hub.server.hub.stats().subscribers, 2, "one stream per set of topics");
      const opened = streams(requests).map((r) =>
        new URL(r.url, hub.url).searchParams.getAll("topic"),
      );
      assert.equal(opened.length, 2, `streams opened: ${JSON.stringify(opened)}`);
      assert.deepEqual(opened[1], ["c"]);
      for (const tab of [...tabs, other]) assert.deepEqual(tab.pageLog, []);

      // The only tab on c goes without a word (no close()): its stream ends, the others stay.
      await other.page.close();
      await waitFor(() => hub.server.hub.stats().subscribers === 1, "the stream of c to end");
      const more = await publish(hub, ["a"], "more", 1);
      for (const tab of tabs) await waitForEvents(tab, sent.length + 1);
      for (const tab of tabs) assert.deepEqual(await received(tab), [...sent, ...more]);
    });

    it("loses and repeats nothing when tabs close mid-stream, the holder's tab first", async (t) => {
      const { hub, requests, openTab } = await setUp(t, { sharedWorker });
      const tabs: OpenedBrowser[] = [];
      for (let i = 0; i < 3; i++) tabs.push(await openTab(["a"]));
      const before = await publish(hub, ["a"], "before", 3);
      for (const tab of tabs) await waitForEvents(tab, before.length);

      // The tab that opened the connection: in the leader-tab case, the leader.
      const leader = tabs[0] as OpenedBrowser;
      if (!sharedWorker) assert.equal((await clientOf(leader)).leading, true);
      const around = await publishAround(hub, ["a"], async () => {
        await leader.page.close();
        await (tabs[1] as OpenedBrowser).page.close();
      });
      const last = tabs[2] as OpenedBrowser;
      const expected = [...before, ...around];
      await waitForEvents(last, expected.length);
      // Anything more than the expected events would be a duplicate: give it the chance to come.
      const marker = await publish(hub, ["a"], "marker", 1);
      await waitForEvents(last, expected.length + 1);
      assert.deepEqual(await received(last), [...expected, ...marker], "each event once, in order");
      if (!sharedWorker) assert.equal((await clientOf(last)).leading, true);

      await waitFor(() => hub.server.hub.stats().subscribers === 1, "one stream left");
      const opened = streams(requests);
      if (sharedWorker) {
        assert.equal(opened.length, 1, "the worker's stream outlives the tabs that go");
      } else {
        // Tab 1 may take the lead before it goes too (then tab 2 takes it from tab 1): each new
        // leader opens one stream, resuming from an id it got.
        assert.ok(
          opened.length === 2 || opened.length === 3,
          `one stream per new leader: ${opened.length} opened`,
        );
        for (const takeover of opened.slice(1)) {
          assert.ok(
            expected.some((e) => e.lastEventId === takeover.lastEventId),
            `a new leader resumes from an id it got: ${takeover.lastEventId}`,
          );
        }
      }
      assert.deepEqual(last.pageLog, []);
    });
  });
}

describe("the shared client in Chromium, with a worker script that does not load", () => {
  it("shares through a leader tab instead", async (t) => {
    const { hub, requests, openTab } = await setUp(t, {
      sharedWorker: true,
      workerUrl: "/src/client/no-such-worker.js",
    });
    const tabs = [await openTab(["a"]), await openTab(["a"])];
    for (const tab of tabs) assert.equal((await clientOf(tab)).transport, "leader-tab");
    const sent = await publish(hub, ["a"], "a", 3);
    for (const tab of tabs) {
      await waitForEvents(tab, sent.length);
      assert.deepEqual(await received(tab), sent);
    }
    assert.equal(hub.server.hub.stats().subscribers, 1);
    assert.equal(streams(requests).length, 1);
  });
});
