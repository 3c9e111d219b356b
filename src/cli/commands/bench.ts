/**
 * `ssehub bench <scenario>`: runs one load scenario against ssehub or another SSE server on
 * loopback, and prints the result as a table, as JSON (`--json`) or as CSV (`--csv`).
 * @module
 */
import { parseArgs } from "node:util";
import { isSsehubError } from "../../errors.js";
import { runBench } from "../../loadgen/bench.js";
import { type BenchOptions, DEFAULTS, SCENARIOS } from "../../loadgen/bench-options.js";
import { FAULT_NAMES, type FaultName } from "../../loadgen/faults.js";
import type { ScenarioName } from "../../loadgen/result.js";
import { csvHeader, formatResultCsv, formatResultText } from "../../loadgen/result-format.js";
import { type PublishBodyKind, TARGET_NAMES, type TargetName } from "../../loadgen/targets.js";
import {
  CREDENTIAL_OPTIONS,
  CredentialError,
  credentialHeaders,
  credentialUsage,
} from "../hub-credentials.js";

const USAGE = `Usage: ssehub bench <scenario> [options]

Runs a load scenario against an SSE server on this machine (loopback addresses only) and
prints what it measured. Stops by itself; closes every socket it opened.

Scenarios:
  idle      N subscribers held H seconds: connect rate, failures, server RSS per connection
            (start the server fresh for this one: RSS left by an earlier run skews it)
  fanout    S subscribers on one topic, R events/s for T seconds: deliveries/s, loss,
            duplicates, reordering, latency p50/p90/p99/max, server CPU per delivery
  publish   keep-alive POSTs as fast as the server answers over K connections, with
            subscribers attached: publishes/s and latency
  churn     reconnects per second with Last-Event-ID while publishing: zero loss required
  topics    many topics, each subscriber on M of them, publishing spread over topics
  faults    a fanout with churn while faults are injected one after another: per fault,
            events published, delivered, lost, duplicated, reordered, ssehub-reset
            notices by reason, publish errors by status, and time to recover

Target:
  --target NAME              ${TARGET_NAMES.join(" | ")} (default ${DEFAULTS.target})
  --url URL                  base URL of the server (default ${DEFAULTS.url}); repeat
                             it for several nodes of one hub (ssehub serve --redis), all
                             of the --target kind: subscriber i connects to URL i mod n,
                             every reconnect (churn) moves a subscriber to the next URL,
                             and the publishers publish to the first URL only
  --subscribe-url TEMPLATE   custom: e.g. http://127.0.0.1:9000/sse/{topic}
  --publish-url TEMPLATE     custom: e.g. http://127.0.0.1:9000/pub/{topic}
  --publish-body KIND        custom: raw | ssehub-json (default raw)
${credentialUsage(29)}
                             both go with every subscribe and publish request
  --server-pid PID           a server process to measure, with its children; repeat for
                             more (default: the processes listening on the port of any
                             of the URLs, added up)

Load:
  --subscribers N            subscribers (default: idle 1000, fanout 100, publish 10,
                             churn 200, topics 1000)
  --hold S                   idle: seconds to hold them (default ${DEFAULTS.holdSeconds})
  --rate R                   events per second (default: fanout 100, churn 100, topics 1000)
  --duration S               seconds of publishing, per ladder step (default ${DEFAULTS.durationSeconds})
  --size BYTES               data size of every event (default ${DEFAULTS.sizeBytes})
  --topics N                 topics: number of topics (default 100)
  --topics-per-subscriber M  topics: topics each subscriber follows (default 2)
  --topic-prefix P           every topic name starts with P, then a stamp of the run
                             (default ${DEFAULTS.topicPrefix}; e.g. a hub's --priority-topics)
  --connections K            publish: keep-alive connections (default ${DEFAULTS.connections})
  --publishers K             connections of the rate publisher (default: min(topics, 4))
  --reconnect-rate C         churn: reconnects per second (default ${DEFAULTS.reconnectRate})
  --ladder                   fanout/topics: raise the rate step by step until p99 passes
                             the bound or loss appears; report the highest clean rate
  --ladder-factor F          rate multiplier per step (default ${DEFAULTS.ladderFactor})
  --ladder-steps N           steps at most (default ${DEFAULTS.ladderSteps})
  --p99-bound-ms MS          p99 latency bound of a clean step (default ${DEFAULTS.p99BoundMs})

Faults (the faults scenario; each is refused before the run when the target lacks it):
  --faults LIST              which faults, comma-separated, in order (default: all):
                             kill-worker    SIGKILL one worker of ssehub serve --workers N
                             pause-redis    SIGSTOP redis-server for --pause-ms, then SIGCONT
                             restart-redis  SIGKILL redis-server, start it again on the same
                                            address and port without persistence
  --fault-interval-ms MS     publishing window per fault, the fault a quarter in (default
                             ${DEFAULTS.faultIntervalMs}; pause-redis adds the pause)
  --pause-ms MS              pause-redis: how long Redis stays stopped (default ${DEFAULTS.pauseMs})
  --redis-url URL            the target's Redis, redis://127.x.y.z:port (default: the
                             server's own --redis); its redis-server is found by the port
  --redis-pid PID            the redis-server to act on (it must listen on that port)
  --redis-restart-command C  restart-redis: start Redis with this shell command instead
  Faults signal only processes found listening on loopback ports of the target: the
  children (workers) of the server's primary, and the redis-server of the Redis port.
  Never the primary itself, never the load tool, never any other process.
  (churn's --reconnect-rate defaults to ${DEFAULTS.faultsReconnectRate}/s here; drops reconnect at once)

Load tool:
  --processes N              worker processes holding the subscribers
                             (default: one per 18,000 subscribers)
  --source-addresses N       connect from 127.0.0.1 .. 127.0.0.N
                             (default: one per 25,000 subscribers)
  --connect-concurrency N    connects in flight at once (default ${DEFAULTS.connectConcurrency})
  --connect-timeout-ms MS    (default ${DEFAULTS.connectTimeoutMs})
  --drain-ms MS              wait for late events after publishing (default ${DEFAULTS.drainMs})
  --verify                   parse every stream fully with the SSE parser too (slower)

Thresholds (exit status 1 when passed):
  --max-failed-ratio X       failed / attempted connections (default ${DEFAULTS.maxFailedRatio})
  --max-lost N               lost deliveries (default: 0 for churn, unchecked otherwise)
  --max-duplicated N         duplicated deliveries (default: 0 for churn, unchecked otherwise)

Output:
  --json                     print one JSON object (schema ssehub-bench/1)
  --csv                      print a CSV header and one row
  --progress                 a progress line on stderr even when it is not a terminal
  -h, --help                 show this help

Exit status: 0 passed, 1 a threshold was passed or the run failed, 2 bad usage.
`;

