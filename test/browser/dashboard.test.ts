/**
 * The dashboard in a real browser (headless Chromium): its figures move when the test puts
 * load on the hub; its publish form and topic tail go through the hub's /publish and /events;
 * and with an admin token set, the page asks for it, shows the hub's refusal of a wrong one
 * and the figures once given the right one. The page runs under its own strict CSP, so a
 * violation (an inline script or style) would show in the page's log, which must stay empty.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type OpenedBrowser, openBrowser, waitInPage } from "../helpers/browser.js";
import { type FetchStream, openFetchStream } from "../helpers/fetch-stream.js";
import { postJson, startHub } from "../helpers/start-hub.js";
import { sleep } from "../helpers/wait-for.js";

const ADMIN_TOKEN = "a-long-admin-token-for-tests";
/** Subscribers the test opens: several topics, so that top topics has an order. */
const SUBSCRIBERS_BY_TOPIC: Readonly<Record<string, number>> = { prices: 5, orders: 3, news: 1 };

/** What the page shows, read from its DOM. */
interface Shown {
  readonly status: string | undefined;
  readonly figures: Record<string, string | undefined>;
  readonly workers: number;
  readonly nodes: number;
  readonly topTopics: string[];
  readonly tokenPanelHidden: boolean;
  readonly tokenError: string;
}

/** Runs in the page. */
function readPage(): Shown {
  const figures: Record<string, string | undefined> = {};
  for (const card of Array.from(document.querySelectorAll<HTMLElement>("[data-figure]"))) {
    figures[card.dataset.figure!] = card.querySelector<HTMLElement>(".value")?.dataset.value;
  }
  return {
    status: document.querySelector<HTMLElement>("#status")?.dataset.state,
    figures,
    workers: document.querySelectorAll("#workers tbody tr").length,
    nodes: document.querySelectorAll("#nodes tbody tr").length,
    topTopics: Array.from(document.querySelectorAll("#top-topics tbody tr td:first-child")).map(
      (cell) => cell.textContent ?? "",
    ),
    tokenPanelHidden: document.querySelector<HTMLElement>("#token-panel")?.hidden ?? false,
    tokenError: document.querySelector("#token-error")?.textContent ?? "",
  };
}

function waitForPage<Arg>(
  browser: OpenedBrowser,
  what: string,
  predicate: (arg: Arg) => boolean,
  arg: Arg,
): Promise<void> {
  return waitInPage(browser, what, predicate, arg, readPage);
}

