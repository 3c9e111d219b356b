/**
 * The Express backend of docs/security.md ("A complete backend, in Express") deciding for a real
 * hub: it runs in its own process as its user runs it, and the hub's subscribe and publish
 * hooks ask it. The page shows apps/express-hook-backend-app.ts verbatim (docs-examples.test.ts).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { openFetchStream } from "../../helpers/fetch-stream.js";
import { startServer } from "../start-server.js";
import { type AppProcess, startApp, stopApp } from "./app-process.js";

describe("the Express hook backend of docs/security.md", () => {
  let backend: AppProcess;
  before(async () => {
    backend = await startApp("express-hook-backend");
  });
  after(() => stopApp(backend));

  function hub(t: Parameters<typeof startServer>[0]) {
    return startServer(t, {
      subscribeHookUrl: `${backend.url}/subscribe`,
      publishHookUrl: `${backend.url}/publish`,
      // Publishes that ride on the session cookie come from the app's pages only.
      publishOrigins: ["https://app.example.com"],
    });
  }

  it("narrows a stream to the user's rooms, grants them private events, and signs publishes", async (t) => {
    const { url, ssehub } = await hub(t);
    const stream = await openFetchStream(`${url}/events?topic=room/1&topic=room/2`, {
      cookie: "session=abc",
    });
    t.after(() => stream.close());
    assert.equal(stream.status, 200);
    await ssehub.hub.publish({ topic: "room/2", data: "not for ann" });
    await ssehub.hub.publish({ topic: "room/1", data: "private to room 1", private: true });
    const published = await fetch(`${url}/publish`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        cookie: "session=abc",
        origin: "https://app.example.com",
      },
      body: JSON.stringify({ topic: "room/1", data: "hello" }),
    });
    assert.equal(published.status, 200, await published.clone().text());
    await stream.waitForEvents(2);
    assert.deepEqual(
      stream.events.map((e) => e.data),
      ["private to room 1", "ann: hello"],
    );
  });

  it("refuses a stranger (401) and a room that is not the user's (403) with the backend's words", async (t) => {
    const { url } = await hub(t);
    const stranger = await fetch(`${url}/events?topic=room/1`);
    const strangerBody = (await stranger.json()) as { code: string; message: string };
    assert.deepEqual(
      [stranger.status, strangerBody.code, strangerBody.message],
      [401, "SSEHUB_ERR_HOOK_UNAUTHENTICATED", "Log in first"],
    );
    const elsewhere = await fetch(`${url}/events?topic=room/2`, {
      headers: { cookie: "session=abc" },
    });
    const elsewhereBody = (await elsewhere.json()) as { code: string; message: string };
    assert.deepEqual(
      [elsewhere.status, elsewhereBody.code, elsewhereBody.message],
      [403, "SSEHUB_ERR_HOOK_DENIED", "Not your room"],
    );
  });
});
