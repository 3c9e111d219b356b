/**
 * One mistake, one code, whatever the door: the library (`hub.publish()`), POST /publish with
 * JSON, POST /publish with a form, and Mercure's form all refuse the same input the same way,
 * because each maps what it receives onto a PublishInput and the hub checks it
 * (src/hub/publish-input.ts).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { PublishInput } from "../../src/hub/publish-input.js";
import { startServer } from "./start-server.js";

const MERCURE = "/.well-known/mercure";

/** One mistake as each door writes it; undefined where a door cannot say it. */
interface Mistake {
  readonly what: string;
  readonly code: string;
  readonly input: Record<string, unknown>;
  readonly form?: string;
}

const MISTAKES: readonly Mistake[] = [
  {
    what: "no data",
    code: "SSEHUB_ERR_EVENT_INVALID_DATA",
    input: { topic: "a" },
    form: "topic=a",
  },
  {
    what: "no topic",
    code: "SSEHUB_ERR_TOPIC_MISSING",
    input: { data: "x" },
    form: "data=x",
  },
  {
    what: "a topic with a space",
    code: "SSEHUB_ERR_TOPIC_INVALID",
    input: { topic: "a b", data: "x" },
    form: "topic=a+b&data=x",
  },
  {
    what: "more topics than maxTopicsPerPublish",
    code: "SSEHUB_ERR_PUBLISH_TOO_MANY_TOPICS",
    input: { topics: ["a", "b", "c"], data: "x" },
    form: "topic=a&topic=b&topic=c&data=x",
  },
  {
    what: "a line break in the event type",
    code: "SSEHUB_ERR_EVENT_INVALID_TYPE",
    input: { topic: "a", data: "x", event: "a\r" },
    form: "topic=a&data=x&type=a%0D",
  },
  {
    what: "a retry that is not a number",
    code: "SSEHUB_ERR_EVENT_INVALID_RETRY",
    input: { topic: "a", data: "x", retry: "12a" },
    form: "topic=a&data=x&retry=12a",
  },
  {
    what: "a line break in the id",
    code: "SSEHUB_ERR_EVENT_INVALID_ID",
    input: { topic: "a", data: "x", id: "a\nb" },
    form: "topic=a&data=x&id=a%0Ab",
  },
  {
    what: "an unknown field",
    code: "SSEHUB_ERR_PUBLISH_MALFORMED",
    input: { topic: "a", data: "x", color: "red" },
    form: "topic=a&data=x&color=red",
  },
  {
    what: "a lone surrogate in the data",
    code: "SSEHUB_ERR_EVENT_INVALID_DATA",
    input: { topic: "a", data: "x\ud800" },
  },
];

async function codeOf(url: string, path: string, contentType: string, body: string) {
  const response = await fetch(`${url}${path}`, {
    method: "POST",
    headers: { "Content-Type": contentType },
    body,
  });
  const answer = (await response.json()) as { code?: string };
  return { status: response.status, code: answer.code };
}

describe("publish doors", () => {
  test("every door refuses each publish mistake with the same status and code", async (t) => {
    const { ssehub, url } = await startServer(t, { maxTopicsPerPublish: 2 });
    const form = "application/x-www-form-urlencoded";
    for (const mistake of MISTAKES) {
      const where = `${mistake.what}: `;
      await assert.rejects(
        () => ssehub.hub.publish(mistake.input as unknown as PublishInput),
        { code: mistake.code },
        `${where}hub.publish()`,
      );
      const wanted = { status: 400, code: mistake.code };
      const json = JSON.stringify(mistake.input);
      assert.deepEqual(
        await codeOf(url, "/publish", "application/json", json),
        wanted,
        `${where}JSON`,
      );
      if (mistake.form === undefined) continue;
      assert.deepEqual(await codeOf(url, "/publish", form, mistake.form), wanted, `${where}form`);
      // Mercure reads an absent `data` as empty data: that one is no mistake there.
      if (mistake.what === "no data") continue;
      assert.deepEqual(
        await codeOf(url, MERCURE, form, mistake.form),
        wanted,
        `${where}Mercure form`,
      );
    }
    assert.equal(ssehub.hub.stats().eventsPublished, 0);
  });

  test("Mercure's form publishes an update without data as empty data", async (t) => {
    const { url } = await startServer(t);
    const response = await fetch(`${url}${MERCURE}`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: "topic=a",
    });
    assert.equal(response.status, 200);
  });
});
