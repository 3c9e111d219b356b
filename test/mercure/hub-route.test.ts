import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { SignJWT } from "jose";
import { mercureLink } from "../../src/mercure/hub-route.js";
import { openFetchStream } from "../helpers/fetch-stream.js";
import { expectError } from "../http/expect-error.js";
import { startServer } from "../http/start-server.js";

const HUB = "/.well-known/mercure";
const KEY = "!ChangeThisMercureHubJWTSecretKey!";

function form(fields: [string, string][], bearer?: string): RequestInit {
  return {
    method: "POST",
    headers: {
      "Content-Type": "application/x-www-form-urlencoded",
      ...(bearer === undefined ? {} : { Authorization: `Bearer ${bearer}` }),
    },
    body: new URLSearchParams(fields).toString(),
  };
}

function publisherToken(publish: string[]): Promise<string> {
  return new SignJWT({ mercure: { publish } })
    .setProtectedHeader({ alg: "HS256" })
    .sign(new TextEncoder().encode(KEY));
}

describe("the Mercure hub route", () => {
  test("POST publishes a form and answers 200 text/plain with the event's id", async (t) => {
    const { url } = await startServer(t, { publisherJwtKey: KEY });
    const jwt = await publisherToken(["*"]);
    const book = "https://example.com/books/1";
    const stream = await openFetchStream(`${url}${HUB}?topic=${encodeURIComponent(book)}`);
    t.after(() => stream.close());
    assert.equal(stream.status, 200);
    assert.equal(stream.headers.get("last-event-id"), "earliest");
    const answer = await fetch(
      `${url}${HUB}`,
      form(
        [
          ["topic", book],
          ["topic", "https://example.com/authors/9"],
          ["data", '{"title":"Dune"}'],
          ["type", "book-updated"],
          ["retry", "2000"],
          ["id", "urn:uuid:1234"],
        ],
        jwt,
      ),
    );
    assert.equal(answer.status, 200);
    assert.match(answer.headers.get("content-type") ?? "", /^text\/plain/);
    assert.equal(await answer.text(), "urn:uuid:1234");
    await stream.waitForEvents(1);
    assert.deepEqual(stream.events[0], {
      type: "book-updated",
      data: '{"title":"Dune"}',
      lastEventId: "urn:uuid:1234",
    });
  });

  test("GET takes URI templates and *, and an event on several topics arrives once", async (t) => {
    const { url } = await startServer(t, { anonymousPublish: true });
    const template = encodeURIComponent("https://example.com/books/{id}");
    const byTemplate = await openFetchStream(`${url}${HUB}?topic=${template}`);
    const everything = await openFetchStream(`${url}${HUB}?topic=*`);
    t.after(() => {
      byTemplate.close();
      everything.close();
    });
    for (const [topic, data] of [
      ["https://example.com/books/1", "book"],
      ["https://example.com/books/1/reviews/2", "review"],
      ["https://example.com/authors/3", "author"],
    ]) {
      const answer = await fetch(
        `${url}${HUB}`,
        form([
          ["topic", topic!],
          ["topic", "https://example.com/books/99"],
          ["data", data!],
        ]),
      );
      assert.equal(answer.status, 200);
    }
    await everything.waitForEvents(3);
    await byTemplate.waitForEvents(3);
    assert.deepEqual(
      everything.events.map((e) => e.data),
      ["book", "review", "author"],
    );
    // Each event also names .../books/99 (an alternate topic), which the template matches.
    assert.deepEqual(
      byTemplate.events.map((e) => e.data),
      ["book", "review", "author"],
    );
  });

  test("GET resumes from the lastEventID query parameter and from earliest", async (t) => {
    const { url } = await startServer(t, { anonymousPublish: true });
    const ids: string[] = [];
    for (const data of ["1", "2", "3"]) {
      const answer = await fetch(
        `${url}${HUB}`,
        form([
          ["topic", "t"],
          ["data", data],
        ]),
      );
      ids.push(await answer.text());
    }
    const resumed = await openFetchStream(`${url}${HUB}?topic=t&lastEventID=${ids[0]}`);
    const earliest = await openFetchStream(`${url}${HUB}?topic=t`, {
      "Last-Event-ID": "earliest",
    });
    t.after(() => {
      resumed.close();
      earliest.close();
    });
    // Draft-07: the id of the event before the first one sent, the one resumed from here.
    assert.equal(resumed.headers.get("last-event-id"), ids[0]);
    assert.equal(earliest.headers.get("last-event-id"), "earliest");
    await resumed.waitForEvents(2);
    await earliest.waitForEvents(3);
    assert.deepEqual(
      resumed.events.map((e) => e.data),
      ["2", "3"],
    );
    assert.deepEqual(
      earliest.events.map((e) => e.data),
      ["1", "2", "3"],
    );
  });

  test("POST refuses what the protocol refuses, with a status and a code", async (t) => {
    const { url, ssehub } = await startServer(t, { publisherJwtKey: KEY });
    const jwt = await publisherToken(["https://example.com/{x}"]);
    await expectError(`${url}${HUB}`, 401, "SSEHUB_ERR_AUTH_MISSING", form([["topic", "a"]]));
    await expectError(
      `${url}${HUB}`,
      403,
      "SSEHUB_ERR_AUTH_FORBIDDEN",
      form([["topic", "https://other.example/1"]], jwt),
    );
    await expectError(`${url}${HUB}`, 400, "SSEHUB_ERR_TOPIC_MISSING", form([["data", "x"]], jwt));
    await expectError(
      `${url}${HUB}`,
      400,
      "SSEHUB_ERR_EVENT_INVALID_ID",
      form(
        [
          ["topic", "https://example.com/1"],
          ["id", "a\nb"],
        ],
        jwt,
      ),
    );
    await expectError(`${url}${HUB}`, 415, "SSEHUB_ERR_PUBLISH_UNSUPPORTED_MEDIA_TYPE", {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${jwt}` },
      body: "{}",
    });
    await expectError(`${url}${HUB}`, 400, "SSEHUB_ERR_TOPIC_MISSING");
    assert.equal(ssehub.hub.stats().eventsPublished, 0);
  });

  test("mercureLink() gives the discovery Link header value", () => {
    assert.equal(
      mercureLink("https://example.com/.well-known/mercure"),
      '<https://example.com/.well-known/mercure>; rel="mercure"',
    );
  });
});