const OPTIONS = {
  target: { type: "string" },
  url: { type: "string", multiple: true },
  "subscribe-url": { type: "string" },
  "publish-url": { type: "string" },
  "publish-body": { type: "string" },
  "server-pid": { type: "string", multiple: true },
  subscribers: { type: "string" },
  hold: { type: "string" },
  rate: { type: "string" },
  duration: { type: "string" },
  size: { type: "string" },
  topics: { type: "string" },
  "topic-prefix": { type: "string" },
  "topics-per-subscriber": { type: "string" },
  connections: { type: "string" },
  publishers: { type: "string" },
  "reconnect-rate": { type: "string" },
  ladder: { type: "boolean", default: false },
  "ladder-factor": { type: "string" },
  "ladder-steps": { type: "string" },
  "p99-bound-ms": { type: "string" },
  processes: { type: "string" },
  "source-addresses": { type: "string" },
  "connect-concurrency": { type: "string" },
  "connect-timeout-ms": { type: "string" },
  "drain-ms": { type: "string" },
  verify: { type: "boolean", default: false },
  "max-failed-ratio": { type: "string" },
  "max-lost": { type: "string" },
  "max-duplicated": { type: "string" },
  faults: { type: "string" },
  "fault-interval-ms": { type: "string" },
  "pause-ms": { type: "string" },
  "redis-url": { type: "string" },
  ...CREDENTIAL_OPTIONS,
  "redis-pid": { type: "string" },
  "redis-restart-command": { type: "string" },
  json: { type: "boolean", default: false },
  csv: { type: "boolean", default: false },
  progress: { type: "boolean", default: false },
  help: { type: "boolean", short: "h", default: false },
} as const;

