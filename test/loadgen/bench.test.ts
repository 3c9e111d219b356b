/**
 * `ssehub bench` end to end: small real runs of every scenario against an in-process ssehub
 * on 127.0.0.1, asserting the shape of the result and the counts, never a timing.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import http from "node:http";
import type { AddressInfo } from "node:net";
import net from "node:net";
import { describe, type TestContext, test } from "node:test";
import { createRequestHandler } from "../../src/http/handler.js";
import { createServer } from "../../src/http/server.js";
import { createLogger } from "../../src/http/telemetry/logger.js";
import { createHub } from "../../src/hub/hub.js";
import { runBench } from "../../src/loadgen/bench.js";
import { type BenchResult, RESULT_SCHEMA } from "../../src/loadgen/result.js";
import { csvHeader, formatResultCsv, formatResultText } from "../../src/loadgen/result-format.js";
import { HUNG_AFTER_MS } from "../helpers/wait-for.js";

async function startHub(t: TestContext): Promise<string> {
  const server = createServer({ host: "127.0.0.1", port: 0, logLevel: "silent" });
  const { url } = await server.listen();
  t.after(() => server.close());
  return url;
}

/** What one listener of startListeners() was asked. */
interface ListenerCounts {
  url: string;
  /** Stream requests, and those among them that resumed with Last-Event-ID. */
  streams: number;
  resumes: number;
  publishes: number;
}

/**
 * One hub behind `count` node:http servers, each on its own port of 127.0.0.1: several URLs
 * whose streams share every event, as the nodes of one hub on Redis do. Counts what each
 * listener is asked.
 */
async function startListeners(t: TestContext, count: number): Promise<ListenerCounts[]> {
  const hub = createHub();
  t.after(() => hub.close());
  const handler = createRequestHandler(hub, { logger: createLogger("silent") });
  t.after(() => handler.metrics.close());
  const listeners: ListenerCounts[] = [];
  for (let i = 0; i < count; i++) {
    const counts: ListenerCounts = { url: "", streams: 0, resumes: 0, publishes: 0 };
    const server = http.createServer((req, res) => {
      if (req.url?.startsWith("/events") === true) {
        counts.streams++;
        if (req.headers["last-event-id"] !== undefined) counts.resumes++;
      } else if (req.url === "/publish") {
        counts.publishes++;
      }
      handler(req, res);
    });
    server.listen(0, "127.0.0.1");
    t.after(() => {
      server.closeAllConnections();
      server.close();
    });
    await new Promise((resolve) => server.once("listening", resolve));
    counts.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    listeners.push(counts);
  }
  return listeners;
}

/**
 * Bounds of a run that only stop a hung test: a loaded machine may take long to connect and to
 * deliver, and that is no loss. A healthy run ends its drain as soon as nothing is owed.
 */
const PATIENT = { drainMs: HUNG_AFTER_MS, connectTimeoutMs: HUNG_AFTER_MS } as const;

/** Every delivery owed arrived, once, in order; and the scanner agreed with the full parser. */
function assertNothingLost(result: BenchResult): void {
  const delivery = result.delivery;
  assert.ok(delivery !== null, "the result has a delivery section");
  assert.ok(delivery.published > 0, "events were published");
  assert.equal(delivery.publishErrors, 0);
  assert.equal(delivery.lost, 0);
  assert.equal(delivery.duplicated, 0);
  assert.equal(delivery.reordered, 0);
  assert.equal(delivery.foreign, 0);
  assert.equal(delivery.delivered, delivery.expected);
  assert.ok(result.latency !== null && result.latency.count === delivery.delivered);
  assert.ok(result.verify !== null && result.verify.subscribers >= 1);
  assert.equal(result.verify.mismatches, 0);
  assert.deepEqual(result.thresholds, { passed: true, failures: [] });
}

