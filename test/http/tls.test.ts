/**
 * The hub's own TLS listener: HTTP/2 and HTTP/1.1 over TLS on one port, with a self-signed
 * certificate made by openssl for each run (without openssl the tests skip, saying why, and
 * fail in CI: test/helpers/require-tool.ts).
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { type EventEmitter, once } from "node:events";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import type { IncomingMessage } from "node:http";
import http2, { type ClientHttp2Session, type ClientHttp2Stream } from "node:http2";
import https from "node:https";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, type TestContext, test } from "node:test";
import tls from "node:tls";
import { SsehubError } from "../../src/errors.js";
import { type CreateServerOptions, createServer } from "../../src/http/server.js";
import { createLogger } from "../../src/http/telemetry/logger.js";
import { canTakeOver, socketTakeoverSupported } from "../../src/http/transport/socket-takeover.js";
import { requireTools } from "../helpers/require-tool.js";
import { listeningUrl, ssehub } from "../helpers/ssehub-process.js";
import { HUNG_AFTER_MS, waitFor, within } from "../helpers/wait-for.js";
import { startServer } from "./start-server.js";

/** A certificate and key for 127.0.0.1, and a second key that does not match it. */
interface TestCertificate {
  readonly dir: string;
  readonly certFile: string;
  readonly keyFile: string;
  readonly otherKeyFile: string;
  readonly ca: Buffer;
}

/** Makes the certificates with openssl; throws when it cannot (it is installed: see `skip`). */
function makeCertificate(): TestCertificate {
  const dir = mkdtempSync(join(tmpdir(), "ssehub-tls-"));
  const certFile = join(dir, "cert.pem");
  const keyFile = join(dir, "key.pem");
  const otherKeyFile = join(dir, "other-key.pem");
  const req = (keyOut: string, certOut: string): void => {
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-subj",
        "/CN=localhost",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
        "-days",
        "1",
        "-keyout",
        keyOut,
        "-out",
        certOut,
      ],
      { stdio: "pipe" },
    );
  };
  try {
    req(keyFile, certFile);
    req(otherKeyFile, join(dir, "other-cert.pem"));
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`openssl could not make a test certificate: ${(error as Error).message}`);
  }
  return { dir, certFile, keyFile, otherKeyFile, ca: readFileSync(certFile) };
}

/** openssl makes the test certificate: without it the tests skip (and fail in CI). */
const skip = requireTools(["openssl"]);
const cert = skip === false ? makeCertificate() : undefined;
after(() => {
  if (cert !== undefined) rmSync(cert.dir, { recursive: true, force: true });
});

/** Starts a hub on a TLS listener; `url` is https://127.0.0.1:<port>. */
function startTlsServer(t: TestContext, options: CreateServerOptions = {}) {
  return startServer(t, { tlsCertFile: cert!.certFile, tlsKeyFile: cert!.keyFile, ...options });
}

/**
 * Resolves with the next request `server` gets, once the first bytes of its body arrived: from
 * then on the hub is reading a body that is not whole yet.
 */
function bodyArriving(server: EventEmitter): Promise<EventEmitter> {
  return new Promise((resolve) => {
    server.prependOnceListener("request", (req: EventEmitter) => {
      req.once("data", () => resolve(req));
    });
  });
}

/** An HTTP/2 connection trusting the test certificate, closed after the test. */
async function connectH2(t: TestContext, url: string): Promise<ClientHttp2Session> {
  const session = http2.connect(url, { ca: cert!.ca });
  session.on("error", () => {});
  t.after(() => session.destroy());
  await once(session, "connect");
  return session;
}

/** An event stream read over one HTTP/2 stream. */
class H2EventStream {
  readonly stream: ClientHttp2Stream;
  readonly headers: Promise<http2.IncomingHttpHeaders>;
  /** Resolves when the stream closes (its rstCode is then known). */
  readonly closed: Promise<void>;
  text = "";
  readonly #waiters = new Set<() => void>();

