#!/usr/bin/env node
// Writes the table of every option (src/cli/option-table.ts) into docs/options.md, between its
// markers. It reads the compiled code: `npm run build && node scripts/options-table.mjs`.
// test/docs.test.ts fails while the page and the code disagree.
import { readFileSync, writeFileSync } from "node:fs";

const root = new URL("../", import.meta.url);
const { OPTIONS_TABLE_END, OPTIONS_TABLE_START, optionsMarkdown } = await import(
  new URL("dist/src/cli/option-table.js", root).href
);
const pageUrl = new URL("docs/options.md", root);
const page = readFileSync(pageUrl, "utf8");
const start = page.indexOf(OPTIONS_TABLE_START);
const end = page.indexOf(OPTIONS_TABLE_END);
if (start === -1 || end < start) {
  console.error(
    `docs/options.md lacks the markers ${OPTIONS_TABLE_START} and ${OPTIONS_TABLE_END}`,
  );
  process.exit(1);
}
const table = optionsMarkdown();
const updated = `${page.slice(0, start + OPTIONS_TABLE_START.length)}\n\n${table}\n\n${page.slice(end)}`;
if (updated === page) {
  console.log("docs/options.md is up to date");
} else {
  writeFileSync(pageUrl, updated);
  console.log("docs/options.md: table rewritten");
}