/** Runs `ssehub bench` in its own process, as the command line would. */
function runCommand(
  args: readonly string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const module = new URL("../../src/cli/commands/bench.js", import.meta.url).href;
  const script = `const { benchCommand } = await import(${JSON.stringify(module)});
process.exitCode = await benchCommand(JSON.parse(process.argv[1]));`;
  const child = spawn(
    process.execPath,
    ["--input-type=module", "-e", script, JSON.stringify(args)],
    {
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (text: string) => {
    stdout += text;
  });
  child.stderr.setEncoding("utf8").on("data", (text: string) => {
    stderr += text;
  });
  return new Promise((resolve) => child.once("close", (code) => resolve({ code, stdout, stderr })));
}

/** A per-connection memory figure: a size, or null where it is not meaningful. */
function isSizeOrNull(bytes: number | null | undefined): boolean {
  return bytes === null || (typeof bytes === "number" && bytes >= 0);
}

describe("ssehub bench", () => {
  test("fanout delivers every event to every subscriber and reports it in every form", async (t) => {
    const url = await startHub(t);
    const result = await runBench({
      scenario: "fanout",
      url,
      subscribers: 20,
      rate: 50,
      durationSeconds: 1,
      ...PATIENT,
    });
    assert.equal(result.schema, RESULT_SCHEMA);
    assert.equal(result.scenario, "fanout");
    assert.equal(result.target.adapter, "ssehub");
    assert.equal(result.connections.attempted, 20);
    assert.equal(result.connections.established, 20);
    assert.equal(result.connections.failed, 0);
    assertNothingLost(result);
    assert.equal(result.delivery!.expected, 20 * result.delivery!.published);
    assert.equal(result.publish, null);
    assert.equal(result.ladder, null);
    assert.equal(result.loadgen.processes, 1);
    // The hub runs inside the test process, which the tool never measures as the server.
    assert.equal(result.server, null);

    assert.match(formatResultText(result), /deliveries\s+[\d,]+ of [\d,]+ owed/);
    const header = csvHeader().split(",");
    const row = formatResultCsv(result).split(",");
    assert.equal(row.length, header.length);
    assert.equal(row[header.indexOf("lost")], "0");
    assert.deepEqual(JSON.parse(JSON.stringify(result)), result);
  });

  test("names its topics with --topic-prefix, so a hub's priority topics can take them", async (t) => {
    const server = createServer({
      host: "127.0.0.1",
      port: 0,
      logLevel: "silent",
      priorityTopics: ["alerts/*"],
    });
    const { url } = await server.listen();
    t.after(() => server.close());
    const result = await runBench({
      scenario: "fanout",
      url,
      subscribers: 5,
      rate: 20,
      durationSeconds: 1,
      topicPrefix: "alerts/",
      ...PATIENT,
    });
    assertNothingLost(result);
    const topics = server.hub.topics().map((topic) => topic.topic);
    assert.equal(topics.length, 1);
    assert.match(topics[0]!, /^alerts\/[0-9a-z]+-0$/);
  });

  test("walks past a block of local ports that another program holds", async (t) => {
    // Another run of the tool loading the same server holds a block of ports from 10,000 up.
    const url = await startHub(t);
    const { port } = new URL(url);
    const held: net.Socket[] = [];
    t.after(() => {
      for (const socket of held) socket.destroy();
    });
    for (let localPort = 10_000; held.length < 1000; localPort++) {
      const socket = net.connect({
        host: "127.0.0.1",
        port: Number(port),
        localAddress: "127.0.0.1",
        localPort,
      });
      const bound = await new Promise<boolean>((resolve) => {
        socket.once("connect", () => resolve(true));
        socket.once("error", () => resolve(false));
      });
      if (bound) held.push(socket);
      else socket.destroy();
    }
    // 10 subscribers used to try 64 ports each: 640, fewer than are held.
    const result = await runBench({
      scenario: "fanout",
      url,
      subscribers: 10,
      rate: 20,
      durationSeconds: 1,
      ...PATIENT,
    });
    assert.equal(result.connections.established, 10, JSON.stringify(result.connections.errors));
    assertNothingLost(result);
  });

  test("idle holds every subscriber and measures the processes it is given", async (t) => {
    const url = await startHub(t);
    const result = await runBench({
      scenario: "idle",
      url,
      subscribers: 50,
      holdSeconds: 1,
      ...PATIENT,
      serverPids: [process.pid],
    });
    assert.equal(result.connections.established, 50);
    assert.equal(result.connections.failed, 0);
    assert.equal(result.connections.dropped, 0);
    assert.ok(result.connections.connectLatency !== null);
    assert.equal(result.connections.connectLatency.count, 50);
    assert.equal(result.delivery, null);
    assert.equal(result.latency, null);
    assert.ok(result.server !== null);
    assert.ok(result.server.pids.includes(process.pid));
    assert.ok(result.server.rssBytes > 0);
    // Null when the figure fell below its baseline (a GC gave memory back): never negative.
    assert.ok(isSizeOrNull(result.server.rssPerConnectionBytes));
    assert.equal(result.server.cpuMicrosPerDelivery, null);
    // The kernel's share and the tool's own memory: read, machine-wide (values depend on
    // everything else the machine does, so only their presence and sanity are checked).
    assert.ok(result.kernel !== null, "the kernel's socket memory is read on Linux");
    assert.ok(result.kernel.sample.tcpSockets >= 100, "both ends of 50 connections are in use");
    assert.ok(isSizeOrNull(result.kernel.slabPerConnectionBytes));
    assert.ok(result.loadgen.rssBytes !== null && result.loadgen.rssBytes > 0);
    assert.ok(isSizeOrNull(result.loadgen.rssPerConnectionBytes));
    assert.match(
      formatResultText(result),
      /Kernel \(whole machine, both ends of each connection\)/,
    );
    assert.equal(result.thresholds.passed, true);
  });

  test("churn resumes every reconnect with Last-Event-ID without loss or duplicate", async (t) => {
    const url = await startHub(t);
    const result = await runBench({
      scenario: "churn",
      url,
      subscribers: 30,
      rate: 50,
      reconnectRate: 20,
      durationSeconds: 1.5,
      ...PATIENT,
    });
    assertNothingLost(result);
    assert.ok(result.churn !== null);
    assert.ok(result.churn.reconnects > 0, "subscribers reconnected");
    assert.equal(result.churn.failedReconnects, 0);
    assert.equal(result.params.maxLost, 0);
  });

  test("topics delivers each event to the subscribers of its topic only", async (t) => {
    const url = await startHub(t);
    const result = await runBench({
      scenario: "topics",
      url,
      subscribers: 40,
      topics: 8,
      topicsPerSubscriber: 2,
      rate: 80,
      durationSeconds: 1,
      processes: 2,
      ...PATIENT,
    });
    assertNothingLost(result);
    // 40 subscribers x 2 topics over 8 topics: 10 subscribers per topic, so 10 per event.
    assert.equal(result.delivery!.expected, 10 * result.delivery!.published);
    assert.equal(result.loadgen.processes, 2);
  });

  test("publish floods over keep-alive connections while subscribers count every event", async (t) => {
    const url = await startHub(t);
    const result = await runBench({
      scenario: "publish",
      url,
      subscribers: 3,
      connections: 4,
      durationSeconds: 1,
      ...PATIENT,
    });
    assertNothingLost(result);
    assert.ok(result.publish !== null);
    assert.equal(result.publish.connections, 4);
    assert.equal(result.publish.errors, 0);
    assert.equal(result.publish.ok, result.publish.requests);
    assert.equal(result.delivery!.expected, 3 * result.publish.ok);
  });

  test("a ladder reports its steps and the best clean rate", async (t) => {
    const url = await startHub(t);
    const result = await runBench({
      scenario: "fanout",
      url,
      subscribers: 5,
      rate: 20,
      durationSeconds: 0.5,
      ladder: true,
      ladderSteps: 2,
      p99BoundMs: 60_000,
      ...PATIENT,
    });
    assert.ok(result.ladder !== null);
    assert.ok(result.ladder.steps.length >= 1 && result.ladder.steps.length <= 2);
    assert.equal(result.ladder.steps[0]!.rate, 20);
    for (const step of result.ladder.steps) {
      assert.equal(step.clean, step.reasons.length === 0);
    }
    if (result.ladder.steps[0]!.clean) assert.ok(result.ladder.bestCleanRate !== null);
  });

  test("several URLs share the subscribers round robin and the first one takes the publishes", async (t) => {
    const listeners = await startListeners(t, 2);
    const urls = listeners.map((listener) => listener.url);
    const result = await runBench({
      scenario: "fanout",
      urls,
      subscribers: 21,
      rate: 50,
      durationSeconds: 1,
      processes: 2,
      ...PATIENT,
    });
    assertNothingLost(result);
    assert.equal(result.target.url, urls[0]);
    assert.deepEqual(result.target.urls, urls);
    // Subscriber i on URL i mod 2, whichever of the two workers holds it.
    assert.deepEqual(result.connections.establishedByUrl, [11, 10]);
    assert.deepEqual(
      listeners.map((listener) => listener.streams),
      [11, 10],
    );
    assert.ok(listeners[0]!.publishes > 0);
    assert.equal(listeners[1]!.publishes, 0);
    assert.equal(result.delivery!.expected, 21 * result.delivery!.published);
    const text = formatResultText(result);
    assert.match(text, /at 2 URLs/);
    assert.ok(text.includes(`${urls[0]} (11 subscribers, publishes), ${urls[1]} (10 subscribers)`));
    const header = csvHeader().split(",");
    assert.equal(formatResultCsv(result).split(",")[header.indexOf("urls")], urls.join(" "));
  });

  test("churn over several URLs resumes each reconnect on the next URL without loss", async (t) => {
    const listeners = await startListeners(t, 2);
    const result = await runBench({
      scenario: "churn",
      urls: listeners.map((listener) => listener.url),
      subscribers: 20,
      rate: 50,
      reconnectRate: 20,
      durationSeconds: 1.5,
      ...PATIENT,
    });
    assertNothingLost(result);
    assert.ok(result.churn !== null && result.churn.reconnects > 0, "subscribers reconnected");
    assert.equal(result.churn.failedReconnects, 0);
    // Every resume moved to the other URL: both listeners saw resumes, one per reconnect (a
    // reconnect still waiting for its answer when the phase ended is asked but not counted).
    for (const listener of listeners) assert.ok(listener.resumes > 0, listener.url);
    assert.ok(
      listeners.reduce((sum, listener) => sum + listener.resumes, 0) >= result.churn.reconnects,
    );
  });

  test("a run where every connect is refused ends with SSEHUB_ERR_BENCH_UNREACHABLE, counting the refusals", async () => {
    // Nothing listens on port 9 of 127.0.0.1 (discard): every connect is refused.
    await assert.rejects(
      runBench({ scenario: "idle", url: "http://127.0.0.1:9", subscribers: 5, holdSeconds: 0 }),
      (error: { code?: string; details?: { errors?: Record<string, number> } }) => {
        assert.equal(error.code, "SSEHUB_ERR_BENCH_UNREACHABLE");
        assert.deepEqual(error.details?.errors, { ECONNREFUSED: 5 });
        return true;
      },
    );
  });

  test("the command prints one JSON object and exits 0", async (t) => {
    const url = await startHub(t);
    const { code, stdout } = await runCommand([
      "fanout",
      "--url",
      url,
      "--subscribers",
      "5",
      "--rate",
      "20",
      "--duration",
      "0.5",
      "--drain-ms",
      String(PATIENT.drainMs),
      "--connect-timeout-ms",
      String(PATIENT.connectTimeoutMs),
      "--json",
    ]);
    assert.equal(code, 0);
    const result = JSON.parse(stdout) as BenchResult;
    assert.equal(result.schema, RESULT_SCHEMA);
    assert.equal(result.connections.established, 5);
    assert.equal(result.delivery?.lost, 0);
  });

  test("the command refuses a URL off loopback with exit status 2", async () => {
    const { code, stderr } = await runCommand(["idle", "--url", "http://192.0.2.1:8080"]);
    assert.equal(code, 2);
    assert.match(stderr, /SSEHUB_ERR_OPTIONS_INVALID: .*loopback addresses only/);
  });

  test("the command prints its help", async () => {
    const { code, stdout } = await runCommand(["--help"]);
    assert.equal(code, 0);
    assert.match(stdout, /Usage: ssehub bench <scenario>/);
  });
});
