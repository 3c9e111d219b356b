import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { expectError } from "./expect-error.js";
import { openStream } from "./raw-stream.js";
import { startServer } from "./start-server.js";

interface TopicJson {
  readonly topic: string;
}

/** The target of a `Link: <...>; rel="next"` header, or undefined. */
function nextLink(headers: Headers): string | undefined {
  const link = headers.get("link");
  if (link === null) return undefined;
  const match = /^<([^>]+)>; rel="next"$/.exec(link);
  assert.ok(match, `Link header ${link}`);
  return match[1];
}

describe("GET /topics pages", () => {
  test("answers the first 100 topics by name and a Link to the next page", async (t) => {
    const { ssehub, url } = await startServer(t);
    const names = Array.from({ length: 250 }, (_, i) => `t${String(i).padStart(3, "0")}`);
    await ssehub.hub.publishBatch([...names].reverse().map((topic) => ({ topic, data: 1 })));
    const response = await fetch(`${url}/topics`);
    assert.equal(response.status, 200);
    const page = (await response.json()) as TopicJson[];
    assert.deepEqual(
      page.map((info) => info.topic),
      names.slice(0, 100),
    );
    assert.match(nextLink(response.headers) ?? "", /^\/topics\?limit=100&cursor=[\w-]+$/);
  });

  test("following the Link header visits every topic once, in order, with subscribers and history", async (t) => {
    const { ssehub, url } = await startServer(t);
    const stream = await openStream(t, `${url}/events?topic=${encodeURIComponent("b/ü")}`);
    await stream.waitFor("retry:");
    const published = ["a", "c", "d/é", "e", "f", "g", "h"];
    await ssehub.hub.publishBatch(published.map((topic) => ({ topic, data: 1 })));
    const seen: string[] = [];
    let target: string | undefined = "/topics?limit=3";
    let pages = 0;
    while (target !== undefined) {
      const response: Response = await fetch(`${url}${target}`);
      assert.equal(response.status, 200);
      const page = (await response.json()) as TopicJson[];
      assert.ok(page.length <= 3);
      seen.push(...page.map((info) => info.topic));
      target = nextLink(response.headers);
      pages++;
    }
    assert.deepEqual(seen, ["a", "b/ü", "c", "d/é", "e", "f", "g", "h"]);
    assert.equal(pages, 3);
  });

  test("a limit past the maximum is lowered to 1000", async (t) => {
    const { ssehub, url } = await startServer(t);
    for (let first = 0; first < 1200; first += 600) {
      await ssehub.hub.publishBatch(
        Array.from({ length: 600 }, (_, i) => ({ topic: `n${first + i}`, data: 1 })),
      );
    }
    const response = await fetch(`${url}/topics?limit=5000`);
    assert.equal(((await response.json()) as TopicJson[]).length, 1000);
    assert.match(nextLink(response.headers) ?? "", /^\/topics\?limit=1000&cursor=/);
  });

  test("the last page has no Link header, and an empty hub answers []", async (t) => {
    const { ssehub, url } = await startServer(t);
    const empty = await fetch(`${url}/topics`);
    assert.deepEqual(await empty.json(), []);
    assert.equal(empty.headers.get("link"), null);
    await ssehub.hub.publish({ topic: "only", data: 1 });
    const one = await fetch(`${url}/topics?limit=1`);
    assert.equal(((await one.json()) as TopicJson[]).length, 1);
    assert.equal(one.headers.get("link"), null);
  });

  test("a bad limit or a cursor the hub did not write answers 400 SSEHUB_ERR_QUERY_INVALID", async (t) => {
    const { url } = await startServer(t);
    for (const query of [
      "limit=0",
      "limit=-1",
      "limit=ten",
      "limit=1.5",
      "cursor=%2B%2B",
      "cursor=",
    ]) {
      await expectError(`${url}/topics?${query}`, 400, "SSEHUB_ERR_QUERY_INVALID");
    }
  });
});
