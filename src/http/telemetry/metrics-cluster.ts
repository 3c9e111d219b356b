/**
 * One scrape for every worker of `ssehub serve --workers N`: the worker that takes the scrape
 * gathers every worker's registry (as `getMetricsAsJSON()`, through the primary: see the
 * `gather` option of HubMetrics) and merges them with prom-client's aggregation:
 * - a per-process figure (connections, streams by transport, the event loop, memory, every
 *   `process_*` and `nodejs_*` metric, the bus's connection state) keeps one series per worker,
 *   with a `worker` label (node:cluster's worker id);
 * - every other metric is merged by its `aggregator`: counters and hub gauges are summed; a
 *   figure every worker holds alike (events published, history, topics, per-topic event rates)
 *   takes the maximum.
 * `ssehub_worker_info{worker,pid}` names each worker that answered.
 * @module
 */
import type { Registry } from "prom-client";

/** A worker's answer to a gathering (see HubMetricsOptions.gather). */
export interface WorkerMetricsRow {
  readonly worker: number;
  readonly pid: number;
  readonly payload: unknown;
}

/** One metric as `Registry.getMetricsAsJSON()` gives it (the parts read here). */
interface MetricJson {
  readonly name: string;
  readonly help: string;
  readonly type: string;
  readonly aggregator: string;
  readonly values: readonly {
    readonly value: number;
    readonly labels: Readonly<Record<string, string | number>>;
    readonly metricName?: string;
  }[];
}

/** The metrics of one worker. */
type MetricsJson = readonly MetricJson[];

/** Metrics whose figure belongs to one process: one series per worker. */
const PER_WORKER_METRICS: ReadonlySet<string> = new Set([
  "ssehub_connections",
  "ssehub_streams",
  "ssehub_event_loop_delay_seconds",
  "ssehub_event_loop_utilization",
  "ssehub_process_memory_bytes",
  "ssehub_bus_connected",
  "ssehub_bus_lag_seconds",
]);

/** True for a metric with one series per worker (see the module comment). */
export function isPerWorkerMetric(name: string): boolean {
  return PER_WORKER_METRICS.has(name) || name.startsWith("process_") || name.startsWith("nodejs_");
}

/** `rows`' metrics as one registry (see the module comment). */
export function aggregateWorkers(
  prom: typeof import("prom-client"),
  rows: readonly WorkerMetricsRow[],
): Registry {
  const perWorker: MetricsJson[] = rows.map((row) =>
    (row.payload as MetricsJson).map((metric) =>
      isPerWorkerMetric(metric.name) ? labelWithWorker(metric, row.worker) : metric,
    ),
  );
  perWorker.push([
    {
      name: "ssehub_workers",
      help: "Workers that answered this scrape",
      type: "gauge",
      aggregator: "sum",
      values: [{ value: rows.length, labels: {} }],
    },
    {
      name: "ssehub_worker_info",
      help: "One series per worker that answered this scrape: its cluster id and pid",
      type: "gauge",
      aggregator: "sum",
      values: rows.map((row) => ({
        value: 1,
        labels: { worker: String(row.worker), pid: String(row.pid) },
      })),
    },
  ]);
  type Aggregated = Parameters<typeof prom.AggregatorRegistry.aggregate>[0];
  return prom.AggregatorRegistry.aggregate(perWorker as unknown as Aggregated);
}

function labelWithWorker(metric: MetricJson, worker: number): MetricJson {
  return {
    ...metric,
    // Each worker's series differ by their label now: summing leaves each as it was.
    aggregator: "sum",
    values: metric.values.map((value) => ({
      ...value,
      labels: { ...value.labels, worker: String(worker) },
    })),
  };
}