  constructor(stream: ClientHttp2Stream) {
    this.stream = stream;
    stream.on("error", () => {});
    this.headers = once(stream, "response").then(([headers]) => headers);
    stream.setEncoding("utf8");
    stream.on("data", (chunk: string) => {
      this.text += chunk;
      for (const wake of this.#waiters) wake();
    });
    this.closed = new Promise((resolve) => {
      stream.once("close", () => {
        for (const wake of this.#waiters) wake();
        resolve();
      });
    });
  }

  /** Resolves once the text contains `needle`; `timeoutMs` only stops a hung test. */
  waitFor(needle: string, timeoutMs = HUNG_AFTER_MS): Promise<void> {
    if (this.text.includes(needle)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`Timed out waiting for ${JSON.stringify(needle)}; got ${this.text}`));
      }, timeoutMs);
      const check = (): void => {
        if (!this.text.includes(needle)) return;
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve();
      };
      this.#waiters.add(check);
    });
  }
}

function openH2Stream(
  session: ClientHttp2Session,
  path: string,
  headers: http2.OutgoingHttpHeaders = {},
): H2EventStream {
  return new H2EventStream(session.request({ ":path": path, ...headers }));
}

interface Answer {
  readonly status: number;
  readonly headers: http2.IncomingHttpHeaders;
  readonly text: string;
}

/** One HTTP/2 request on `session`, its answer read in full. */
async function h2Request(
  session: ClientHttp2Session,
  method: string,
  path: string,
  headers: http2.OutgoingHttpHeaders = {},
  body?: string,
): Promise<Answer> {
  const stream = session.request({ ":method": method, ":path": path, ...headers });
  stream.setEncoding("utf8");
  let text = "";
  stream.on("data", (chunk: string) => {
    text += chunk;
  });
  // Both listened for at once: an answer without a body ends in the tick it arrives.
  const ended = once(stream, "end");
  stream.end(body);
  const [answer] = (await once(stream, "response")) as [http2.IncomingHttpHeaders];
  await ended;
  return { status: Number(answer[":status"]), headers: answer, text };
}

function publishH2(session: ClientHttp2Session, event: Record<string, unknown>): Promise<Answer> {
  return h2Request(
    session,
    "POST",
    "/publish",
    { "content-type": "application/json" },
    JSON.stringify(event),
  );
}

/** One HTTPS/1.1 request (ALPN offers http/1.1 only), its answer read in full. */
function httpsRequest(
  url: string,
  method: string,
  body?: string,
  headers: Record<string, string> = {},
): Promise<{ response: IncomingMessage; text: string }> {
  return new Promise((resolve, reject) => {
    const request = https.request(
      url,
      { method, ca: cert!.ca, agent: false, headers },
      (response) => {
        let text = "";
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => {
          text += chunk;
        });
        response.on("end", () => resolve({ response, text }));
      },
    );
    request.on("error", reject);
    request.end(body);
  });
}

/** An event stream over HTTPS/1.1. */
function openHttpsStream(
  t: TestContext,
  url: string,
): Promise<{ response: IncomingMessage; text: () => string; ended: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const request = https.get(url, { ca: cert!.ca, agent: false }, (response) => {
      let text = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => {
        text += chunk;
      });
      const ended = new Promise<void>((done) => response.once("close", () => done()));
      resolve({ response, text: () => text, ended });
    });
    t.after(() => request.destroy());
    request.on("error", reject);
  });
}

