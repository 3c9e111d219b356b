/**
 * Requirements of the Mercure specification (draft-08, and draft-07 where it says the same)
 * that no other test pinned down: the SSE fields of an update, a private field without a
 * value, the limits of a subscription and of a publish, the characters a publish may not carry,
 * and authorization on replay. The requirements table in docs/security.md ("Mercure
 * conformance") names each of these tests.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { SignJWT } from "jose";
import { openFetchStream } from "../helpers/fetch-stream.js";
import { startServer } from "../http/start-server.js";
import { HUB, publish, publishStatus } from "./mercure-form.js";

const BOOK = "https://example.com/books/1";

/**
 * Opens a stream (registered once this resolves, as the hub answers after registering it) and
 * gives its answer and a reader of its raw text until `done` holds.
 */
async function openRaw(url: string) {
  const controller = new AbortController();
  const answer = await fetch(url, { signal: controller.signal });
  const reader = answer.body!.pipeThrough(new TextDecoderStream()).getReader();
  return {
    answer,
    async readUntil(done: (text: string) => boolean): Promise<string> {
      let text = "";
      try {
        while (!done(text)) {
          const { value, done: ended } = await reader.read();
          if (ended) break;
          text += value;
        }
      } finally {
        controller.abort();
      }
      return text;
    },
  };
}

