import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { type ParsedEvent, SseParser } from "../../src/protocol/parse.js";

/** Everything a parser reported, in order. */
type Report =
  | { readonly kind: "event"; readonly event: ParsedEvent }
  | { readonly kind: "retry"; readonly ms: number }
  | { readonly kind: "comment"; readonly text: string };

function collect(): { parser: SseParser; reports: Report[] } {
  const reports: Report[] = [];
  const parser = new SseParser({
    onEvent: (event) => reports.push({ kind: "event", event }),
    onRetry: (ms) => reports.push({ kind: "retry", ms }),
    onComment: (text) => reports.push({ kind: "comment", text }),
  });
  return { parser, reports };
}

function parse(...chunks: Array<string | Uint8Array>): Report[] {
  const { parser, reports } = collect();
  for (const chunk of chunks) parser.feed(chunk);
  return reports;
}

function ev(data: string, type = "message", lastEventId = ""): Report {
  return { kind: "event", event: { type, data, lastEventId } };
}

const utf8 = new TextEncoder();

interface Case {
  readonly name: string;
  readonly input: string;
  readonly expected: readonly Report[];
}

// Cases from the WHATWG section "Interpreting an event stream", its examples, and the
// web-platform-tests of /eventsource (format-*.htm).
const cases: readonly Case[] = [
  {
    name: "joins the data lines of one event with LF (the YHOO example)",
    input: "data: YHOO\ndata: +2\ndata: 10\n\n",
    expected: [ev("YHOO\n+2\n10")],
  },
  {
    name: "keeps the last event id, clears it on an empty id, and drops the unterminated event",
    input:
      ": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n",
    expected: [
      { kind: "comment", text: "test stream" },
      ev("first event", "message", "1"),
      ev("second event", "message", ""),
    ],
  },
  {
    name: "dispatches an empty event and a lone LF for bare data lines",
    input: "data\n\ndata\ndata\n\ndata:",
    expected: [ev(""), ev("\n")],
  },
  {
    name: "strips exactly one space after the colon",
    input: "data:test\n\ndata: test\n\ndata:  test\n\n",
    expected: [ev("test"), ev("test"), ev(" test")],
  },
  {
    name: "dispatches data that is an empty string",
    input: "data:\n\n",
    expected: [ev("")],
  },
  {
    name: "removes only one trailing LF from the data buffer",
    input: "data: a\ndata:\n\n",
    expected: [ev("a\n")],
  },
  {
    name: "splits the field at the first colon only",
    input: "data: a:b: c\n\n",
    expected: [ev("a:b: c")],
  },
  {
    name: "uses the event field as the type and defaults to message",
    input: "event: add\ndata: 1\n\ndata: 2\n\nevent\ndata: 3\n\nevent:\ndata: 4\n\n",
    expected: [ev("1", "add"), ev("2"), ev("3"), ev("4")],
  },
  {
    name: "takes the last event field of a block",
    input: "event: a\nevent: b\ndata: x\n\n",
    expected: [ev("x", "b")],
  },
  {
    name: "keeps a space-led event type beyond the first space",
    input: "event:  spaced\ndata: x\n\n",
    expected: [ev("x", " spaced")],
  },
  {
    name: "does not dispatch a block without data and resets its event type",
    input: "event: lost\n\ndata: x\n\n",
    expected: [ev("x")],
  },
  {
    name: "carries the last event id over to the following events",
    input: "id: 7\ndata: a\n\ndata: b\n\nid: 8\ndata: c\n\n",
    expected: [ev("a", "message", "7"), ev("b", "message", "7"), ev("c", "message", "8")],
  },
  {
    name: "commits an id sent in a block without data",
    input: "id: 3\n\ndata: a\n\n",
    expected: [ev("a", "message", "3")],
  },
  {
    name: "ignores an id holding NUL",
    input: "id: 1\ndata: a\n\nid: 2\0x\ndata: b\n\n",
    expected: [ev("a", "message", "1"), ev("b", "message", "1")],
  },
  {
    name: "keeps other unusual characters in an id",
    input: "id: \u00e9 \u{1f600}\tx\ndata: a\n\n",
    expected: [ev("a", "message", "\u00e9 \u{1f600}\tx")],
  },
  {
    name: "reports retry only when it is made of ASCII digits",
    input:
      "retry: 1000\nretry:2000\nretry: 1x\nretry: -1\nretry: 1.5\nretry:\nretry\nretry:  30\nretry: \u0661\nretry: 0\n\n",
    expected: [
      { kind: "retry", ms: 1000 },
      { kind: "retry", ms: 2000 },
      { kind: "retry", ms: 0 },
    ],
  },
  {
    name: "reports retry at once, before the block is dispatched",
    input: "data: a\nretry: 5\n\n",
    expected: [{ kind: "retry", ms: 5 }, ev("a")],
  },
  {
    name: "reports comments without the colon and one space",
    input: ":\n: a\n:b\n:  c\n: d: e\ndata: x\n\n",
    expected: [
      { kind: "comment", text: "" },
      { kind: "comment", text: "a" },
      { kind: "comment", text: "b" },
      { kind: "comment", text: " c" },
      { kind: "comment", text: "d: e" },
      ev("x"),
    ],
  },
  {
    name: "ignores unknown fields and field names in another case",
    input: "foo: bar\nData: no\nDATA: no\ndata : no\n dat: no\nid : no\nx\ndata: yes\n\n",
    expected: [ev("yes")],
  },
  {
    name: "ends lines at CR",
    input: "data: a\rdata: b\r\rdata: c\r\r",
    expected: [ev("a\nb"), ev("c")],
  },
  {
    name: "ends lines at CRLF",
    input: "id: 1\r\ndata: a\r\ndata: b\r\n\r\n",
    expected: [ev("a\nb", "message", "1")],
  },
  {
    name: "ends lines at any mix of CR, LF and CRLF",
    input: "data: a\r\ndata: b\rdata: c\ndata: d\n\r\ndata: e\r\n\n\r",
    expected: [ev("a\nb\nc\nd"), ev("e")],
  },
  {
    name: "treats LF CR as two line ends",
    input: "data: a\n\rdata: b\n\n",
    expected: [ev("a"), ev("b")],
  },
  {
    name: "skips a byte order mark at the start of the stream",
    input: "\ufeffdata: a\n\n",
    expected: [ev("a")],
  },
  {
    name: "skips only the first of two byte order marks",
    input: "\ufeff\ufeffdata: a\n\ndata: b\n\n",
    expected: [ev("b")],
  },
  {
    name: "keeps a byte order mark inside the stream",
    input: "data: a\n\n\ufeffdata: b\n\ndata: \ufeffc\n\n",
    expected: [ev("a"), ev("\ufeffc")],
  },
  {
    name: "drops an event that the end of the stream cuts off",
    input: "data: a\n\ndata: b\n",
    expected: [ev("a")],
  },
  {
    name: "keeps NUL and other control characters in data",
    input: "data: a\0b\u0001\u007f\n\n",
    expected: [ev("a\0b\u0001\u007f")],
  },
  {
    name: "keeps astral and combining characters in data",
    input: "data: \u{1f600}\u0301\u{10ffff}\n\n",
    expected: [ev("\u{1f600}\u0301\u{10ffff}")],
  },
];

