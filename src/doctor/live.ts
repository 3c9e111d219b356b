/**
 * `ssehub doctor --url`: the live diagnosis of a running hub, read from its admin endpoint
 * `GET /admin/diagnosis` (with the admin token as `Authorization: Bearer`). Prints the figures
 * as a table, then the verdicts with their evidence and advice; or the document as JSON.
 *
 * Exit status: 0 the hub is healthy (no verdict asks for action), 1 a finding needs action,
 * 2 the hub could not be read (connection refused, a token refused, not an ssehub), with one
 * line saying why and what to do.
 * @module
 */
import { type Diagnosis, isDiagnosis, type Verdict } from "../diagnostics/diagnosis.js";

/** What the live diagnosis reads. */
export interface LiveDiagnosisInput {
  /** The hub's base URL, `http://host:port`. */
  readonly url: string;
  /** The hub's admin token; empty: none sent. */
  readonly adminToken: string;
  /** More request headers (`--header`: a proxy's). @default {} */
  readonly headers?: Readonly<Record<string, string>> | undefined;
  /** Print JSON for machines instead of the table and verdict. */
  readonly json: boolean;
  /** How long to wait for the answer, in ms. @default 10000 */
  readonly timeoutMs?: number | undefined;
}

/** Exit statuses. */
const HEALTHY = 0;
const NEEDS_ACTION = 1;
const UNREADABLE = 2;
const DEFAULT_TIMEOUT_MS = 10_000;
/** How the doctor command and `ssehub serve` spell the admin token. */
const TOKEN_OPTION = "--admin-token (SSEHUB_ADMIN_TOKEN)";

/** A reason the hub could not be read, as one line. */
class Unreadable extends Error {}

/** The diagnosis URL of the hub at `base`. */
function diagnosisUrl(base: string): URL {
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    throw new Unreadable(`Cannot read ${base}: it is not a URL (try http://127.0.0.1:8080)`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new Unreadable(`Cannot read ${base}: use an http:// or https:// URL`);
  }
  return new URL(`${url.pathname.replace(/\/+$/, "")}/admin/diagnosis`, url);
}

/** The error code of an ssehub error body, or undefined. */
function codeOf(body: string): string | undefined {
  try {
    const parsed = JSON.parse(body) as { code?: unknown };
    return typeof parsed.code === "string" ? parsed.code : undefined;
  } catch {
    return undefined;
  }
}

/** Why fetch failed, in words. */
function networkReason(error: unknown): string {
  if (error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError")) {
    return "no answer in time";
  }
  const cause =
    error instanceof Error
      ? (error.cause as { code?: string; message?: string } | undefined)
      : undefined;
  switch (cause?.code) {
    case "ECONNREFUSED":
      return "connection refused (is ssehub running there?)";
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return "the host name does not resolve";
    case "ECONNRESET":
      return "the connection was reset";
    default:
      return (
        cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error))
      );
  }
}

