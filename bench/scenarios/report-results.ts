/**
 * The results of the benchmark report, kept in the repository as one JSON file per case
 * (bench/results/<case>.json): per target, the facts of the machine and the software it ran on
 * and every run's `ssehub bench --json` result, whole. docs/BENCHMARKS.md is rendered from these
 * files only (report-render.ts); measuring a target on a case replaces its entry in the file.
 *
 * ```text
 * CaseResults (schema "ssehub-report-results/1", case)
 * ├─ targets{name}   one entry per target, in the order of TARGETS
 * │  ├─ kind "measured"   measuredAt, machine, loadAverage, software, command,
 * │  │                    runs[]: the exact command and its result (ssehub-bench/1), in full
 * │  └─ kind "imported"   the same facts as far as known, source (where the figures came from),
 * │                       runCount, figures{label}: the medians, as rounded as their page was
 * └─ importedRatios   the ratio lines of an imported page, by "<target> vs <target>"
 * ```
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type BenchJson, CASES } from "./report-cases.js";
import { ROOT, TARGETS } from "./report-targets.js";

/** The schema identifier of a results file; bumped on any incompatible change. */
export const RESULTS_SCHEMA = "ssehub-report-results/1";

/** Where the results live: one `<case>.json` each. */
export const RESULTS_DIR = `${ROOT}bench/results`;

/** The machine a target was measured on. */
export interface MachineFacts {
  readonly cpus: number;
  readonly cpuModel: string;
  readonly memoryGiB: number;
  /** `os.release()`. */
  readonly kernel: string;
  /** `process.version` of the report and of the `ssehub bench` it runs. */
  readonly node: string;
}

/** `os.loadavg()` (1, 5 and 15 minutes) before the first run of a target on a case and after its last. */
export interface LoadAverage {
  readonly before: readonly number[];
  readonly after: readonly number[];
}

/**
 * The versions of the software a target ran on. The keys of a peer are present only on the
 * targets that use it (Target.uses); null is looked for and not found (or, imported, not
 * recorded).
 */
export interface SoftwareFacts {
  /** `git rev-parse HEAD` of the checkout that ran the servers and the load tool. */
  readonly ssehubCommit: string | null;
  /** True when tracked files differed from that commit (results and page aside). */
  readonly ssehubUncommittedChanges: boolean | null;
  /** From `nginx -V` (`NGINX_BIN`, as bench/peers/nchan/start.sh runs it). */
  readonly nginx?: string | null;
  /** The Debian package holding that nginx binary, with its version. */
  readonly nginxPackage?: string | null;
  /** The Debian package holding the nchan module the peer loads, with its version. */
  readonly nchanPackage?: string | null;
  /** From bench/node_modules/better-sse, else bench/package-lock.json. */
  readonly betterSse?: string | null;
  /** From `redis-server --version` (`REDIS_SERVER`). */
  readonly redisServer?: string | null;
  readonly redisServerPackage?: string | null;
}

/** What every entry records besides its figures. */
interface EntryFacts {
  /** When the first run started, ISO 8601 (a date only where no time was recorded). */
  readonly measuredAt: string;
  readonly machine: MachineFacts;
  /** Null where it was not recorded. */
  readonly loadAverage: LoadAverage | null;
  readonly software: SoftwareFacts;
  /** The command as the page shows it: `ssehub bench ...`, without --server-pid and --json. */
  readonly command: string;
}

/** One run: the exact command (`ssehub` standing for dist/src/cli/main.js) and its result. */
export interface MeasuredRun {
  readonly command: string;
  /** The object `ssehub bench --json` printed, whole; the report reads the BenchJson part. */
  readonly result: BenchJson;
}

/** A target measured on a case by report.ts: every run's result in full precision. */
export interface MeasuredEntry extends EntryFacts {
  readonly kind: "measured";
  /** The runs that gave a result, in order; a run that gave none is left out. */
  readonly runs: readonly MeasuredRun[];
}

/** A row brought over from a page written before the results were kept: no raw runs. */
export interface ImportedEntry extends EntryFacts {
  readonly kind: "imported";
  /** Where the figures came from, and what they lack. */
  readonly source: string;
  readonly runCount: number;
  /** The medians by figure label, as rounded as the page showed them; null where it said n/a. */
  readonly figures: Readonly<Record<string, number | null>>;
}

