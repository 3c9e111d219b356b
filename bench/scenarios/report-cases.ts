/**
 * The cases of the benchmark report (report.ts): the `ssehub bench` arguments of each, the
 * targets it runs against, and the figures its section tabulates, each read from an
 * `ssehub-bench/1` result.
 */
import type { Target } from "./report-targets.js";

/** A case: one `ssehub bench` command, run against every target it applies to. */
export interface Case {
  readonly name: string;
  /** The only targets that run it; all (but those limited to other cases) when not given. */
  readonly targets?: readonly string[];
  readonly title: string;
  readonly args: readonly string[];
  /**
   * A second `ssehub bench` command against the same target, started `backgroundSettleMs`
   * before the measured one (time for its subscribers to connect) and left to end by itself:
   * load the measured run must live with.
   */
  readonly background?: readonly string[];
  readonly backgroundSettleMs?: number;
  /** Figures to tabulate: label, how to read it from a result, unit, which way is better. */
  readonly figures: readonly Figure[];
  /** What the figures mean, where their labels cannot say it all; printed under the table. */
  readonly note?: string;
}

/** A figure of a case: label, how to read it from a result, which way is better, digits shown. */
export interface Figure {
  /**
   * The column header; also the key of the figure in imported results (report-results.ts), so
   * renaming it shows those rows as n/a until they are measured again.
   */
  readonly label: string;
  readonly read: (result: BenchJson) => number | null | undefined;
  readonly better: "higher" | "lower";
  readonly digits?: number;
}

/** The parts of an `ssehub-bench/1` result the report reads. */
export interface BenchJson {
  connections: { established: number; failed: number; connectRatePerSec: number };
  delivery: {
    deliveriesPerSec: number;
    lost: number;
    duplicated: number;
    reordered: number;
  } | null;
  latency: { p50Us: number; p99Us: number; maxUs: number } | null;
  publish: { ratePerSec: number; ok: number; latency: { p99Us: number } | null } | null;
  churn: { ratePerSec: number; reconnects: number } | null;
  ladder: { bestCleanRate: number | null; bestCleanDeliveriesPerSec: number | null } | null;
  server: {
    rssPerConnectionBytes: number | null;
    cpuMicrosPerDelivery: number | null;
    cpuSeconds: number;
    rssBytes: number;
  } | null;
  loadgen: { coreShare: number; rssPerConnectionBytes?: number | null } | null;
  /** idle only; absent from results of before it was measured. */
  kernel?: {
    slabPerConnectionBytes: number | null;
    tcpBufferPerConnectionBytes: number | null;
  } | null;
  /** `faults` only; absent from results of before the scenario existed. */
  faults?: {
    faults: readonly {
      fault: string;
      published: number;
      publishErrors: number;
      /** Since the split: of acknowledged publishes only; before, refused ones' too. */
      lost: number;
      /** Absent from results recorded before the split of `lost`. */
      refusedNotDelivered?: number;
      refusedDelivered?: number;
      duplicated: number;
      resets: number;
      recovery: { allSubscribersSeconds: number | null };
    }[];
  } | null;
}

const ms = (us: number | undefined | null): number | null => (us == null ? null : us / 1000);

/**
 * A fanout ladder: the rate doubles from `startRate` for at most 8 steps of 4 s while each step
 * is clean (no loss, p99 within `p99BoundMs`); the highest clean rate is the figure. A bound of
 * 50 ms is the latency target; a bound of 1 s measures throughput.
 */
