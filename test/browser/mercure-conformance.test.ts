/**
 * Mercure conformance as a browser user meets it, written from the two specification texts:
 * a draft-08 client and a draft-07 client in one page of another origin subscribe, publish,
 * resume and receive private updates on the same hub (`mercureProtocol` both, the default).
 * The suite runs against one `ssehub serve` process, against `ssehub serve --workers 2`, and
 * against two nodes joined by Redis (clients spread over both nodes).
 *
 * - draft-08: Chromium's EventSource on `?match=` for public updates (anonymous subscription),
 *   and, for private updates, a `fetch` stream with `Authorization: Bearer <access token>`. The
 *   draft-08 cookie, `__Secure-mercure_access_token`, is for https only, and an EventSource can
 *   send no header; over http://127.0.0.1 the header is what the specification leaves a browser
 *   script (the hub refuses `access_token` in the URL). Resumes with `last_event_id` and with
 *   the `Last-Event-ID` header.
 * - draft-07: EventSource on `?topic=`, anonymous, with the `mercureAuthorization` cookie
 *   (`withCredentials`), and with the `authorization` query parameter. Resumes with
 *   `lastEventID`.
 * - publish: `fetch` POST of the form from the page, with a draft-08 access token (one topic)
 *   and with a draft-07 token (two topics, which only draft-07 reads).
 *
 * Automatic reconnection of a dropped EventSource (the browser's own `Last-Event-ID`) is in
 * test/browser/mercure.test.ts.
 */
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { SignJWT } from "jose";
import { type OpenedBrowser, openBrowser, serveStatic, waitInPage } from "../helpers/browser.js";
import { startRedisNodes, waitForStatus } from "../helpers/hub-nodes.js";
import { startRedis } from "../helpers/redis-server.js";
import { requireTools } from "../helpers/require-tool.js";
import { listeningUrl, logLine, ssehub } from "../helpers/ssehub-process.js";

const HUB = "/.well-known/mercure";
const RESOURCE = "https://hub.example.com/.well-known/mercure";
const APP = "https://app.example.com";
const ISSUER_SECRET = "issuer-secret-of-at-least-32-bytes!!";
const PUBLISHER_KEY = "publisher-key-of-at-least-32-bytes!!";
const SUBSCRIBER_KEY = "subscriber-key-of-at-least-32-bytes!";
const BOOK = "https://example.com/books/1";
const BOOK_ALTERNATE = "https://example.com/books/1.jsonld";

/** What the page records, per stream name. */
type Received = Record<string, { data: string; lastEventId: string }[]>;
/** The page's functions, as the tests call them. */
interface ConformancePage {
  received: Received;
  opened: Record<string, number>;
  failed: Record<string, string>;
  openEventSource(name: string, url: string, withCredentials: boolean): void;
  openFetchStream(name: string, url: string, headers: Record<string, string>): void;
  closeStream(name: string): void;
  publish(url: string, token: string, fields: [string, string][]): Promise<string>;
}

/**
 * The page: native EventSource streams, fetch streams (an SSE parser of a few lines: `id`,
 * `data`, blank line) and a publish by fetch, each stream recording what it gets by name.
 */
