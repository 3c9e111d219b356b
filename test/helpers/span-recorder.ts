/**
 * An OpenTelemetry SDK registered for one test, with no collector: spans end up in memory,
 * where the test reads them. Unregistered when the test ends.
 */
import type { TestContext } from "node:test";
import { trace } from "@opentelemetry/api";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";

/** The spans ended so far, read back by name. */
export class SpanRecorder {
  readonly #exporter: InMemorySpanExporter;

  constructor(exporter: InMemorySpanExporter) {
    this.#exporter = exporter;
  }

  /** Every span ended so far, in the order they ended. */
  spans(): ReadableSpan[] {
    return this.#exporter.getFinishedSpans();
  }

  /** The spans called `name`. */
  named(name: string): ReadableSpan[] {
    return this.spans().filter((span) => span.name === name);
  }
}

/** Registers an SDK exporting to memory until `t` ends. */
export function recordSpans(t: TestContext): SpanRecorder {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  trace.disable();
  assertRegistered(trace.setGlobalTracerProvider(provider));
  t.after(async () => {
    trace.disable();
    await provider.shutdown();
  });
  return new SpanRecorder(exporter);
}

function assertRegistered(registered: boolean): void {
  if (!registered)
    throw new Error("Cannot register the tracer provider: another one is registered");
}

/** The parent span id of `span`, if it has a parent. */
export function parentIdOf(span: ReadableSpan): string | undefined {
  return span.parentSpanContext?.spanId;
}