export type Entry = MeasuredEntry | ImportedEntry;

/** The content of bench/results/<case>.json. */
export interface CaseResults {
  readonly schema: typeof RESULTS_SCHEMA;
  readonly case: string;
  /** By target name, in the order of TARGETS. */
  readonly targets: Readonly<Record<string, Entry>>;
  /**
   * The ratio lines of an imported page by "<target> vs <target>" (names, not labels): one cell
   * per figure, as printed there from unrounded medians. A line is shown only while both of its
   * rows are imported; the rounded figures would give slightly other ratios.
   */
  readonly importedRatios?: Readonly<Record<string, readonly string[]>>;
}

/** The key of a ratio line in `importedRatios`. */
export function ratioKey(first: string, second: string): string {
  return `${first} vs ${second}`;
}

/** The path of the results of the case `caseName` in `dir`. */
export function resultsPath(dir: string, caseName: string): string {
  return join(dir, `${caseName}.json`);
}

/** Throws unless `value`, read from `file`, is results of a case and targets of the report. */
function checkCaseResults(value: unknown, file: string): CaseResults {
  const results = value as Partial<CaseResults> | null;
  const fail = (why: string): never => {
    throw new Error(`Cannot read the benchmark results ${file}: ${why}`);
  };
  if (results === null || typeof results !== "object") return fail("not a JSON object");
  if (results.schema !== RESULTS_SCHEMA) {
    return fail(`schema is ${JSON.stringify(results.schema)}, expected "${RESULTS_SCHEMA}"`);
  }
  if (!CASES.some((c) => c.name === results.case)) {
    return fail(`no case of report-cases.ts is named ${JSON.stringify(results.case)}`);
  }
  if (!file.endsWith(`${results.case}.json`)) return fail(`it holds the case "${results.case}"`);
  for (const [name, entry] of Object.entries(results.targets ?? fail("no targets"))) {
    if (!TARGETS.some((t) => t.name === name)) {
      fail(`no target of report-targets.ts is named "${name}"`);
    }
    const kind = (entry as { kind?: unknown }).kind;
    if (kind !== "measured" && kind !== "imported") {
      fail(`the entry of "${name}" is of kind ${JSON.stringify(kind)}`);
    }
  }
  return results as CaseResults;
}

/** The results of one case from `dir`, or undefined when it has none yet. */
export function readCaseResults(dir: string, caseName: string): CaseResults | undefined {
  const file = resultsPath(dir, caseName);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  return checkCaseResults(JSON.parse(text), file);
}

/** Every results file of `dir`, by file name. */
export function readAllResults(dir: string): CaseResults[] {
  return readdirSync(dir)
    .filter((name) => name.endsWith(".json"))
    .sort()
    .map((name) => {
      const file = join(dir, name);
      return checkCaseResults(JSON.parse(readFileSync(file, "utf8")), file);
    });
}

/**
 * `previous` (undefined: none yet) with the entry of `targetName` replaced by `entry`; targets
 * in the order of TARGETS, and imported ratio lines kept only while both rows are imported.
 */
export function withEntry(
  previous: CaseResults | undefined,
  caseName: string,
  targetName: string,
  entry: Entry,
): CaseResults {
  const merged: Record<string, Entry> = { ...previous?.targets, [targetName]: entry };
  const targets: Record<string, Entry> = {};
  for (const target of TARGETS) {
    const kept = merged[target.name];
    if (kept !== undefined) targets[target.name] = kept;
  }
  const imported = (name: string): boolean => targets[name]?.kind === "imported";
  const ratios = Object.entries(previous?.importedRatios ?? {}).filter(([key]) => {
    const [first = "", second = ""] = key.split(" vs ");
    return imported(first) && imported(second);
  });
  return {
    schema: RESULTS_SCHEMA,
    case: caseName,
    targets,
    ...(ratios.length === 0 ? {} : { importedRatios: Object.fromEntries(ratios) }),
  };
}

/** The text of a results file: the same results always give the same bytes. */
export function serializeResults(results: CaseResults): string {
  return `${JSON.stringify(results, null, 2)}\n`;
}

/** Writes `results` to its file in `dir`. */
export function writeCaseResults(dir: string, results: CaseResults): void {
  writeFileSync(resultsPath(dir, results.case), serializeResults(results));
}
