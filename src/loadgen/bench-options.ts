/**
 * Options of a bench run: defaults per scenario, and one check of every field that reports all
 * problems in one SSEHUB_ERR_OPTIONS_INVALID error. `ssehub bench` maps its flags onto
 * BenchOptions; the library validates the same way.
 * @module
 */
import { SsehubError } from "../errors.js";
import { FAULT_NAMES, type FaultName, loopbackRedisEndpoint } from "./faults.js";
import type { ScenarioName } from "./result.js";
import { createTarget, type PublishBodyKind, type TargetName, type TargetSpec } from "./targets.js";

/** The scenarios, in the order `--help` lists them. */
export const SCENARIOS: readonly ScenarioName[] = [
  "idle",
  "fanout",
  "publish",
  "churn",
  "topics",
  "faults",
];

/** URLs one run spreads its subscribers over, at most. */
const MAX_URLS = 64;

/** Sockets one worker process holds at most: the open-files limit here is a hard 20,000. */
export const MAX_SOCKETS_PER_PROCESS = 18_000;
/**
 * Subscribers per source address by default. Every subscriber socket is bound to an explicit
 * local port from 10,000 to 65,535 (subscriber-pool.ts says why), 55,536 ports per address
 * shared by all workers; 25,000 leaves room for the TIME_WAIT ports of churn's reconnects.
 */
const SUBSCRIBERS_PER_SOURCE_ADDRESS = 25_000;

/** Defaults of every scenario. */
export const DEFAULTS = Object.freeze({
  target: "ssehub" as TargetName,
  url: "http://127.0.0.1:8080",
  holdSeconds: 10, // idle: seconds the subscribers stay connected
  durationSeconds: 10, // seconds of publishing
  sizeBytes: 100, // data of every event, in bytes
  connections: 16, // publish: keep-alive connections, one request in flight each
  reconnectRate: 100, // churn: reconnects per second
  ladderFactor: 1.5, // --ladder: rate multiplier per step
  ladderSteps: 20, // --ladder: steps at most
  p99BoundMs: 50, // --ladder: a step is clean while p99 <= this, in ms
  connectConcurrency: 256, // connects in flight at once, over all workers
  connectTimeoutMs: 10_000, // from connect() to the response head, in ms
  drainMs: 5000, // after publishing, wait up to this for late events, in ms
  maxFailedRatio: 0.01, // failed / attempted connections before the run fails
  faultIntervalMs: 8000, // faults: publishing window per fault, in ms
  pauseMs: 5000, // faults: pause-redis keeps Redis stopped this long, in ms
  faultsReconnectRate: 10, // faults: reconnects per second besides those the faults cause
  topicPrefix: "bench-", // every topic name starts with it
});

/** Per scenario: subscribers, events/s, topics, topics per subscriber. */
const SCENARIO_DEFAULTS: Readonly<
  Record<
    ScenarioName,
    { subscribers: number; rate: number; topics: number; topicsPerSubscriber: number }
  >
> = {
  idle: { subscribers: 1000, rate: 0, topics: 1, topicsPerSubscriber: 1 },
  fanout: { subscribers: 100, rate: 100, topics: 1, topicsPerSubscriber: 1 },
  publish: { subscribers: 10, rate: 0, topics: 1, topicsPerSubscriber: 1 },
  churn: { subscribers: 200, rate: 100, topics: 1, topicsPerSubscriber: 1 },
  topics: { subscribers: 1000, rate: 1000, topics: 100, topicsPerSubscriber: 2 },
  faults: { subscribers: 50, rate: 200, topics: 1, topicsPerSubscriber: 1 },
};

