/**
 * Renders docs/BENCHMARKS.md from the results files (report-results.ts) and nothing else: the
 * machine and software facts they record, the list of targets measured, and per case its
 * command, when it was measured, a row of medians per target and the ratios to the peers.
 * Rendering is pure: the same results give the same page, byte for byte.
 */
import { CASES, type Case, type Figure } from "./report-cases.js";
import { type CaseResults, type Entry, ratioKey } from "./report-results.js";
import { DELAY_TARGET, PEERS, REDIS_TARGETS, TARGETS, type Target } from "./report-targets.js";

/** The command that renders the page again from bench/results, as the page names it. */
export const RENDER_COMMAND = "node dist/bench/scenarios/report.js --render";

/** One row of a case's table: a target's entry and its median per figure. */
interface Row {
  readonly target: Target;
  readonly entry: Entry;
  readonly runs: number;
  /** One per figure of the case; null where there is none (n/a). */
  readonly values: readonly (number | null)[];
}

/** The median of the finite `values`, or null when there is none. */
export function median(values: readonly number[]): number | null {
  const finite = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (finite.length === 0) return null;
  const mid = finite.length >> 1;
  return finite.length % 2 === 1 ? finite[mid]! : (finite[mid - 1]! + finite[mid]!) / 2;
}

function format(value: number | null, digits = 0): string {
  if (value === null) return "n/a";
  return value.toLocaleString("en-US", {
    maximumFractionDigits: digits,
    minimumFractionDigits: digits,
  });
}

/** ssehub's figure against a peer's, as "N x better" (or worse). */
function ratio(ours: number | null, theirs: number | null, better: Figure["better"]): string {
  if (ours === null || theirs === null || ours === 0 || theirs === 0) return "";
  const factor = better === "higher" ? ours / theirs : theirs / ours;
  return `${factor.toFixed(2)}x`;
}

/** The row of `entry`: medians over its runs, or the figures it was imported with. */
function rowOf(testCase: Case, target: Target, entry: Entry): Row {
  if (entry.kind === "imported") {
    return {
      target,
      entry,
      runs: entry.runCount,
      values: testCase.figures.map((figure) => entry.figures[figure.label] ?? null),
    };
  }
  return {
    target,
    entry,
    runs: entry.runs.length,
    values: testCase.figures.map((figure) =>
      median(entry.runs.map((run) => figure.read(run.result) ?? Number.NaN)),
    ),
  };
}

/** The date (UTC) of an entry's first run. */
const dateOf = (entry: Entry): string => entry.measuredAt.slice(0, 10);

/**
 * The line that says when the rows were measured and on which Node.js: one clause per distinct
 * (date, Node.js, imported or not), naming its rows when there are several.
 */
function whenMeasured(rows: readonly Row[]): string {
  const groups = new Map<string, string[]>();
  for (const row of rows) {
    const imported = row.entry.kind === "imported" ? ", imported" : "";
    const key = `${dateOf(row.entry)} (Node.js ${row.entry.machine.node}${imported})`;
    groups.set(key, [...(groups.get(key) ?? []), row.target.label]);
  }
  if (groups.size === 1) return `Measured on ${[...groups.keys()][0]}.`;
  const clauses = [...groups].map(([key, labels]) => `${key}: ${labels.join(", ")}`);
  return `Measured on ${clauses.join("; on ")}.`;
}

