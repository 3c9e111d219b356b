// Registers a real OpenTelemetry SDK in the process that loads it (`node --import`), with an
// exporter that drops what it is handed: the benchmark measures what recording spans costs the
// hub (every publish, ordering and fan-out traced), not a collector's network. The batch
// processor is the one an operator would run in production.
import { trace } from "@opentelemetry/api";
import { BasicTracerProvider, BatchSpanProcessor } from "@opentelemetry/sdk-trace-base";

/** Takes every batch of spans and drops it, as a collector reached at no cost would. */
const discard = {
  export(_spans, resultCallback) {
    resultCallback({ code: 0 });
  },
  shutdown() {
    return Promise.resolve();
  },
};

trace.setGlobalTracerProvider(
  new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(discard)] }),
);
