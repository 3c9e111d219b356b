/**
 * Micro benchmark of the cluster bus's own work per event (src/bus/cluster-bus.ts), without the
 * kernel: what the primary and a worker spend on an event besides the IPC syscalls and the
 * wakeups, for N workers and K events per turn, and beside it two designs that were weighed
 * and not taken (docs/architecture.md, "Where a cluster's CPU goes"):
 *   - json (ssehub): Node's default IPC serialization, as the cluster uses it: every `send`
 *     runs JSON.stringify over its message (here done by the fake channel, as Node's
 *     lib/internal/child_process/serialization.js does), so a turn's events are serialized once
 *     per worker; a worker parses the line once.
 *   - json, serialized once: the primary stringifies a turn's events once and sends that text
 *     in every worker's message (each send escapes the quotes of the text); a worker parses
 *     twice (the line, then the text).
 *   - advanced: `serialization: "advanced"` (v8.serialize per send, v8.deserialize per message).
 *
 * Primary: a real ClusterSequencer orders the publishes of worker 0 (one request of one event
 * each, K per turn, as the text Node's IPC would hand it) and sends every worker its message
 * through a fake channel that serializes it as the design does. Worker: the message of one
 * turn of K events as it arrives, decoded, then each event made a StoredEvent (encoded once),
 * as the hub does with what the bus hands it.
 *
 *   npm run build && node dist/bench/micro/cluster-bus.bench.js
 *
 * Sized by env: TURNS (turns per round, default 2000), ROUNDS, WARMUP_ROUNDS (see harness.ts).
 * Not run by the tests. The wakeups and syscalls it leaves out cost far more here (a 2-core VM:
 * 100-300 µs of CPU per message received at 100 messages/s), see the architecture page.
 * @module
 */
import v8 from "node:v8";
import {
  type ClusterMessage,
  ClusterSequencer,
  type IpcChannel,
} from "../../src/bus/cluster-bus.js";
import { type SequencedEvent, toStoredEvent } from "../../src/history/stored-event.js";
import { formatNs, formatRatio, measure, printPreamble, printTable } from "./harness.js";

const TURNS = Number(process.env.TURNS ?? 2000);
/** A 100-byte JSON object, the data of `ssehub bench fanout`'s events. */
const DATA = JSON.stringify({ n: 12345, sentAt: 1_796_608_000_000, pad: "x".repeat(56) });

type Design = "json" | "json, serialized once" | "advanced";
const DESIGNS: readonly Design[] = ["json", "json, serialized once", "advanced"];

/** A channel to one worker that serializes each message as `design` does, and counts bytes. */
function fakeWorker(
  design: Design,
  once: { events: unknown; text: string },
): IpcChannel & { bytes: number; listener: (message: unknown) => void } {
  return {
    bytes: 0,
    listener: () => {},
    send(message: ClusterMessage) {
      if (design === "advanced") {
        this.bytes += v8.serialize(message).length;
      } else if (design === "json" || message.type !== "ssehub:events") {
        this.bytes += `${JSON.stringify(message)}\n`.length;
      } else {
        // The events of a turn are the same array for every worker: serialized once.
        if (once.events !== message.events) {
          once.events = message.events;
          once.text = JSON.stringify(message.events);
        }
        this.bytes +=
          `${JSON.stringify({ type: message.type, batch: once.text, acks: message.acks })}\n`.length;
      }
      return true;
    },
    on(event: string, listener: (message: unknown) => void) {
      if (event === "message") this.listener = listener;
    },
    off() {},
  };
}

/** A primary with `workers` fake workers, all joined; `turn()` orders K publishes of worker 0. */
async function primaryOf(design: Design, workers: number, perTurn: number) {
  const sequencer = new ClusterSequencer("e1");
  const once = { events: undefined as unknown, text: "" };
  const channels = Array.from({ length: workers }, () => fakeWorker(design, once));
  for (const channel of channels) {
    sequencer.add(channel);
    channel.listener({ type: "ssehub:join" });
  }
  const requests = Array.from({ length: perTurn }, (_, ref) => ({
    ref,
    events: [{ topics: ["bench-topic-0"], data: DATA }],
  }));
  const text = JSON.stringify({ type: "ssehub:publish", requests });
  const publisher = channels[0]!;
  const turn = async (): Promise<void> => {
    publisher.listener(
      design === "advanced" ? v8.deserialize(v8.serialize(JSON.parse(text))) : JSON.parse(text),
    );
    await new Promise((resolve) => setImmediate(resolve));
  };
  await turn();
  return { turn, bytes: () => channels.reduce((sum, channel) => sum + channel.bytes, 0) };
}

/** What a worker receives for one turn of `perTurn` events, and how it decodes it. */
function workerMessageOf(design: Design, perTurn: number): () => readonly SequencedEvent[] {
  const events: SequencedEvent[] = Array.from({ length: perTurn }, (_, i) => ({
    topics: ["bench-topic-0"],
    data: DATA,
    event: undefined,
    retry: undefined,
    seq: 1000 + i,
    publishedAt: 1_796_608_000_000 + i,
  }));
  const acks: [number, number][] = [];
  if (design === "advanced") {
    const bytes = v8.serialize({ type: "ssehub:events", events, acks });
    return () => (v8.deserialize(bytes) as { events: SequencedEvent[] }).events;
  }
  if (design === "json") {
    const line = JSON.stringify({ type: "ssehub:events", events, acks });
    return () => (JSON.parse(line) as { events: SequencedEvent[] }).events;
  }
  const line = JSON.stringify({ type: "ssehub:events", batch: JSON.stringify(events), acks });
  return () => JSON.parse((JSON.parse(line) as { batch: string }).batch) as SequencedEvent[];
}

printPreamble(`cluster bus (${TURNS.toLocaleString("en-US")} turns per round)`);

for (const perTurn of [1, 10]) {
  const rows: string[][] = [];
  for (const workers of [1, 2, 4, 8]) {
    let base = 0;
    for (const design of DESIGNS) {
      const primary = await primaryOf(design, workers, perTurn);
      const before = primary.bytes();
      await primary.turn();
      const sentPerEvent = (primary.bytes() - before) / perTurn;
      const ns =
        (await measure({
          run: async () => {
            for (let i = 0; i < TURNS; i++) await primary.turn();
            return primary.bytes();
          },
        })) /
        (TURNS * perTurn);
      if (base === 0) base = ns;
      rows.push([
        `${workers} worker(s), ${design}`,
        formatNs(ns),
        formatRatio(ns, base),
        String(Math.round(sentPerEvent)),
      ]);
    }
  }
  printTable(
    `primary, ${perTurn} event(s) per turn: ns per event (order + serialize for every worker)`,
    ["case", "ns/event", "vs json", "bytes sent/event"],
    rows,
  );
}

for (const perTurn of [1, 10]) {
  const rows: string[][] = [];
  let base = 0;
  for (const design of DESIGNS) {
    const decode = workerMessageOf(design, perTurn);
    const ns =
      (await measure({
        run: () => {
          let bytes = 0;
          for (let i = 0; i < TURNS; i++) {
            for (const event of decode()) bytes += toStoredEvent("e1", event).bytes.length;
          }
          return bytes;
        },
      })) /
      (TURNS * perTurn);
    if (base === 0) base = ns;
    rows.push([design, formatNs(ns), formatRatio(ns, base)]);
  }
  printTable(
    `worker, ${perTurn} event(s) per message: ns per event (decode + encode the frame)`,
    ["case", "ns/event", "vs json"],
    rows,
  );
}
