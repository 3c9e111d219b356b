import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  HttpResponseDecoder,
  type HttpResponseHandler,
  type ResponseHead,
} from "../../src/loadgen/http-response-decoder.js";

/** One response as the handler saw it. */
interface Seen {
  head: ResponseHead;
  body: string;
  ended: boolean;
}

/** Records every callback, body bytes joined per response. */
class Recorder implements HttpResponseHandler {
  readonly responses: Seen[] = [];
  readonly errors: Error[] = [];
  /** Called with the head, to act from inside the callback (stop the decoder). */
  onHead: ((head: ResponseHead) => void) | undefined;

  onResponseHead(head: ResponseHead): void {
    this.responses.push({ head, body: "", ended: false });
    this.onHead?.(head);
  }

  onResponseBody(buf: Buffer, start: number, end: number): void {
    assert.ok(start < end, "body slices are never empty");
    const current = this.responses.at(-1);
    assert.ok(current !== undefined && !current.ended, "body bytes belong to an open response");
    current.body += buf.toString("latin1", start, end);
  }

  onResponseEnd(): void {
    const current = this.responses.at(-1);
    assert.ok(current !== undefined && !current.ended, "an end follows a head");
    current.ended = true;
  }

  onResponseError(error: Error): void {
    this.errors.push(error);
  }

  /** Each response as `status body` with a `.` when it ended. */
  summary(): string[] {
    return this.responses.map((r) => `${r.head.status} ${r.body}${r.ended ? "." : ""}`);
  }
}

function decoder(): { decoder: HttpResponseDecoder; seen: Recorder } {
  const seen = new Recorder();
  return { decoder: new HttpResponseDecoder(seen), seen };
}

/**
 * Feeds `wire` split at the offsets `cuts`, each piece copied into a reused read buffer full of
 * stale bytes, as a socket's onread does: the decoder must not look past a piece's end.
 */
function feedCut(target: HttpResponseDecoder, wire: string, cuts: readonly number[]): void {
  const bytes = Buffer.from(wire, "latin1");
  const shared = Buffer.alloc(bytes.length + 64, "\r\n\r\n0\r\n");
  let from = 0;
  for (const to of [...cuts, bytes.length]) {
    bytes.copy(shared, 0, from, to);
    target.feed(shared, 0, to - from);
    from = to;
  }
}

/** Every way to cut `wire` in two, and one byte at a time: the summaries must all match. */
function assertEverySplit(wire: string, expected: string[]): void {
  const splits: number[][] = [[]];
  for (let at = 1; at < wire.length; at++) splits.push([at]);
  splits.push(Array.from({ length: wire.length - 1 }, (_, i) => i + 1));
  for (const cuts of splits) {
    const { decoder: d, seen } = decoder();
    feedCut(d, wire, cuts);
    assert.deepEqual(seen.errors, [], `cut at ${cuts.join(",")}`);
    assert.deepEqual(seen.summary(), expected, `cut at ${cuts.length > 1 ? "every byte" : cuts}`);
  }
}

const CHUNKED = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";

describe("HttpResponseDecoder: chunked bodies", () => {
  test("a chunked body cut at every byte boundary decodes to the same bytes", () => {
    const wire = `${CHUNKED}5\r\nhello\r\n1\r\n \r\nE\r\nworld\r\n0\r\n\r\nxy\r\n0\r\n\r\n`;
    // The data holds CRLFs and a "0" line of its own: only the sizes frame it.
    assertEverySplit(wire, ["200 hello world\r\n0\r\n\r\nxy."]);
  });

  test("hex sizes read in either case, with leading zeros", () => {
    const body = "x".repeat(0x1a);
    const { decoder: d, seen } = decoder();
    feedCut(d, `${CHUNKED}001A\r\n${body}\r\n00000000000000001a\r\n${body}\r\n0\r\n\r\n`, []);
    assert.deepEqual(seen.summary(), [`200 ${body}${body}.`]);
  });

  test("chunk extensions and white space after the size are passed over", () => {
    const wire =
      `${CHUNKED}5;name=value\r\nhello\r\n` +
      `6 ;quoted="a;b\\"c"\r\n world\r\n` +
      "1\t \r\n!\r\n" +
      "0;last\r\n\r\n";
    assertEverySplit(wire, ["200 hello world!."]);
  });

  test("trailers are passed over, and the next response follows them", () => {
    const wire =
      `${CHUNKED}3\r\nabc\r\n0\r\nExpires: never\r\nX-Checksum: 42\r\n\r\n` +
      "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok";
    assertEverySplit(wire, ["200 abc.", "201 ok."]);
  });

  test("bare LF line ends in chunk framing are read too", () => {
    const wire = `${CHUNKED}3\nabc\n0\nX-Trailer: 1\n\n`;
    assertEverySplit(wire, ["200 abc."]);
  });

  test("chunked wins over Content-Length, and only when it is the last coding", () => {
    const { decoder: d, seen } = decoder();
    feedCut(
      d,
      "HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: gzip, chunked\r\n\r\n" +
        "2\r\nab\r\n0\r\n\r\n",
      [],
    );
    assert.deepEqual(seen.summary(), ["200 ab."]);
    assert.equal(seen.responses[0]!.head.chunked, true);
    assert.equal(seen.responses[0]!.head.contentLength, -1);

    const other = decoder();
    feedCut(
      other.decoder,
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n2\r\nab",
      [],
    );
    other.decoder.end();
    assert.deepEqual(other.seen.summary(), ["200 2\r\nab."]);
  });
});

