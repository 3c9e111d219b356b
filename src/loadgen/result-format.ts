/**
 * The text and CSV forms of a BenchResult (result.ts), as nats.js `Metric.toString()` and
 * `toCsv()`: a table per section for people, one row per run for spreadsheets and scripts.
 * @module
 */
import { formatFaultsText } from "./fault-format.js";
import { perConnectionText } from "./per-connection.js";
import type { BenchResult, LatencySummary } from "./result.js";

function num(value: number, digits = 0): string {
  return value.toLocaleString("en-US", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

function ms(us: number): string {
  return `${(us / 1000).toFixed(us < 10_000 ? 2 : 1)} ms`;
}

/** `, text`, or nothing for no text. */
function withComma(text: string): string {
  return text === "" ? "" : `, ${text}`;
}

function kib(bytes: number): string {
  return `${(bytes / 1024).toFixed(2)} KiB`;
}

function latencyLine(latency: LatencySummary | null): string {
  if (latency === null) return "no samples";
  return `p50 ${ms(latency.p50Us)}  p90 ${ms(latency.p90Us)}  p99 ${ms(latency.p99Us)}  max ${ms(latency.maxUs)}  (${num(latency.count)} samples)`;
}

function table(title: string, rows: readonly (readonly [string, string])[]): string {
  const width = Math.max(...rows.map(([name]) => name.length));
  return [title, ...rows.map(([name, value]) => `  ${name.padEnd(width)}  ${value}`)].join("\n");
}

/** The human form of a result: one table per section that applies. */
export function formatResultText(result: BenchResult): string {
  const sections: string[] = [];
  const c = result.connections;
  const urls = result.target.urls;
  const urlRows: [string, string][] =
    urls.length < 2
      ? []
      : [
          [
            "urls",
            urls
              .map(
                (url, i) =>
                  `${url} (${num(c.establishedByUrl[i] ?? 0)} subscribers${i === 0 ? ", publishes" : ""})`,
              )
              .join(", "),
          ],
        ];
  sections.push(
    table(
      `ssehub bench ${result.scenario}: ${result.target.adapter} at ${urls.length < 2 ? result.target.url : `${urls.length} URLs`} (${num(result.wallSeconds, 1)} s)`,
      [
        ...urlRows,
        [
          "machine",
          `${result.machine.cpus} cpus, load average ${result.machine.loadAverageStart.toFixed(2)} -> ${result.machine.loadAverageEnd.toFixed(2)}${result.machine.loadAverageStart > result.machine.cpus ? "  (busy: figures not trustworthy)" : ""}`,
        ],
        ["subscribers", `${num(c.established)} established of ${num(c.attempted)}`],
        [
          "failed",
          `${num(c.failed)} (${(c.failedRatio * 100).toFixed(2)}%)${Object.keys(c.errors).length > 0 ? `  ${JSON.stringify(c.errors)}` : ""}`,
        ],
        ["dropped by server", num(c.dropped)],
        ["connect rate", `${num(c.connectRatePerSec)} /s over ${num(c.connectSeconds, 2)} s`],
        ["connect latency", latencyLine(c.connectLatency)],
        [
          "kernel",
          c.listenOverflows === null
            ? "-"
            : `${num(c.listenOverflows)} listen queue overflows, ${num(c.synRetransmits ?? 0)} SYN retransmits (machine-wide)`,
        ],
      ],
    ),
  );
  const d = result.delivery;
  if (d !== null) {
    sections.push(
      table("Delivery", [
        [
          "published",
          `${num(d.published)} events, ${num(d.publishedRatePerSec)} /s${d.offeredRatePerSec === null ? "" : ` (offered ${num(d.offeredRatePerSec)} /s)`}, ${num(d.publishErrors)} errors`,
        ],
        [
          "deliveries",
          `${num(d.delivered)} of ${num(d.expected)} owed, ${num(d.deliveriesPerSec)} /s${d.offeredDeliveriesPerSec === null ? "" : ` (offered ${num(d.offeredDeliveriesPerSec)} /s)`}`,
        ],
        ["lost", num(d.lost)],
        // Only when a publish was refused: other runs read as before.
        ...(d.refusedNotDelivered > 0 || d.refusedDelivered > 0
          ? [
              [
                "refused publishes",
                `${num(d.refusedNotDelivered)} deliveries missing, ${num(d.refusedDelivered)} delivered anyway`,
              ] as [string, string],
            ]
          : []),
        ["duplicated", num(d.duplicated)],
        ["reordered", num(d.reordered)],
        ["foreign events", num(d.foreign)],
        ["latency", latencyLine(result.latency)],
      ]),
    );
  }
  const p = result.publish;
  if (p !== null) {
    sections.push(
      table("Publish", [
        ["rate", `${num(p.ratePerSec)} /s over ${p.connections} keep-alive connections`],
        ["requests", `${num(p.requests)}: ${num(p.ok)} ok, ${num(p.errors)} errors`],
        ["status codes", JSON.stringify(p.statusCodes)],
        ["latency", latencyLine(p.latency)],
      ]),
    );
  }
  const ch = result.churn;
  if (ch !== null) {
    sections.push(
      table("Churn", [
        [
          "reconnects",
          `${num(ch.reconnects)}, ${num(ch.ratePerSec)} /s (asked ${num(ch.targetRatePerSec)} /s)`,
        ],
        [
          "failed reconnects",
          `${num(ch.failedReconnects)}${Object.keys(ch.errors).length > 0 ? `  ${JSON.stringify(ch.errors)}` : ""}`,
        ],
        ["reconnect latency", latencyLine(ch.reconnectLatency)],
      ]),
    );
  }
  if (result.faults !== null) sections.push(formatFaultsText(result.faults));
  const l = result.ladder;
  if (l !== null) {
    const rows: [string, string][] = l.steps.map((step) => [
      `${num(step.rate)} /s`,
      `${num(step.deliveriesPerSec)} deliveries/s, p99 ${step.p99Us === null ? "-" : ms(step.p99Us)}, lost ${num(step.lost)}${step.clean ? "  clean" : `  ${step.reasons.join("; ")}`}`,
    ]);
    rows.push([
      "best clean rate",
      l.bestCleanRate === null
        ? "none"
        : `${num(l.bestCleanRate)} events/s (${num(l.bestCleanDeliveriesPerSec ?? 0)} deliveries/s)`,
    ]);
    sections.push(table(`Ladder (x${l.factor}, p99 bound ${l.p99BoundMs} ms)`, rows));
  }
  const s = result.server;
  sections.push(
    s === null
      ? "Server\n  not measured (give --server-pid, or run the server on the URL's port as this user)"
      : table(`Server (pids ${s.pids.join(",")})`, [
          [
            "RSS",
            `${kib(s.rssBytes)} (baseline ${kib(s.rssBaselineBytes)})${withComma(perConnectionText(s.rssPerConnectionBytes, result.connections.established, kib))}`,
          ],
          [
            "CPU",
            `${num(s.cpuSeconds, 2)} s over ${num(s.windowSeconds, 2)} s${s.cpuMicrosPerDelivery === null ? "" : `, ${num(s.cpuMicrosPerDelivery, 2)} µs per delivery`}`,
          ],
          ["CPU to connect", `${num(s.connectCpuSeconds, 2)} s`],
        ]),
  );
  const g = result.loadgen;
  sections.push(
    table("Load tool", [
      ["processes", `${g.processes} workers + controller, from ${g.sourceAddresses.join(", ")}`],
      [
        "CPU",
        `${num(g.cpuSeconds, 2)} s = ${num(g.coreShare * 100)}% of a core; busiest process ${num(g.busiestProcessCoreShare * 100)}%`,
      ],
      [
        "CPU to connect",
        `${num(g.connectCpuSeconds, 2)} s; busiest process ${num(g.connectBusiestProcessCoreShare * 100)}%`,
      ],
      [
        "event-loop delay",
        g.eventLoopDelayP99Ms === null
          ? "-"
          : `p99 ${num(g.eventLoopDelayP99Ms, 1)} ms (worst worker)`,
      ],
      [
        "RSS",
        g.rssBytes === null
          ? "-"
          : `${kib(g.rssBytes)}${withComma(perConnectionText(g.rssPerConnectionBytes, result.connections.established, kib))}`,
      ],
    ]),
  );
  const k = result.kernel;
  if (k !== null) {
    const per = (bytes: number | null): string => (bytes === null ? "-" : kib(bytes));
    sections.push(
      table("Kernel (whole machine, both ends of each connection)", [
        [
          "slab",
          `${kib(k.sample.slabBytes)}, ${per(k.slabPerConnectionBytes)} per connection (unreclaimable ${per(k.slabUnreclaimablePerConnectionBytes)})`,
        ],
        [
          "TCP buffers",
          `${kib(k.sample.tcpBufferBytes)}, ${per(k.tcpBufferPerConnectionBytes)} per connection`,
        ],
        [
          "TCP sockets",
          `${num(k.sample.tcpSockets)} in use, ${num(k.sample.tcpTimeWait)} in TIME_WAIT`,
        ],
      ]),
    );
  }
  const v = result.verify;
  if (v !== null) {
    sections.push(
      table("Verify", [
        [
          "full parse",
          `${v.mode}: ${num(v.subscribers)} subscribers, ${num(v.events)} events, ${num(v.mismatches)} mismatches`,
        ],
      ]),
    );
  }
  const t = result.thresholds;
  sections.push(
    t.passed ? "Result: passed" : `Result: FAILED\n${t.failures.map((f) => `  - ${f}`).join("\n")}`,
  );
  return `${sections.join("\n\n")}\n`;
}

/** The CSV columns, in order. */
const CSV_COLUMNS = [
  "scenario",
  "adapter",
  "url",
  "startedAt",
  "subscribers",
  "established",
  "failed",
  "dropped",
  "connectRatePerSec",
  "offeredRatePerSec",
  "published",
  "publishedRatePerSec",
  "delivered",
  "deliveriesPerSec",
  "offeredDeliveriesPerSec",
  "lost",
  "duplicated",
  "reordered",
  "p50Us",
  "p90Us",
  "p99Us",
  "maxUs",
  "publishRatePerSec",
  "publishP99Us",
  "reconnects",
  "ladderBestCleanRate",
  "serverRssPerConnectionBytes",
  "serverCpuSeconds",
  "serverCpuMicrosPerDelivery",
  "loadgenCpuSeconds",
  "loadgenBusiestProcessCoreShare",
  "passed",
  // Added after the first columns: every URL, space-separated (one with a single URL).
  "urls",
] as const;

function csvCell(value: string | number | boolean | null | undefined): string {
  if (value === null || value === undefined) return "";
  const text = typeof value === "number" ? String(Math.round(value * 1000) / 1000) : String(value);
  return /[",\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** The CSV header line, without a line break. */
export function csvHeader(): string {
  return CSV_COLUMNS.join(",");
}

/** One CSV row for `result`, in the order of csvHeader(), without a line break. */
export function formatResultCsv(result: BenchResult): string {
  const d = result.delivery;
  const row: Record<(typeof CSV_COLUMNS)[number], string | number | boolean | null | undefined> = {
    scenario: result.scenario,
    adapter: result.target.adapter,
    url: result.target.url,
    startedAt: result.startedAt,
    subscribers: result.connections.attempted,
    established: result.connections.established,
    failed: result.connections.failed,
    dropped: result.connections.dropped,
    connectRatePerSec: result.connections.connectRatePerSec,
    offeredRatePerSec: d?.offeredRatePerSec,
    published: d?.published,
    publishedRatePerSec: d?.publishedRatePerSec,
    delivered: d?.delivered,
    deliveriesPerSec: d?.deliveriesPerSec,
    offeredDeliveriesPerSec: d?.offeredDeliveriesPerSec,
    lost: d?.lost,
    duplicated: d?.duplicated,
    reordered: d?.reordered,
    p50Us: result.latency?.p50Us,
    p90Us: result.latency?.p90Us,
    p99Us: result.latency?.p99Us,
    maxUs: result.latency?.maxUs,
    publishRatePerSec: result.publish?.ratePerSec,
    publishP99Us: result.publish?.latency?.p99Us,
    reconnects: result.churn?.reconnects,
    ladderBestCleanRate: result.ladder?.bestCleanRate,
    serverRssPerConnectionBytes: result.server?.rssPerConnectionBytes,
    serverCpuSeconds: result.server?.cpuSeconds,
    serverCpuMicrosPerDelivery: result.server?.cpuMicrosPerDelivery,
    loadgenCpuSeconds: result.loadgen.cpuSeconds,
    loadgenBusiestProcessCoreShare: result.loadgen.busiestProcessCoreShare,
    passed: result.thresholds.passed,
    urls: result.target.urls.join(" "),
  };
  return CSV_COLUMNS.map((column) => csvCell(row[column])).join(",");
}