/** What a bench run may be given; every field but `scenario` has a default. */
export interface BenchOptions {
  readonly scenario: ScenarioName;
  /** The adapter. @default "ssehub" */
  readonly target?: TargetName | undefined;
  /** Base URL of the server; loopback only. @default "http://127.0.0.1:8080" */
  readonly url?: string | undefined;
  /**
   * Base URLs of several servers of one kind that share their events (the nodes of one hub on
   * Redis), instead of `url`; loopback only. Subscriber i connects to `urls[i mod n]`, every
   * reconnect moves a subscriber to the next URL, and the publishers publish to `urls[0]`.
   */
  readonly urls?: readonly string[] | undefined;
  /** custom target: subscribe URL template with `{topic}`. */
  readonly subscribeUrl?: string | undefined;
  /** custom target: publish URL template with `{topic}`. */
  readonly publishUrl?: string | undefined;
  /** custom target: publish body. @default "raw" */
  readonly publishBody?: PublishBodyKind | undefined;
  /**
   * Headers sent with every subscribe and publish request, such as `Authorization: Bearer
   * <jwt>` for a hub that wants tokens. Never in the result. @default {}
   */
  readonly headers?: Readonly<Record<string, string>> | undefined;
  /**
   * Server processes to measure (their descendants too); default: those listening on the port
   * of any of the URLs.
   */
  readonly serverPids?: readonly number[] | undefined;
  /** Subscribers to open. @default per scenario: 1000, 100, 10, 200, 1000 */
  readonly subscribers?: number | undefined;
  /** idle: seconds to hold the subscribers. @default 10 */
  readonly holdSeconds?: number | undefined;
  /** Events per second offered (fanout, churn, topics; the ladder's first step). */
  readonly rate?: number | undefined;
  /** Seconds of publishing (per ladder step). @default 10 */
  readonly durationSeconds?: number | undefined;
  /** Data size of every event, in bytes. @default 100 */
  readonly sizeBytes?: number | undefined;
  /** topics: how many topics. @default 100 */
  readonly topics?: number | undefined;
  /**
   * The start of every topic name; the run adds a fresh stamp and the topic's number, so an
   * earlier run's history is never replayed. @default "bench-"
   */
  readonly topicPrefix?: string | undefined;
  /** topics: topics per subscriber. @default 2 */
  readonly topicsPerSubscriber?: number | undefined;
  /** publish: keep-alive connections. @default 16 */
  readonly connections?: number | undefined;
  /** Connections of the rate publisher. @default min(topics, 4) */
  readonly publishers?: number | undefined;
  /** churn: reconnects per second. @default 100 */
  readonly reconnectRate?: number | undefined;
  /** fanout/topics: raise the rate by ladderFactor until a step is not clean. @default false */
  readonly ladder?: boolean | undefined;
  readonly ladderFactor?: number | undefined;
  readonly ladderSteps?: number | undefined;
  readonly p99BoundMs?: number | undefined;
  /** Worker processes. @default ceil(subscribers / 18,000) */
  readonly processes?: number | undefined;
  /** Source addresses 127.0.0.1 .. 127.0.0.N. @default ceil(subscribers / 25,000) */
  readonly sourceAddresses?: number | undefined;
  readonly connectConcurrency?: number | undefined;
  readonly connectTimeoutMs?: number | undefined;
  readonly drainMs?: number | undefined;
  /** The run fails when failed / attempted connections passes this. @default 0.01 */
  readonly maxFailedRatio?: number | undefined;
  /** The run fails when more deliveries are lost. @default 0 for churn, unchecked otherwise */
  readonly maxLost?: number | undefined;
  /** The run fails when more deliveries are duplicated. @default 0 for churn, unchecked otherwise */
  readonly maxDuplicated?: number | undefined;
  /** Parse every stream fully with SseParser too, not only one per worker. @default false */
  readonly verify?: boolean | undefined;
  /** faults: the faults to inject, in order. @default every one in FAULT_NAMES */
  readonly faults?: readonly FaultName[] | undefined;
  /** faults: publishing window per fault, in ms; the fault comes a quarter into it. */
  readonly faultIntervalMs?: number | undefined;
  /** faults: how long pause-redis keeps Redis stopped, in ms. @default 5000 */
  readonly pauseMs?: number | undefined;
  /** faults: the redis-server to pause or restart (it must listen on loopback). */
  readonly redisPid?: number | undefined;
  /** faults: the target's Redis (loopback); default: the server's own `--redis` URL. */
  readonly redisUrl?: string | undefined;
  /** faults: a shell command that starts Redis again after restart-redis killed it. */
  readonly redisRestartCommand?: string | undefined;
}

