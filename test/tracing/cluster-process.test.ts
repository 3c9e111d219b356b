/**
 * A trace across the workers of a real `ssehub serve --workers 2`: each process preloads an
 * OpenTelemetry SDK (NODE_OPTIONS=--import) whose exporter appends every span to a file as a
 * JSON line, with the pid of its process. A publish with a traceparent reaches both workers
 * through the primary; each worker's dispatch span is in the publisher's trace.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { SseReader } from "../helpers/sse-reader.js";
import { logLine, ssehub } from "../helpers/ssehub-process.js";
import { waitFor } from "../helpers/wait-for.js";

const TRACE_ID = "5bf92f3577b34da6a3ce929d0e0e4736";
const TRACEPARENT = `00-${TRACE_ID}-00f067aa0ba902b7-01`;

/** The preload: an SDK whose exporter writes one JSON line per span to SPANS_FILE. */
const PRELOAD = `
import { appendFileSync } from "node:fs";
import { trace } from "@opentelemetry/api";
import { BasicTracerProvider, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
const file = process.env.SPANS_FILE;
const exporter = {
  export(spans, done) {
    for (const span of spans) {
      appendFileSync(file, JSON.stringify({
        pid: process.pid,
        name: span.name,
        traceId: span.spanContext().traceId,
        spanId: span.spanContext().spanId,
        parentId: span.parentSpanContext?.spanId,
        attributes: span.attributes,
      }) + "\\n");
    }
    done({ code: 0 });
  },
  shutdown: async () => {},
};
trace.setGlobalTracerProvider(
  new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }),
);
`;

interface ExportedSpan {
  readonly pid: number;
  readonly name: string;
  readonly traceId: string;
  readonly spanId: string;
  readonly parentId?: string;
  readonly attributes: Record<string, unknown>;
}

function spansIn(file: string): ExportedSpan[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return [];
  }
  return text
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as ExportedSpan);
}

describe("tracing across the workers of ssehub serve --workers 2", () => {
  it("puts each worker's dispatch span in the publisher's trace", async (t) => {
    // Inside the package, so that the preload resolves the SDK from its node_modules.
    const preload = fileURLToPath(new URL("../../tracing-preload.mjs", import.meta.url));
    writeFileSync(preload, PRELOAD);
    const dir = mkdtempSync(join(tmpdir(), "ssehub-spans-"));
    t.after(() => {
      rmSync(preload, { force: true });
      rmSync(dir, { recursive: true, force: true });
    });
    const file = join(dir, "spans.jsonl");
    const run = ssehub(t, ["serve", "--port", "0", "--workers", "2"], {
      NODE_OPTIONS: `--import ${preload}`,
      SPANS_FILE: file,
    });
    const started = await logLine(run, (entry) => entry.msg?.startsWith("ssehub serving") === true);
    const url = String(started.url);
    const reader = await SseReader.open(`${url}/events?topic=t`);
    t.after(() => reader.close());
    const answer = await fetch(`${url}/publish`, {
      method: "POST",
      headers: { "content-type": "application/json", traceparent: TRACEPARENT },
      body: JSON.stringify({ topic: "t", data: "x" }),
    });
    assert.equal(answer.status, 200);
    await reader.waitForEvents(1);
    await waitFor(
      () => spansIn(file).filter((span) => span.name === "ssehub.dispatch").length === 2,
      "a dispatch span from each worker",
    );
    const spans = spansIn(file);
    const publish = spans.find((span) => span.name === "ssehub.publish");
    assert.ok(publish, JSON.stringify(spans));
    assert.equal(publish.traceId, TRACE_ID);
    const dispatches = spans.filter((span) => span.name === "ssehub.dispatch");
    assert.equal(new Set(dispatches.map((span) => span.pid)).size, 2, "two processes");
    for (const span of dispatches) {
      assert.equal(span.traceId, TRACE_ID);
      assert.equal(span.parentId, publish.spanId);
    }
    assert.deepEqual(
      dispatches.map((span) => span.attributes["ssehub.subscriber_count"]).sort(),
      [0, 1],
    );
  });
});
