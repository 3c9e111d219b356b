#!/usr/bin/env node
// Rewrites the generated blocks of docs/architecture.md (the layer graph and table) from
// test/architecture-rules.ts, as compiled by `npm run build`. test/architecture.test.ts fails
// until the page and the rules agree: run this after changing the rules.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "..");
const { ARCHITECTURE } = await import(join(root, "dist", "test", "architecture-rules.js"));
const file = join(root, "docs", "architecture.md");
let page = readFileSync(file, "utf8");
const blocks = {
  "layer-graph": `\`\`\`mermaid\n${ARCHITECTURE.mermaid()}\n\`\`\``,
  "layer-table": ARCHITECTURE.table(),
};
for (const [name, body] of Object.entries(blocks)) {
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const from = page.indexOf(start);
  const to = page.indexOf(end);
  if (from === -1 || to < from) throw new Error(`docs/architecture.md has no ${name} block`);
  page = `${page.slice(0, from + start.length)}\n${body}\n${page.slice(to)}`;
}
writeFileSync(file, page);
