/**
 * The hub's own topics, `/.well-known/mercure` and below, where it publishes Mercure's
 * subscription events: a publisher whose token grants every topic cannot publish there through
 * any door, in any spelling, while the hub's own events still arrive.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { SignJWT } from "jose";
import { PUBLISH_AS_HUB } from "../../src/hub/publish-as-hub.js";
import * as ssehub from "../../src/index.js";
import { type FetchStream, openFetchStream } from "../helpers/fetch-stream.js";
import { sleep } from "../helpers/wait-for.js";
import { startServer } from "../http/start-server.js";

const HUB = "/.well-known/mercure";
const EVERY_SUBSCRIPTION = "/.well-known/mercure/subscriptions{/topic}{/subscriber}";
const PUBLISHER_KEY = "publisher-secret-of-at-least-32-bytes";
const SUBSCRIBER_KEY = "subscriber-secret-of-at-least-32-bytes";
/** How long to listen for an event that must not come, before saying none did. */
const NOTHING_MORE_MS = 50;
const FORM = "application/x-www-form-urlencoded";

function token(key: string, mercure: Record<string, unknown>): Promise<string> {
  return new SignJWT({ mercure })
    .setProtectedHeader({ alg: "HS256" })
    .sign(new TextEncoder().encode(key));
}

/** What a forger tries: the hub's own topic, spelled as a reader of URLs would accept it. */
const FORGED_TOPICS: readonly string[] = [
  "/.well-known/mercure/subscriptions/news/urn%3Auuid%3Aforged",
  "https://example.com/.well-known/mercure/subscriptions/news/urn%3Auuid%3Aforged",
  "http://127.0.0.1/.well-known/mercure/subscriptions/news/x",
  "/.well-known/%6Dercure/subscriptions/news/x",
  "/.well-known/%6dercure/subscriptions/news/x",
  "/%2E%77ell-known/mercure/subscriptions/news/x",
  "/news/../.well-known/mercure/subscriptions/news/x",
  "/./.well-known//mercure/subscriptions/news/x",
  "/.well-known/mercure",
];

async function openStream(
  t: { after(fn: () => void): void },
  url: string,
  selectors: string[],
  headers: Record<string, string>,
): Promise<FetchStream> {
  const query = selectors.map((s) => `topic=${encodeURIComponent(s)}`).join("&");
  const stream = await openFetchStream(`${url}${HUB}?${query}`, headers);
  t.after(() => stream.close());
  assert.equal(stream.status, 200);
  return stream;
}

describe("the hub's topic namespace", () => {
  test("a publisher granted every topic cannot forge a subscription event; the hub's own arrive", async (t) => {
    const { url, ssehub } = await startServer(t, {
      publisherJwtKey: PUBLISHER_KEY,
      subscriberJwtKey: SUBSCRIBER_KEY,
      subscriptionEvents: true,
      shutdownTimeoutMs: 100,
    });
    const publisher = {
      Authorization: `Bearer ${await token(PUBLISHER_KEY, { publish: ["*"] })}`,
    };
    const reader = {
      Authorization: `Bearer ${await token(SUBSCRIBER_KEY, { subscribe: ["*"] })}`,
    };
    // One watcher by template, one by `*`: neither may see anything the hub did not write.
    const watcher = await openStream(t, url, [EVERY_SUBSCRIPTION], reader);
    const everything = await openStream(t, url, ["*"], reader);
    await watcher.waitForEvents(2);
    // It opened after the watcher's own event: it sees its own on.
    await everything.waitForEvents(1);
    const before = ssehub.hub.stats().eventsPublished;

    const forged = (topic: string) =>
      JSON.stringify({
        "@context": "https://mercure.rocks/",
        id: topic,
        type: "Subscription",
        topic: "news",
        subscriber: "urn:uuid:forged",
        active: true,
      });
    for (const topic of FORGED_TOPICS) {
      const data = forged(topic);
      const attempts: [string, string, string][] = [
        [HUB, FORM, new URLSearchParams({ topic, data }).toString()],
        [HUB, FORM, new URLSearchParams({ topic, data, private: "on" }).toString()],
        ["/publish", FORM, new URLSearchParams({ topic, data }).toString()],
        ["/publish", "application/json", JSON.stringify({ topic, data })],
        ["/publish", "application/json", JSON.stringify({ topics: ["news", topic], data })],
        [
          "/publish",
          "application/json",
          JSON.stringify([
            { topic: "news", data },
            { topic, data },
          ]),
        ],
      ];
      for (const [path, contentType, body] of attempts) {
        const response = await fetch(`${url}${path}`, {
          method: "POST",
          headers: { ...publisher, "Content-Type": contentType },
          body,
        });
        const answer = (await response.json()) as { code?: string };
        assert.deepEqual(
          { status: response.status, code: answer.code },
          { status: 403, code: "SSEHUB_ERR_TOPIC_RESERVED" },
          `${path} ${body}`,
        );
      }
      await assert.rejects(() => ssehub.hub.publish({ topic, data }), {
        code: "SSEHUB_ERR_TOPIC_RESERVED",
      });
      await assert.rejects(() => ssehub.hub.publishBatch([{ topic, data, private: true }]), {
        code: "SSEHUB_ERR_TOPIC_RESERVED",
      });
    }
    assert.equal(ssehub.hub.stats().eventsPublished, before);

    // The hub's own subscription events still go through.
    const bob = await openStream(t, url, ["news"], {});
    await watcher.waitForEvents(3);
    bob.close();
    await watcher.waitForEvents(4);
    await sleep(NOTHING_MORE_MS);
    const seen = watcher.events.map((event) => JSON.parse(event.data) as Record<string, unknown>);
    assert.deepEqual(
      seen.map((d) => [d.topic, d.active]),
      [
        [EVERY_SUBSCRIPTION, true],
        ["*", true],
        ["news", true],
        ["news", false],
      ],
    );
    assert.ok(seen.every((d) => d.subscriber !== "urn:uuid:forged"));
    await everything.waitForEvents(3);
    assert.deepEqual(
      everything.events.map((event) => event.data),
      watcher.events.slice(1).map((event) => event.data),
    );
  });

  test("the key of the hub's own publish is not part of the package's API", () => {
    assert.ok(!(Object.values(ssehub) as unknown[]).includes(PUBLISH_AS_HUB));
    assert.ok(!Object.keys(ssehub).some((name) => /publishAsHub|PUBLISH_AS_HUB/i.test(name)));
  });

  test("a topic that only looks like the namespace is published as any other", async (t) => {
    const { url } = await startServer(t);
    for (const topic of [
      "/.well-known/mercure-other",
      "/x/.well-known/mercure/subscriptions",
      "/.well-known/Mercure/subscriptions",
      "/.well-known%2Fmercure%2Fsubscriptions",
    ]) {
      const response = await fetch(`${url}/publish`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ topic, data: "x" }),
      });
      assert.equal(response.status, 200, topic);
    }
  });
});
