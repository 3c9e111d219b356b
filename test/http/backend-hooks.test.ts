/**
 * The backend hooks over real HTTP: a backend (node:http, in this process) records what the hub
 * sent it and answers as each test needs.
 */
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, type TestContext, test } from "node:test";
import { SignJWT } from "jose";
import { BackendHook, type HookOutcome } from "../../src/http/access/backend-hook.js";
import { openFetchStream } from "../helpers/fetch-stream.js";
import { expectError } from "./expect-error.js";
import { startServer } from "./start-server.js";

/** What the backend answers: a status and a JSON body, or nothing at all (`hang`). */
type Reply = { status?: number; body?: unknown } | "hang";

interface Backend {
  readonly url: string;
  /** The JSON bodies the hub sent, in order. */
  readonly calls: Record<string, unknown>[];
  reply: (call: Record<string, unknown>) => Reply;
}

async function startBackend(t: TestContext, reply: Backend["reply"]): Promise<Backend> {
  const calls: Record<string, unknown>[] = [];
  const backend: Backend = { url: "", calls, reply };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const call = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>;
      calls.push(call);
      const answer = backend.reply(call);
      if (answer === "hang") return;
      const text = JSON.stringify(answer.body ?? {});
      res.writeHead(answer.status ?? 200, { "content-type": "application/json" });
      res.end(text);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  const { port } = server.address() as AddressInfo;
  return Object.assign(backend, { url: `http://127.0.0.1:${port}/hook` });
}

/** What a streaming backend got to send before the hub hung up on it. */
interface StreamedAnswer {
  /** Bytes written into the socket before it closed. */
  readonly written: number;
  /** True when the whole body went out: the hub read it all. */
  readonly finished: boolean;
}

/**
 * A backend that answers 200 with a JSON body of `totalBytes` (an allow padded with a long
 * string), written 16 KiB at a time as the hub reads it (chunked, or with its Content-Length when
 * `declareLength`). `answered` resolves when its response closes, with how far it got.
 */