describe("TLS and HTTP/2 listener", { skip }, () => {
  test("listen() answers an https:// URL and serves HTTP/2 and HTTP/1.1 on it", async (t) => {
    const { url } = await startTlsServer(t);
    assert.match(url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const session = await connectH2(t, url);
    assert.equal(session.alpnProtocol, "h2");
    const health = await h2Request(session, "GET", "/healthz");
    assert.equal(health.status, 200);
    assert.equal(JSON.parse(health.text).status, "ok");
    const { response } = await httpsRequest(`${url}/healthz`, "GET");
    assert.equal(response.httpVersion, "1.1");
    assert.equal(response.statusCode, 200);
  });

  test("an HTTP/2 stream receives events published over HTTP/2 and over HTTPS/1.1", async (t) => {
    const { url } = await startTlsServer(t, { retryMs: 1000 });
    const session = await connectH2(t, url);
    const stream = openH2Stream(session, "/events?topic=news");
    const headers = await stream.headers;
    assert.equal(headers[":status"], 200);
    assert.equal(headers["content-type"], "text/event-stream; charset=utf-8");
    assert.equal(headers["cache-control"], "no-cache");
    assert.equal(headers["x-accel-buffering"], "no");
    assert.equal(headers.connection, undefined);
    await stream.waitFor("retry: 1000\n\n");

    const overH2 = await publishH2(session, { topic: "news", data: "over h2" });
    assert.equal(overH2.status, 200);
    const { id } = JSON.parse(overH2.text) as { id: string };
    await stream.waitFor(`id: ${id}\ndata: over h2\n\n`);

    const overH1 = await httpsRequest(
      `${url}/publish`,
      "POST",
      JSON.stringify({ topic: "news", data: "over https/1.1" }),
      { "content-type": "application/json" },
    );
    assert.equal(overH1.response.statusCode, 200);
    await stream.waitFor("data: over https/1.1\n\n");
  });

  test("an HTTPS/1.1 stream receives events, through res.write (no socket takeover)", async (t) => {
    const { ssehub, url } = await startTlsServer(t);
    const stream = await openHttpsStream(t, `${url}/events?topic=news`);
    assert.equal(stream.response.httpVersion, "1.1");
    assert.equal(stream.response.headers["content-type"], "text/event-stream; charset=utf-8");
    // The public path frames the body in chunks; a taken-over socket writes it raw.
    assert.equal(stream.response.headers["transfer-encoding"], "chunked");
    await waitFor(() => stream.text().includes("retry:"), "the stream to open");
    await ssehub.hub.publish({ topic: "news", data: "hello" });
    await waitFor(() => stream.text().includes("data: hello\n\n"), "the event");
  });

  test("20 streams on one HTTP/2 connection all receive every event", async (t) => {
    const { ssehub, url } = await startTlsServer(t);
    const session = await connectH2(t, url);
    const streams = Array.from({ length: 20 }, (_, i) =>
      openH2Stream(session, `/events?topic=all&topic=s${i}`),
    );
    await Promise.all(streams.map((stream) => stream.waitFor("retry:")));
    assert.equal(ssehub.hub.stats().subscribers, 20);
    const connections = await new Promise<number>((resolve, reject) => {
      ssehub.server.getConnections((error, count) => (error ? reject(error) : resolve(count)));
    });
    assert.equal(connections, 1);
    await publishH2(session, { topic: "all", data: "to everyone" });
    await publishH2(session, { topic: "s7", data: "to seven" });
    await Promise.all(streams.map((stream) => stream.waitFor("data: to everyone\n\n")));
    await streams[7]!.waitFor("data: to seven\n\n");
    assert.ok(!streams[6]!.text.includes("to seven"));
  });

  test("a stream resumes after Last-Event-ID over HTTP/2, with no duplicate", async (t) => {
    const { url } = await startTlsServer(t);
    const session = await connectH2(t, url);
    const ids: string[] = [];
    for (const data of ["one", "two", "three"]) {
      const answer = await publishH2(session, { topic: "log", data });
      ids.push((JSON.parse(answer.text) as { id: string }).id);
    }
    const stream = openH2Stream(session, "/events?topic=log", { "last-event-id": ids[0]! });
    await stream.waitFor("data: three\n\n");
    assert.ok(!stream.text.includes("data: one"), stream.text);
    assert.ok(stream.text.indexOf("data: two") < stream.text.indexOf("data: three"));
  });

  test("an open HTTP/2 stream gets heartbeats and outlives keepAliveTimeoutMs; an idle session gets GOAWAY", async (t) => {
    const { url } = await startTlsServer(t, { heartbeatMs: 200, keepAliveTimeoutMs: 100 });
    const session = await connectH2(t, url);
    const stream = openH2Stream(session, "/events?topic=quiet");
    await stream.waitFor("retry:");
    // Two heartbeats are at least one heartbeat interval (200 ms) apart: twice keepAliveTimeoutMs.
    await waitFor(
      () => (stream.text.match(/^:\n\n/gm) ?? []).length >= 2 || session.closed,
      "two heartbeats",
    );
    assert.ok(!session.closed && !session.destroyed, "the session with a stream stays open");

    const goaway = once(session, "goaway");
    const closed = once(session, "close");
    stream.stream.close();
    await within(goaway, "GOAWAY on the idle session");
    await within(closed, "the idle session to close");
  });

  test("every route answers over HTTP/2: topics, metrics, errors, CORS and the Mercure hub", async (t) => {
    const origin = "https://app.example";
    const { url } = await startTlsServer(t, { corsOrigins: [origin] });
    const session = await connectH2(t, url);

    assert.equal((await publishH2(session, { topic: "t1", data: "x" })).status, 200);
    const topics = await h2Request(session, "GET", "/topics");
    assert.equal(topics.status, 200);
    assert.ok(topics.text.includes("t1"), topics.text);
    const head = await h2Request(session, "HEAD", "/topics/t1");
    assert.equal(head.status, 200);
    assert.equal(head.text, "");
    const metrics = await h2Request(session, "GET", "/metrics");
    assert.equal(metrics.status, 200);
    assert.match(metrics.text, /^ssehub_events_published_total 1$/m);
    assert.equal((await h2Request(session, "GET", "/readyz")).status, 200);

    const missing = await h2Request(session, "GET", "/nowhere");
    assert.equal(missing.status, 404);
    assert.equal(JSON.parse(missing.text).code, "SSEHUB_ERR_ROUTE_NOT_FOUND");
    const wrongMethod = await h2Request(session, "DELETE", "/publish");
    assert.equal(wrongMethod.status, 405);
    assert.equal(wrongMethod.headers.allow, "POST, OPTIONS");
    const badJson = await h2Request(
      session,
      "POST",
      "/publish",
      { "content-type": "application/json" },
      "{",
    );
    assert.equal(badJson.status, 400);
    assert.equal(JSON.parse(badJson.text).code, "SSEHUB_ERR_PUBLISH_MALFORMED");

    const preflight = await h2Request(session, "OPTIONS", "/events", {
      origin,
      "access-control-request-method": "GET",
    });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers["access-control-allow-origin"], origin);
    const cors = openH2Stream(session, "/events?topic=t1", { origin });
    assert.equal((await cors.headers)["access-control-allow-origin"], origin);
    cors.stream.close();

    const mercure = openH2Stream(
      session,
      "/.well-known/mercure?topic=https%3A%2F%2Fex.test%2Fbooks%2F%7Bid%7D",
    );
    const mercureHeaders = await mercure.headers;
    assert.equal(mercureHeaders[":status"], 200);
    assert.ok(mercureHeaders["last-event-id"] !== undefined);
    await mercure.waitFor("retry:");
    const form = new URLSearchParams({ topic: "https://ex.test/books/1", data: "a book" });
    const posted = await h2Request(
      session,
      "POST",
      "/.well-known/mercure",
      { "content-type": "application/x-www-form-urlencoded" },
      form.toString(),
    );
    assert.equal(posted.status, 200);
    await mercure.waitFor(`id: ${posted.text}\ndata: a book\n\n`);
  });

  test("a body over maxBodyBytes gets 413 and only its stream is reset; the connection lives on", async (t) => {
    const { ssehub, url } = await startTlsServer(t, { maxBodyBytes: 1024 });
    const session = await connectH2(t, url);
    // No content-length: the hub finds out while reading, then stops the client sending.
    const stream = session.request({
      ":method": "POST",
      ":path": "/publish",
      "content-type": "application/json",
    });
    stream.on("error", () => {});
    let text = "";
    stream.setEncoding("utf8");
    stream.on("data", (chunk: string) => {
      text += chunk;
    });
    stream.write(Buffer.alloc(200_000, 0x20));
    const [headers] = (await once(stream, "response")) as [http2.IncomingHttpHeaders];
    assert.equal(headers[":status"], 413);
    await once(stream, "close");
    assert.equal(JSON.parse(text).code, "SSEHUB_ERR_PUBLISH_TOO_LARGE");
    assert.equal(stream.rstCode, http2.constants.NGHTTP2_NO_ERROR);
    assert.equal((await h2Request(session, "GET", "/healthz")).status, 200);
    assert.equal(ssehub.hub.stats().eventsPublished, 0);
  });

  test("a request body that does not arrive within requestTimeoutMs is cancelled and nothing is published", async (t) => {
    const { ssehub, url } = await startTlsServer(t, { requestTimeoutMs: 300 });
    const session = await connectH2(t, url);
    const body = JSON.stringify({ topic: "slow", data: "never whole" });
    // The timeout runs from the request's arrival: start counting before it is sent.
    const started = Date.now();
    const stream = session.request({
      ":method": "POST",
      ":path": "/publish",
      "content-type": "application/json",
      "content-length": String(body.length),
    });
    stream.on("error", () => {});
    stream.write(body.slice(0, 10));
    await within(once(stream, "close"), "the stream to be cancelled");
    const elapsed = Date.now() - started;
    assert.equal(stream.rstCode, http2.constants.NGHTTP2_CANCEL);
    // Not before the timeout (300 ms; slack for the clock).
    assert.ok(elapsed >= 250, `cancelled after ${elapsed} ms`);
    assert.equal(ssehub.hub.stats().eventsPublished, 0);
    assert.equal((await h2Request(session, "GET", "/healthz")).status, 200);
  });

  test("a body cut short publishes nothing: a stream ended before its Content-Length, a connection lost mid-body", async (t) => {
    const { ssehub, url } = await startTlsServer(t);
    // A Mercure form cut anywhere still parses: only the transport tells that it is not whole.
    const form = "topic=cut&data=half of it";
    const short = (await connectH2(t, url)).request({
      ":method": "POST",
      ":path": "/.well-known/mercure",
      "content-type": "application/x-www-form-urlencoded",
      "content-length": String(form.length),
    });
    short.on("error", () => {});
    short.end(form.slice(0, 14));
    // Not once(): it rejects on the stream's error, which is what happens here.
    await new Promise((resolve) => short.once("close", resolve));
    assert.notEqual(short.rstCode, http2.constants.NGHTTP2_NO_ERROR);

    const lost = await connectH2(t, url);
    const arriving = bodyArriving(ssehub.server);
    const cut = lost.request({
      ":method": "POST",
      ":path": "/.well-known/mercure",
      "content-type": "application/x-www-form-urlencoded",
    });
    cut.on("error", () => {});
    cut.write(form.slice(0, 14));
    const req = await within(arriving, "the first bytes of the body to reach the hub");
    const gone = new Promise((resolve) => req.once("close", resolve));
    lost.destroy();
    // The hub's own close listener, added before this one, has run by then.
    await within(gone, "the hub to see the connection lost");
    assert.equal(ssehub.hub.stats().eventsPublished, 0);
  });

  test("the socket takeover refuses HTTP/2 and HTTPS/1.1 requests", async (t) => {
    const { ssehub, url } = await startTlsServer(t);
    const seen: boolean[] = [];
    ssehub.server.prependListener("request", (req, res) => {
      seen.push(canTakeOver(req as IncomingMessage, res as never));
    });
    const session = await connectH2(t, url);
    const h2 = openH2Stream(session, "/events?topic=a");
    await h2.waitFor("retry:");
    const h1 = await openHttpsStream(t, `${url}/events?topic=a`);
    await waitFor(() => h1.text().includes("retry:"), "the HTTPS/1.1 stream");
    assert.deepEqual(seen, [false, false]);
    if (socketTakeoverSupported) {
      // The same check on a plain listener says yes: the refusal above is TLS's.
      const plain = await startServer(t);
      const plainSeen: boolean[] = [];
      plain.ssehub.server.prependListener("request", (req, res) => {
        plainSeen.push(canTakeOver(req as IncomingMessage, res as never));
      });
      const response = await fetch(`${plain.url}/healthz`);
      await response.text();
      assert.deepEqual(plainSeen, [true]);
    }
  });

  test("slow clients are cut: a TLS handshake never finished, HTTPS/1.1 headers never finished, an HTTP/2 session with no request", async (t) => {
    const short = { headersTimeoutMs: 300, requestTimeoutMs: 300, keepAliveTimeoutMs: 200 };
    const { port, url } = await startTlsServer(t, short);
    const started = Date.now();
    const silent = net.connect(port, "127.0.0.1");
    t.after(() => silent.destroy());
    silent.on("error", () => {});
    await within(once(silent, "close"), "the silent connection to be cut");
    const handshakeMs = Date.now() - started;
    // Not before the timeout (300 ms; slack for the clock).
    assert.ok(handshakeMs >= 250, `closed after ${handshakeMs} ms`);

    const slow = tls.connect({
      port,
      host: "127.0.0.1",
      ca: cert!.ca,
      ALPNProtocols: ["http/1.1"],
    });
    t.after(() => slow.destroy());
    slow.on("error", () => {});
    await once(slow, "secureConnect");
    assert.equal(slow.alpnProtocol, "http/1.1");
    let received = "";
    slow.setEncoding("latin1");
    slow.on("data", (chunk: string) => {
      received += chunk;
    });
    slow.write("GET /healthz HTTP/1.1\r\nHost: x\r\n");
    await within(once(slow, "close"), "the slow HTTPS/1.1 client to be cut");
    assert.match(received, /^HTTP\/1\.1 408 /);

    // HTTP/2 opens a stream only once its headers are complete: a session that sends none has
    // no open stream and gets GOAWAY after keepAliveTimeoutMs.
    // The session's idle time runs from the server's side of the handshake: count from before.
    const connecting = Date.now();
    const idle = await connectH2(t, url);
    await within(once(idle, "close"), "the idle session to be closed");
    const idleMs = Date.now() - connecting;
    // Not before the timeout (200 ms; slack for the clock).
    assert.ok(idleMs >= 150, `closed after ${idleMs} ms`);
  });

  test("close() tells HTTP/2 and HTTPS/1.1 subscribers when to come back, sends GOAWAY and closes", async (t) => {
    // A shutdown timeout the test cannot reach: close() must finish without waiting for it.
    const { ssehub, url, port } = await startTlsServer(t, {
      retryMs: 1000,
      shutdownRetryJitterMs: 500,
      shutdownTimeoutMs: 10 * HUNG_AFTER_MS,
    });
    const session = await connectH2(t, url);
    const streams = [1, 2, 3].map(() => openH2Stream(session, "/events?topic=a"));
    for (const stream of streams) await stream.waitFor("retry: 1000\n\n");
    const h1 = await openHttpsStream(t, `${url}/events?topic=a`);
    await waitFor(() => h1.text().includes("retry: 1000\n\n"), "the HTTPS/1.1 stream");
    let goawayCode: number | undefined;
    session.once("goaway", (code: number) => {
      goawayCode = code;
    });
    await within(ssehub.close(), "close() to finish without waiting for shutdownTimeoutMs");
    assert.equal(ssehub.server.listening, false);
    for (const stream of streams) {
      await stream.closed;
      assert.equal(stream.stream.rstCode, http2.constants.NGHTTP2_NO_ERROR);
      const retries = [...stream.text.matchAll(/retry: (\d+)\n/g)].map((m) => Number(m[1]));
      assert.equal(retries.length, 2, stream.text);
      assert.ok(retries[1]! >= 1000 && retries[1]! <= 1500, `retry ${retries[1]}`);
    }
    await h1.ended;
    assert.equal([...h1.text().matchAll(/retry: /g)].length, 2, h1.text());
    if (!session.closed) await within(once(session, "close"), "the session to close");
    assert.equal(goawayCode, http2.constants.NGHTTP2_NO_ERROR);
    await assert.rejects(connectH2(t, `https://127.0.0.1:${port}`));
  });

  test("close() destroys the HTTP/2 sessions left after shutdownTimeoutMs", async (t) => {
    const { ssehub, url } = await startTlsServer(t, {
      shutdownTimeoutMs: 300,
      requestTimeoutMs: 60_000,
    });
    const session = await connectH2(t, url);
    // A publish whose body never finishes keeps its stream, so its session, open.
    const arriving = bodyArriving(ssehub.server);
    const stream = session.request({
      ":method": "POST",
      ":path": "/publish",
      "content-type": "application/json",
      "content-length": "100",
    });
    stream.on("error", () => {});
    stream.write("{");
    await within(arriving, "the first bytes of the body to reach the hub");
    const closed = once(session, "close");
    const started = Date.now();
    await ssehub.close();
    const elapsed = Date.now() - started;
    // It waited for the busy session (300 ms; slack for the clock), then destroyed it.
    assert.ok(elapsed >= 250, `closed after ${elapsed} ms`);
    await within(closed, "the busy session to be destroyed");
  });
});

