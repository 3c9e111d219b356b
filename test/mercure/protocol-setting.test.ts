import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { SignJWT } from "jose";
import { resolveServerOptions } from "../../src/http/server-options.js";
import { openFetchStream } from "../helpers/fetch-stream.js";
import { expectError } from "../http/expect-error.js";
import { startServer } from "../http/start-server.js";
import { FORM, form, HUB } from "./mercure-form.js";

const KEY = "!ChangeThisMercureHubJWTSecretKey!";

describe("mercureProtocol", () => {
  test("defaults to both, and refuses another value", () => {
    assert.equal(resolveServerOptions({}).mercureProtocol, "both");
    assert.throws(
      () => resolveServerOptions({ mercureProtocol: "draft-09" }),
      (error: { code?: string }) => error.code === "SSEHUB_ERR_OPTIONS_INVALID",
    );
  });

  test("both: a topic subscription is draft-07, a match one draft-08, each answered in its own header", async (t) => {
    const { url } = await startServer(t);
    const old = await openFetchStream(`${url}${HUB}?topic=a&lastEventID=earliest`);
    const current = await openFetchStream(`${url}${HUB}?match=a&last_event_id=earliest`);
    t.after(() => {
      old.close();
      current.close();
    });
    assert.equal(old.headers.get("last-event-id"), "earliest");
    assert.equal(old.headers.get("mercure-last-event-id"), null);
    assert.equal(current.headers.get("mercure-last-event-id"), "earliest");
    assert.equal(current.headers.get("last-event-id"), null);
  });

  test("both: a publish with several topics is draft-07 (alternates), one with one topic draft-08", async (t) => {
    const { url } = await startServer(t, { anonymousPublish: true });
    const alternate = await openFetchStream(`${url}${HUB}?topic=b`);
    t.after(() => alternate.close());
    const answer = await fetch(
      `${url}${HUB}`,
      form([
        ["topic", "a"],
        ["topic", "b"],
        ["data", "to a, alternate b"],
      ]),
    );
    assert.equal(answer.status, 200);
    await alternate.waitForEvents(1);
    assert.equal(alternate.events[0]?.data, "to a, alternate b");
    // One topic: draft-08, which ignores a field it does not know.
    const single = await fetch(
      `${url}${HUB}`,
      form([
        ["topic", "a"],
        ["unknown", "x"],
      ]),
    );
    assert.equal(single.status, 200);
  });

  test("draft-08 alone refuses topic subscriptions and alternate topics", async (t) => {
    const { url } = await startServer(t, { anonymousPublish: true, mercureProtocol: "draft-08" });
    const { body } = await expectError(
      `${url}${HUB}?topic=a`,
      400,
      "SSEHUB_ERR_MERCURE_PROTOCOL_DISABLED",
    );
    assert.deepEqual(body.details, { protocol: "draft-07", accepted: "draft-08" });
    await expectError(
      `${url}${HUB}`,
      400,
      "SSEHUB_ERR_PUBLISH_TOO_MANY_TOPICS",
      form([
        ["topic", "a"],
        ["topic", "b"],
      ]),
    );
  });

  test("draft-07 alone refuses match subscriptions, QUERY, and unknown publish fields", async (t) => {
    const { url } = await startServer(t, { anonymousPublish: true, mercureProtocol: "draft-07" });
    await expectError(`${url}${HUB}?match=a`, 400, "SSEHUB_ERR_MERCURE_PROTOCOL_DISABLED");
    await expectError(`${url}${HUB}`, 400, "SSEHUB_ERR_MERCURE_PROTOCOL_DISABLED", {
      method: "QUERY",
      headers: { "Content-Type": FORM },
      body: "match=a",
    });
    await expectError(
      `${url}${HUB}`,
      400,
      "SSEHUB_ERR_PUBLISH_MALFORMED",
      form([
        ["topic", "a"],
        ["unknown", "x"],
      ]),
    );
    // Draft-07's topic `*` is a publishable name there, as it was.
    const answer = await fetch(`${url}${HUB}`, form([["topic", "a"]]));
    assert.equal(answer.status, 200);
  });
});

describe("Mercure draft-07 gaps", () => {
  test("Last-Event-ID answers earliest for an id the hub does not hold", async (t) => {
    const { url } = await startServer(t, { anonymousPublish: true });
    await fetch(
      `${url}${HUB}`,
      form([
        ["topic", "t"],
        ["data", "1"],
      ]),
    );
    const stream = await openFetchStream(`${url}${HUB}?topic=t&lastEventID=urn:uuid:unknown`);
    t.after(() => stream.close());
    assert.equal(stream.headers.get("last-event-id"), "earliest");
  });

  test("a token in the authorization query parameter makes the answer Cache-Control: private", async (t) => {
    const { url } = await startServer(t, {
      subscriberJwtKey: KEY,
      authQueryParam: "authorization",
    });
    const jwt = await new SignJWT({ mercure: { subscribe: ["*"] } })
      .setProtectedHeader({ alg: "HS256" })
      .sign(new TextEncoder().encode(KEY));
    const inQuery = await openFetchStream(`${url}${HUB}?topic=t&authorization=${jwt}`);
    const inHeader = await openFetchStream(`${url}${HUB}?topic=t`, {
      Authorization: `Bearer ${jwt}`,
    });
    t.after(() => {
      inQuery.close();
      inHeader.close();
    });
    assert.equal(inQuery.status, 200);
    assert.match(inQuery.headers.get("cache-control") ?? "", /\bprivate\b/);
    assert.equal(inHeader.headers.get("cache-control"), "no-cache");
  });
});
