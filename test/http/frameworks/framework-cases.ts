/**
 * What every framework app of docs/api.md must do, run on each (express.test.ts,
 * fastify.test.ts, hono.test.ts): the hub under `/sse` streams, publishes and resumes through
 * the framework's server, beside the app's own routes, and the app's shutdown ends it all.
 * Each app is the example of docs/api.md, verbatim (docs-examples.test.ts), run in a process
 * of its own as its user runs it.
 * @module
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type FetchStream, openFetchStream } from "../../helpers/fetch-stream.js";
import { within } from "../../helpers/wait-for.js";
import { type AppProcess, startApp, stopApp } from "./app-process.js";

/** Publishes through the hub's own route, under the app's `/sse` prefix; answers the event's id. */
async function publishViaHub(url: string, topic: string, data: string): Promise<string> {
  const response = await fetch(`${url}/sse/publish`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ topic, data }),
  });
  const body = (await response.json()) as { id?: string };
  assert.equal(response.status, 200, JSON.stringify(body));
  return body.id!;
}

/** The id and data of each event of `stream`, in the order they came. */
function received(stream: FetchStream): string[][] {
  return stream.events.map((event) => [event.lastEventId, event.data]);
}

/** The gauge `ssehub_streams{transport="<transport>"}` in a /metrics answer. */
function openStreams(metrics: string, transport: "socket" | "response"): number {
  const line = new RegExp(`^ssehub_streams\\{transport="${transport}"\\} (\\d+)$`, "m").exec(
    metrics,
  );
  return Number(line?.[1]);
}

/** Runs the shared cases against the app `name` (`express`, `fastify`, `hono`). */
export function describeFrameworkApp(framework: string, name: string): void {
  describe(`the ${framework} app of docs/api.md`, () => {
    let app: AppProcess;
    before(async () => {
      app = await startApp(name);
    });
    after(async () => {
      if (app !== undefined) await stopApp(app);
    });

    test(`${framework}: a subscriber under /sse gets what /sse/publish sends, and resumes with Last-Event-ID with exactly the missed events`, async () => {
      const first = await openFetchStream(`${app.url}/sse/events?topic=prices`);
      assert.equal(first.status, 200);
      assert.match(first.headers.get("content-type") ?? "", /^text\/event-stream\b/);
      const seen = await publishViaHub(app.url, "prices", "one");
      await first.waitForEvents(1);
      assert.deepEqual(received(first), [[seen, "one"]]);
      first.close();
      await first.ended;

      const missed = [
        await publishViaHub(app.url, "prices", "two"),
        await publishViaHub(app.url, "prices", "three"),
      ];
      const resumed = await openFetchStream(`${app.url}/sse/events?topic=prices`, {
        "Last-Event-ID": seen,
      });
      await resumed.waitForEvents(2);
      const live = await publishViaHub(app.url, "prices", "four");
      await resumed.waitForEvents(3);
      resumed.close();
      assert.deepEqual(received(resumed), [
        [missed[0], "two"],
        [missed[1], "three"],
        [live, "four"],
      ]);
    });

    test(`${framework}: the app's own route, behind the framework's body parser, works beside the hub and publishes to it`, async () => {
      const stream = await openFetchStream(`${app.url}/sse/events/orders`);
      const response = await fetch(`${app.url}/orders`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ order: 42 }),
      });
      assert.equal(response.status, 201);
      const { id } = (await response.json()) as { id: string };
      await stream.waitForEvents(1);
      stream.close();
      assert.deepEqual(received(stream), [[id, '{"order":42}']]);
    });

    test(`${framework}: a stream under the framework leaves node:http as it does on a plain server`, async () => {
      const stream = await openFetchStream(`${app.url}/sse/events/quiet`);
      // Open streams of the cases before may not have closed yet: none of them is on the
      // public path either, so every open stream is on a socket taken over from node:http.
      const metrics = await (await fetch(`${app.url}/sse/metrics`)).text();
      stream.close();
      assert.ok(openStreams(metrics, "socket") >= 1, metrics);
      assert.equal(openStreams(metrics, "response"), 0, metrics);
    });

    test(`${framework}: the Mercure route moves under /sse with the others`, async () => {
      const stream = await openFetchStream(`${app.url}/sse/.well-known/mercure?topic=news`);
      assert.equal(stream.status, 200);
      const id = await publishViaHub(app.url, "news", "extra");
      await stream.waitForEvents(1);
      stream.close();
      assert.deepEqual(received(stream), [[id, "extra"]]);
    });

    test(`${framework}: a path under /sse that the hub does not know gets the hub's 404, other paths the framework's`, async () => {
      const hubs = await fetch(`${app.url}/sse/nowhere`);
      assert.equal(hubs.status, 404);
      assert.equal(((await hubs.json()) as { code: string }).code, "SSEHUB_ERR_ROUTE_NOT_FOUND");
      const frameworks = await fetch(`${app.url}/nowhere`);
      await frameworks.arrayBuffer();
      assert.equal(frameworks.status, 404);
      assert.equal(frameworks.headers.get("x-request-id"), null);
    });

    test(`${framework}: SIGTERM ends the open streams and the app exits with 0`, async () => {
      const stream = await openFetchStream(`${app.url}/sse/events/prices`);
      assert.equal(stream.status, 200);
      const exitCode = await stopApp(app);
      await within(stream.ended, "the stream to end");
      assert.equal(exitCode, 0, app.stderr.join("\n"));
    });
  });
}
