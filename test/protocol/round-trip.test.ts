import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createParser } from "eventsource-parser";
import fc from "fast-check";
import { encodeComment, encodeEvent, encodeRetry } from "../../src/protocol/encode.js";
import { SseParser } from "../../src/protocol/parse.js";

/** One block of the stream: an event, a comment or a bare retry. */
type Item =
  | {
      readonly kind: "event";
      readonly data: string;
      readonly event: string | undefined;
      readonly id: string | undefined;
      readonly retry: number | undefined;
    }
  | { readonly kind: "comment"; readonly text: string }
  | { readonly kind: "retry"; readonly retry: number };

/** What a parser reported, in a form both parsers can be compared in. */
type Seen =
  | { readonly kind: "event"; readonly type: string; readonly data: string; readonly id: string }
  | { readonly kind: "comment"; readonly text: string }
  | { readonly kind: "retry"; readonly retry: number };

const ANY_LINE_BREAK = /\r\n|\r|\n/g;
const utf8 = new TextEncoder();

const lineBreak = fc.constantFrom("\n", "\r", "\r\n");
/** Text pieces: full Unicode (astral included, no lone surrogates), ASCII, and the characters
 * that matter to the framing. */
const piece = fc.oneof(
  fc.string({ unit: "binary", maxLength: 8 }),
  fc.string({ unit: "binary-ascii", maxLength: 8 }),
  fc.constantFrom(":", " ", "  ", "\0", "\ufeff", "data: ", "id: x", "\u00e9", "\u{1f600}", ""),
);
/** Data: pieces with every kind of line break mixed in, empty data included. */
const data = fc.array(fc.oneof(piece, lineBreak), { maxLength: 12 }).map((parts) => parts.join(""));
/** A string in which `forbidden` characters never appear. */
const fieldText = (forbidden: RegExp) =>
  fc.array(piece, { maxLength: 4 }).map((parts) => parts.join("").replace(forbidden, "_"));
const eventType = fc.option(fieldText(/[\r\n]/g), { nil: undefined });
const eventId = fc.option(fieldText(/[\r\n\0]/g), { nil: undefined });
const retry = fc.option(fc.integer({ min: 0, max: 2_147_483_647 }), { nil: undefined });

const item: fc.Arbitrary<Item> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant("event"),
      data,
      event: eventType,
      id: eventId,
      retry,
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("comment"), text: data }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("retry"),
      retry: fc.integer({ min: 0, max: 60_000 }),
    }),
  },
) as fc.Arbitrary<Item>;

/** Cut points, as fractions of the stream length, so that one draw fits any length. */
const cuts = fc.oneof(
  fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 40 }),
  fc.integer({ min: 1, max: 7 }).map((size) => ({ size })),
);

function encodeItem(entry: Item): string {
  switch (entry.kind) {
    case "event":
      return encodeEvent(entry);
    case "comment":
      return encodeComment(entry.text);
    case "retry":
      return encodeRetry(entry.retry);
  }
}

/** What a WHATWG parser must report for `items`, with `id` as our parser reports it. */
function expected(items: readonly Item[]): Seen[] {
  const seen: Seen[] = [];
  let lastEventId = "";
  for (const entry of items) {
    if (entry.kind === "comment") {
      // encodeComment("") writes a bare colon: one empty comment.
      for (const line of entry.text.split(ANY_LINE_BREAK))
        seen.push({ kind: "comment", text: line });
    } else if (entry.kind === "retry") {
      seen.push({ kind: "retry", retry: entry.retry });
    } else {
      if (entry.id !== undefined) lastEventId = entry.id;
      if (entry.retry !== undefined) seen.push({ kind: "retry", retry: entry.retry });
      seen.push({
        kind: "event",
        type: entry.event === undefined || entry.event === "" ? "message" : entry.event,
        data: entry.data.replace(ANY_LINE_BREAK, "\n"),
        id: lastEventId,
      });
    }
  }
  return seen;
}

