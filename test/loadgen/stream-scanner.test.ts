import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { formatPayload, parsePayload } from "../../src/loadgen/payload.js";
import { type ScanHandler, StreamScanner } from "../../src/loadgen/stream-scanner.js";

interface Seen {
  status: number | undefined;
  events: [number, number, number][];
  foreign: number;
}

function scanner(trackIds = false): { scanner: StreamScanner; seen: Seen } {
  const seen: Seen = { status: undefined, events: [], foreign: 0 };
  const handler: ScanHandler = {
    onHead: (status) => {
      seen.status = status;
    },
    onEvent: (stream, seq, sentUs) => {
      seen.events.push([stream, seq, sentUs]);
    },
    onForeignEvent: () => {
      seen.foreign++;
    },
  };
  return { scanner: new StreamScanner(handler, { trackIds }), seen };
}

/** Feeds `bytes` in pieces of `size` bytes, each copied into a reused buffer, as onread does. */
function feedInPieces(target: StreamScanner, bytes: Buffer, size: number): void {
  const shared = Buffer.alloc(64 * 1024, 0x0a); // stale LFs after the data must not count
  for (let at = 0; at < bytes.length; at += size) {
    const piece = bytes.subarray(at, Math.min(bytes.length, at + size));
    piece.copy(shared, 0);
    target.feed(shared, 0, piece.length);
  }
}

function chunked(body: string, pieces: number): string {
  let out = "";
  const step = Math.ceil(body.length / pieces);
  for (let at = 0; at < body.length; at += step) {
    const part = body.slice(at, at + step);
    out += `${Buffer.byteLength(part).toString(16)}\r\n${part}\r\n`;
  }
  return out;
}

const HEAD_CHUNKED =
  "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n";
const HEAD_RAW = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n";
const BODY =
  "retry: 3000\n\n" +
  ": heartbeat\n\n" +
  `id: e-1\ndata: ${formatPayload(1, 1000, 0, 100)}\n\n` +
  `id: e-2\r\nevent: tick\r\ndata: ${formatPayload(2, 2000, 3, 20)}\r\ndata: second line\r\n\r\n` +
  "id: e-3\ndata: not ours\n\n" +
  `data:${formatPayload(3, 3000, 0, 0)}\n\n`;