const PAGE = `<!doctype html>
<html lang="en">
<meta charset="utf-8">
<title>Mercure conformance</title>
<script>
  window.received = {};
  window.opened = {};
  window.failed = {};
  const closers = {};
  window.openEventSource = (name, url, withCredentials) => {
    window.received[name] = [];
    const source = new EventSource(url, { withCredentials });
    source.addEventListener("open", () => { window.opened[name] = (window.opened[name] ?? 0) + 1; });
    source.addEventListener("message", (event) => {
      window.received[name].push({ data: event.data, lastEventId: event.lastEventId });
    });
    closers[name] = () => source.close();
  };
  window.openFetchStream = (name, url, headers) => {
    window.received[name] = [];
    const abort = new AbortController();
    closers[name] = () => abort.abort();
    (async () => {
      const answer = await fetch(url, { headers, signal: abort.signal });
      if (answer.status !== 200) throw new Error(name + ": status " + answer.status);
      window.opened[name] = 1;
      const reader = answer.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      let event = { data: [], id: "" };
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += value;
        let end;
        while ((end = buffer.indexOf("\\n")) >= 0) {
          const line = buffer.slice(0, end).replace(/\\r$/, "");
          buffer = buffer.slice(end + 1);
          if (line === "") {
            if (event.data.length > 0) {
              window.received[name].push({ data: event.data.join("\\n"), lastEventId: event.id });
            }
            event = { data: [], id: event.id };
          } else if (line.startsWith("data:")) event.data.push(line.slice(5).replace(/^ /, ""));
          else if (line.startsWith("id:")) event.id = line.slice(3).replace(/^ /, "");
        }
      }
    })().catch((error) => {
      if (error.name !== "AbortError") window.failed[name] = String(error);
    });
  };
  window.closeStream = (name) => closers[name]();
  window.publish = async (url, token, fields) => {
    const answer = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", Authorization: "Bearer " + token },
      body: new URLSearchParams(fields).toString(),
    });
    const text = await answer.text();
    if (answer.status !== 200) throw new Error("publish: " + answer.status + " " + text);
    return text;
  };
</script>
</html>
`;

/** A draft-08 access token, self-issued by APP for the hub. */
function accessToken(actions: string[], match: string): Promise<string> {
  return new SignJWT({
    iss: APP,
    aud: RESOURCE,
    sub: `urn:uuid:${crypto.randomUUID()}`,
    authorization_details: [{ type: "mercure", actions, topics: [{ match }] }],
  })
    .setProtectedHeader({ alg: "HS256", typ: "at+jwt" })
    .setExpirationTime("1h")
    .sign(new TextEncoder().encode(ISSUER_SECRET));
}

/** A draft-07 token: a JWS with the `mercure` claim. */
function draft07Token(key: string, mercure: Record<string, string[]>): Promise<string> {
  return new SignJWT({ mercure })
    .setProtectedHeader({ alg: "HS256" })
    .sign(new TextEncoder().encode(key));
}

/** The `ssehub serve` flags every topology shares: both drafts' keys, CORS for the page. */
function hubFlags(siteOrigin: string): string[] {
  return [
    "--cors-origins",
    siteOrigin,
    "--publisher-jwt-key",
    PUBLISHER_KEY,
    "--subscriber-jwt-key",
    SUBSCRIBER_KEY,
    "--auth-query-param",
    "authorization",
    "--mercure-issuers",
    JSON.stringify([{ issuer: APP, key: ISSUER_SECRET }]),
    "--mercure-resource",
    RESOURCE,
  ];
}

/** One `ssehub serve` process, with `extra` flags; its URL once it is ready. */
async function serveProcess(t: TestContext, siteOrigin: string, extra: string[]) {
  const run = ssehub(t, [
    "serve",
    "--host",
    "127.0.0.1",
    "--port",
    "0",
    ...hubFlags(siteOrigin),
    ...extra,
  ]);
  const url = await listeningUrl(run);
  const node = { name: "hub", url, run };
  if (extra.includes("--workers")) {
    await logLine(run, (e) => e.msg?.includes("cluster of 2 workers") === true);
  }
  await waitForStatus(node, "/readyz", 200);
  return url;
}

function page(browser: OpenedBrowser) {
  return browser.page;
}

function pageState() {
  const w = window as unknown as ConformancePage;
  return { received: w.received, opened: w.opened, failed: w.failed };
}

async function waitOpened(browser: OpenedBrowser, names: string[]): Promise<void> {
  await waitInPage(
    browser,
    `streams ${names.join(", ")} to open`,
    (wanted: string[]) => {
      const w = window as unknown as ConformancePage;
      return wanted.every((name) => w.opened[name] === 1);
    },
    names,
    pageState,
  );
}

