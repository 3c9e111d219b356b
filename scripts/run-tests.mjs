#!/usr/bin/env node
// Runs the compiled test files (dist/test/**/*.test.js) with node:test.
// Arguments filter the files by substring: `npm run test:only -- protocol hub/`.
// The file list is built here because `node --test <dir>` differs between Node 20 and 22+.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";

const root = join(
  import.meta.dirname ?? new URL(".", import.meta.url).pathname,
  "..",
  "dist",
  "test",
);

/**
 * Compiled tests whose source still exists: a test moved or deleted in test/ leaves its old
 * output in dist/ (tsc never removes files), which must not run again.
 */
function findTests(dir) {
  const found = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) found.push(...findTests(path));
    else if (name.endsWith(".test.js") && existsSync(sourceOf(path))) found.push(path);
  }
  return found;
}

function sourceOf(compiled) {
  return join(root, "..", "..", relative(join(root, ".."), compiled)).replace(/\.js$/, ".ts");
}

const filters = process.argv.slice(2);
const files = findTests(root)
  .filter((file) => filters.length === 0 || filters.some((f) => relative(root, file).includes(f)))
  .sort();
if (files.length === 0) {
  console.error(`No test files matched ${filters.join(" ") || "(all)"} under ${root}`);
  process.exit(1);
}
const result = spawnSync(
  process.execPath,
  ["--test", "--test-concurrency=2", "--test-timeout=120000", ...files],
  { stdio: "inherit" },
);
process.exit(result.status ?? 1);