describe("the dashboard in a browser", () => {
  it("shows the figures moving under load, and publishes and tails by hand", async (t) => {
    const browser = await openBrowser(t);
    // A browser's publish names its origin, here the hub's own: the operator allows it (see
    // docs/dashboard.md), or the form sends a publisher token, which needs no origin check.
    const hub = await startHub(t, { dashboard: true, publishOrigins: ["*"] });
    await browser.page.goto(`${hub.url}/dashboard`);
    await waitForPage(
      browser,
      "the stream to go live with this process's row",
      () =>
        document.querySelector<HTMLElement>("#status")?.dataset.state === "live" &&
        document.querySelectorAll("#workers tbody tr").length === 1,
      null,
    );

    const subscribers: FetchStream[] = [];
    t.after(() => {
      for (const subscriber of subscribers) subscriber.close();
    });
    for (const [topic, count] of Object.entries(SUBSCRIBERS_BY_TOPIC)) {
      for (let i = 0; i < count; i++) {
        subscribers.push(await openFetchStream(`${hub.url}/events?topic=${topic}`));
      }
    }
    let publishing = true;
    const publisher = (async () => {
      for (let i = 0; publishing; i++) {
        const topic = Object.keys(SUBSCRIBERS_BY_TOPIC)[i % 3]!;
        await postJson(`${hub.url}/publish`, { topic, data: `tick ${i}` });
        await sleep(10); // pacing, not an assertion
      }
    })();
    // The hub closes in an earlier after-hook (they run in the order registered), so the load
    // stops in the test body; this hook only ends the loop when an assertion failed first, and
    // a publish cut by the closing hub is no news then.
    t.after(async () => {
      publishing = false;
      await publisher.catch(() => undefined);
    });

    await waitForPage(
      browser,
      "9 connections, events and deliveries per second, ranked topics",
      () => {
        const value = (key: string) =>
          Number(
            document.querySelector<HTMLElement>(`[data-figure="${key}"] .value`)?.dataset.value,
          );
        const topics = Array.from(document.querySelectorAll("#top-topics tbody tr td:first-child"));
        return (
          value("connections") === 9 &&
          value("subscriptions") === 9 &&
          value("eventsPerSecond") > 0 &&
          value("deliveriesPerSecond") > 0 &&
          value("bytesPerSecond") > 0 &&
          topics.map((cell) => cell.textContent).join(",") === "prices,orders,news"
        );
      },
      null,
    );
    const shown = await browser.page.evaluate(readPage);
    assert.equal(shown.nodes, 1);
    assert.match(
      shown.figures.stalls ?? "",
      /^[0-9,]+$/,
      "the stall watcher feeds the stalls figure",
    );
    const sparkline = await browser.page.getAttribute(
      '[data-figure="deliveriesPerSecond"] polyline',
      "points",
    );
    assert.ok((sparkline ?? "").split(" ").length > 1, `a sparkline is drawn: ${sparkline}`);
    publishing = false;
    await publisher;

    // The topic tail and the publish form, through /events and /publish.
    await browser.page.fill("#tail-form [name=topic]", "by-hand");
    await browser.page.click("#tail-start");
    await waitForPage(
      browser,
      "the tail to subscribe",
      () => document.querySelector("#tail-status")?.textContent === "subscribed to by-hand",
      null,
    );
    await browser.page.fill("#publish-form [name=topic]", "by-hand");
    await browser.page.fill("#publish-form [name=event]", "greeting");
    await browser.page.fill("#publish-form [name=data]", "<b>hello</b> from the form");
    await browser.page.click("#publish-form button[type=submit]");
    await waitForPage(
      browser,
      "the published event in the tail, as text",
      () => {
        const item = document.querySelector("#tail-events li");
        return (
          item?.getAttribute("data-type") === "greeting" &&
          item.textContent?.includes("<b>hello</b> from the form") === true &&
          item.querySelector("b") === null
        );
      },
      null,
    );
    // The tail's stream may show the event before the publish's own answer reaches the form.
    await waitForPage(
      browser,
      "the form's answer",
      () => (document.querySelector("#publish-result")?.textContent ?? "") !== "publishing",
      null,
    );
    const result = await browser.page.textContent("#publish-result");
    assert.match(result ?? "", /^published, id /);
    assert.deepEqual(browser.pageLog, [], "no error, no CSP violation");
  });

  it("asks for the admin token, shows the hub's refusal of a wrong one, and the figures for the right one", async (t) => {
    const browser = await openBrowser(t);
    const hub = await startHub(t, {
      dashboard: true,
      subscriberJwtKey: "a-subscriber-key-of-32-bytes-at-least",
      adminToken: ADMIN_TOKEN,
    });
    await browser.page.goto(`${hub.url}/dashboard`);
    await waitForPage(
      browser,
      "the token panel",
      () => document.querySelector<HTMLElement>("#token-panel")?.hidden === false,
      null,
    );
    const asked = await browser.page.evaluate(readPage);
    assert.equal(asked.tokenError, "", "asking is no error");
    assert.equal(asked.workers, 0);

    await browser.page.fill("#admin-token", `${ADMIN_TOKEN}-wrong`);
    await browser.page.click("#token-form button[type=submit]");
    await waitForPage(
      browser,
      "the refusal",
      () => (document.querySelector("#token-error")?.textContent ?? "").includes("not the admin"),
      null,
    );
    assert.equal(
      await browser.page.evaluate(() => sessionStorage.getItem("ssehub.adminToken")),
      null,
      "a refused token is not kept",
    );

    await browser.page.fill("#admin-token", ADMIN_TOKEN);
    await browser.page.click("#token-form button[type=submit]");
    await waitForPage(
      browser,
      "the figures",
      () =>
        document.querySelector<HTMLElement>("#status")?.dataset.state === "live" &&
        document.querySelector<HTMLElement>("#token-panel")?.hidden === true &&
        document.querySelectorAll("#workers tbody tr").length === 1 &&
        document.querySelector<HTMLElement>('[data-figure="connections"] .value')?.dataset.value ===
          "0",
      null,
    );
    // Kept for this tab: a reload goes straight to the figures.
    await browser.page.reload();
    await waitForPage(
      browser,
      "the figures again, without asking",
      () => document.querySelectorAll("#workers tbody tr").length === 1,
      null,
    );
    assert.equal((await browser.page.evaluate(readPage)).tokenPanelHidden, true);
    // The 401 answers of the stream are logged by the browser as failed loads; nothing else.
    assert.deepEqual(
      browser.pageLog.filter((line) => !line.includes("401")),
      [],
    );
  });
});
