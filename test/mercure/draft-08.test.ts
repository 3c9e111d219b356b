import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { mercureLink } from "../../src/mercure/hub-route.js";
import { openFetchStream } from "../helpers/fetch-stream.js";
import { expectError } from "../http/expect-error.js";
import { startServer } from "../http/start-server.js";
import { FORM, form, HUB, publish, query } from "./mercure-form.js";

describe("Mercure draft-08 subscriptions", () => {
  test("match and match_exact select an exact topic, case-sensitive, where { is no template", async (t) => {
    const { url } = await startServer(t, { anonymousPublish: true });
    const literal = "https://example.com/books/{id}";
    const stream = await openFetchStream(
      `${url}${HUB}?${query([
        ["match", literal],
        ["match_exact", "https://example.com/books/1"],
      ])}`,
    );
    t.after(() => stream.close());
    assert.equal(stream.status, 200);
    for (const [topic, data] of [
      ["https://example.com/Books/1", "other case"],
      ["https://example.com/books/2", "expansion of the literal"],
      ["https://example.com/books/1", "exact"],
      [literal, "literal"],
    ]) {
      await publish(url, [
        ["topic", topic!],
        ["data", data!],
      ]);
    }
    await stream.waitForEvents(2);
    assert.deepEqual(
      stream.events.map((event) => event.data),
      ["exact", "literal"],
    );
  });

  test("match_urlpattern selects the topics a URL pattern matches", async (t) => {
    const { url } = await startServer(t, { anonymousPublish: true });
    const stream = await openFetchStream(
      `${url}${HUB}?${query([["match_urlpattern", "https://example.com/books/:id"]])}`,
    );
    t.after(() => stream.close());
    for (const [topic, data] of [
      ["https://example.com/books/1/reviews", "review"],
      ["https://example.com/authors/1", "author"],
      ["https://example.com/books/1", "book 1"],
      ["https://example.com/books/2", "book 2"],
    ]) {
      await publish(url, [
        ["topic", topic!],
        ["data", data!],
      ]);
    }
    await stream.waitForEvents(2);
    assert.deepEqual(
      stream.events.map((event) => event.data),
      ["book 1", "book 2"],
    );
  });

  test("the draft text's spellings matchExact and matchURLPattern are read too", async (t) => {
    const { url } = await startServer(t, { anonymousPublish: true });
    const stream = await openFetchStream(
      `${url}${HUB}?${query([
        ["matchExact", "https://example.com/authors/1"],
        ["matchURLPattern", "https://example.com/books/:id"],
      ])}`,
    );
    t.after(() => stream.close());
    assert.equal(stream.status, 200);
    for (const [topic, data] of [
      ["https://example.com/authors/1", "author"],
      ["https://example.com/authors/2", "other author"],
      ["https://example.com/books/1", "book"],
    ]) {
      await publish(url, [
        ["topic", topic!],
        ["data", data!],
      ]);
    }
    await stream.waitForEvents(2);
    assert.deepEqual(
      stream.events.map((event) => event.data),
      ["author", "book"],
    );
  });

  test("match_urlpattern reads a relative pattern against the hub's URL", async (t) => {
    const { url } = await startServer(t, { anonymousPublish: true });
    const stream = await openFetchStream(
      `${url}${HUB}?${query([["match_urlpattern", "/books/:id"]])}`,
    );
    t.after(() => stream.close());
    for (const [topic, data] of [
      [`${url}/authors/1`, "author"],
      ["https://example.com/books/1", "another host"],
      [`${url}/books/1`, "book 1"],
    ]) {
      await publish(url, [
        ["topic", topic!],
        ["data", data!],
      ]);
    }
    await stream.waitForEvents(1);
    assert.deepEqual(
      stream.events.map((event) => event.data),
      ["book 1"],
    );
  });

  test("match_urlpattern refuses an invalid pattern with a clear error", async (t) => {
    const { url } = await startServer(t);
    for (const pattern of ["https://example.com/books/:id(", "https://example.com/((a)"]) {
      const { body } = await expectError(
        `${url}${HUB}?${query([["match_urlpattern", pattern]])}`,
        400,
        "SSEHUB_ERR_URLPATTERN_INVALID",
      );
      assert.match(String(body.message), /pattern/i);
    }
  });

  test("any other parameter in the match namespace answers 400", async (t) => {
    const { url } = await startServer(t);
    for (const name of ["Match", "match_regex", "MATCH_EXACT", "matchurlpattern", "matches"]) {
      const { body } = await expectError(
        `${url}${HUB}?${query([[name, "https://example.com/1"]])}`,
        400,
        "SSEHUB_ERR_MERCURE_MATCHER_UNKNOWN",
      );
      assert.equal((body.details as { parameter?: string }).parameter, name);
    }
  });

  test("* under any matcher selects every topic", async (t) => {
    const { url } = await startServer(t, { anonymousPublish: true });
    const stream = await openFetchStream(`${url}${HUB}?${query([["match", "*"]])}`);
    t.after(() => stream.close());
    for (const topic of ["a", "https://example.com/b"]) {
      await publish(url, [
        ["topic", topic],
        ["data", topic],
      ]);
    }
    await stream.waitForEvents(2);
    assert.deepEqual(
      stream.events.map((event) => event.data),
      ["a", "https://example.com/b"],
    );
  });

  test("a matcher value with a control character answers 400", async (t) => {
    const { url } = await startServer(t);
    for (const name of ["match", "match_exact", "match_urlpattern"]) {
      await expectError(
        `${url}${HUB}?${query([[name, "https://example.com/\u0001"]])}`,
        400,
        "SSEHUB_ERR_TOPIC_INVALID",
      );
    }
  });

  test("a request mixing topic and match answers 400", async (t) => {
    const { url } = await startServer(t);
    await expectError(
      `${url}${HUB}?${query([
        ["topic", "a"],
        ["match", "b"],
      ])}`,
      400,
      "SSEHUB_ERR_MERCURE_PARAMETERS_MIXED",
    );
  });

  test("QUERY subscribes with the matchers in a form body", async (t) => {
    const { url } = await startServer(t, { anonymousPublish: true });
    const stream = await openFetchStream(
      `${url}${HUB}`,
      { "Content-Type": FORM },
      { method: "QUERY", body: query([["match", "https://example.com/q"]]) },
    );
    t.after(() => stream.close());
    assert.equal(stream.status, 200);
    assert.equal(stream.headers.get("accept-query"), FORM);
    await publish(url, [
      ["topic", "https://example.com/q"],
      ["data", "by QUERY"],
    ]);
    await stream.waitForEvents(1);
    assert.equal(stream.events[0]?.data, "by QUERY");
    await expectError(`${url}${HUB}`, 415, "SSEHUB_ERR_PUBLISH_UNSUPPORTED_MEDIA_TYPE", {
      method: "QUERY",
      headers: { "Content-Type": "application/json" },
      body: "{}",
    });
  });

  test("last_event_id resumes, the Last-Event-ID header wins over it, and Mercure-Last-Event-ID names the start", async (t) => {
    const { url } = await startServer(t, { anonymousPublish: true });
    const ids: string[] = [];
    for (const data of ["1", "2", "3"]) {
      ids.push(
        await publish(url, [
          ["topic", "t"],
          ["data", data],
        ]),
      );
    }
    const byParameter = await openFetchStream(
      `${url}${HUB}?${query([
        ["match", "t"],
        ["last_event_id", ids[0]!],
      ])}`,
    );
    const byHeader = await openFetchStream(
      `${url}${HUB}?${query([
        ["match", "t"],
        ["last_event_id", ids[0]!],
      ])}`,
      { "Last-Event-ID": ids[1]! },
    );
    const unknown = await openFetchStream(
      `${url}${HUB}?${query([
        ["match", "t"],
        ["last_event_id", "urn:uuid:never-published"],
      ])}`,
    );
    t.after(() => {
      byParameter.close();
      byHeader.close();
      unknown.close();
    });
    assert.equal(byParameter.headers.get("mercure-last-event-id"), ids[0]);
    assert.equal(byParameter.headers.get("last-event-id"), null);
    assert.equal(byHeader.headers.get("mercure-last-event-id"), ids[1]);
    assert.equal(unknown.headers.get("mercure-last-event-id"), "earliest");
    await byParameter.waitForEvents(2);
    await byHeader.waitForEvents(1);
    assert.deepEqual(
      byParameter.events.map((event) => event.data),
      ["2", "3"],
    );
    assert.deepEqual(
      byHeader.events.map((event) => event.data),
      ["3"],
    );
  });

  test("a reused publisher id resumes from its earliest copy", async (t) => {
    const { url } = await startServer(t, { anonymousPublish: true });
    for (const [id, data] of [
      ["urn:uuid:reused", "first copy"],
      ["", "between"],
      ["urn:uuid:reused", "second copy"],
      ["", "after"],
    ]) {
      await publish(url, [
        ["topic", "t"],
        ["data", data!],
        ["id", id!],
      ]);
    }
    const stream = await openFetchStream(`${url}${HUB}?${query([["match", "t"]])}`, {
      "Last-Event-ID": "urn:uuid:reused",
    });
    t.after(() => stream.close());
    assert.equal(stream.headers.get("mercure-last-event-id"), "urn:uuid:reused");
    await stream.waitForEvents(3);
    assert.deepEqual(
      stream.events.map((event) => event.data),
      ["between", "second copy", "after"],
    );
  });

  test("with CORS on, scripts may read Link, Mercure-Last-Event-ID, Last-Event-ID and Accept-Query", async (t) => {
    const origin = "https://app.example";
    const { url } = await startServer(t, { corsOrigins: [origin] });
    const stream = await openFetchStream(`${url}${HUB}?${query([["match", "t"]])}`, {
      Origin: origin,
    });
    t.after(() => stream.close());
    assert.equal(stream.headers.get("access-control-allow-origin"), origin);
    const exposed = (stream.headers.get("access-control-expose-headers") ?? "")
      .split(",")
      .map((name) => name.trim().toLowerCase());
    for (const name of ["link", "mercure-last-event-id", "last-event-id", "accept-query"]) {
      assert.ok(exposed.includes(name), `${name} in ${exposed.join(", ")}`);
    }
  });

  test("mercureLink() adds the last-event-id attribute of discovery", () => {
    assert.equal(
      mercureLink("https://example.com/.well-known/mercure", "urn:uuid:1"),
      '<https://example.com/.well-known/mercure>; rel="mercure"; last-event-id="urn:uuid:1"',
    );
    assert.equal(
      mercureLink("https://example.com/.well-known/mercure", null),
      '<https://example.com/.well-known/mercure>; rel="mercure"',
    );
  });
});