/** BenchOptions with every default applied, checked. */
export interface ResolvedBenchOptions {
  readonly scenario: ScenarioName;
  /** The target of the first URL: the publishers publish there. */
  readonly target: TargetSpec;
  /** One target per URL, in the order given; `targets[0]` is `target`. */
  readonly targets: readonly TargetSpec[];
  readonly serverPids: readonly number[] | null;
  readonly subscribers: number;
  readonly holdSeconds: number;
  readonly rate: number;
  readonly durationSeconds: number;
  readonly sizeBytes: number;
  readonly topics: number;
  readonly topicPrefix: string;
  readonly topicsPerSubscriber: number;
  readonly connections: number;
  readonly publishers: number;
  readonly reconnectRate: number;
  readonly ladder: boolean;
  readonly ladderFactor: number;
  readonly ladderSteps: number;
  readonly p99BoundMs: number;
  readonly processes: number;
  /** The addresses themselves; empty (IPv6 target): let the kernel choose. */
  readonly sourceAddresses: readonly string[];
  readonly connectConcurrency: number;
  readonly connectTimeoutMs: number;
  readonly drainMs: number;
  readonly maxFailedRatio: number;
  readonly maxLost: number | null;
  readonly maxDuplicated: number | null;
  readonly verify: boolean;
  readonly faults: readonly FaultName[];
  readonly faultIntervalMs: number;
  readonly pauseMs: number;
  readonly redisPid: number | null;
  readonly redisUrl: string | null;
  readonly redisRestartCommand: string | null;
}

/** Checks a number option and collects a problem when it is out of range. */
function check(
  problems: string[],
  name: string,
  value: number,
  min: number,
  max: number,
  integer = true,
): void {
  if (
    !Number.isFinite(value) ||
    (integer && !Number.isInteger(value)) ||
    value < min ||
    value > max
  ) {
    problems.push(
      `${name} must be ${integer ? "an integer" : "a number"} from ${min} to ${max}, got ${value}`,
    );
  }
}

/**
 * One TargetSpec per URL of `input` (`url`, or `urls`, or the default). Throws
 * SSEHUB_ERR_OPTIONS_INVALID when both are given, when `urls` is empty, too long or repeats a
 * URL, or when a custom target (whose templates replace the URL) is given several.
 */
function targetsOf(input: BenchOptions): TargetSpec[] {
  const name = input.target ?? DEFAULTS.target;
  const fail = (why: string): never => {
    throw new SsehubError(
      "SSEHUB_ERR_OPTIONS_INVALID",
      `Cannot run bench ${input.scenario}: ${why}`,
    );
  };
  if (input.url !== undefined && input.urls !== undefined) {
    fail("give url or urls, not both");
  }
  const urls = input.urls ?? [input.url ?? DEFAULTS.url];
  if (urls.length === 0) fail("urls must hold at least one URL");
  if (urls.length > MAX_URLS) fail(`urls must hold at most ${MAX_URLS} URLs, got ${urls.length}`);
  const repeated = urls.find((url, i) => urls.indexOf(url) !== i);
  if (repeated !== undefined) fail(`urls must differ: ${JSON.stringify(repeated)} is given twice`);
  if (name === "custom" && urls.length > 1) {
    fail("a custom target takes its URLs from --subscribe-url and --publish-url: give one url");
  }
  return urls.map((url) => ({
    name,
    url,
    subscribeUrl: input.subscribeUrl,
    publishUrl: input.publishUrl,
    publishBody: input.publishBody,
    headers: input.headers,
  }));
}

/**
 * Applies the defaults of `input.scenario` and checks every field. Throws one
 * SSEHUB_ERR_OPTIONS_INVALID naming every problem (and a non-loopback URL first of all).
 */