function ladderCase(
  name: string,
  subscribers: number,
  startRate: number,
  p99BoundMs: number,
): Case {
  const throughput = p99BoundMs >= 1000;
  const count = subscribers.toLocaleString("en-US");
  const clean = throughput ? "loss-free" : "clean";
  return {
    name,
    title: throughput
      ? `fanout ladder: ${count} subscribers, highest loss-free rate with p99 <= 1 s (throughput, not latency)`
      : `fanout ladder: ${count} subscribers, highest clean rate (p99 <= ${p99BoundMs} ms, no loss)`,
    args: [
      "fanout",
      "--subscribers",
      String(subscribers),
      "--ladder",
      "--rate",
      String(startRate),
      "--ladder-factor",
      "2",
      "--ladder-steps",
      "8",
      ...(p99BoundMs === 50 ? [] : ["--p99-bound-ms", String(p99BoundMs)]),
      "--duration",
      "4",
      "--drain-ms",
      "1500",
    ],
    figures: [
      { label: `${clean} events/s`, read: (r) => r.ladder?.bestCleanRate, better: "higher" },
      {
        label: `${clean} deliveries/s`,
        read: (r) => r.ladder?.bestCleanDeliveriesPerSec,
        better: "higher",
      },
    ],
  };
}

/** Server CPU seconds per delivery, in µs: the fanout cases' measure of cost. */
const SERVER_CPU_PER_DELIVERY: Figure = {
  label: "server CPU µs/delivery",
  read: (r) => r.server?.cpuMicrosPerDelivery,
  better: "lower",
  digits: 2,
};

/** Server RSS above the empty baseline per connection: the idle cases' measure. */
const SERVER_RSS_PER_SUBSCRIBER: Figure = {
  label: "server RSS per subscriber (KiB)",
  read: (r) => (r.server?.rssPerConnectionBytes ?? NaN) / 1024,
  better: "lower",
  digits: 2,
};

/** The load tool's RSS above its baseline per subscriber. */
const LOADGEN_RSS_PER_SUBSCRIBER: Figure = {
  label: "load tool RSS per subscriber (KiB)",
  read: (r) => (r.loadgen?.rssPerConnectionBytes ?? NaN) / 1024,
  better: "lower",
  digits: 2,
};

/** The kernel's slab above its baseline per subscriber: both ends of its connection. */
const KERNEL_SLAB_PER_SUBSCRIBER: Figure = {
  label: "kernel slab per subscriber (KiB)",
  read: (r) => (r.kernel?.slabPerConnectionBytes ?? NaN) / 1024,
  better: "lower",
  digits: 2,
};

/** An idle case: `subscribers` held 5 s (10 s from 500,000 up); connects and memory per subscriber. */
function idleCase(name: string, subscribers: number, targets?: readonly string[]): Case {
  const hold = subscribers >= 500_000 ? "10" : "5";
  return {
    name,
    ...(targets === undefined ? {} : { targets }),
    title: `idle: ${subscribers.toLocaleString("en-US")} subscribers held ${hold} s`,
    args: ["idle", "--subscribers", String(subscribers), "--hold", hold],
    figures: [
      { label: "established", read: (r) => r.connections.established, better: "higher" },
      { label: "failed", read: (r) => r.connections.failed, better: "lower" },
      { label: "connects/s", read: (r) => r.connections.connectRatePerSec, better: "higher" },
      SERVER_RSS_PER_SUBSCRIBER,
      LOADGEN_RSS_PER_SUBSCRIBER,
      KERNEL_SLAB_PER_SUBSCRIBER,
    ],
    note: "Per subscriber, above each one's baseline before the first connect. The kernel's slab is machine-wide and counts both ends of each connection (server and load tool share the host); n/a where a result predates its measure.",
  };
}

/** A fanout of `rate` events/s to `subscribers` for 10 s: delivery, latency and server CPU. */
function fanoutCase(name: string, subscribers: number, rate: number): Case {
  const count = subscribers.toLocaleString("en-US");
  return {
    name,
    title: `fanout: ${count} subscribers, ${rate} events/s for 10 s`,
    args: [
      "fanout",
      "--subscribers",
      String(subscribers),
      "--rate",
      String(rate),
      "--duration",
      "10",
    ],
    figures: [
      { label: "deliveries/s", read: (r) => r.delivery?.deliveriesPerSec, better: "higher" },
      { label: "lost", read: (r) => r.delivery?.lost, better: "lower" },
      { label: "p50 ms", read: (r) => ms(r.latency?.p50Us), better: "lower", digits: 2 },
      { label: "p99 ms", read: (r) => ms(r.latency?.p99Us), better: "lower", digits: 2 },
      SERVER_CPU_PER_DELIVERY,
    ],
  };
}