describe("StreamScanner", () => {
  for (const [name, wire] of [
    ["a chunked response", HEAD_CHUNKED + chunked(BODY, 5)],
    ["a raw response", HEAD_RAW + BODY],
  ] as const) {
    for (const size of [1, 7, 64, 10_000]) {
      test(`reads the events of ${name} fed ${size} bytes at a time`, () => {
        const { scanner: s, seen } = scanner(true);
        feedInPieces(s, Buffer.from(wire, "latin1"), size);
        assert.equal(seen.status, 200);
        assert.deepEqual(seen.events, [
          [0, 1, 1000],
          [3, 2, 2000],
          [0, 3, 3000],
        ]);
        assert.equal(seen.foreign, 1);
        assert.equal(s.lastEventId, "e-3");
      });
    }
  }

  test("a status other than 200 is reported and the body is not read", () => {
    const { scanner: s, seen } = scanner();
    feedInPieces(
      s,
      Buffer.from(`HTTP/1.1 404 Not Found\r\nContent-Length: 20\r\n\r\ndata: s=1 t=1 k=0\n\n`),
      1000,
    );
    assert.equal(seen.status, 404);
    assert.deepEqual(seen.events, []);
    assert.equal(s.isStreaming, false);
  });

  test("ids are tracked only when asked, and survive reset() for the next connection", () => {
    const untracked = scanner(false);
    feedInPieces(untracked.scanner, Buffer.from(`${HEAD_RAW}id: x\ndata: a\n\n`), 100);
    assert.equal(untracked.scanner.lastEventId, "");

    const { scanner: s, seen } = scanner(true);
    feedInPieces(s, Buffer.from(`${HEAD_RAW}id: x-1\ndata: a\n\nid: x-2\ndata: cut off`), 100);
    assert.equal(s.lastEventId, "x-1");
    s.reset();
    feedInPieces(s, Buffer.from(`${HEAD_RAW}data: ${formatPayload(9, 9, 0, 0)}\n\n`), 100);
    assert.equal(s.lastEventId, "x-1");
    assert.deepEqual(seen.events, [[0, 9, 9]]);
  });

  test("the end of a chunked stream stops the scanner", () => {
    const { scanner: s, seen } = scanner();
    const wire = `${HEAD_CHUNKED}${chunked(`data: ${formatPayload(1, 1, 0, 0)}\n\n`, 1)}0\r\n\r\n`;
    feedInPieces(s, Buffer.from(wire), 3);
    assert.equal(seen.events.length, 1);
    assert.equal(s.isStreaming, false);
  });

  test("bytes that are not an HTTP/1.x response count as status 0 and stop the scanner", () => {
    const { scanner: s, seen } = scanner();
    feedInPieces(
      s,
      Buffer.from(`SSH-2.0-OpenSSH_9.6\r\n\r\ndata: ${formatPayload(1, 1, 0, 0)}\n\n`),
      5,
    );
    assert.equal(seen.status, 0);
    assert.deepEqual(seen.events, []);
    assert.equal(s.isStreaming, false);
  });

  test("a malformed chunk stops the scanner after the events before it", () => {
    const { scanner: s, seen } = scanner();
    const event = `data: ${formatPayload(1, 1, 0, 0)}\n\n`;
    const wire = `${HEAD_CHUNKED}${chunked(event, 1)}zz\r\n${chunked(event, 1)}`;
    feedInPieces(s, Buffer.from(wire), 4);
    assert.equal(seen.status, 200);
    assert.equal(seen.events.length, 1);
    assert.equal(s.isStreaming, false);
  });
});

describe("payload", () => {
  test("formatPayload() pads to the size asked for and parsePayload() reads it back", () => {
    const data = formatPayload(12, 345_678, 9, 100);
    assert.equal(data.length, 100);
    assert.deepEqual(parsePayload(data), { seq: 12, sentUs: 345_678, stream: 9 });
    assert.equal(formatPayload(1, 2, 3, 5), "s=1 t=2 k=3");
    assert.equal(parsePayload("s=1 t=2"), undefined);
  });

  test("with trackNotices, reports the type and first data line of events that are not payloads", () => {
    const notices: [string, string][] = [];
    let foreign = 0;
    const events: number[] = [];
    const handler: ScanHandler = {
      onHead: () => {},
      onEvent: (_stream, seq) => {
        events.push(seq);
      },
      onForeignEvent: () => {
        foreign++;
      },
      onNotice: (type, data) => {
        notices.push([type, data]);
      },
    };
    const reset = JSON.stringify({
      reason: "history-evicted",
      lastEventId: "a-1",
      currentEventId: "a-9",
    });
    const body =
      `id: a-9\nevent: ssehub-reset\ndata: ${reset}\n\n` +
      // The type of one event does not stick to the next.
      `data: ${formatPayload(1, 1000, 0, 10)}\n\n` +
      "data: untyped\n\n" +
      `event:tick\r\ndata:${formatPayload(2, 2000, 0, 10)}\r\n\r\n` +
      "event: ssehub-gap\ndata: {}\n\n" +
      "eventual: nothing\ndata: x\n\n";
    const target = new StreamScanner(handler, { trackNotices: true });
    feedInPieces(target, Buffer.from(HEAD_RAW + body), 7);
    assert.deepEqual(events, [1, 2]);
    assert.equal(foreign, 4);
    assert.deepEqual(notices, [
      ["ssehub-reset", reset],
      ["ssehub-gap", "{}"],
    ]);

    // Without the option nothing is read beyond what it reads today.
    notices.length = 0;
    feedInPieces(new StreamScanner(handler), Buffer.from(HEAD_RAW + body), 7);
    assert.deepEqual(notices, []);
  });
});