/** The section of one case: the command, when, a row per target, the ratios, then its note. */
function caseSection(testCase: Case, results: CaseResults): string[] {
  const rows = new Map<string, Row>();
  for (const target of TARGETS) {
    const entry = results.targets[target.name];
    if (entry !== undefined) rows.set(target.name, rowOf(testCase, target, entry));
  }
  const first = [...rows.values()][0]!;
  const header = ["target", ...testCase.figures.map((f) => f.label)];
  const lines = [`## ${testCase.title}`, "", "```sh", first.entry.command, "```", ""];
  lines.push(whenMeasured([...rows.values()]), "");
  lines.push(`| ${header.join(" | ")} |`, `|${header.map(() => "---").join("|")}|`);
  for (const row of rows.values()) {
    const cells = row.values.map((value, i) => format(value, testCase.figures[i]!.digits ?? 0));
    lines.push(`| ${row.target.label} (${row.runs} runs) | ${cells.join(" | ")} |`);
  }
  const ratioLine = (ours: Row, theirs: Row, name: string): void => {
    // Two imported rows: the line the page had, computed there from unrounded medians.
    const imported = results.importedRatios?.[ratioKey(ours.target.name, theirs.target.name)];
    const both = ours.entry.kind === "imported" && theirs.entry.kind === "imported";
    const cells =
      both && imported !== undefined
        ? imported
        : testCase.figures.map((f, i) =>
            ratio(ours.values[i] ?? null, theirs.values[i] ?? null, f.better),
          );
    lines.push(`| ${name} | ${cells.join(" | ")} |`);
  };
  // Each of these rows against each peer: ssehub as it ships, and with a write delay.
  const againstPeers = (row: Row | undefined, name: string): void => {
    if (row === undefined) return;
    for (const peer of PEERS) {
      const theirs = rows.get(peer);
      if (theirs !== undefined) ratioLine(row, theirs, `${name} vs ${peer}`);
    }
  };
  const ours = rows.get("ssehub");
  againstPeers(ours, "ssehub");
  const delayed = rows.get(DELAY_TARGET);
  againstPeers(delayed, delayed?.target.label ?? "");
  if (ours !== undefined) {
    for (const name of REDIS_TARGETS) {
      const redis = rows.get(name);
      if (redis !== undefined) {
        ratioLine(redis, ours, `${redis.target.label} vs ${ours.target.label}`);
      }
    }
  }
  // After the ratio rows, which continue the table.
  if (testCase.note !== undefined) lines.push("", testCase.note);
  lines.push("");
  return lines;
}