/** The report of `fault` in a `faults` result, if it ran. */
function faultOf(result: BenchJson, fault: string) {
  return result.faults?.faults.find((report) => report.fault === fault);
}

/**
 * A count of the split of a fault's missing deliveries, from `report`. A result recorded before
 * the split has no refused counts and a `lost` that includes the refused publishes' events: it
 * still reads exactly when no publish was refused (then nothing is refused and all is lost);
 * otherwise the figure is unknown (n/a).
 */
function splitCount(
  report: ReturnType<typeof faultOf>,
  pick: "lost" | "refusedNotDelivered" | "refusedDelivered",
): number | undefined {
  if (report === undefined) return undefined;
  if (report.refusedNotDelivered !== undefined) return report[pick];
  if (report.publishErrors > 0) return undefined;
  return pick === "lost" ? report.lost : 0;
}

/**
 * A `faults` case: each fault in turn during a fanout of 200 events/s to 200 subscribers with
 * 10 reconnects/s, 8 s of publishing per fault (the fault 2 s in); per fault, what was lost,
 * duplicated, reset and refused, and when every subscriber had an event published after it.
 */
function faultsCase(name: string, targets: readonly string[], faults: readonly string[]): Case {
  return {
    name,
    targets,
    title: `faults: ${faults.join(", ")} during a fanout, 200 subscribers, 200 events/s, 10 reconnects/s`,
    args: [
      "faults",
      "--faults",
      faults.join(","),
      "--subscribers",
      "200",
      "--rate",
      "200",
      "--reconnect-rate",
      "10",
      "--fault-interval-ms",
      "8000",
      "--pause-ms",
      "5000",
    ],
    figures: faults.flatMap((fault): Figure[] => [
      {
        label: `${fault} lost (acknowledged)`,
        read: (r) => splitCount(faultOf(r, fault), "lost"),
        better: "lower",
      },
      {
        label: `${fault} refused`,
        read: (r) => splitCount(faultOf(r, fault), "refusedNotDelivered"),
        better: "lower",
      },
      {
        label: `${fault} refused but delivered`,
        read: (r) => splitCount(faultOf(r, fault), "refusedDelivered"),
        better: "lower",
      },
      {
        label: `${fault} duplicated`,
        read: (r) => faultOf(r, fault)?.duplicated,
        better: "lower",
      },
      { label: `${fault} resets`, read: (r) => faultOf(r, fault)?.resets, better: "lower" },
      {
        label: `${fault} publish errors`,
        read: (r) => faultOf(r, fault)?.publishErrors,
        better: "lower",
      },
      {
        label: `${fault} recovered (s)`,
        read: (r) => faultOf(r, fault)?.recovery.allSubscribersSeconds,
        better: "lower",
        digits: 2,
      },
    ]),
    note:
      "Deliveries, counted per subscriber. lost (acknowledged): owed by publishes answered 2xx, " +
      "never received; refused: of publishes refused (non-2xx, connection closed), never " +
      "received; refused but delivered: of refused publishes, received all the same (the " +
      "server applied them). Results recorded before this split counted both in lost: where " +
      "a publish was refused, those show n/a.",
  };
}

/** What the cases with a background load read of the small topic's subscribers. */
const SMALL_TOPIC_FIGURES: readonly Figure[] = [
  { label: "established", read: (r) => r.connections.established, better: "higher" },
  { label: "lost", read: (r) => r.delivery?.lost, better: "lower" },
  { label: "p50 ms", read: (r) => ms(r.latency?.p50Us), better: "lower", digits: 2 },
  { label: "p99 ms", read: (r) => ms(r.latency?.p99Us), better: "lower", digits: 2 },
  { label: "max ms", read: (r) => ms(r.latency?.maxUs), better: "lower", digits: 1 },
];