describe("Mercure conformance gaps", () => {
  test("a stream is text/event-stream and carries the id, event and retry of a publish", async (t) => {
    const { url } = await startServer(t, { anonymousPublish: true });
    const stream = await openRaw(`${url}${HUB}?match=${encodeURIComponent(BOOK)}`);
    await publish(url, [
      ["topic", BOOK],
      ["data", "the book"],
      ["id", "urn:uuid:1"],
      ["type", "note"],
      ["retry", "1500"],
    ]);
    const text = await stream.readUntil((seen) => seen.includes("data: the book"));
    assert.match(stream.answer.headers.get("content-type") ?? "", /^text\/event-stream/);
    const block = text.slice(text.lastIndexOf("\n\n", text.indexOf("data: the book")) + 2);
    assert.match(block, /^id: ?urn:uuid:1$/m);
    assert.match(block, /^event: ?note$/m);
    assert.match(block, /^retry: ?1500$/m);
  });

  test("a private field without a value still makes the update private, under both drafts", async (t) => {
    const { url } = await startServer(t, { anonymousPublish: true });
    const stream = await openFetchStream(`${url}${HUB}?match=${encodeURIComponent(BOOK)}`);
    t.after(() => stream.close());
    await publish(url, [
      ["topic", BOOK],
      ["data", "private, empty value"],
      ["private", ""],
    ]);
    // Two topics: the draft-07 reading of the same field.
    await publish(url, [
      ["topic", BOOK],
      ["topic", `${BOOK}.jsonld`],
      ["data", "draft-07 private, empty value"],
      ["private", ""],
    ]);
    await publish(url, [
      ["topic", BOOK],
      ["data", "public"],
    ]);
    await stream.waitForEvents(1);
    assert.deepEqual(
      stream.events.map((event) => event.data),
      ["public"],
    );
  });

  test("more matchers than maxTopicsPerSubscription, or a matcher past maxTopicLength, answers 400", async (t) => {
    const { url } = await startServer(t, { maxTopicsPerSubscription: 2, maxTopicLength: 40 });
    const many = ["a", "b", "c"].map((topic) => `match=${topic}`).join("&");
    const tooMany = await fetch(`${url}${HUB}?${many}`);
    await tooMany.arrayBuffer();
    assert.equal(tooMany.status, 400);
    const tooLong = await fetch(`${url}${HUB}?match=${"x".repeat(41)}`);
    await tooLong.arrayBuffer();
    assert.equal(tooLong.status, 400);
  });

  test("a publish body past maxBodyBytes answers 413", async (t) => {
    const { url } = await startServer(t, { anonymousPublish: true, maxBodyBytes: 1024 });
    const status = await publishStatus(url, [
      ["topic", BOOK],
      ["data", "x".repeat(2048)],
    ]);
    assert.equal(status, 413);
  });

  test("a topic holding a C0 control character or DEL answers 400", async (t) => {
    const { url } = await startServer(t, { anonymousPublish: true });
    for (const topic of ["https://example.com/a\u0001", "https://example.com/\u007f"]) {
      assert.equal(await publishStatus(url, [["topic", topic]]), 400, JSON.stringify(topic));
    }
  });

  test("a topic or a matcher holding a C1 control character answers 400 (draft-08)", async (t) => {
    const { url } = await startServer(t, { anonymousPublish: true });
    for (const topic of ["a\u0085b", "a\u009fb"]) {
      assert.equal(await publishStatus(url, [["topic", topic]]), 400, JSON.stringify(topic));
      const stream = await fetch(`${url}${HUB}?match=${encodeURIComponent(topic)}`);
      await stream.body?.cancel();
      assert.equal(stream.status, 400, `match=${JSON.stringify(topic)}`);
    }
  });

  test("a draft-08 update whose topic is past maxTopicLength answers 413; draft-07's 400", async (t) => {
    const { url } = await startServer(t, { anonymousPublish: true, maxTopicLength: 40 });
    const long = `${BOOK}/${"x".repeat(40)}`;
    assert.equal(await publishStatus(url, [["topic", long]]), 413);
    assert.equal(
      await publishStatus(url, [
        ["topic", long],
        ["topic", BOOK],
      ]),
      400,
      "two topics: draft-07, whose answer is 400",
    );
  });

  test("a retry that is not ASCII digits answers 400", async (t) => {
    const { url } = await startServer(t, { anonymousPublish: true });
    for (const retry of ["1.5", "-1", "1e3", "soon"]) {
      const status = await publishStatus(url, [
        ["topic", BOOK],
        ["retry", retry],
      ]);
      assert.equal(status, 400, retry);
    }
  });

  test("a publisher id starting with # answers 400, under both drafts", async (t) => {
    const { url } = await startServer(t, { anonymousPublish: true });
    // One topic reads as draft-08, two (an alternate) as draft-07.
    for (const topics of [[BOOK], [BOOK, `${BOOK}.jsonld`]]) {
      const status = await publishStatus(url, [
        ...topics.map((topic): [string, string] => ["topic", topic]),
        ["id", `#${topics.length}`],
      ]);
      assert.equal(status, 400, `${topics.length} topic(s)`);
    }
  });

  test("a draft-07 resume takes the Last-Event-ID header over the lastEventID parameter", async (t) => {
    const { url } = await startServer(t, { anonymousPublish: true });
    const ids: string[] = [];
    for (const data of ["1", "2", "3"]) {
      ids.push(
        await publish(url, [
          ["topic", BOOK],
          ["topic", `${BOOK}.jsonld`],
          ["data", data],
        ]),
      );
    }
    const stream = await openFetchStream(
      `${url}${HUB}?topic=${encodeURIComponent(BOOK)}&lastEventID=${ids[0]}`,
      { "Last-Event-ID": ids[1]! },
    );
    t.after(() => stream.close());
    assert.equal(stream.headers.get("last-event-id"), ids[1]);
    await stream.waitForEvents(1);
    assert.deepEqual(
      stream.events.map((event) => event.data),
      ["3"],
    );
  });

  test("a draft-08 Authorization header is used before the cookie, even when it fails", async (t) => {
    const resource = "https://hub.example.com/.well-known/mercure";
    const issuer = "https://app.example.com";
    const secret = "issuer-secret-of-at-least-32-bytes!!";
    const { url } = await startServer(t, {
      mercureIssuers: JSON.stringify([{ issuer, key: secret }]),
      mercureResource: resource,
    });
    const token = (key: string) =>
      new SignJWT({
        iss: issuer,
        aud: resource,
        authorization_details: [
          { type: "mercure", actions: ["subscribe"], topics: [{ match: "*" }] },
        ],
      })
        .setProtectedHeader({ alg: "HS256", typ: "at+jwt" })
        .setExpirationTime("1h")
        .sign(new TextEncoder().encode(key));
    const answer = await fetch(`${url}${HUB}?match=${encodeURIComponent(BOOK)}`, {
      headers: {
        Authorization: `Bearer ${await token("another-secret-of-at-least-32-bytes!")}`,
        Cookie: `__Secure-mercure_access_token=${await token(secret)}`,
      },
    });
    await answer.body?.cancel();
    assert.equal(answer.status, 401);
  });

  test("a replay sends a private update only to a subscriber allowed it now", async (t) => {
    const { url } = await startServer(t, { anonymousPublish: true });
    await publish(url, [
      ["topic", BOOK],
      ["data", "private"],
      ["private", "on"],
    ]);
    await publish(url, [
      ["topic", BOOK],
      ["data", "public"],
    ]);
    for (const resume of [
      `match=${encodeURIComponent(BOOK)}&last_event_id=earliest`,
      `topic=${encodeURIComponent(BOOK)}&lastEventID=earliest`,
    ]) {
      const stream = await openFetchStream(`${url}${HUB}?${resume}`);
      t.after(() => stream.close());
      await stream.waitForEvents(1);
      assert.deepEqual(
        stream.events.map((event) => event.data),
        ["public"],
        resume,
      );
    }
  });

  test("resumed from a private update it may not read, the answer names the newest one before it that it may", async (t) => {
    const { url } = await startServer(t, { anonymousPublish: true });
    const open = await publish(url, [
      ["topic", BOOK],
      ["data", "public"],
    ]);
    const hidden = await publish(url, [
      ["topic", BOOK],
      ["data", "private"],
      ["private", "on"],
    ]);
    const stream = await openFetchStream(`${url}${HUB}?match=${encodeURIComponent(BOOK)}`, {
      "Last-Event-ID": hidden,
    });
    t.after(() => stream.close());
    assert.equal(stream.headers.get("mercure-last-event-id"), open);
  });

  test("the Last-Event-ID answer never names an update the subscriber may not read", async (t) => {
    const { url } = await startServer(t, { anonymousPublish: true });
    const open = await publish(url, [
      ["topic", BOOK],
      ["data", "public"],
    ]);
    const hidden = await publish(url, [
      ["topic", BOOK],
      ["data", "private"],
      ["private", "on"],
    ]);
    for (const [query, header] of [
      [`match=${encodeURIComponent(BOOK)}`, "mercure-last-event-id"],
      [`topic=${encodeURIComponent(BOOK)}`, "last-event-id"],
    ] as const) {
      const stream = await openFetchStream(`${url}${HUB}?${query}`);
      t.after(() => stream.close());
      assert.notEqual(stream.headers.get(header), hidden, query);
      assert.equal(stream.headers.get(header), open, `${query}: the newest update it may read`);
    }
  });
});