describe("Mercure draft-08 publication", () => {
  test("several topic fields answer 400: one update has one topic", async (t) => {
    const { url, ssehub } = await startServer(t, {
      anonymousPublish: true,
      mercureProtocol: "draft-08",
    });
    await expectError(
      `${url}${HUB}`,
      400,
      "SSEHUB_ERR_PUBLISH_TOO_MANY_TOPICS",
      form([
        ["topic", "a"],
        ["topic", "b"],
      ]),
    );
    assert.equal(ssehub.hub.stats().eventsPublished, 0);
  });

  test("the topic * answers 400: it is the wildcard", async (t) => {
    const { url } = await startServer(t, { anonymousPublish: true });
    await expectError(`${url}${HUB}`, 400, "SSEHUB_ERR_TOPIC_INVALID", form([["topic", "*"]]));
  });

  test("a topic in the hub's namespace, however spelled, is refused", async (t) => {
    const { url } = await startServer(t, { anonymousPublish: true });
    for (const topic of [
      "/.well-known/mercure/subscriptions/x/y",
      "https://hub.example/.well-known/%6Dercure/subscriptions",
      "/a/../.well-known/mercure",
    ]) {
      await expectError(`${url}${HUB}`, 403, "SSEHUB_ERR_TOPIC_RESERVED", form([["topic", topic]]));
    }
  });

  test("the type mercure answers 400", async (t) => {
    const { url } = await startServer(t, { anonymousPublish: true });
    await expectError(
      `${url}${HUB}`,
      400,
      "SSEHUB_ERR_EVENT_RESERVED_TYPE",
      form([
        ["topic", "a"],
        ["type", "mercure"],
      ]),
    );
  });

  test("unknown form fields are ignored", async (t) => {
    const { url } = await startServer(t, { anonymousPublish: true });
    const stream = await openFetchStream(`${url}${HUB}?${query([["match", "a"]])}`);
    t.after(() => stream.close());
    await publish(url, [
      ["topic", "a"],
      ["data", "kept"],
      ["future_field", "x"],
    ]);
    await stream.waitForEvents(1);
    assert.equal(stream.events[0]?.data, "kept");
  });

  test("ids and types holding control or format characters answer 400", async (t) => {
    const { url } = await startServer(t, { anonymousPublish: true });
    for (const id of ["a\u0000b", "a\u0085b", "a\u200Bb", "#\u0001"]) {
      await expectError(
        `${url}${HUB}`,
        400,
        "SSEHUB_ERR_EVENT_INVALID_ID",
        form([
          ["topic", "a"],
          ["id", id],
        ]),
      );
    }
    for (const type of ["a\rb", "a\u0001b", "a\uFEFFb"]) {
      await expectError(
        `${url}${HUB}`,
        400,
        "SSEHUB_ERR_EVENT_INVALID_TYPE",
        form([
          ["topic", "a"],
          ["type", type],
        ]),
      );
    }
  });
});