/** Fetches and checks the diagnosis; throws Unreadable with the reason. */
async function fetchDiagnosis(input: LiveDiagnosisInput): Promise<Diagnosis> {
  const url = diagnosisUrl(input.url);
  const headers: Record<string, string> = { ...input.headers, Accept: "application/json" };
  if (input.adminToken !== "") headers.Authorization = `Bearer ${input.adminToken}`;
  let response: Response;
  let body: string;
  try {
    response = await fetch(url, {
      headers,
      signal: AbortSignal.timeout(input.timeoutMs ?? DEFAULT_TIMEOUT_MS),
    });
    body = await response.text();
  } catch (error) {
    throw new Unreadable(`Cannot read ${url.href}: ${networkReason(error)}`);
  }
  const code = codeOf(body);
  if (response.status === 401) {
    const status = code === undefined ? "401" : `401 ${code}`;
    throw new Unreadable(
      input.adminToken === ""
        ? `Cannot read ${url.href}: the hub needs its admin token (${status}); pass it with ${TOKEN_OPTION}`
        : `Cannot read ${url.href}: the hub refused the admin token sent (${status}); pass the hub's adminToken with ${TOKEN_OPTION}`,
    );
  }
  if (response.status === 403) {
    throw new Unreadable(
      code === "SSEHUB_ERR_ADMIN_DISABLED"
        ? `Cannot read ${url.href}: the hub asks publishers or subscribers for tokens but has no admin token, so its admin endpoints are closed (403 ${code}); set adminToken on the hub and pass it here with ${TOKEN_OPTION}`
        : `Cannot read ${url.href}: refused (403${code === undefined ? "" : ` ${code}`}); check the admin token passed with ${TOKEN_OPTION}`,
    );
  }
  if (response.status === 404 && code === "SSEHUB_ERR_ROUTE_NOT_FOUND") {
    throw new Unreadable(
      `Cannot read ${url.href}: this ssehub has no /admin/diagnosis (an older version); upgrade it`,
    );
  }
  if (response.status !== 200) {
    throw new Unreadable(
      `Cannot read ${url.href}: it answered HTTP ${response.status}${code === undefined ? "; is it an ssehub?" : ` ${code}`}`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new Unreadable(`Cannot read ${url.href}: the answer is not JSON; is it an ssehub?`);
  }
  if (!isDiagnosis(parsed)) {
    throw new Unreadable(
      `Cannot read ${url.href}: the answer is not an ssehub diagnosis; is it an ssehub?`,
    );
  }
  return parsed;
}

function ms(value: number): string {
  return value >= 10 ? `${Math.round(value)} ms` : `${value.toFixed(1)} ms`;
}

function bytes(value: number): string {
  if (value >= 1_048_576) return `${(value / 1_048_576).toFixed(1)} MiB`;
  if (value >= 1024) return `${(value / 1024).toFixed(1)} KiB`;
  return `${value} B`;
}

function duration(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  return h > 0 ? `${h} h ${m} min` : m > 0 ? `${m} min` : `${seconds} s`;
}

/** The rows of the figures table: label, value. */
function figureRows(d: Diagnosis): [string, string][] {
  const loop = d.eventLoop;
  const phases = Object.entries(d.stalls.byPhase)
    .filter(([, count]) => count > 0)
    .map(([phase, count]) => `${phase} ${count}`);
  const last = d.stalls.recent.at(-1);
  const q = d.queues;
  const list = <T>(items: readonly T[], show: (item: T) => string): string =>
    items.length === 0 ? "none" : items.map(show).join(", ");
  return [
    ["subscribers", `${d.subscribers} on ${d.topics} topic(s)`],
    [
      "event-loop delay",
      `p50 ${ms(loop.delayP50Ms)}, p99 ${ms(loop.delayP99Ms)}, max ${ms(loop.delayMaxMs)} (busy ${Math.round(loop.utilization * 100)}%, last ${loop.windowSeconds} s)`,
    ],
    [
      "stalls",
      d.stallThresholdMs === 0
        ? "watcher off (stallThresholdMs 0)"
        : `${d.stalls.total} past ${d.stallThresholdMs} ms${phases.length > 0 ? ` (${phases.join(", ")})` : ""}`,
    ],
    ["last stall", last === undefined ? "none" : `${last.at} ${last.phase}: ${last.summary}`],
    [
      "gc",
      `${d.gc.count} collection(s), ${ms(d.gc.totalMs)} in all, longest ${ms(d.gc.longestMs)}`,
    ],
    [
      "slow consumers",
      `${d.slowConsumers.disconnects} disconnected, ${d.slowConsumers.drops} dropped, ${d.slowConsumers.conflated} conflated; recent: ${list(d.slowConsumers.recentByTopic, (e) => `${e.topic} ${e.count}`)}`,
    ],
    [
      "queues",
      `publish backlog ${q.publishBacklog}/${q.maxPublishBacklog}; sockets ${bytes(q.queuedBytes)} waiting, worst ${bytes(q.maxQueuedBytes)}${q.maxQueuedTopics.length > 0 ? ` (${q.maxQueuedTopics.join(", ")})` : ""}, ${q.subscribersPastHalfCap} past half of ${bytes(q.maxQueueBytes)}`,
    ],
    [
      "hot topics (subscribers)",
      list(d.hotTopics.bySubscribers, (e) => `${e.topic} ${e.subscribers}`),
    ],
    ["hot topics (events)", list(d.hotTopics.byRecentEvents, (e) => `${e.topic} ${e.events}`)],
    [
      "bus",
      d.bus === null
        ? "this process only (no server)"
        : `${d.bus.connected ? "connected" : "DISCONNECTED"}, lag ${d.bus.lagSeconds.toFixed(3)} s, ${d.bus.disconnects} disconnect(s)`,
    ],
  ];
}

function writeVerdict(verdict: Verdict, write: (line: string) => void): void {
  write(`  ${verdict.severity === "action" ? "ACTION" : "note"}: ${verdict.finding}`);
  for (const line of verdict.evidence) write(`    evidence: ${line}`);
  write(`    what to do: ${verdict.advice}`);
}

/** Writes the figures of `d` as an aligned table. */
function writeTable(d: Diagnosis, write: (line: string) => void): void {
  const rows = figureRows(d);
  const width = Math.max(...rows.map(([label]) => label.length));
  for (const [label, value] of rows) write(`  ${label.padEnd(width)}  ${value}`);
}

/**
 * Writes `d` as the table and the verdicts. A cluster's document lists every worker: each gets
 * its table and its verdicts, since each has its own event loop and subscribers.
 */
function writeReport(url: string, d: Diagnosis, write: (line: string) => void): void {
  const workers = d.workers ?? [];
  if (workers.length === 0) {
    write(`ssehub at ${url}: pid ${d.pid}, up ${duration(d.uptimeSeconds)}, at ${d.at}`);
    writeTable(d, write);
  } else {
    write(`ssehub at ${url}: ${workers.length} worker(s), at ${d.at}`);
    for (const { worker, pid, diagnosis } of workers) {
      write(`worker ${worker}, pid ${pid}, up ${duration(diagnosis.uptimeSeconds)}:`);
      writeTable(diagnosis, write);
    }
  }
  write("");
  const verdicts =
    workers.length === 0
      ? d.verdicts
      : workers.flatMap(({ worker, pid, diagnosis }) =>
          diagnosis.verdicts.map((verdict) => ({
            ...verdict,
            finding: `worker ${worker} (pid ${pid}): ${verdict.finding}`,
          })),
        );
  if (verdicts.length === 0) {
    write("Verdict: healthy, nothing to report");
    return;
  }
  write(d.healthy ? "Verdict: healthy, with notes" : "Verdict: needs action");
  for (const verdict of verdicts) writeVerdict(verdict, write);
}

/**
 * Reads a running hub and writes its diagnosis through `write` (one call per line); resolves
 * with the exit status: 0 when the hub is healthy, 1 when a finding needs action, 2 when the
 * hub could not be read.
 */
export async function diagnoseLiveHub(
  input: LiveDiagnosisInput,
  write: (line: string) => void,
): Promise<number> {
  let diagnosis: Diagnosis;
  try {
    diagnosis = await fetchDiagnosis(input);
  } catch (error) {
    if (!(error instanceof Unreadable)) throw error;
    if (input.json) write(JSON.stringify({ error: error.message }));
    else write(error.message);
    return UNREADABLE;
  }
  if (input.json) write(JSON.stringify(diagnosis, null, 2));
  else writeReport(input.url, diagnosis, write);
  return diagnosis.healthy ? HEALTHY : NEEDS_ACTION;
}