/** Waits until each named stream has received exactly `want[name]` (data, in order). */
async function waitForData(
  browser: OpenedBrowser,
  what: string,
  want: Record<string, string[]>,
): Promise<void> {
  await waitInPage(
    browser,
    what,
    (wanted: Record<string, string[]>) => {
      const got = (window as unknown as ConformancePage).received;
      return Object.entries(wanted).every(
        ([name, data]) => JSON.stringify(got[name]?.map((e) => e.data)) === JSON.stringify(data),
      );
    },
    want,
    pageState,
  );
}

/**
 * The scenario. `hubs` are the base URLs of the hub's doors (one, or one per node): streams
 * open on every door in turn, publishes go to the first, resumes go to another door than the
 * stream's first one.
 */
async function runConformance(
  browser: OpenedBrowser,
  siteOrigin: string,
  hubs: string[],
): Promise<void> {
  const door = (i: number) => `${hubs[i % hubs.length]}${HUB}`;
  const p = page(browser);
  await p.goto(`${siteOrigin}/conformance.html`);

  const [d08Publisher, d08Reader, d07Publisher, d07Reader] = await Promise.all([
    accessToken(["publish"], "*"),
    accessToken(["subscribe"], BOOK),
    draft07Token(PUBLISHER_KEY, { publish: ["*"] }),
    draft07Token(SUBSCRIBER_KEY, { subscribe: ["https://example.com/books/{id}"] }),
  ]);
  await browser.context.addCookies([
    { name: "mercureAuthorization", value: d07Reader, url: hubs[0]! },
  ]);

  const match = (i: number, extra = "") => `${door(i)}?match=${encodeURIComponent(BOOK)}${extra}`;
  const topic = (i: number, extra = "") => `${door(i)}?topic=${encodeURIComponent(BOOK)}${extra}`;
  const bearer = { Authorization: `Bearer ${d08Reader}` };
  const byQuery = `&authorization=${encodeURIComponent(d07Reader)}`;
  await p.evaluate(
    ({ match0, match1, topic0, topic1, topic2, bearer }) => {
      const w = window as unknown as ConformancePage;
      w.openEventSource("d08 anonymous", match0, false);
      w.openFetchStream("d08 bearer", match1, bearer);
      w.openEventSource("d07 anonymous", topic0, false);
      w.openEventSource("d07 cookie", topic1, true);
      w.openEventSource("d07 query", topic2, false);
    },
    {
      match0: match(0),
      match1: match(1),
      topic0: topic(0),
      topic1: topic(1),
      topic2: topic(2, byQuery),
      bearer,
    },
  );
  const names = ["d08 anonymous", "d08 bearer", "d07 anonymous", "d07 cookie", "d07 query"];
  await waitOpened(browser, names);

  const publish = (token: string, fields: [string, string][]) =>
    p.evaluate(
      ({ url, token, fields }) =>
        (window as unknown as ConformancePage).publish(url, token, fields),
      { url: door(0), token, fields },
    );
  const ids = [
    await publish(d08Publisher, [
      ["topic", BOOK],
      ["data", "d08 public"],
    ]),
    await publish(d08Publisher, [
      ["topic", BOOK],
      ["data", "d08 private"],
      ["private", "on"],
    ]),
    // Two topics: only draft-07 reads this form (the second is an alternate topic).
    await publish(d07Publisher, [
      ["topic", BOOK],
      ["topic", BOOK_ALTERNATE],
      ["data", "d07 public"],
    ]),
    await publish(d07Publisher, [
      ["topic", BOOK],
      ["topic", BOOK_ALTERNATE],
      ["data", "d07 private"],
      ["private", "on"],
    ]),
  ];
  const publicData = ["d08 public", "d07 public"];
  const allData = ["d08 public", "d08 private", "d07 public", "d07 private"];
  await waitForData(browser, "the first updates", {
    "d08 anonymous": publicData,
    "d08 bearer": allData,
    "d07 anonymous": publicData,
    "d07 cookie": allData,
    "d07 query": allData,
  });
  const got = await p.evaluate(() => (window as unknown as ConformancePage).received);
  // Each update carries the id its publish answered, for the client to resume from.
  assert.deepEqual(
    got["d08 bearer"]!.map((event) => event.lastEventId),
    ids,
  );
  assert.deepEqual(
    got["d07 anonymous"]!.map((event) => event.lastEventId),
    [ids[0], ids[2]],
  );

  // Every client goes away; two updates are published meanwhile; each comes back, on another
  // door, with the id of the last update it got, and receives what it missed, and only that.
  await p.evaluate((all) => {
    for (const name of all) (window as unknown as ConformancePage).closeStream(name);
  }, names);
  await publish(d08Publisher, [
    ["topic", BOOK],
    ["data", "away public"],
  ]);
  await publish(d08Publisher, [
    ["topic", BOOK],
    ["data", "away private"],
    ["private", "on"],
  ]);
  const lastPublic = ids[2]!;
  const lastAll = ids[3]!;
  await p.evaluate(
    ({ d08Anonymous, d08Bearer, bearer, d07Anonymous, d07Cookie, d07Query }) => {
      const w = window as unknown as ConformancePage;
      w.openEventSource("d08 anonymous again", d08Anonymous, false);
      w.openFetchStream("d08 bearer again", d08Bearer, bearer);
      w.openEventSource("d07 anonymous again", d07Anonymous, false);
      w.openEventSource("d07 cookie again", d07Cookie, true);
      w.openEventSource("d07 query again", d07Query, false);
    },
    {
      d08Anonymous: match(1, `&last_event_id=${encodeURIComponent(lastPublic)}`),
      d08Bearer: match(2),
      bearer: { ...bearer, "Last-Event-ID": lastAll },
      d07Anonymous: topic(1, `&lastEventID=${encodeURIComponent(lastPublic)}`),
      d07Cookie: topic(2, `&lastEventID=${encodeURIComponent(lastAll)}`),
      d07Query: topic(3, `${byQuery}&lastEventID=${encodeURIComponent(lastAll)}`),
    },
  );
  const again = names.map((name) => `${name} again`);
  await waitOpened(browser, again);
  // One more update after the resume: it comes once, after the missed ones, with no duplicate.
  await publish(d08Publisher, [
    ["topic", BOOK],
    ["data", "live"],
  ]);
  await waitForData(browser, "the missed updates, then the live one", {
    "d08 anonymous again": ["away public", "live"],
    "d08 bearer again": ["away public", "away private", "live"],
    "d07 anonymous again": ["away public", "live"],
    "d07 cookie again": ["away public", "away private", "live"],
    "d07 query again": ["away public", "away private", "live"],
  });
}

describe("Mercure conformance in Chromium: draft-08 and draft-07 clients on one hub", () => {
  it("one ssehub serve process", async (t) => {
    const browser = await openBrowser(t);
    const site = await serveStatic(t, { "/conformance.html": PAGE });
    const url = await serveProcess(t, site.origin, []);
    await runConformance(browser, site.origin, [url]);
  });

  it("ssehub serve --workers 2", async (t) => {
    const browser = await openBrowser(t);
    const site = await serveStatic(t, { "/conformance.html": PAGE });
    const url = await serveProcess(t, site.origin, ["--workers", "2"]);
    await runConformance(browser, site.origin, [url]);
  });

  it("two nodes joined by Redis", { skip: requireTools(["redis-server"]) }, async (t) => {
    const browser = await openBrowser(t);
    const site = await serveStatic(t, { "/conformance.html": PAGE });
    const redis = await startRedis(t);
    const nodes = await startRedisNodes(t, [redis.url, redis.url], hubFlags(site.origin));
    await runConformance(
      browser,
      site.origin,
      nodes.map((node) => node.url),
    );
  });
});
