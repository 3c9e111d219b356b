/**
 * Spans of a publish through a real server (docs/tracing.md): an SDK with an in-memory
 * exporter is registered, a subscriber listens, a publish carries a W3C traceparent, and the
 * spans it leaves are read back.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SpanKind } from "@opentelemetry/api";
import { isTracing } from "../../src/hub/tracing.js";
import { parentIdOf, recordSpans } from "../helpers/span-recorder.js";
import { SseReader } from "../helpers/sse-reader.js";
import { waitFor } from "../helpers/wait-for.js";
import { startServer } from "../http/start-server.js";

const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_ID = "00f067aa0ba902b7";
const TRACEPARENT = `00-${TRACE_ID}-${PARENT_ID}-01`;

async function publish(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(`${url}/publish`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
}

describe("tracing over HTTP", () => {
  it("records publish, order and dispatch spans in the publisher's trace", async (t) => {
    const recorder = recordSpans(t);
    const { url } = await startServer(t);
    const reader = await SseReader.open(`${url}/events?topic=prices&topic=news`);
    t.after(() => reader.close());
    const answer = await publish(
      url,
      { topics: ["prices", "news"], data: "1.08" },
      { traceparent: TRACEPARENT, tracestate: "vendor=abc" },
    );
    assert.equal(answer.status, 200);
    await reader.waitForEvents(1);
    await waitFor(() => recorder.named("ssehub.dispatch").length === 1, "the dispatch span");

    const [publishSpan] = recorder.named("ssehub.publish");
    const [order] = recorder.named("ssehub.order");
    const [dispatch] = recorder.named("ssehub.dispatch");
    assert.ok(publishSpan && order && dispatch);
    for (const span of [publishSpan, order, dispatch]) {
      assert.equal(span.spanContext().traceId, TRACE_ID, span.name);
    }
    assert.equal(
      parentIdOf(publishSpan),
      PARENT_ID,
      "the publish span's parent is the traceparent",
    );
    assert.equal(publishSpan.kind, SpanKind.SERVER);
    assert.equal(parentIdOf(order), publishSpan.spanContext().spanId);
    assert.equal(parentIdOf(dispatch), publishSpan.spanContext().spanId);
    assert.equal(dispatch.kind, SpanKind.CONSUMER);
    assert.equal(publishSpan.spanContext().traceState?.get("vendor"), "abc");

    assert.equal(publishSpan.attributes["ssehub.event_count"], 1);
    assert.equal(publishSpan.attributes["ssehub.topic_count"], 2);
    assert.equal(publishSpan.attributes["http.response.status_code"], 200);
    assert.equal(order.attributes["ssehub.event_count"], 1);
    assert.equal(order.attributes["ssehub.seq"], 1);
    assert.equal(dispatch.attributes["ssehub.topic_count"], 2);
    // One subscriber of both topics: handed the event under each, written once.
    assert.equal(dispatch.attributes["ssehub.subscriber_count"], 2);
    assert.equal(dispatch.attributes["ssehub.event_id"], reader.events[0]!.lastEventId);
  });

  it("gives a batch one dispatch span per event, not per delivery", async (t) => {
    const recorder = recordSpans(t);
    const { url } = await startServer(t);
    const readers = await Promise.all([1, 2, 3].map(() => SseReader.open(`${url}/events?topic=a`)));
    t.after(() => {
      for (const reader of readers) reader.close();
    });
    const answer = await publish(
      url,
      [
        { topic: "a", data: "1" },
        { topic: "a", data: "2" },
      ],
      { traceparent: TRACEPARENT },
    );
    assert.equal(answer.status, 200);
    for (const reader of readers) await reader.waitForEvents(2);
    await waitFor(() => recorder.named("ssehub.dispatch").length === 2, "two dispatch spans");
    const dispatches = recorder.named("ssehub.dispatch");
    assert.deepEqual(
      dispatches.map((span) => span.attributes["ssehub.subscriber_count"]),
      [3, 3],
    );
    assert.equal(recorder.named("ssehub.publish")[0]!.attributes["ssehub.event_count"], 2);
  });

  it("traces a publish on the Mercure hub route too", async (t) => {
    const recorder = recordSpans(t);
    const { url } = await startServer(t);
    const answer = await fetch(`${url}/.well-known/mercure`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", traceparent: TRACEPARENT },
      body: "topic=a&topic=b&data=x",
    });
    assert.equal(answer.status, 200);
    await waitFor(() => recorder.named("ssehub.dispatch").length === 1, "the dispatch span");
    const [publishSpan] = recorder.named("ssehub.publish");
    assert.equal(publishSpan!.spanContext().traceId, TRACE_ID);
    assert.equal(publishSpan!.attributes["http.route"], "/.well-known/mercure");
    assert.equal(publishSpan!.attributes["ssehub.topic_count"], 2);
    const [dispatch] = recorder.named("ssehub.dispatch");
    assert.equal(parentIdOf(dispatch!), publishSpan!.spanContext().spanId);
  });

  it("ignores an invalid traceparent: the publish succeeds in a trace of its own", async (t) => {
    const recorder = recordSpans(t);
    const { url } = await startServer(t);
    const answer = await publish(
      url,
      { topic: "a", data: "x" },
      { traceparent: `00-${TRACE_ID.toUpperCase()}-${PARENT_ID}-01` },
    );
    assert.equal(answer.status, 200);
    await waitFor(() => recorder.named("ssehub.publish").length === 1, "the publish span");
    const [span] = recorder.named("ssehub.publish");
    assert.notEqual(span!.spanContext().traceId, TRACE_ID.toLowerCase());
    assert.equal(parentIdOf(span!), undefined, "a root span");
  });

  it("records a failed publish with its status", async (t) => {
    const recorder = recordSpans(t);
    const { url } = await startServer(t);
    const answer = await publish(url, { topic: "a" }, { traceparent: TRACEPARENT });
    assert.equal(answer.status, 400);
    await waitFor(() => recorder.named("ssehub.publish").length === 1, "the publish span");
    const [span] = recorder.named("ssehub.publish");
    assert.equal(span!.attributes["http.response.status_code"], 400);
    assert.equal(span!.status.code, 2 /* SpanStatusCode.ERROR */);
  });

  it("records a replay span when a subscriber resumes", async (t) => {
    const recorder = recordSpans(t);
    const { url } = await startServer(t);
    const first = (await (await publish(url, { topic: "r", data: "1" })).json()) as { id: string };
    await publish(url, { topic: "r", data: "2" });
    await publish(url, { topic: "r", data: "3" });
    const reader = await SseReader.open(`${url}/events?topic=r`, { lastEventId: first.id });
    t.after(() => reader.close());
    await reader.waitForEvents(2);
    await waitFor(() => recorder.named("ssehub.replay").length === 1, "the replay span");
    const [replay] = recorder.named("ssehub.replay");
    assert.equal(replay!.attributes["ssehub.replayed_count"], 2);
    assert.equal(replay!.attributes["ssehub.last_event_id"], first.id);
    assert.equal(replay!.attributes["ssehub.reset_reason"], undefined);
  });

  it("records nothing and costs no span without an SDK, and still publishes", async (t) => {
    assert.equal(isTracing(), false);
    const { url } = await startServer(t);
    const reader = await SseReader.open(`${url}/events?topic=a`);
    t.after(() => reader.close());
    const answer = await publish(url, { topic: "a", data: "x" }, { traceparent: TRACEPARENT });
    assert.equal(answer.status, 200);
    await reader.waitForEvents(1);
  });
});