/** A failure to print as `ssehub: <code>: <message>`. */
class UsageError extends Error {
  readonly code = "SSEHUB_ERR_OPTIONS_INVALID";
}

type Values = ReturnType<
  typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>
>["values"];

/** The number in flag `name`, or undefined when the flag is absent. */
function numberFlag(values: Values, name: keyof typeof OPTIONS): number | undefined {
  const text = values[name];
  if (text === undefined || typeof text !== "string") return undefined;
  const value = Number(text);
  if (text.trim() === "" || !Number.isFinite(value)) {
    throw new UsageError(`Cannot use --${name} ${JSON.stringify(text)}: give a number`);
  }
  return value;
}

/** What the arguments of `ssehub bench` ask for. */
export interface ParsedBenchArgs {
  readonly options: BenchOptions;
  readonly format: "text" | "json" | "csv";
  readonly progress: boolean;
}

/**
 * Maps the arguments after `bench` onto BenchOptions and the output form; "help" for --help.
 * Throws a UsageError (code SSEHUB_ERR_OPTIONS_INVALID) for what the flags alone show to be
 * wrong; resolveBenchOptions() checks the rest.
 */
export function parseBenchArgs(argv: readonly string[]): ParsedBenchArgs | "help" {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true });
  } catch (error) {
    throw new UsageError(`${(error as Error).message}. Run "ssehub bench --help"`);
  }
  const { values, positionals } = parsed;
  if (values.help) return "help";
  if (positionals.length !== 1) {
    throw new UsageError(
      `Cannot bench: name one scenario (${SCENARIOS.join(", ")}), got ${positionals.length}. Run "ssehub bench --help"`,
    );
  }
  const scenario = positionals[0] as ScenarioName;
  if (!SCENARIOS.includes(scenario)) {
    throw new UsageError(
      `Cannot run scenario ${JSON.stringify(scenario)}: choose one of ${SCENARIOS.join(", ")}`,
    );
  }
  if (values.json && values.csv)
    throw new UsageError("Cannot print both --json and --csv: pick one");
  const target = values.target;
  if (target !== undefined && !TARGET_NAMES.includes(target as TargetName)) {
    throw new UsageError(
      `Cannot use --target ${JSON.stringify(target)}: choose one of ${TARGET_NAMES.join(", ")}`,
    );
  }
  const publishBody = values["publish-body"];
  if (publishBody !== undefined && publishBody !== "raw" && publishBody !== "ssehub-json") {
    throw new UsageError(
      `Cannot use --publish-body ${JSON.stringify(publishBody)}: raw or ssehub-json`,
    );
  }
  const serverPids = values["server-pid"]?.map((text) => {
    const pid = Number(text);
    if (!Number.isInteger(pid) || pid <= 0) {
      throw new UsageError(`Cannot use --server-pid ${JSON.stringify(text)}: give a process id`);
    }
    return pid;
  });
  const faultList = values.faults?.split(",").map((name) => name.trim());
  const unknownFault = faultList?.find((name) => !FAULT_NAMES.includes(name as FaultName));
  if (unknownFault !== undefined) {
    throw new UsageError(
      `Cannot use --faults ${JSON.stringify(values.faults)}: ${JSON.stringify(unknownFault)} is not one of ${FAULT_NAMES.join(", ")}`,
    );
  }
  const redisPidText = values["redis-pid"];
  const redisPid = redisPidText === undefined ? undefined : Number(redisPidText);
  if (redisPid !== undefined && (!Number.isInteger(redisPid) || redisPid <= 1)) {
    throw new UsageError(
      `Cannot use --redis-pid ${JSON.stringify(redisPidText)}: give a process id`,
    );
  }
  let headers: Record<string, string>;
  try {
    // The adapters set these; the subscribe's Last-Event-ID carries the resume.
    headers = credentialHeaders(values, process.env, [
      "Accept",
      "Cache-Control",
      "Content-Type",
      "Last-Event-ID",
    ]);
  } catch (error) {
    if (error instanceof CredentialError) throw new UsageError(error.message);
    throw error;
  }
  const options: BenchOptions = {
    scenario,
    headers,
    target: target as TargetName | undefined,
    urls: values.url,
    subscribeUrl: values["subscribe-url"],
    publishUrl: values["publish-url"],
    publishBody: publishBody as PublishBodyKind | undefined,
    serverPids,
    subscribers: numberFlag(values, "subscribers"),
    holdSeconds: numberFlag(values, "hold"),
    rate: numberFlag(values, "rate"),
    durationSeconds: numberFlag(values, "duration"),
    sizeBytes: numberFlag(values, "size"),
    topics: numberFlag(values, "topics"),
    topicPrefix: values["topic-prefix"],
    topicsPerSubscriber: numberFlag(values, "topics-per-subscriber"),
    connections: numberFlag(values, "connections"),
    publishers: numberFlag(values, "publishers"),
    reconnectRate: numberFlag(values, "reconnect-rate"),
    ladder: values.ladder,
    ladderFactor: numberFlag(values, "ladder-factor"),
    ladderSteps: numberFlag(values, "ladder-steps"),
    p99BoundMs: numberFlag(values, "p99-bound-ms"),
    processes: numberFlag(values, "processes"),
    sourceAddresses: numberFlag(values, "source-addresses"),
    connectConcurrency: numberFlag(values, "connect-concurrency"),
    connectTimeoutMs: numberFlag(values, "connect-timeout-ms"),
    drainMs: numberFlag(values, "drain-ms"),
    verify: values.verify,
    maxFailedRatio: numberFlag(values, "max-failed-ratio"),
    maxLost: numberFlag(values, "max-lost"),
    maxDuplicated: numberFlag(values, "max-duplicated"),
    faults: faultList as FaultName[] | undefined,
    faultIntervalMs: numberFlag(values, "fault-interval-ms"),
    pauseMs: numberFlag(values, "pause-ms"),
    redisUrl: values["redis-url"],
    redisPid,
    redisRestartCommand: values["redis-restart-command"],
  };
  const format = values.json ? "json" : values.csv ? "csv" : "text";
  return { options, format, progress: values.progress || process.stderr.isTTY === true };
}