/** Every case, in the order of the page. */
export const CASES: readonly Case[] = [
  {
    name: "idle-10k",
    title: "idle: 10,000 subscribers held 5 s",
    args: ["idle", "--subscribers", "10000", "--hold", "5"],
    figures: [
      { label: "established", read: (r) => r.connections.established, better: "higher" },
      { label: "connects/s", read: (r) => r.connections.connectRatePerSec, better: "higher" },
      SERVER_RSS_PER_SUBSCRIBER,
    ],
  },
  idleCase("idle-100k", 100_000, ["ssehub-w6", "ssehub-w6-young2", "ssehub-w6-node24"]),
  idleCase("idle-500k", 500_000, ["ssehub-w28"]),
  fanoutCase("latency-1k-100", 1000, 100),
  fanoutCase("cpu-1k-50", 1000, 50),
  {
    name: "cpu-10k-50",
    title: "fanout: 10,000 subscribers, 50 events/s for 10 s",
    args: ["fanout", "--subscribers", "10000", "--rate", "50", "--duration", "10"],
    figures: [
      { label: "deliveries/s", read: (r) => r.delivery?.deliveriesPerSec, better: "higher" },
      { label: "lost", read: (r) => r.delivery?.lost, better: "lower" },
      { label: "p99 ms", read: (r) => ms(r.latency?.p99Us), better: "lower", digits: 1 },
      SERVER_CPU_PER_DELIVERY,
      { label: "load tool cores", read: (r) => r.loadgen?.coreShare, better: "lower", digits: 2 },
    ],
    note: 'What seeing inside costs: ssehub (1 process) runs the stall watcher (its default, `--stall-threshold-ms 100`); "stall watcher off" is the same without it; "every publish traced" adds an OpenTelemetry SDK, so that every publish, its ordering and its fan-out are recorded as spans. The three differ by less than the spread of their runs.',
  },
  ladderCase("ladder-1k", 1000, 25, 50),
  ladderCase("ladder-10k", 10000, 5, 50),
  ladderCase("throughput-1k", 1000, 100, 1000),
  ladderCase("throughput-10k", 10000, 10, 1000),
  {
    name: "topics-100",
    title: "topics: 1,000 subscribers over 100 topics (one each), 1,000 events/s spread, 10 s",
    args: [
      "topics",
      "--subscribers",
      "1000",
      "--topics",
      "100",
      "--topics-per-subscriber",
      "1",
      "--rate",
      "1000",
      "--duration",
      "10",
    ],
    figures: [
      { label: "deliveries/s", read: (r) => r.delivery?.deliveriesPerSec, better: "higher" },
      { label: "lost", read: (r) => r.delivery?.lost, better: "lower" },
      { label: "p99 ms", read: (r) => ms(r.latency?.p99Us), better: "lower", digits: 2 },
      SERVER_CPU_PER_DELIVERY,
    ],
  },
  {
    name: "publish-10",
    title: "publish: 16 keep-alive connections, 10 subscribers attached, 10 s",
    args: ["publish", "--subscribers", "10", "--duration", "10"],
    figures: [
      { label: "publishes/s", read: (r) => r.publish?.ratePerSec, better: "higher" },
      { label: "p99 ms", read: (r) => ms(r.publish?.latency?.p99Us), better: "lower", digits: 2 },
    ],
  },
  {
    name: "publish-disk",
    targets: ["ssehub", "ssehub-disk", "ssehub-disk-sync0"],
    title:
      "publish with history on disk: 16 keep-alive connections, 10 subscribers attached, 10 s; history in memory, in a data directory, and in one forced to disk before each answer",
    args: ["publish", "--subscribers", "10", "--duration", "10"],
    figures: [
      { label: "publishes/s", read: (r) => r.publish?.ratePerSec, better: "higher" },
      { label: "p99 ms", read: (r) => ms(r.publish?.latency?.p99Us), better: "lower", digits: 2 },
      {
        label: "server CPU µs/publish",
        read: (r) =>
          r.server !== null && r.publish !== null && r.publish.ok > 0
            ? (r.server.cpuSeconds * 1e6) / r.publish.ok
            : undefined,
        better: "lower",
        digits: 1,
      },
    ],
  },
  {
    name: "churn-1000",
    title: "churn: 1,000 subscribers, 1,000 reconnects/s with Last-Event-ID, 100 events/s, 10 s",
    args: [
      "churn",
      "--subscribers",
      "1000",
      "--reconnect-rate",
      "1000",
      "--rate",
      "100",
      "--duration",
      "10",
      "--max-lost",
      "1000000000",
      "--max-duplicated",
      "1000000000",
    ],
    figures: [
      { label: "reconnects/s", read: (r) => r.churn?.ratePerSec, better: "higher" },
      { label: "lost", read: (r) => r.delivery?.lost, better: "lower" },
      { label: "duplicated", read: (r) => r.delivery?.duplicated, better: "lower" },
    ],
  },
  {
    name: "priority-10k",
    targets: ["ssehub", "ssehub-priority", "nchan", "better-sse"],
    title:
      "priority: 100 subscribers of one topic at 10 events/s while 10,000 subscribers of another take 100 events/s",
    background: [
      "fanout",
      "--subscribers",
      "10000",
      "--rate",
      "100",
      "--duration",
      "30",
      "--topic-prefix",
      "bulk-",
    ],
    args: [
      "fanout",
      "--subscribers",
      "100",
      "--rate",
      "10",
      "--duration",
      "10",
      "--topic-prefix",
      "alerts-",
    ],
    figures: SMALL_TOPIC_FIGURES,
    note: "The figures are those of the 100 subscribers of the small topic (`alerts-...`), measured while a second `ssehub bench fanout` (10,000 subscribers of `bulk-...`, 100 events/s, shown as the background command) loads the server. ssehub (priority topics) serves with `--priority-topics alerts-*`; the others have no priority topics. established: of the 100 small-topic subscribers, which connect once the background load runs (better-sse, saturated by it, accepted none within the 10 s connect timeout).",
  },
  {
    name: "responsiveness-30k",
    targets: ["ssehub-w2", "ssehub-w4", "nchan"],
    title:
      "responsiveness: 10 subscribers of one topic at 20 events/s while 30,000 subscribers of another take 5 events/s",
    background: [
      "fanout",
      "--subscribers",
      "30000",
      "--rate",
      "5",
      "--duration",
      "40",
      "--topic-prefix",
      "bulk-",
    ],
    backgroundSettleMs: 20_000,
    args: [
      "fanout",
      "--subscribers",
      "10",
      "--rate",
      "20",
      "--duration",
      "10",
      "--topic-prefix",
      "probe-",
    ],
    figures: SMALL_TOPIC_FIGURES,
    note: "Whether a large fan-out holds the loop hostage: publish to delivery of a small topic (`probe-...`, 10 subscribers, 20 events/s) while a second `ssehub bench fanout` sends 5 events/s to 30,000 subscribers of `bulk-...` (the background command; one process holds at most ~19,900 sockets, so ssehub runs with workers). No priority topics: slicing lets requests, heartbeats and new subscribers through between slices, but a flush walks its topics in turn, so the small topic's events wait behind the big one's (priority topics are for that, see the priority case). On this 2-core machine the background load and its load tool saturate both cores, so these figures include waiting for a core.",
  },
  faultsCase("faults-workers", ["ssehub-w2"], ["kill-worker"]),
  faultsCase("faults-redis", ["ssehub-redis-2"], ["pause-redis", "restart-redis"]),
];

/** True when `target` runs `testCase` (see Case.targets and Target.cases). */
export function applies(target: Target, testCase: Case): boolean {
  return (
    (testCase.targets === undefined || testCase.targets.includes(target.name)) &&
    (target.cases === undefined || target.cases.includes(testCase.name))
  );
}

/** The arguments of `ssehub bench` for a case against a target, as the page shows them. */
export function benchArgs(
  target: Target,
  testCase: Case,
  args: readonly string[] = testCase.args,
): string[] {
  return [
    "bench",
    ...args,
    "--target",
    target.adapter,
    ...target.ports.flatMap((port) => ["--url", `http://127.0.0.1:${port}`]),
  ];
}