describe("HttpResponseDecoder: other framings", () => {
  test("a Content-Length body ends after that many bytes", () => {
    const wire = "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nhello world";
    assertEverySplit(wire, ["200 hello world."]);
  });

  test("a body with neither length nor chunks ends with the connection", () => {
    const { decoder: d, seen } = decoder();
    feedCut(d, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nall of it\r\n0\r\n\r\n", [20, 45]);
    assert.deepEqual(seen.summary(), ["200 all of it\r\n0\r\n\r\n"]);
    assert.equal(seen.responses[0]!.head.closesConnection, true);
    d.end();
    assert.deepEqual(seen.summary(), ["200 all of it\r\n0\r\n\r\n."]);
    assert.deepEqual(seen.errors, []);
  });

  test("204, 304 and Content-Length 0 have no body; 1xx answers are passed over", () => {
    const wire =
      "HTTP/1.1 100 Continue\r\n\r\n" +
      "HTTP/1.1 204 No Content\r\n\r\n" +
      "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n" +
      "HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n" +
      "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n" +
      "HTTP/1.1 202 Accepted\r\ncontent-length:  1 \r\n\r\n!";
    assertEverySplit(wire, ["204 .", "304 .", "200 .", "202 !."]);
  });

  test("keep-alive: several responses of every framing in one buffer", () => {
    const wire =
      "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\none" +
      `${CHUNKED}3;x\r\ntwo\r\n0\r\nT: 1\r\n\r\n` +
      "HTTP/1.1 204 No Content\r\n\r\n" +
      "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\nConnection: keep-alive, close\r\n\r\nbusy" +
      "HTTP/1.1 200 OK\r\n\r\nuntil the close";
    assertEverySplit(wire, ["200 one.", "200 two.", "204 .", "503 busy.", "200 until the close"]);
    const { decoder: d, seen } = decoder();
    feedCut(d, wire, []);
    assert.deepEqual(
      seen.responses.map((r) => r.head.closesConnection),
      [false, false, false, true, false],
    );
  });

  test("stop() from inside a callback ends the reading; reset() starts a new connection", () => {
    const { decoder: d, seen } = decoder();
    seen.onHead = (head) => {
      if (head.status !== 200) d.stop();
    };
    feedCut(d, `HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\n\r\nnope${CHUNKED}`, []);
    assert.deepEqual(seen.summary(), ["404 "]);
    assert.equal(d.isStopped, true);
    d.end();
    assert.deepEqual(seen.errors, [], "end() after stop() reports nothing");

    d.reset();
    assert.equal(d.isIdle, true);
    feedCut(d, `${CHUNKED}2\r\nok\r\n0\r\n\r\n`, [10]);
    assert.deepEqual(seen.summary(), ["404 ", "200 ok."]);
  });
});

describe("HttpResponseDecoder: malformed input", () => {
  /** Feeds `wire` whole, then one byte at a time: both report one error matching `message`. */
  function assertError(wire: string, message: RegExp, kind: typeof Error = SyntaxError): void {
    for (const cuts of [[], Array.from({ length: wire.length - 1 }, (_, i) => i + 1)]) {
      const { decoder: d, seen } = decoder();
      feedCut(d, wire, cuts);
      assert.equal(seen.errors.length, 1, `one error for ${JSON.stringify(wire)}`);
      assert.ok(seen.errors[0] instanceof kind, `a ${kind.name}: ${seen.errors[0]}`);
      assert.match(seen.errors[0]!.message, message);
      assert.equal(d.isStopped, true);
      // Nothing more is read, not even a well-formed response.
      const before = seen.summary();
      feedCut(d, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", []);
      d.end();
      assert.deepEqual(seen.summary(), before);
      assert.equal(seen.errors.length, 1);
    }
  }

  test("a status line that is not HTTP/1.x", () => {
    assertError(
      "SSH-2.0-OpenSSH_9.6\r\n\r\n",
      /^Cannot read the status line "SSH-2\.0-OpenSSH_9\.6"/,
    );
    assertError(
      "HTTP/2 200\r\n\r\n",
      /status line "HTTP\/2 200": expected HTTP\/1\.1 or HTTP\/1\.0/,
    );
    assertError("HTTP/1.1 2000 OK\r\n\r\n", /a 3-digit status/);
  });

  test("a header line without a name and a colon", () => {
    assertError("HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", /header line "no colon here"/);
    assertError("HTTP/1.1 200 OK\r\n: value\r\n\r\n", /header line ": value"/);
  });

  test("a Content-Length that is not digits, or two that differ", () => {
    assertError(
      "HTTP/1.1 200 OK\r\nContent-Length: 12abc\r\n\r\n",
      /Content-Length "12abc": expected digits/,
    );
    assertError("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", /Content-Length "-1"/);
    assertError(
      "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
      /two Content-Lengths: 1 and 2/,
    );
  });

  test("a chunk size that is not hex", () => {
    assertError(`${CHUNKED}zz\r\n`, /expected a hex digit of a chunk size, got "z" 0x7a/);
    assertError(`${CHUNKED};ext\r\n`, /expected a hex digit of a chunk size, got ";"/);
    assertError(`${CHUNKED}\r\n`, /expected a hex digit of a chunk size, got byte 0x0d/);
    assertError(
      `${CHUNKED}5x\r\nhello\r\n`,
      /expected a hex digit, `;` or CRLF after a chunk size, got "x"/,
    );
    assertError(
      `${CHUNKED}5 5\r\nhello\r\n`,
      /`;` or CRLF after a chunk size and white space, got "5"/,
    );
  });

  test("a chunk longer than its size, and a CR without its LF", () => {
    assertError(`${CHUNKED}3\r\nhello\r\n`, /expected CRLF after the chunk's data .*, got "l"/);
    assertError(`${CHUNKED}3\r\nabc\rX`, /expected LF after CR, got "X"/);
    assertError(`${CHUNKED}3\rabc`, /expected LF after CR, got "a"/);
    assertError(`${CHUNKED}0\r\n\rX`, /expected LF after CR, got "X"/);
  });

  test("a chunk size past what a double holds exactly", () => {
    assertError(`${CHUNKED}20000000000000\r\n`, /chunk size above 2\^53 - 1 bytes/, RangeError);
  });

  test("a head longer than 1 MiB", () => {
    const { decoder: d, seen } = decoder();
    const line = Buffer.from(`X-Filler: ${"x".repeat(4096)}\r\n`);
    d.feed(Buffer.from("HTTP/1.1 200 OK\r\n"), 0, 17);
    for (let i = 0; i < 300 && seen.errors.length === 0; i++) d.feed(line, 0, line.length);
    assert.equal(seen.errors.length, 1);
    assert.ok(seen.errors[0] instanceof RangeError);
    assert.match(seen.errors[0].message, /response head longer than 1048576 bytes/);
    assert.deepEqual(seen.responses, []);
  });

  test("a connection closed in the middle of a head or a body", () => {
    for (const wire of [
      "HTTP/1.1 200",
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nabc",
      `${CHUNKED}5\r\nab`,
      `${CHUNKED}0\r\n`,
    ]) {
      const { decoder: d, seen } = decoder();
      feedCut(d, wire, []);
      d.end();
      assert.equal(seen.errors.length, 1, wire);
      assert.match(seen.errors[0]!.message, /^Connection closed before the end of the response$/);
    }
    const idle = decoder();
    feedCut(idle.decoder, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n!", []);
    idle.decoder.end();
    assert.deepEqual(idle.seen.errors, [], "a close between responses is no error");
  });
});