/** eventsource-parser reports the id of the event itself only, not the last one. */
function expectedByEventsourceParser(items: readonly Item[]): Seen[] {
  const seen = expected(items);
  let index = 0;
  for (const entry of items) {
    if (entry.kind === "comment") index += entry.text.split(ANY_LINE_BREAK).length;
    else if (entry.kind === "retry") index++;
    else {
      if (entry.retry !== undefined) index++;
      const event = seen[index] as Seen & { kind: "event" };
      seen[index] = { ...event, id: entry.id ?? "" };
      index++;
    }
  }
  return seen;
}

function chunk(
  bytes: Uint8Array,
  how: readonly number[] | { readonly size: number },
): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  if ("size" in how) {
    for (let i = 0; i < bytes.length; i += how.size) chunks.push(bytes.subarray(i, i + how.size));
    return chunks;
  }
  const points = how.map((f) => Math.floor(f * bytes.length)).sort((a, b) => a - b);
  let from = 0;
  for (const point of [...points, bytes.length]) {
    chunks.push(bytes.subarray(from, point));
    from = point;
  }
  return chunks;
}

function parseWithOurs(chunks: readonly Uint8Array[]): Seen[] {
  const seen: Seen[] = [];
  const parser = new SseParser({
    onEvent: (event) =>
      seen.push({ kind: "event", type: event.type, data: event.data, id: event.lastEventId }),
    onRetry: (ms) => seen.push({ kind: "retry", retry: ms }),
    onComment: (text) => seen.push({ kind: "comment", text }),
  });
  for (const bytes of chunks) parser.feed(bytes);
  return seen;
}

function parseWithEventsourceParser(chunks: readonly Uint8Array[]): Seen[] {
  const seen: Seen[] = [];
  const parser = createParser({
    onEvent: (event) =>
      seen.push({
        kind: "event",
        type: event.event ?? "message",
        data: event.data,
        id: event.id ?? "",
      }),
    onRetry: (ms) => seen.push({ kind: "retry", retry: ms }),
    onComment: (text) => seen.push({ kind: "comment", text }),
  });
  const decoder = new TextDecoder();
  for (const bytes of chunks) parser.feed(decoder.decode(bytes, { stream: true }));
  parser.feed(decoder.decode());
  return seen;
}

function checkRoundTrip(
  items: readonly Item[],
  how: readonly number[] | { readonly size: number },
) {
  const bytes = utf8.encode(items.map(encodeItem).join(""));
  const chunks = chunk(bytes, how);
  assert.deepEqual(parseWithOurs(chunks), expected(items));
  assert.deepEqual(parseWithEventsourceParser(chunks), expectedByEventsourceParser(items));
}

describe("encode then parse", () => {
  it("SseParser and eventsource-parser read back every encoded event, however the bytes are cut", () => {
    fc.assert(
      fc.property(fc.array(item, { maxLength: 12 }), cuts, (items, how) => {
        checkRoundTrip(items, how);
      }),
      { numRuns: 500 },
    );
  });

  it("SseParser and eventsource-parser read back events of about 1 MB", () => {
    // Repeats whole units, so that no surrogate pair is cut in two.
    const hugeData = fc
      .tuple(data, fc.integer({ min: 500_000, max: 1_048_576 }))
      .map(([pattern, length]) => {
        const unit = `${pattern}\r\n${pattern}\n\r`;
        return unit.repeat(Math.ceil(length / unit.length));
      });
    const hugeEvent = fc.record({
      kind: fc.constant("event" as const),
      data: hugeData,
      event: eventType,
      id: eventId,
      retry,
    });
    fc.assert(
      fc.property(
        fc.array(fc.oneof(item, hugeEvent), { minLength: 1, maxLength: 3 }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 20 }),
        (items, how) => {
          checkRoundTrip(items, how);
        },
      ),
      { numRuns: 5 },
    );
  });
});
