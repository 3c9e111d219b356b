/**
 * Chromium's own EventSource on the Mercure route, from a page of another origin: public
 * updates, private updates for the page whose `mercureAuthorization` cookie grants them (and
 * not for an anonymous stream), URI-template and multi-topic subscriptions, and a resume with
 * Last-Event-ID after the hub drops every connection. Publishing goes through the Mercure
 * form with a publisher token, as a Mercure publisher would.
 */
import assert from "node:assert/strict";
import type { Server as HttpServer } from "node:http";
import { describe, it } from "node:test";
import { SignJWT } from "jose";
import { openBrowser, serveStatic, waitInPage } from "../helpers/browser.js";
import { startHub } from "../helpers/start-hub.js";

const HUB = "/.well-known/mercure";
const PUBLISHER_KEY = "publisher-key-of-at-least-32-bytes!!";
const SUBSCRIBER_KEY = "subscriber-key-of-at-least-32-bytes!";
const BOOK = "https://example.com/books/1";
const AUTHOR = "https://example.com/authors/7";

/** What the page records, per stream name. */
type Received = Record<string, { data: string; lastEventId: string }[]>;

/**
 * The page: one native EventSource per entry of its `streams` query parameter (JSON list of
 * `{name, url, credentials}`), each recording what it receives under its name.
 */
const PAGE = `<!doctype html>
<html lang="en">
<meta charset="utf-8">
<title>Mercure EventSource</title>
<script>
  window.received = {};
  window.opened = {};
  for (const { name, url, credentials } of JSON.parse(new URLSearchParams(location.search).get("streams"))) {
    window.received[name] = [];
    const source = new EventSource(url, { withCredentials: credentials });
    source.addEventListener("open", () => { window.opened[name] = (window.opened[name] ?? 0) + 1; });
    source.addEventListener("message", (event) => {
      window.received[name].push({ data: event.data, lastEventId: event.lastEventId });
    });
  }
</script>
</html>
`;

function sign(key: string, mercure: Record<string, unknown>): Promise<string> {
  return new SignJWT({ mercure })
    .setProtectedHeader({ alg: "HS256" })
    .sign(new TextEncoder().encode(key));
}

describe("Chromium's EventSource on the Mercure route", () => {
  it("gets public, private (by cookie), URI-template and multi-topic updates, and resumes after a drop", async (t) => {
    const browser = await openBrowser(t);
    const site = await serveStatic(t, { "/mercure.html": PAGE });
    const hub = await startHub(t, {
      corsOrigins: [site.origin],
      publisherJwtKey: PUBLISHER_KEY,
      subscriberJwtKey: SUBSCRIBER_KEY,
      retryMs: 300,
    });
    const publisher = await sign(PUBLISHER_KEY, { publish: ["*"] });
    const subscriber = await sign(SUBSCRIBER_KEY, {
      subscribe: ["https://example.com/books/{id}"],
    });
    await browser.context.addCookies([
      { name: "mercureAuthorization", value: subscriber, url: hub.url },
    ]);

    const hubUrl = (...topics: string[]) =>
      `${hub.url}${HUB}?${topics.map((topic) => `topic=${encodeURIComponent(topic)}`).join("&")}`;
    const streams = [
      { name: "public", url: hubUrl(BOOK), credentials: false },
      { name: "private", url: hubUrl(BOOK), credentials: true },
      { name: "template", url: hubUrl("https://example.com/books/{id}"), credentials: false },
      { name: "multi", url: hubUrl(BOOK, AUTHOR), credentials: false },
    ];
    await browser.page.goto(
      `${site.origin}/mercure.html?streams=${encodeURIComponent(JSON.stringify(streams))}`,
    );
    const state = () => {
      const w = window as unknown as { received: Received; opened: Record<string, number> };
      return { received: w.received, opened: w.opened };
    };
    await waitInPage(
      browser,
      "every stream to open",
      (names: string[]) => {
        const opened = (window as unknown as { opened: Record<string, number> }).opened;
        return names.every((name) => opened[name] === 1);
      },
      streams.map((s) => s.name),
      state,
    );

    const publish = async (topic: string, data: string, isPrivate = false): Promise<string> => {
      const fields = new URLSearchParams({ topic, data });
      if (isPrivate) fields.set("private", "on");
      const answer = await fetch(`${hub.url}${HUB}`, {
        method: "POST",
        headers: {
          "Content-Type": "application/x-www-form-urlencoded",
          Authorization: `Bearer ${publisher}`,
        },
        body: fields.toString(),
      });
      assert.equal(answer.status, 200);
      return answer.text();
    };
    const ids = [
      await publish(BOOK, "book public"),
      await publish(BOOK, "book private", true),
      await publish(AUTHOR, "author public"),
      await publish("https://example.com/books/2", "other book"),
    ];
    const expected: Record<string, string[]> = {
      public: ["book public"],
      private: ["book public", "book private"],
      template: ["book public", "other book"],
      multi: ["book public", "author public"],
    };
    const waitForData = (what: string, want: Record<string, string[]>) =>
      waitInPage(
        browser,
        what,
        (wanted: Record<string, string[]>) => {
          const got = (window as unknown as { received: Received }).received;
          return Object.entries(wanted).every(
            ([name, data]) =>
              JSON.stringify(got[name]?.map((e) => e.data)) === JSON.stringify(data),
          );
        },
        want,
        state,
      );
    await waitForData("the first updates", expected);
    const got = await browser.page.evaluate(
      () => (window as unknown as { received: Received }).received,
    );
    assert.equal(got.public![0]!.lastEventId, ids[0]);
    assert.equal(got.private![1]!.lastEventId, ids[1]);

    // The hub drops every connection; while the browsers wait to reconnect, more is published.
    // Published through the library API in the same turn as the drop: no pooled connection of
    // the publisher is needed (the drop took them too), and the browsers, however slow the
    // machine, can only be back after it, so they resume from history.
    (hub.server.server as HttpServer).closeAllConnections();
    await Promise.all([
      hub.server.hub.publish({ topic: BOOK, data: "while away" }),
      hub.server.hub.publish({ topic: BOOK, data: "private while away", private: true }),
    ]);
    await waitForData("the resumed updates", {
      public: [...expected.public!, "while away"],
      private: [...expected.private!, "while away", "private while away"],
      template: [...expected.template!, "while away", "private while away"].filter(
        (data) => data !== "private while away",
      ),
      multi: [...expected.multi!, "while away"],
    });
  });
});
