/**
 * A publish's trace crosses every bus (docs/tracing.md): the cluster bus's IPC messages (two
 * workers' servers in this process, over channels that serialize as Node's IPC does) and the
 * Redis bus's stream entries (two nodes on one redis-server). The other process's dispatch
 * span carries the publisher's trace id, its parent the publish span.
 */
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { describe, it, type TestContext } from "node:test";
import { trace } from "@opentelemetry/api";
import {
  ClusterBus,
  type ClusterMessage,
  ClusterSequencer,
  type IpcChannel,
} from "../../src/bus/cluster-bus.js";
import { connectRedisEngine } from "../../src/bus/redis-engine.js";
import { entryFields, parseEntry } from "../../src/history/redis-streams.js";
import type { HubPlugins } from "../../src/hub/types.js";
import { startRedis } from "../helpers/redis-server.js";
import { requireTools } from "../helpers/require-tool.js";
import { parentIdOf, recordSpans, type SpanRecorder } from "../helpers/span-recorder.js";
import { SseReader } from "../helpers/sse-reader.js";
import { HUNG_AFTER_MS, waitFor } from "../helpers/wait-for.js";
import { startServer } from "../http/start-server.js";

const TRACE_ID = "0af7651916cd43dd8448eb211c80319c";
const TRACEPARENT = `00-${TRACE_ID}-b7ad6b7169203331-01`;

/**
 * Two ends of an IPC channel in this process: messages cross as JSON, as with Node's default
 * `json` serialization of cluster IPC, on a later turn. `sent` records what crossed.
 */
function channelPair(sent: unknown[]): [IpcChannel, IpcChannel] {
  const a = new EventEmitter();
  const b = new EventEmitter();
  const end = (self: EventEmitter, peer: EventEmitter): IpcChannel => ({
    send(message: ClusterMessage) {
      const wire = JSON.stringify(message);
      sent.push(JSON.parse(wire));
      setImmediate(() => peer.emit("message", JSON.parse(wire)));
      return true;
    },
    on: (event, listener) => self.on(event, listener),
    off: (event, listener) => self.off(event, listener),
  });
  return [end(a, b), end(b, a)];
}

async function publish(url: string, topic: string, traceparent?: string): Promise<void> {
  const answer = await fetch(`${url}/publish`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(traceparent === undefined ? {} : { traceparent }),
    },
    body: JSON.stringify({ topic, data: "x" }),
  });
  assert.equal(answer.status, 200);
}

/**
 * Publishes with a traceparent on `publisher`, read by a subscriber of `receiver`; asserts the
 * dispatch spans of both hubs, in the publisher's trace, children of the publish span.
 */
async function assertTraceCrosses(
  t: TestContext,
  recorder: SpanRecorder,
  publisher: string,
  receiver: string,
): Promise<void> {
  const reader = await SseReader.open(`${receiver}/events?topic=t`);
  t.after(() => reader.close());
  await publish(publisher, "t", TRACEPARENT);
  await reader.waitForEvents(1);
  await waitFor(() => recorder.named("ssehub.dispatch").length === 2, "a dispatch span per hub");
  const [publishSpan] = recorder.named("ssehub.publish");
  const dispatches = recorder.named("ssehub.dispatch");
  for (const span of dispatches) {
    assert.equal(span.spanContext().traceId, TRACE_ID);
    assert.equal(parentIdOf(span), publishSpan!.spanContext().spanId);
  }
  // The receiver's hub wrote to its subscriber; the publisher's had none.
  assert.deepEqual(
    dispatches.map((span) => span.attributes["ssehub.subscriber_count"]).sort(),
    [0, 1],
  );
}

describe("tracing across buses", () => {
  it("carries the trace context through the cluster bus's IPC messages", async (t) => {
    const recorder = recordSpans(t);
    const sent: unknown[] = [];
    const sequencer = new ClusterSequencer("e1");
    const servers = await Promise.all(
      [0, 1].map(() => {
        const [workerEnd, primaryEnd] = channelPair(sent);
        sequencer.add(primaryEnd);
        const plugins: HubPlugins = {
          bus: new ClusterBus(workerEnd, { epoch: "e1", joinedAfterSeq: 0 }),
        };
        return startServer(t, {}, plugins);
      }),
    );
    await assertTraceCrosses(t, recorder, servers[0]!.url, servers[1]!.url);

    // Untraced events (no traceparent, no SDK) cost nothing on the wire: no trace field at all.
    trace.disable();
    sent.length = 0;
    await publish(servers[0]!.url, "t");
    await waitFor(() => sent.some((m) => (m as ClusterMessage).type === "ssehub:events"), "sent");
    const events = sent.flatMap((m) => {
      const message = m as ClusterMessage;
      return message.type === "ssehub:events" ? message.events : [];
    });
    assert.ok(events.length > 0);
    for (const event of events) assert.ok(!("trace" in event), JSON.stringify(event));
  });

  it("carries the trace context through Redis stream entries to another node", {
    skip: requireTools(["redis-server"]),
  }, async (t) => {
    const recorder = recordSpans(t);
    const redis = await startRedis(t);
    const servers = await Promise.all(
      [0, 1].map(async () => {
        const engine = await connectRedisEngine({
          url: redis.url,
          prefix: "hub",
          historyMaxEvents: 100,
          historyMaxAgeMs: 60_000,
          logMaxEvents: 10_000,
          connectTimeoutMs: HUNG_AFTER_MS, // only against a hung test
        });
        const server = await startServer(t, {}, engine);
        t.after(() => engine.close());
        return server;
      }),
    );
    await assertTraceCrosses(t, recorder, servers[0]!.url, servers[1]!.url);
  });

  it("ignores an invalid trace context given to hub.publish: nothing goes on the wire", async (t) => {
    const sent: unknown[] = [];
    const sequencer = new ClusterSequencer("e2");
    const [workerEnd, primaryEnd] = channelPair(sent);
    sequencer.add(primaryEnd);
    const { ssehub } = await startServer(
      t,
      {},
      { bus: new ClusterBus(workerEnd, { epoch: "e2", joinedAfterSeq: 0 }) },
    );
    await ssehub.hub.publish({ topic: "t", data: "x" }, { trace: { traceparent: "00-zz" } });
    const published = sent.find((m) => (m as ClusterMessage).type === "ssehub:publish");
    assert.ok(published !== undefined && !JSON.stringify(published).includes("traceparent"));
    const good = { traceparent: TRACEPARENT, tracestate: "k=v" };
    await ssehub.hub.publish({ topic: "t", data: "y" }, { trace: good });
    assert.ok(JSON.stringify(sent).includes(TRACEPARENT), "a valid context is carried");
  });

  it("writes trace fields into a Redis entry only for a traced event", () => {
    const event = { topics: ["t"], data: "x", event: undefined, retry: undefined };
    assert.deepEqual(entryFields(event), ["t", '["t"]', "d", "x"]);
    const context = { traceparent: TRACEPARENT, tracestate: "k=v" };
    const fields = entryFields({ ...event, trace: context });
    assert.deepEqual(fields.slice(4), ["tp", TRACEPARENT, "ts", "k=v"]);
    assert.deepEqual(parseEntry("5-1", fields).trace, context);
    assert.equal(parseEntry("5-1", entryFields(event)).trace, undefined);
  });
});