async function startStreamingBackend(
  t: TestContext,
  totalBytes: number,
  declareLength: boolean,
): Promise<{ url: string; answered: Promise<StreamedAnswer> }> {
  let report: (answer: StreamedAnswer) => void = () => {};
  const answered = new Promise<StreamedAnswer>((resolve) => {
    report = resolve;
  });
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    const head = '{"allow":true,"padding":"';
    const tail = '"}';
    const chunk = "x".repeat(16_384);
    let written = 0;
    res.on("close", () => report({ written, finished: res.writableFinished }));
    res.writeHead(200, {
      "content-type": "application/json",
      ...(declareLength ? { "content-length": String(totalBytes) } : {}),
    });
    res.write(head);
    written += head.length;
    const pump = (): void => {
      while (!res.destroyed && written + chunk.length + tail.length <= totalBytes) {
        written += chunk.length;
        if (!res.write(chunk)) {
          res.once("drain", pump);
          return;
        }
      }
      if (res.destroyed) return;
      const last = "x".repeat(totalBytes - written - tail.length) + tail;
      written += last.length;
      res.end(last);
    };
    pump();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hook`, answered };
}

function publishInit(body: unknown, headers: Record<string, string> = {}): RequestInit {
  return {
    method: "POST",
    headers: { "Content-Type": "application/json", ...headers },
    body: JSON.stringify(body),
  };
}

async function publish(url: string, body: unknown): Promise<void> {
  const response = await fetch(`${url}/publish`, publishInit(body));
  assert.equal(response.status, 200, await response.text());
}

describe("the subscribe hook", () => {
  test("an allowing backend gets the topics, client address, request id and forwarded headers; the stream opens", async (t) => {
    const backend = await startBackend(t, () => ({ body: { allow: true } }));
    const { url } = await startServer(t, { subscribeHookUrl: backend.url });
    const stream = await openFetchStream(`${url}/events?topic=a&topic=b`, {
      Cookie: "session=abc",
      Authorization: "Basic dXNlcjpwdw==",
      "X-Request-Id": "req-42",
      "X-Other": "not forwarded",
    });
    t.after(() => stream.close());
    assert.equal(stream.status, 200);
    assert.equal(backend.calls.length, 1);
    const call = backend.calls[0]!;
    assert.equal(call.hook, "subscribe");
    assert.deepEqual(call.topics, ["a", "b"]);
    assert.equal(call.clientAddress, "127.0.0.1");
    assert.equal(call.requestId, "req-42");
    assert.deepEqual(call.headers, { cookie: "session=abc", authorization: "Basic dXNlcjpwdw==" });
    await publish(url, { topic: "b", data: "hello" });
    await stream.waitForEvents(1);
    assert.equal(stream.events[0]!.data, "hello");
  });

  test("hookForwardHeaders names the headers forwarded", async (t) => {
    const backend = await startBackend(t, () => ({ body: { allow: true } }));
    const { url } = await startServer(t, {
      subscribeHookUrl: backend.url,
      hookForwardHeaders: ["x-tenant"],
    });
    const stream = await openFetchStream(`${url}/events/a`, {
      Cookie: "session=abc",
      "X-Tenant": "acme",
    });
    t.after(() => stream.close());
    assert.deepEqual(backend.calls[0]!.headers, { "x-tenant": "acme" });
  });

  test("a refusal answers the backend's status (401 or 403), a stable code and its message", async (t) => {
    const backend = await startBackend(t, (call) => {
      const topic = (call.topics as string[])[0];
      if (topic === "json401") {
        return { body: { allow: false, status: 401, message: "Log in first" } };
      }
      if (topic === "json403") return { body: { allow: false, message: "Not your room" } };
      return { status: 403, body: { message: "Forbidden by status" } };
    });
    const { url } = await startServer(t, { subscribeHookUrl: backend.url });
    const { body: unauthenticated } = await expectError(
      `${url}/events/json401`,
      401,
      "SSEHUB_ERR_HOOK_UNAUTHENTICATED",
    );
    assert.equal(unauthenticated.message, "Log in first");
    const { body: denied } = await expectError(
      `${url}/events/json403`,
      403,
      "SSEHUB_ERR_HOOK_DENIED",
    );
    assert.equal(denied.message, "Not your room");
    const { body: byStatus } = await expectError(
      `${url}/events/status403`,
      403,
      "SSEHUB_ERR_HOOK_DENIED",
    );
    assert.equal(byStatus.message, "Forbidden by status");
  });

  test("an allow may narrow the topics to a subset and grant private events of some of them", async (t) => {
    const backend = await startBackend(t, () => ({
      body: { allow: true, topics: ["a", "c", "never-asked"], private: ["a"] },
    }));
    const { url } = await startServer(t, { subscribeHookUrl: backend.url });
    const stream = await openFetchStream(`${url}/events?topic=a&topic=b&topic=c`);
    t.after(() => stream.close());
    assert.equal(stream.status, 200);
    await publish(url, { topic: "b", data: "narrowed away" });
    await publish(url, { topic: "c", data: "private on c", private: true });
    await publish(url, { topic: "never-asked", data: "never asked" });
    await publish(url, { topic: "a", data: "private on a", private: true });
    await publish(url, { topic: "c", data: "public on c" });
    await stream.waitForEvents(2);
    assert.deepEqual(
      stream.events.map((event) => event.data),
      ["private on a", "public on c"],
    );
  });

  test("an allow that leaves none of the asked topics answers 403", async (t) => {
    const backend = await startBackend(t, () => ({ body: { allow: true, topics: ["other"] } }));
    const { url } = await startServer(t, { subscribeHookUrl: backend.url });
    await expectError(`${url}/events/a`, 403, "SSEHUB_ERR_HOOK_DENIED");
  });

  test("a token is checked first: a bad one is refused and the backend is not asked", async (t) => {
    const backend = await startBackend(t, () => ({ body: { allow: true } }));
    const { url } = await startServer(t, {
      subscribeHookUrl: backend.url,
      subscriberJwtKey: "subscriber-secret-of-at-least-32-bytes",
    });
    await expectError(`${url}/events/a`, 401, "SSEHUB_ERR_AUTH_INVALID", {
      headers: { Authorization: "Bearer not.a.token" },
    });
    assert.equal(backend.calls.length, 0);
  });

  test("without a subscriber key the hook is the gate: an opaque bearer token goes to the backend, whatever anonymousSubscribe says", async (t) => {
    const backend = await startBackend(t, (call) =>
      (call.headers as Record<string, string>).authorization === "Bearer opaque-session"
        ? { body: { allow: true } }
        : { body: { allow: false, status: 401, message: "Unknown session" } },
    );
    const { url } = await startServer(t, {
      subscribeHookUrl: backend.url,
      anonymousSubscribe: false,
    });
    const stream = await openFetchStream(`${url}/events/a`, {
      Authorization: "Bearer opaque-session",
    });
    t.after(() => stream.close());
    assert.equal(stream.status, 200);
    const { body } = await expectError(`${url}/events/a`, 401, "SSEHUB_ERR_HOOK_UNAUTHENTICATED");
    assert.equal(body.message, "Unknown session");
  });

  test("a private event reaches a stream when its token or the hook grants it", async (t) => {
    const key = "subscriber-secret-of-at-least-32-bytes";
    const backend = await startBackend(t, () => ({ body: { allow: true, private: ["b"] } }));
    const { url } = await startServer(t, { subscribeHookUrl: backend.url, subscriberJwtKey: key });
    const token = await new SignJWT({ mercure: { subscribe: ["a"] } })
      .setProtectedHeader({ alg: "HS256" })
      .sign(new TextEncoder().encode(key));
    const stream = await openFetchStream(`${url}/events?topic=a&topic=b&topic=c`, {
      Authorization: `Bearer ${token}`,
    });
    t.after(() => stream.close());
    assert.equal(stream.status, 200);
    for (const topic of ["c", "a", "b"]) {
      await publish(url, { topic, data: `private on ${topic}`, private: true });
    }
    await publish(url, { topic: "c", data: "public on c" });
    await stream.waitForEvents(3);
    assert.deepEqual(
      stream.events.map((event) => event.data),
      ["private on a", "private on b", "public on c"],
    );
  });

  test("a backend that does not answer within hookTimeoutMs: 503 SSEHUB_ERR_HOOK_UNAVAILABLE with Retry-After", async (t) => {
    const backend = await startBackend(t, () => "hang");
    const { url } = await startServer(t, { subscribeHookUrl: backend.url, hookTimeoutMs: 50 });
    const { headers, body } = await expectError(
      `${url}/events/a`,
      503,
      "SSEHUB_ERR_HOOK_UNAVAILABLE",
    );
    assert.match(String(body.message), /no answer within 50 ms/);
    assert.match(headers.get("retry-after") ?? "", /^[1-9][0-9]*$/);
  });

  test("after hookFailureThreshold failures in a row the breaker opens: the backend is not called", async (t) => {
    const backend = await startBackend(t, () => ({ status: 500, body: {} }));
    const { url } = await startServer(t, {
      subscribeHookUrl: backend.url,
      hookFailureThreshold: 2,
      hookCooldownMs: 600_000,
    });
    await expectError(`${url}/events/a`, 503, "SSEHUB_ERR_HOOK_UNAVAILABLE");
    await expectError(`${url}/events/a`, 503, "SSEHUB_ERR_HOOK_UNAVAILABLE");
    assert.equal(backend.calls.length, 2);
    const { headers } = await expectError(`${url}/events/a`, 503, "SSEHUB_ERR_HOOK_UNAVAILABLE");
    assert.equal(backend.calls.length, 2);
    // The client is told to come back when the breaker lets a probe through.
    assert.ok(Number(headers.get("retry-after")) > 500);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    assert.match(metrics, /ssehub_hook_calls_total\{hook="subscribe",outcome="failed"\} 2/);
    assert.match(metrics, /ssehub_hook_calls_total\{hook="subscribe",outcome="open"\} 1/);
  });

  for (const declareLength of [false, true]) {
    test(`an answer past 64 KiB (${declareLength ? "by its Content-Length" : "streamed, no length"}) is a failure: the hub stops reading, hangs up and counts it`, async (t) => {
      // 64 MiB: far more than the hub may hold, and more than the sockets' buffers take in.
      const total = 64 * 1_048_576;
      const backend = await startStreamingBackend(t, total, declareLength);
      const { url } = await startServer(t, {
        subscribeHookUrl: backend.url,
        hookFailureThreshold: 1,
        hookCooldownMs: 600_000,
      });
      const response = await fetch(`${url}/events/a`);
      // Not read whole unless refused: an opened stream never ends.
      if (response.status !== 503) await response.body?.cancel();
      assert.equal(response.status, 503, "the hub let the stream open");
      const body = (await response.json()) as Record<string, unknown>;
      assert.equal(body.code, "SSEHUB_ERR_HOOK_UNAVAILABLE");
      assert.match(String(body.message), /its answer is larger than 65536 bytes/);
      const { written, finished } = await backend.answered;
      assert.equal(finished, false);
      assert.ok(written < total, `the backend wrote ${written} of ${total} bytes`);
      // A failure like the others: counted, and it opens the breaker (threshold 1).
      await expectError(`${url}/events/a`, 503, "SSEHUB_ERR_HOOK_UNAVAILABLE");
      const metrics = await (await fetch(`${url}/metrics`)).text();
      assert.match(metrics, /ssehub_hook_calls_total\{hook="subscribe",outcome="failed"\} 1/);
      assert.match(metrics, /ssehub_hook_calls_total\{hook="subscribe",outcome="open"\} 1/);
    });
  }

  test("with hookFailOpen a failing backend lets the request through unchanged", async (t) => {
    const backend = await startBackend(t, () => ({ status: 502, body: {} }));
    const { url } = await startServer(t, {
      subscribeHookUrl: backend.url,
      publishHookUrl: backend.url,
      hookFailOpen: true,
    });
    const stream = await openFetchStream(`${url}/events/a`);
    t.after(() => stream.close());
    assert.equal(stream.status, 200);
    await publish(url, { topic: "a", data: "through" });
    await stream.waitForEvents(1);
    assert.equal(stream.events[0]!.data, "through");
  });

  test("with a cache TTL, two identical subscribes call the backend once; other credentials call it again", async (t) => {
    const backend = await startBackend(t, () => ({ body: { allow: true } }));
    const { url } = await startServer(t, {
      subscribeHookUrl: backend.url,
      hookCacheTtlMs: 600_000,
    });
    for (const cookie of ["session=1", "session=1", "session=2"]) {
      const stream = await openFetchStream(`${url}/events/a`, { Cookie: cookie });
      assert.equal(stream.status, 200);
      stream.close();
    }
    assert.equal(backend.calls.length, 2);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    assert.match(metrics, /ssehub_hook_calls_total\{hook="subscribe",outcome="cached"\} 1/);
  });

  test("without a cache TTL an answer's cacheSeconds is honoured; without either, every subscribe calls", async (t) => {
    const backend = await startBackend(t, (call) => ({
      body: { allow: true, ...((call.topics as string[])[0] === "a" ? { cacheSeconds: 600 } : {}) },
    }));
    const { url } = await startServer(t, { subscribeHookUrl: backend.url });
    for (const topic of ["a", "a", "b", "b"]) {
      const stream = await openFetchStream(`${url}/events/${topic}`);
      assert.equal(stream.status, 200);
      stream.close();
    }
    assert.deepEqual(
      backend.calls.map((call) => (call.topics as string[])[0]),
      ["a", "b", "b"],
    );
  });
});

describe("the publish hook", () => {
  test("the backend gets every event of a batch and may deny it", async (t) => {
    const backend = await startBackend(t, () => ({
      body: { allow: false, status: 403, message: "Read-only room" },
    }));
    const { url, ssehub } = await startServer(t, {
      publishHookUrl: backend.url,
      publishOrigins: ["https://app.example"],
    });
    const { body } = await expectError(
      `${url}/publish`,
      403,
      "SSEHUB_ERR_HOOK_DENIED",
      publishInit(
        [
          { topic: "a", data: "one", event: "note", id: "e1" },
          { topics: ["b", "c"], data: { n: 2 }, private: true },
        ],
        { Cookie: "session=p", Origin: "https://app.example" },
      ),
    );
    assert.equal(body.message, "Read-only room");
    assert.equal(ssehub.hub.stats().eventsPublished, 0);
    const call = backend.calls[0]!;
    assert.equal(call.hook, "publish");
    assert.deepEqual(call.headers, { cookie: "session=p" });
    assert.deepEqual(call.events, [
      { topics: ["a"], type: "note", id: "e1", private: false, data: "one" },
      { topics: ["b", "c"], private: true, data: '{"n":2}' },
    ]);
  });

  test("a publish carrying a cookie for the hook must come from an allowed origin", async (t) => {
    const backend = await startBackend(t, () => ({ body: { allow: true } }));
    const { url } = await startServer(t, {
      publishHookUrl: backend.url,
      publishOrigins: ["https://app.example"],
    });
    await expectError(
      `${url}/publish`,
      403,
      "SSEHUB_ERR_AUTH_ORIGIN_REFUSED",
      publishInit(
        { topic: "a", data: "x" },
        { Cookie: "session=p", Origin: "https://evil.example" },
      ),
    );
    assert.equal(backend.calls.length, 0);
  });

  test("an answer may be as large as maxBodyBytes, not larger", async (t) => {
    const backend = await startStreamingBackend(t, 200_000, false);
    const { url } = await startServer(t, { publishHookUrl: backend.url });
    await publish(url, { topic: "a", data: "with a long answer" });
    assert.deepEqual(await backend.answered, { written: 200_000, finished: true });

    const huge = await startStreamingBackend(t, 64 * 1_048_576, false);
    const capped = await startServer(t, { publishHookUrl: huge.url, maxBodyBytes: 100_000 });
    const { body } = await expectError(
      `${capped.url}/publish`,
      503,
      "SSEHUB_ERR_HOOK_UNAVAILABLE",
      publishInit({ topic: "a", data: "with a long answer" }),
    );
    assert.match(String(body.message), /its answer is larger than 100000 bytes/);
    assert.equal((await huge.answered).finished, false);
  });

  test("a rewrite replaces data or topics, and the hub checks the rewritten event", async (t) => {
    let rewrite: unknown = null;
    const backend = await startBackend(t, () => ({ body: { allow: true, events: [rewrite] } }));
    const { url } = await startServer(t, { publishHookUrl: backend.url });
    const stream = await openFetchStream(`${url}/events?topic=a&topic=moved`);
    t.after(() => stream.close());
    rewrite = { data: "[redacted]" };
    await publish(url, { topic: "a", data: "secret words" });
    rewrite = { topics: ["moved"] };
    await publish(url, { topic: "a", data: "to another topic" });
    await stream.waitForEvents(2);
    assert.deepEqual(
      stream.events.map((event) => event.data),
      ["[redacted]", "to another topic"],
    );
    rewrite = { topics: [""] };
    await expectError(
      `${url}/publish`,
      400,
      "SSEHUB_ERR_TOPIC_INVALID",
      publishInit({ topic: "a", data: "x" }),
    );
  });

  test("rewritten topics pass the token check again", async (t) => {
    const key = "publisher-secret-of-at-least-32-bytes!";
    const backend = await startBackend(t, () => ({
      body: { allow: true, events: [{ topics: ["b"] }] },
    }));
    const { url, ssehub } = await startServer(t, {
      publishHookUrl: backend.url,
      publisherJwtKey: key,
    });
    const token = await new SignJWT({ mercure: { publish: ["a"] } })
      .setProtectedHeader({ alg: "HS256" })
      .sign(new TextEncoder().encode(key));
    await expectError(
      `${url}/publish`,
      403,
      "SSEHUB_ERR_AUTH_FORBIDDEN",
      publishInit({ topic: "a", data: "x" }, { Authorization: `Bearer ${token}` }),
    );
    assert.equal(ssehub.hub.stats().eventsPublished, 0);
  });
});

describe("the hooks on the Mercure route", () => {
  test("a Mercure subscribe is narrowed and a Mercure publish rewritten", async (t) => {
    const backend = await startBackend(t, (call) =>
      call.hook === "subscribe"
        ? { body: { allow: true, topics: ["https://example.com/a"] } }
        : { body: { allow: true, events: [{ data: "rewritten" }] } },
    );
    const { url } = await startServer(t, {
      subscribeHookUrl: backend.url,
      publishHookUrl: backend.url,
    });
    const hub = `${url}/.well-known/mercure`;
    const stream = await openFetchStream(
      `${hub}?topic=${encodeURIComponent("https://example.com/a")}&topic=${encodeURIComponent("https://example.com/b")}`,
    );
    t.after(() => stream.close());
    assert.equal(stream.status, 200);
    assert.deepEqual(backend.calls[0]!.topics, ["https://example.com/a", "https://example.com/b"]);
    for (const topic of ["https://example.com/b", "https://example.com/a"]) {
      const response = await fetch(hub, {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ topic, data: "original" }).toString(),
      });
      assert.equal(response.status, 200, await response.text());
    }
    await stream.waitForEvents(1);
    assert.equal(stream.events[0]!.data, "rewritten");
    assert.equal(stream.events.length, 1);
    assert.deepEqual((backend.calls[1]!.events as { topics: string[] }[])[0]!.topics, [
      "https://example.com/b",
    ]);
  });

  test("a Mercure subscribe the backend refuses answers its status and message", async (t) => {
    const backend = await startBackend(t, () => ({
      status: 401,
      body: { message: "Who are you?" },
    }));
    const { url } = await startServer(t, { subscribeHookUrl: backend.url });
    const { body } = await expectError(
      `${url}/.well-known/mercure?topic=a`,
      401,
      "SSEHUB_ERR_HOOK_UNAUTHENTICATED",
    );
    assert.equal(body.message, "Who are you?");
  });
});

describe("BackendHook's breaker", () => {
  test("closes after the cool-down once a probe succeeds, and opens again when the probe fails", async (t) => {
    let failing = true;
    const backend = await startBackend(t, () =>
      failing ? { status: 500, body: {} } : { body: { allow: true } },
    );
    let now = 1_000_000;
    const hook = new BackendHook("subscribe", {
      url: backend.url,
      forwardHeaders: [],
      timeoutMs: 5_000,
      cacheSize: 0,
      cacheTtlMs: 0,
      failureThreshold: 2,
      cooldownMs: 10_000,
      failOpen: false,
      now: () => now,
    });
    const outcomes: HookOutcome[] = [];
    const ask = () => hook.decide({}, undefined, (outcome) => outcomes.push(outcome));
    const unavailable = { code: "SSEHUB_ERR_HOOK_UNAVAILABLE" };
    await assert.rejects(ask(), unavailable);
    await assert.rejects(ask(), unavailable);
    await assert.rejects(ask(), unavailable);
    assert.deepEqual(outcomes, ["failed", "failed", "open"]);
    assert.equal(backend.calls.length, 2);
    // Past the cool-down one probe goes through; it fails: open again for another cool-down.
    now += 10_000;
    await assert.rejects(ask(), unavailable);
    await assert.rejects(ask(), unavailable);
    assert.equal(backend.calls.length, 3);
    assert.deepEqual(outcomes.slice(3), ["failed", "open"]);
    // The next probe succeeds: closed, every call goes to the backend again.
    now += 10_000;
    failing = false;
    assert.equal((await ask()).outcome, "allow");
    assert.equal((await ask()).outcome, "allow");
    assert.equal(backend.calls.length, 5);
    assert.equal(hook.isOpen, false);
  });
});
