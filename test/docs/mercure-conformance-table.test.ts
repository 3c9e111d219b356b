/**
 * The Mercure conformance table of docs/security.md stays true: every test file it names
 * exists, every test name it quotes is in that file, every row has a result the table
 * explains, and the totals under each table count its rows. When this fails, fix the table.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { describe, it } from "node:test";

/** The repository root: this file runs as dist/test/docs/mercure-conformance-table.test.js. */
const root = new URL("../../../", import.meta.url);

const SECTION = "## Mercure conformance";
const DRAFTS = ["Draft-08", "Draft-07"] as const;

/** The results a row may give, by the words its result cell starts with. */
const RESULTS = {
  implemented: "implemented",
  declined: "declined: ",
  "not yet": "not yet",
  "in progress": "draft-08 shapes: in progress (see subscriptions tests)",
} as const;
type Result = keyof typeof RESULTS;

interface Row {
  readonly requirement: string;
  readonly tests: readonly { file: string; name: string }[];
  readonly result: Result | undefined;
  readonly resultText: string;
}

function read(path: string): string {
  return readFileSync(new URL(path, root), "utf8");
}

/** The text of the section, up to the next section of the page. */
function section(page: string): string {
  const start = page.indexOf(`\n${SECTION}\n`);
  assert.notEqual(start, -1, `docs/security.md has no "${SECTION}" section`);
  const rest = page.slice(start + 1);
  const end = rest.indexOf("\n## ", SECTION.length);
  return end === -1 ? rest : rest.slice(0, end);
}

/** The text of one draft's subsection. */
function subsection(text: string, draft: string): string {
  const start = text.indexOf(`\n### ${draft}\n`);
  assert.notEqual(start, -1, `the section has no "### ${draft}"`);
  const rest = text.slice(start + 1);
  const end = rest.indexOf("\n### ", 4);
  return end === -1 ? rest : rest.slice(0, end);
}

/** The tests a cell names: a `file` in backticks, then the quoted names of its tests. */
function testsOf(cell: string): { file: string; name: string }[] {
  const tests: { file: string; name: string }[] = [];
  let file: string | undefined;
  for (const match of cell.matchAll(/`(test\/[^`]+\.test\.ts)`|"([^"]+)"/g)) {
    if (match[1] !== undefined) file = match[1];
    else {
      assert.ok(file !== undefined, `"${match[2]}" is quoted before any test file: ${cell}`);
      tests.push({ file, name: match[2]! });
    }
  }
  return tests;
}

function rowsOf(text: string): Row[] {
  return text
    .split("\n")
    .filter((line) => line.startsWith("| ") && !line.startsWith("| requirement |"))
    .map((line) => {
      const cells = line.slice(2, -2).split(" | ");
      assert.equal(cells.length, 3, `a row needs 3 cells: ${line}`);
      const [requirement, test, resultText] = cells as [string, string, string];
      const result = (Object.keys(RESULTS) as Result[]).find((key) =>
        resultText.startsWith(RESULTS[key]),
      );
      return { requirement, tests: testsOf(test), result, resultText };
    });
}

/** The counts a totals line states: `Draft-08 totals: 1 implemented, 2 declined, ...`. */
function statedTotals(text: string, draft: string): Record<Result, number> {
  const line = text.split("\n").find((l) => l.startsWith(`${draft} totals: `));
  assert.ok(line, `no "${draft} totals:" line`);
  const totals = { implemented: 0, declined: 0, "not yet": 0, "in progress": 0 };
  for (const key of Object.keys(totals) as Result[]) {
    const match = new RegExp(`(\\d+) ${key}\\b`).exec(line);
    assert.ok(match, `"${line}" does not count ${key}`);
    totals[key] = Number(match[1]);
  }
  return totals;
}

describe("the Mercure conformance table of docs/security.md", () => {
  const text = section(read("docs/security.md"));

  for (const draft of DRAFTS) {
    const part = subsection(text, draft);
    const rows = rowsOf(part);

    it(`${draft}: names only test files that exist and tests that are in them`, () => {
      assert.ok(rows.length > 0);
      const wrong: string[] = [];
      const sources = new Map<string, string | undefined>();
      for (const row of rows) {
        for (const { file, name } of row.tests) {
          if (!sources.has(file)) {
            sources.set(file, existsSync(new URL(file, root)) ? read(file) : undefined);
          }
          const source = sources.get(file);
          if (source === undefined) wrong.push(`${file}: no such file`);
          else if (!source.includes(name)) wrong.push(`${file}: no test "${name}"`);
        }
      }
      assert.deepEqual(wrong, []);
    });

    it(`${draft}: gives every row a result, and a test to every implemented one`, () => {
      const wrong = rows
        .filter(
          (row) =>
            row.result === undefined || (row.result === "implemented" && row.tests.length === 0),
        )
        .map((row) => `${row.requirement}: ${row.resultText}`);
      assert.deepEqual(wrong, []);
    });

    it(`${draft}: states totals that count its rows`, () => {
      const counted = { implemented: 0, declined: 0, "not yet": 0, "in progress": 0 };
      for (const row of rows) counted[row.result!] += 1;
      assert.deepEqual(statedTotals(part, draft), counted);
    });
  }
});
