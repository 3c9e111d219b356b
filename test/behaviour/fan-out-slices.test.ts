/**
 * A fan-out to many subscribers runs in slices: requests that come while it runs are answered
 * before it ends. Checked by the order of what happens, never by how long anything takes: the
 * first subscriber's write sends the requests on connections opened beforehand, and the test
 * records whether each answer arrives before the last subscriber's write.
 */
import assert from "node:assert/strict";
import net from "node:net";
import { describe, it } from "node:test";
import { createHub } from "../../src/hub/hub.js";
import type { Sink } from "../../src/hub/sink.js";
import { RecordingSink } from "../helpers/recording-sink.js";
import { waitFor } from "../helpers/wait-for.js";
import { startServer } from "../http/start-server.js";

/** More subscribers than one slice (1,000) holds, several times over. */
const SUBSCRIBERS = 6000;

/** An in-process sink that calls `onEvent` when a write carries an event (not the retry hint). */
class CallbackSink implements Sink {
  readonly queuedBytes = 0;
  isClosed = false;
  readonly #onEvent: () => void;
  events = 0;

  constructor(onEvent: () => void) {
    this.#onEvent = onEvent;
  }

  write(chunk: Buffer | string): void {
    if (!chunk.toString().includes("data:")) return;
    this.events++;
    this.#onEvent();
  }

  close(): void {
    this.isClosed = true;
  }

  destroy(): void {
    this.isClosed = true;
  }
}

/** A keep-alive connection that sends a raw request when told and records when its answer comes. */
async function openConnection(port: number): Promise<net.Socket> {
  const socket = net.connect(port, "127.0.0.1");
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  return socket;
}

describe("fan-out in slices", () => {
  it("answers /healthz and a publish that come during a large fan-out before it ends", async (t) => {
    const { ssehub, port } = await startServer(t);
    const order: string[] = [];
    const health = await openConnection(port);
    const publish = await openConnection(port);
    t.after(() => {
      health.destroy();
      publish.destroy();
    });
    health.once("data", () => order.push("healthz answered"));
    publish.once("data", (chunk) =>
      order.push(`publish answered ${chunk.toString().split("\r\n")[0]}`),
    );
    const body = JSON.stringify({ topic: "other", data: "meanwhile" });
    const first = new CallbackSink(() => {
      if (first.events !== 1) return;
      order.push("fan-out started");
      health.write("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
      publish.write(
        `POST /publish HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
    });
    ssehub.hub.subscribe({ topics: ["big"], sink: first });
    const sinks = [first];
    for (let i = 1; i < SUBSCRIBERS; i++) {
      const sink: CallbackSink = new CallbackSink(() => {
        if (sink === sinks[SUBSCRIBERS - 1]) order.push("fan-out ended");
      });
      sinks.push(sink);
      ssehub.hub.subscribe({ topics: ["big"], sink });
    }
    await ssehub.hub.publish({ topic: "big", data: "to everyone" });
    await waitFor(() => order.length === 4);
    assert.equal(order[0], "fan-out started");
    assert.equal(order[3], "fan-out ended", `answers came after the fan-out: ${order.join(", ")}`);
    assert.ok(order.includes("healthz answered"));
    assert.ok(order.includes("publish answered HTTP/1.1 200 OK"), order.join(", "));
    for (const sink of sinks) assert.equal(sink.events, 1, "every subscriber got the event once");
  });

  it("gives subscribers that arrive during a fan-out each event once: by replay or live", async (t) => {
    const hub = createHub({ writeCoalesceMaxMs: 0 });
    t.after(() => hub.close());
    const before = await hub.publish({ topic: "big", data: "before" });
    const sinks: CallbackSink[] = [];
    let lastServedFirst: boolean | undefined;
    let joined: { resumed: RecordingSink; fresh: RecordingSink } | undefined;
    const first = new CallbackSink(() => {
      if (first.events !== 1) return;
      // Runs after the first slice, before the others (they follow on later turns).
      setImmediate(() => {
        lastServedFirst = sinks[SUBSCRIBERS - 1]!.events > 0;
        const resumed = new RecordingSink();
        const fresh = new RecordingSink();
        hub.subscribe({ topics: ["big"], sink: resumed, lastEventId: before.id });
        hub.subscribe({ topics: ["big"], sink: fresh });
        joined = { resumed, fresh };
        void hub.publish({ topic: "big", data: "after" });
      });
    });
    sinks.push(first);
    hub.subscribe({ topics: ["big"], sink: first });
    for (let i = 1; i < SUBSCRIBERS; i++) {
      const sink = new CallbackSink(() => {});
      sinks.push(sink);
      hub.subscribe({ topics: ["big"], sink });
    }
    await hub.publish({ topic: "big", data: "during" });
    await waitFor(() => sinks.every((sink) => sink.events === 2));
    await waitFor(() => joined !== undefined && joined.resumed.data().length === 2);
    assert.equal(lastServedFirst, false, "they arrived while the fan-out was under way");
    assert.ok(
      sinks.every((sink) => sink.events === 2),
      "every earlier subscriber got both events",
    );
    assert.deepEqual(joined!.resumed.data(), ["during", "after"], "during by replay, after live");
    assert.deepEqual(joined!.fresh.data(), ["after"], "only what came after it");
  });
});