export function resolveBenchOptions(input: BenchOptions): ResolvedBenchOptions {
  const { scenario } = input;
  const defaults = SCENARIO_DEFAULTS[scenario];
  if (defaults === undefined) {
    throw new SsehubError(
      "SSEHUB_ERR_OPTIONS_INVALID",
      `Cannot run scenario ${JSON.stringify(scenario)}: choose one of ${SCENARIOS.join(", ")}`,
    );
  }
  const targets = targetsOf(input);
  const target = targets[0]!;
  // Throws for an unknown adapter or a URL off loopback, before anything else is looked at.
  const adapters = targets.map((spec) => createTarget(spec));
  const adapter = adapters[0]!;
  const problems: string[] = [];
  if (adapters.some((other) => other.subscribe.isIpv6 !== adapter.subscribe.isIpv6)) {
    problems.push("urls must all be IPv4 (127.0.0.0/8) or all IPv6 (::1), not both");
  }

  const subscribers = input.subscribers ?? defaults.subscribers;
  const topics = scenario === "topics" ? (input.topics ?? defaults.topics) : 1;
  const topicsPerSubscriber =
    scenario === "topics" ? (input.topicsPerSubscriber ?? defaults.topicsPerSubscriber) : 1;
  const processes =
    input.processes ?? Math.max(1, Math.ceil(subscribers / MAX_SOCKETS_PER_PROCESS));
  const sourceCount =
    input.sourceAddresses ?? Math.max(1, Math.ceil(subscribers / SUBSCRIBERS_PER_SOURCE_ADDRESS));

  check(problems, "subscribers", subscribers, scenario === "publish" ? 0 : 1, 1_000_000);
  check(problems, "processes", processes, 1, 64);
  if (
    Number.isInteger(processes) &&
    processes >= 1 &&
    subscribers / processes > MAX_SOCKETS_PER_PROCESS
  ) {
    problems.push(
      `processes must hold at most ${MAX_SOCKETS_PER_PROCESS} subscribers each (open-files limit): use at least ${Math.ceil(subscribers / MAX_SOCKETS_PER_PROCESS)} for ${subscribers}`,
    );
  }
  check(problems, "sourceAddresses", sourceCount, 1, 254);
  if (adapter.subscribe.isIpv6 && sourceCount > 1) {
    problems.push("sourceAddresses must be 1 for an IPv6 target: ::1 is the only loopback address");
  }
  const topicPrefix = input.topicPrefix ?? DEFAULTS.topicPrefix;
  if (typeof topicPrefix !== "string" || !/^[\x21-\x7e]{0,100}$/.test(topicPrefix)) {
    problems.push("topicPrefix must be at most 100 printable ASCII characters, without spaces");
  }
  const rate = input.rate ?? defaults.rate;
  if (
    scenario === "fanout" ||
    scenario === "churn" ||
    scenario === "topics" ||
    scenario === "faults"
  ) {
    check(problems, "rate", rate, 0.1, 1_000_000, false);
  }
  const holdSeconds = input.holdSeconds ?? DEFAULTS.holdSeconds;
  check(problems, "holdSeconds", holdSeconds, 0, 3600, false);
  const durationSeconds = input.durationSeconds ?? DEFAULTS.durationSeconds;
  check(problems, "durationSeconds", durationSeconds, 0.1, 3600, false);
  const sizeBytes = input.sizeBytes ?? DEFAULTS.sizeBytes;
  check(problems, "sizeBytes", sizeBytes, 1, 1_048_576);
  check(problems, "topics", topics, 1, 1_000_000);
  check(
    problems,
    "topicsPerSubscriber",
    topicsPerSubscriber,
    1,
    Math.min(topics, adapter.maxTopicsPerSubscriber),
  );
  const connections = input.connections ?? DEFAULTS.connections;
  check(problems, "connections", connections, 1, 1024);
  const publishers = input.publishers ?? Math.min(topics, 4);
  check(problems, "publishers", publishers, 1, 256);
  const reconnectRate =
    input.reconnectRate ??
    (scenario === "faults" ? DEFAULTS.faultsReconnectRate : DEFAULTS.reconnectRate);
  check(problems, "reconnectRate", reconnectRate, 0, 100_000, false);
  const ladder = input.ladder ?? false;
  if (ladder && scenario !== "fanout" && scenario !== "topics") {
    problems.push(`ladder applies to fanout and topics, not to ${scenario}`);
  }
  const ladderFactor = input.ladderFactor ?? DEFAULTS.ladderFactor;
  check(problems, "ladderFactor", ladderFactor, 1.01, 10, false);
  const ladderSteps = input.ladderSteps ?? DEFAULTS.ladderSteps;
  check(problems, "ladderSteps", ladderSteps, 1, 100);
  const p99BoundMs = input.p99BoundMs ?? DEFAULTS.p99BoundMs;
  check(problems, "p99BoundMs", p99BoundMs, 0.01, 600_000, false);
  const connectConcurrency = input.connectConcurrency ?? DEFAULTS.connectConcurrency;
  check(problems, "connectConcurrency", connectConcurrency, 1, 100_000);
  const connectTimeoutMs = input.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs;
  check(problems, "connectTimeoutMs", connectTimeoutMs, 1, 600_000);
  const drainMs = input.drainMs ?? DEFAULTS.drainMs;
  check(problems, "drainMs", drainMs, 0, 600_000);
  const maxFailedRatio = input.maxFailedRatio ?? DEFAULTS.maxFailedRatio;
  check(problems, "maxFailedRatio", maxFailedRatio, 0, 1, false);
  const maxLost = input.maxLost ?? (scenario === "churn" ? 0 : null);
  if (maxLost !== null) check(problems, "maxLost", maxLost, 0, Number.MAX_SAFE_INTEGER);
  const maxDuplicated = input.maxDuplicated ?? (scenario === "churn" ? 0 : null);
  if (maxDuplicated !== null)
    check(problems, "maxDuplicated", maxDuplicated, 0, Number.MAX_SAFE_INTEGER);
  const serverPids = input.serverPids ?? null;
  for (const pid of serverPids ?? []) check(problems, "serverPids", pid, 1, 2 ** 22);
  const faults = input.faults ?? FAULT_NAMES;
  const unknownFault = faults.find((fault) => !FAULT_NAMES.includes(fault));
  if (unknownFault !== undefined) {
    problems.push(
      `faults must name ${FAULT_NAMES.join(", ")}, got ${JSON.stringify(unknownFault)}`,
    );
  }
  if (faults.length === 0) problems.push("faults must name at least one fault");
  if (input.faults !== undefined && scenario !== "faults") {
    problems.push(`faults apply to the faults scenario, not to ${scenario}`);
  }
  const faultIntervalMs = input.faultIntervalMs ?? DEFAULTS.faultIntervalMs;
  check(problems, "faultIntervalMs", faultIntervalMs, 100, 600_000);
  const pauseMs = input.pauseMs ?? DEFAULTS.pauseMs;
  check(problems, "pauseMs", pauseMs, 1, 600_000);
  const redisPid = input.redisPid ?? null;
  if (redisPid !== null) check(problems, "redisPid", redisPid, 2, 2 ** 22);
  const redisUrl = input.redisUrl ?? null;
  if (redisUrl !== null) {
    try {
      loopbackRedisEndpoint(redisUrl);
    } catch (error) {
      problems.push((error as Error).message.replace(/^Cannot run bench faults: /, ""));
    }
  }
  const redisRestartCommand = input.redisRestartCommand ?? null;
  if (redisRestartCommand !== null && redisRestartCommand.trim() === "") {
    problems.push("redisRestartCommand must not be empty");
  }

  if (problems.length > 0) {
    throw new SsehubError(
      "SSEHUB_ERR_OPTIONS_INVALID",
      `Cannot run bench ${scenario}: ${problems.join("; ")}`,
      { details: { problems } },
    );
  }
  const sourceAddresses = adapter.subscribe.isIpv6
    ? []
    : Array.from({ length: sourceCount }, (_, i) => `127.0.0.${i + 1}`);
  return Object.freeze({
    scenario,
    target,
    targets: Object.freeze(targets),
    serverPids,
    subscribers,
    holdSeconds,
    rate,
    durationSeconds,
    sizeBytes,
    topics,
    topicPrefix,
    topicsPerSubscriber,
    connections,
    publishers,
    reconnectRate,
    ladder,
    ladderFactor,
    ladderSteps,
    p99BoundMs,
    processes: Math.min(processes, Math.max(1, subscribers)),
    sourceAddresses,
    connectConcurrency,
    connectTimeoutMs,
    drainMs,
    maxFailedRatio,
    maxLost,
    maxDuplicated,
    verify: input.verify ?? false,
    faults: Object.freeze([...faults]),
    faultIntervalMs,
    pauseMs,
    redisPid,
    redisUrl,
    redisRestartCommand,
  });
}