describe("SseParser", () => {
  describe("interprets the stream as the WHATWG standard says", () => {
    for (const { name, input, expected } of cases) {
      it(`${name} (text)`, () => {
        assert.deepEqual(parse(input), expected);
      });
      it(`${name} (bytes)`, () => {
        assert.deepEqual(parse(utf8.encode(input)), expected);
      });
      it(`${name} (one code unit per chunk)`, () => {
        assert.deepEqual(parse(...input.split("")), expected);
      });
      it(`${name} (one byte per chunk)`, () => {
        const bytes = utf8.encode(input);
        const chunks: Uint8Array[] = [];
        for (let i = 0; i < bytes.length; i++) chunks.push(bytes.subarray(i, i + 1));
        assert.deepEqual(parse(...chunks), expected);
      });
    }
  });

  describe("#feed", () => {
    it("SseParser.feed() decodes a character split across chunks once both halves arrive", () => {
      const bytes = utf8.encode("data: \u00e9\u20ac\u{1f600}\n\n");
      for (let i = 0; i <= bytes.length; i++) {
        assert.deepEqual(
          parse(bytes.subarray(0, i), bytes.subarray(i)),
          [ev("\u00e9\u20ac\u{1f600}")],
          `split at byte ${i}`,
        );
        assert.deepEqual(
          parse(bytes.subarray(0, i), new Uint8Array(0), bytes.subarray(i)),
          [ev("\u00e9\u20ac\u{1f600}")],
          `split at byte ${i} with an empty chunk between`,
        );
      }
    });

    it("SseParser.feed() turns invalid UTF-8 into U+FFFD", () => {
      const bytes = Uint8Array.from([
        ...utf8.encode("data: a"),
        0xff,
        0xc3,
        ...utf8.encode("b\n\n"),
      ]);
      assert.deepEqual(parse(bytes), [ev("a\ufffd\ufffdb")]);
    });

    it("SseParser.feed() decodes byte chunks as one streaming UTF-8 decode would, valid or not", () => {
      // Byte soup: valid characters of every length, stray continuation bytes, truncated and
      // overlong sequences, bytes that are never valid, line ends and field names.
      const piece = fc.oneof(
        fc.string({ unit: "binary", maxLength: 4 }).map((text) => utf8.encode(text)),
        fc.uint8Array({ maxLength: 6 }),
        fc
          .uint8Array({ minLength: 1, maxLength: 4 })
          .map((bytes) => bytes.map((b) => 0x80 | (b & 0x3f))),
        fc
          .constantFrom(
            [0xc3],
            [0xe2, 0x82],
            [0xf0, 0x9f, 0x98],
            [0xe0, 0x80, 0x80],
            [0xc0, 0xaf],
            [0xf5, 0x80],
            [0xed, 0xa0, 0x80],
            [0xef, 0xbb, 0xbf],
          )
          .map((bytes) => Uint8Array.from(bytes)),
        fc
          .constantFrom("\n", "\r", "\r\n", "data: ", "\n\ndata:", "id: ")
          .map((text) => utf8.encode(text)),
      );
      const stream = fc
        .array(piece, { maxLength: 30 })
        .map((pieces) =>
          Uint8Array.from([...utf8.encode("data: "), ...pieces.flatMap((p) => [...p]), 0x0a, 0x0a]),
        );
      fc.assert(
        fc.property(stream, fc.array(fc.nat(), { maxLength: 12 }), (bytes, cuts) => {
          const whole = new TextDecoder("utf-8", { ignoreBOM: true }).decode(bytes);
          const expected = parse(whole);
          const points = cuts.map((cut) => cut % (bytes.length + 1)).sort((a, b) => a - b);
          const chunks: Uint8Array[] = [];
          let from = 0;
          for (const point of [...points, bytes.length]) {
            chunks.push(bytes.subarray(from, point));
            from = point;
          }
          assert.deepEqual(parse(...chunks), expected);
        }),
        { numRuns: 2000 },
      );
    });

    it("SseParser.feed() skips a byte order mark split across byte chunks", () => {
      const bytes = utf8.encode("\ufeffdata: a\n\n");
      assert.deepEqual(parse(bytes.subarray(0, 1), bytes.subarray(1, 2), bytes.subarray(2)), [
        ev("a"),
      ]);
    });

    it("SseParser.feed() skips a byte order mark that follows empty chunks", () => {
      assert.deepEqual(parse("", new Uint8Array(0), "\ufeffdata: a\n\n"), [ev("a")]);
    });

    it("SseParser.feed() reads a CRLF split across two chunks as one line end", () => {
      assert.deepEqual(parse("data: a\r", "\ndata: b\r", "\n\r", "\n"), [ev("a\nb")]);
    });

    it("SseParser.feed() reads a CR ending a chunk as a line end when no LF follows", () => {
      assert.deepEqual(parse("data: a\r", "data: b\r", "\r"), [ev("a\nb")]);
    });

    it("SseParser.feed() keeps the pending CR across an empty chunk", () => {
      assert.deepEqual(parse("data: a\r", "", "\n\n"), [ev("a")]);
    });

    it("SseParser.feed() joins a line that spans many chunks", () => {
      const value = "x".repeat(10_000);
      const chunks = ["da", "ta", ": "];
      for (let i = 0; i < value.length; i += 1000) chunks.push(value.slice(i, i + 1000));
      chunks.push("\n", "\n");
      assert.deepEqual(parse(...chunks), [ev(value)]);
    });

    it("SseParser.feed() parses long runs of lines without a colon in linear time", () => {
      // 200,000 colon-less lines in one chunk: a colon search per line from the line start
      // would scan the rest of the chunk each time.
      const input = `${"x\n".repeat(200_000)}data: done\n\n`;
      assert.deepEqual(parse(input), [ev("done")]);
    });
  });

  describe("#reset", () => {
    it("SseParser.reset() drops the partial line and the unfinished event", () => {
      const { parser, reports } = collect();
      parser.feed("event: t\ndata: a\ndata: par");
      parser.reset();
      parser.feed("tial\n\ndata: b\n\n");
      assert.deepEqual(reports, [ev("b")]);
    });

    it("SseParser.reset() keeps the last event id and drops an uncommitted one", () => {
      const { parser, reports } = collect();
      parser.feed("id: 1\ndata: a\n\nid: 2\ndata: b\n");
      parser.reset();
      assert.equal(parser.lastEventId, "1");
      parser.feed("data: c\n\n");
      assert.deepEqual(reports, [ev("a", "message", "1"), ev("c", "message", "1")]);
    });

    it("SseParser.reset() expects a byte order mark again", () => {
      const { parser, reports } = collect();
      parser.feed("\ufeffdata: a\n\n");
      parser.reset();
      parser.feed(utf8.encode("\ufeffdata: b\n\n"));
      assert.deepEqual(reports, [ev("a"), ev("b")]);
    });

    it("SseParser.reset() forgets a pending CR", () => {
      const { parser, reports } = collect();
      parser.feed("data: a\r");
      parser.reset();
      parser.feed("\ndata: b\n\n");
      assert.deepEqual(reports, [ev("b")]);
    });

    it("SseParser.reset() drops the bytes of an unfinished character", () => {
      const { parser, reports } = collect();
      parser.feed(Uint8Array.from([0xe2, 0x82]));
      parser.reset();
      parser.feed(utf8.encode("data: a\n\n"));
      assert.deepEqual(reports, [ev("a")]);
    });

    it("SseParser.reset() called by a handler stops parsing the rest of the chunk", () => {
      const events: ParsedEvent[] = [];
      const parser: SseParser = new SseParser({
        onEvent: (event) => {
          events.push(event);
          parser.reset();
        },
      });
      parser.feed("data: a\n\ndata: b\n\n");
      parser.feed("data: c\n\n");
      assert.deepEqual(
        events.map((event) => event.data),
        ["a", "c"],
      );
    });
  });

  describe("#lastEventId", () => {
    it("SseParser.lastEventId starts empty and follows dispatched blocks", () => {
      const { parser } = collect();
      assert.equal(parser.lastEventId, "");
      parser.feed("id: 5\ndata: a\n");
      assert.equal(parser.lastEventId, "", "an id counts once its block is dispatched");
      parser.feed("\n");
      assert.equal(parser.lastEventId, "5");
    });

    it("SseParser.lastEventId set by the caller becomes the id of the next events", () => {
      const { parser, reports } = collect();
      parser.lastEventId = "e-41";
      parser.feed("data: a\n\n");
      assert.deepEqual(reports, [ev("a", "message", "e-41")]);
      assert.equal(parser.lastEventId, "e-41");
    });
  });

  describe("handlers", () => {
    it("a handler that throws leaves the rest of the chunk for the next feed()", () => {
      const events: string[] = [];
      let fail = true;
      const parser = new SseParser({
        onEvent: (event) => {
          events.push(event.data);
          if (fail) {
            fail = false;
            throw new Error("boom");
          }
        },
      });
      assert.throws(() => parser.feed("data: a\n\ndata: b\n\ndata: c"), /boom/);
      parser.feed("\n\n");
      assert.deepEqual(events, ["a", "b", "c"]);
    });

    it("onRetry and onComment are optional", () => {
      const events: ParsedEvent[] = [];
      const parser = new SseParser({ onEvent: (event) => events.push(event) });
      parser.feed(": hi\nretry: 10\ndata: a\n\n");
      assert.deepEqual(events, [{ type: "message", data: "a", lastEventId: "" }]);
    });
  });

  describe("split chunks", () => {
    // One crafted stream with every feature: BOM, CR/LF/CRLF, multi-byte and astral
    // characters, comments, retry, ids (one with NUL), unknown fields, an empty event and an
    // unterminated tail.
    const stream =
      "\ufeff: hello\r\nretry: 250\rid: \u00e91\n" +
      "event: t\u20ac\r\ndata: \u{1f600} one\rdata\ndata:  two\r\n\r\n" +
      "data:\n\nunknown: x\nid: bad\0id\ndata: caf\u00e9\r\r" +
      "id\ndata: last\n\ndata: cut";
    const expected: readonly Report[] = [
      { kind: "comment", text: "hello" },
      { kind: "retry", ms: 250 },
      ev("\u{1f600} one\n\n two", "t\u20ac", "\u00e91"),
      ev("", "message", "\u00e91"),
      ev("caf\u00e9", "message", "\u00e91"),
      ev("last", "message", ""),
    ];
    const bytes = utf8.encode(stream);

    it("the crafted stream parses to the expected events in one chunk", () => {
      assert.deepEqual(parse(stream), expected);
      assert.deepEqual(parse(bytes), expected);
    });

    it("every split point of the byte stream gives the same events", () => {
      for (let i = 0; i <= bytes.length; i++) {
        assert.deepEqual(
          parse(bytes.subarray(0, i), bytes.subarray(i)),
          expected,
          `split at byte ${i}`,
        );
      }
    });

    it("every pair of split points of the byte stream gives the same events", () => {
      for (let i = 0; i <= bytes.length; i++) {
        for (let j = i; j <= bytes.length; j++) {
          const reports = parse(bytes.subarray(0, i), bytes.subarray(i, j), bytes.subarray(j));
          assert.deepEqual(reports, expected, `split at bytes ${i} and ${j}`);
        }
      }
    });

    it("every split point of the text gives the same events", () => {
      for (let i = 0; i <= stream.length; i++) {
        assert.deepEqual(
          parse(stream.slice(0, i), stream.slice(i)),
          expected,
          `split at code unit ${i}`,
        );
      }
    });
  });
});