/** The `## Targets` section: the targets listed, and how to read the ratios. */
function targetsSection(listed: readonly Target[]): string[] {
  const where = (t: Target): string => t.ports.map((port) => `127.0.0.1:${port}`).join(" and ");
  const lines = [
    "## Targets",
    "",
    ...listed.map(
      (t) =>
        `- **${t.label}** on ${where(t)} (\`--target ${t.adapter}\`${t.ports.length > 1 ? `, one \`--url\` per node` : ""})` +
        (t.note === undefined ? "" : `: ${t.note}`),
    ),
    "",
    "Ratios compare ssehub (1 process) with each peer; above 1x, ssehub is better on that figure.",
  ];
  const delayed = listed.find((t) => t.name === DELAY_TARGET);
  if (delayed !== undefined) {
    lines.push(
      "",
      `${delayed.label} is compared with each peer too: what its added latency buys in CPU ` +
        "per delivery at the same offered load.",
    );
  }
  if (listed.some((t) => REDIS_TARGETS.includes(t.name))) {
    lines.push(
      "",
      "The Redis rows compare ssehub on Redis with ssehub (1 process), which orders and keeps " +
        "its events in memory: above 1x the Redis target is better on that figure, below 1x the " +
        "difference is what Redis costs (every publish goes through Redis, which gives the event " +
        "its hub-wide id and keeps the history). With two nodes, the subscribers are spread " +
        "over both (subscriber i on node i mod 2), events are published to the first node only " +
        "and reach the second through Redis, and every churn reconnect resumes on the other " +
        "node than the one it left.",
    );
  }
  lines.push("");
  return lines;
}

/** An entry of the page and the target it measured. */
interface Measured {
  readonly target: Target;
  readonly entry: Entry;
}

/**
 * One line of the machine section: the distinct values of a fact over the entries it applies
 * to (`read` gives undefined elsewhere), each followed by its dates when they are several.
 */
function factLine(
  name: string,
  entries: readonly Measured[],
  read: (entry: Entry) => string | undefined,
): string[] {
  const dates = new Map<string, Set<string>>();
  for (const { entry } of entries) {
    const value = read(entry);
    if (value === undefined) continue;
    dates.set(value, (dates.get(value) ?? new Set()).add(dateOf(entry)));
  }
  if (dates.size === 0) return [];
  if (dates.size === 1) return [`- ${name}: ${[...dates.keys()][0]}`];
  const values = [...dates].map(([value, on]) => `${value} (${[...on].sort().join(", ")})`);
  return [`- ${name}: ${values.join("; ")}`];
}

/** How a fact that was not read shows: never recorded (imported) or looked for in vain. */
const missing = (entry: Entry): string => (entry.kind === "imported" ? "not recorded" : "unknown");

/** `value`, or why there is none; with `detail` in parentheses when there is one. */
function shown(entry: Entry, value: string | null | undefined, detail?: string | null): string {
  if (value === null || value === undefined) return missing(entry);
  return detail === null || detail === undefined ? value : `${value} (${detail})`;
}

/** The `## Machine` section, from the facts the entries recorded. */
function machineSection(entries: readonly Measured[]): string[] {
  // Measured entries always record it; imported ones never did.
  const loads = entries
    .flatMap(({ entry }) => [entry.loadAverage?.before[0], entry.loadAverage?.after[0]])
    .filter((v): v is number => v !== undefined)
    .sort((a, b) => a - b);
  const imported = entries.some(({ entry }) => entry.kind === "imported");
  const load =
    loads.length === 0
      ? "not recorded"
      : `${loads[0]!.toFixed(2)} to ${loads.at(-1)!.toFixed(2)}${imported ? "; not recorded for the imported rows" : ""}`;
  return [
    "## Machine",
    "",
    ...factLine("CPU", entries, (e) => `${e.machine.cpus} x ${e.machine.cpuModel}`),
    ...factLine("Memory", entries, (e) => `${e.machine.memoryGiB.toFixed(1)} GiB`),
    ...factLine("Kernel", entries, (e) => e.machine.kernel),
    ...factLine("Node.js", entries, (e) => e.machine.node),
    `- Load average (1 minute) before and after each target's runs of a case: ${load}`,
    ...factLine("ssehub", entries, (e) =>
      e.software.ssehubCommit === null
        ? missing(e)
        : `commit ${e.software.ssehubCommit.slice(0, 12)}${e.software.ssehubUncommittedChanges === true ? " with uncommitted changes" : ""}`,
    ),
    ...factLine("nginx", entries, (e) =>
      "nginx" in e.software
        ? shown(e, e.software.nginx, e.software.nginxPackage && `Debian ${e.software.nginxPackage}`)
        : undefined,
    ),
    ...factLine("nchan module", entries, (e) =>
      "nchanPackage" in e.software ? shown(e, e.software.nchanPackage) : undefined,
    ),
    ...factLine("better-sse", entries, (e) =>
      "betterSse" in e.software ? shown(e, e.software.betterSse) : undefined,
    ),
    ...factLine("redis-server", entries, (e) =>
      "redisServer" in e.software
        ? shown(
            e,
            e.software.redisServer,
            e.software.redisServerPackage && `Debian ${e.software.redisServerPackage}`,
          )
        : undefined,
    ),
    "- Every server and the load tool share the machine and talk over loopback.",
    "",
  ];
}

/**
 * docs/BENCHMARKS.md from the results of every case: the cases in the order of CASES, the
 * targets in the order of TARGETS, whatever the order of `results`.
 */
export function renderPage(results: readonly CaseResults[]): string {
  const byCase = new Map(results.map((r) => [r.case, r]));
  const sections = CASES.flatMap((testCase) => {
    const caseResults = byCase.get(testCase.name);
    return caseResults === undefined || Object.keys(caseResults.targets).length === 0
      ? []
      : [{ testCase, results: caseResults }];
  });
  const entries: Measured[] = sections.flatMap(({ results: r }) =>
    TARGETS.flatMap((target) => {
      const entry = r.targets[target.name];
      return entry === undefined ? [] : [{ target, entry }];
    }),
  );
  const listed = TARGETS.filter((t) => entries.some((e) => e.target === t));
  const intro = [
    `Generated from bench/results/*.json by \`${RENDER_COMMAND}\`; do not edit by hand.`,
    "`node dist/bench/scenarios/report.js` measures, writes the results and renders this page",
    "(bench/README.md). Each row is the median of its runs.",
  ];
  if (entries.some(({ entry }) => entry.kind === "imported")) {
    intro.push(
      'Rows a section calls "imported" come from the page as it was kept before the results',
      "were: their figures are as rounded as that page showed them, and they keep no raw runs.",
    );
  }
  const lines = [
    "# Benchmarks",
    "",
    intro.join(" "),
    "",
    ...machineSection(entries),
    ...targetsSection(listed),
    ...sections.flatMap(({ testCase, results: r }) => caseSection(testCase, r)),
  ];
  return lines.join("\n");
}