describe("TLS options", { skip }, () => {
  function refusal(options: CreateServerOptions): SsehubError {
    try {
      createServer({ port: 0, logger: createLogger("silent"), ...options }).close();
    } catch (error) {
      assert.ok(error instanceof SsehubError, String(error));
      assert.equal(error.code, "SSEHUB_ERR_OPTIONS_INVALID");
      return error;
    }
    assert.fail("expected SSEHUB_ERR_OPTIONS_INVALID");
  }

  test("createServer() refuses a certificate or key file it cannot read, naming the file", () => {
    const missing = join(cert!.dir, "missing.pem");
    const error = refusal({ tlsCertFile: missing, tlsKeyFile: cert!.keyFile });
    assert.equal(
      error.message,
      `Cannot read tlsCertFile ${JSON.stringify(missing)}: no such file (ENOENT)`,
    );
    const dirError = refusal({ tlsCertFile: cert!.certFile, tlsKeyFile: cert!.dir });
    assert.match(dirError.message, /^Cannot read tlsKeyFile .*: it is a directory \(EISDIR\)$/);
  });

  test("createServer() refuses one file without the other", () => {
    assert.match(refusal({ tlsCertFile: cert!.certFile }).message, /tlsCertFile needs tlsKeyFile/);
    assert.match(refusal({ tlsKeyFile: cert!.keyFile }).message, /tlsKeyFile needs tlsCertFile/);
  });

  test("createServer() refuses a key that does not match the certificate, and files swapped, never quoting the key", () => {
    const keyText = readFileSync(cert!.otherKeyFile, "utf8");
    const keyBody = keyText.split("\n")[1]!;
    const mismatch = refusal({ tlsCertFile: cert!.certFile, tlsKeyFile: cert!.otherKeyFile });
    assert.match(mismatch.message, /the key does not match the certificate$/);
    assert.ok(mismatch.message.includes(cert!.otherKeyFile));
    const swapped = refusal({ tlsCertFile: cert!.keyFile, tlsKeyFile: cert!.certFile });
    assert.match(swapped.message, /it holds no PEM certificate/);
    for (const error of [mismatch, swapped]) {
      assert.ok(!error.message.includes(keyBody));
      assert.ok(!JSON.stringify(error.details ?? {}).includes(keyBody));
    }
  });

  test("createServer() refuses a file that is not PEM", () => {
    const garbage = join(cert!.dir, "garbage.pem");
    writeFileSync(garbage, "not a certificate\n");
    assert.match(
      refusal({ tlsCertFile: cert!.certFile, tlsKeyFile: garbage }).message,
      /tlsKeyFile .*garbage\.pem": it holds no PEM private key/,
    );
  });
});