/** Writes progress lines to stderr: one line rewritten in place on a terminal. */
function progressWriter(): { write: (line: string) => void; end: () => void } {
  const tty = process.stderr.isTTY === true;
  let written = false;
  return {
    write(line) {
      written = true;
      process.stderr.write(tty ? `\r${line}\x1b[K` : `${line}\n`);
    },
    end() {
      if (tty && written) process.stderr.write("\r\x1b[K");
    },
  };
}

/**
 * Runs `ssehub bench`: `argv` holds the arguments after `bench`. Prints the result on stdout,
 * a progress line on stderr (on a terminal, or with --progress), and `ssehub: <code>: <message>`
 * on stderr when it cannot run. SIGINT ends the run early and still prints what was measured;
 * a second SIGINT exits at once.
 * @returns the exit status: 0 passed, 1 a threshold was passed or the run failed, 2 bad usage
 */
export async function benchCommand(argv: readonly string[]): Promise<number> {
  let parsed: ParsedBenchArgs | "help";
  try {
    parsed = parseBenchArgs(argv);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`ssehub: ${error.code}: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  if (parsed === "help") {
    process.stdout.write(USAGE);
    return 0;
  }
  const abort = new AbortController();
  const onSignal = (): void => {
    if (abort.signal.aborted) process.exit(130);
    process.stderr.write("\nssehub: stopping the run early (SIGINT again to quit at once)\n");
    abort.abort();
  };
  process.on("SIGINT", onSignal);
  const progress = parsed.progress ? progressWriter() : undefined;
  try {
    const result = await runBench(parsed.options, {
      signal: abort.signal,
      ...(progress === undefined ? {} : { progress: progress.write }),
    });
    progress?.end();
    if (parsed.format === "json") process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    else if (parsed.format === "csv")
      process.stdout.write(`${csvHeader()}\n${formatResultCsv(result)}\n`);
    else process.stdout.write(formatResultText(result));
    return result.thresholds.passed ? 0 : 1;
  } catch (error) {
    progress?.end();
    if (isSsehubError(error)) {
      process.stderr.write(`ssehub: ${error.code}: ${error.message}\n`);
      return error.code === "SSEHUB_ERR_OPTIONS_INVALID" ? 2 : 1;
    }
    process.stderr.write(
      `ssehub: bench failed: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    return 1;
  } finally {
    process.off("SIGINT", onSignal);
  }
}