describe("ssehub serve --tls-cert-file --tls-key-file", { skip }, () => {
  test("serves HTTP/2 on an https:// URL and shuts down on SIGTERM", async (t) => {
    const run = ssehub(t, [
      "serve",
      "--port",
      "0",
      "--tls-cert-file",
      cert!.certFile,
      "--tls-key-file",
      cert!.keyFile,
    ]);
    const url = await listeningUrl(run);
    assert.match(url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const session = await connectH2(t, url);
    const stream = openH2Stream(session, "/events?topic=cli");
    await stream.waitFor("retry:");
    run.child.kill("SIGTERM");
    await stream.closed;
    assert.equal((stream.text.match(/retry: /g) ?? []).length, 2, stream.text);
    assert.equal(await run.exited, 0);
  });

  test("refuses a key that does not match, in one line, with exit code 2", async (t) => {
    const run = ssehub(t, [
      "serve",
      "--port",
      "0",
      "--tls-cert-file",
      cert!.certFile,
      "--tls-key-file",
      cert!.otherKeyFile,
    ]);
    assert.equal(await run.exited, 2);
    assert.equal(run.stderr.length, 1, run.stderr.join("\n"));
    assert.match(
      run.stderr[0]!,
      /^ssehub: SSEHUB_ERR_OPTIONS_INVALID: Cannot use tlsKeyFile .*: the key does not match the certificate$/,
    );
  });
});
