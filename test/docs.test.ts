/**
 * The reference pages stay true to the code: every option, error code and public export is
 * documented, and no relative link leads nowhere. When one of these fails, fix the page.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { envName, flagName } from "../src/cli/config.js";
import {
  OPTIONS_TABLE_END,
  OPTIONS_TABLE_START,
  optionsMarkdown,
} from "../src/cli/option-table.js";
import { SERVE_COMMAND_OPTIONS } from "../src/cli/serve-options.js";
import { ERROR_CATALOGUE } from "../src/errors.js";
import { OPTION_LAYERS, type OptionName } from "../src/options.js";

/** The repository root: this file runs as dist/test/docs.test.js. */
const root = new URL("../../", import.meta.url);

function read(path: string): string {
  return readFileSync(new URL(path, root), "utf8");
}

/** The text of a page without its fenced code blocks and inline code spans. */
function prose(markdown: string): string {
  return markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, "").replace(/`[^`\n]*`/g, "");
}

/** The names a module exports through `export { ... } from` and `export type { ... } from`. */
function exportNames(source: string): string[] {
  const names: string[] = [];
  for (const match of source.matchAll(/export\s+(?:type\s+)?\{([^}]*)\}/g)) {
    for (const part of match[1]!.split(",")) {
      const name = part
        .trim()
        .replace(/^type\s+/, "")
        .split(/\s+as\s+/)
        .pop()!
        .trim();
      if (name !== "") names.push(name);
    }
  }
  for (const match of source.matchAll(
    /export\s+(?:const|function|class|interface|type)\s+(\w+)/g,
  )) {
    names.push(match[1]!);
  }
  return names;
}

/** Names of `names` that `page` never mentions as a whole word. */
function unmentioned(names: readonly string[], page: string): string[] {
  return names.filter((name) => !new RegExp(`\\b${name}\\b`).test(page));
}

describe("docs/options.md", () => {
  it("lists every option with its layer, flag and environment variable", () => {
    const rows = read("docs/options.md")
      .split("\n")
      .filter((line) => line.startsWith("|"));
    const missing: string[] = [];
    for (const name of Object.keys(SERVE_COMMAND_OPTIONS.specs) as OptionName[]) {
      const row = rows.find((line) => line.startsWith(`| \`${name}\` `));
      const flag = `\`--${flagName(name)}\``;
      const env = `\`${envName(name)}\``;
      const layer = ` ${OPTION_LAYERS[name]} `;
      if (row === undefined) missing.push(`${name}: no table row`);
      else if (!row.includes(flag) || !row.includes(env) || !row.includes(layer)) {
        missing.push(`${name}: its row lacks ${flag}, ${env} or its layer${layer}`);
      }
    }
    assert.deepEqual(missing, []);
  });

  it("holds the table generated from the options (node scripts/options-table.mjs writes it)", () => {
    const page = read("docs/options.md");
    const start = page.indexOf(OPTIONS_TABLE_START);
    const end = page.indexOf(OPTIONS_TABLE_END);
    assert.ok(start !== -1 && end > start, "docs/options.md lacks the table's markers");
    const table = page.slice(start + OPTIONS_TABLE_START.length, end).trim();
    assert.equal(
      table,
      optionsMarkdown(),
      "docs/options.md is out of date: run `npm run build && node scripts/options-table.mjs`",
    );
  });
});

describe("docs/errors.md", () => {
  it("has a heading for every code of ERROR_CATALOGUE", () => {
    const headings = new Set(
      read("docs/errors.md")
        .split("\n")
        .filter((line) => line.startsWith("## "))
        .map((line) => line.slice(3).trim()),
    );
    const missing = Object.keys(ERROR_CATALOGUE).filter((code) => !headings.has(code));
    assert.deepEqual(missing, []);
  });
});

describe("docs/api.md", () => {
  it("mentions every export of src/index.ts", () => {
    const names = exportNames(read("src/index.ts"));
    assert.ok(names.length > 0, "found no export in src/index.ts");
    assert.deepEqual(unmentioned(names, read("docs/api.md")), []);
  });

  it("lists exactly the exports of src/index.ts under Every export, no more, no fewer", () => {
    const page = read("docs/api.md");
    const start = page.indexOf("## Every export");
    assert.ok(start !== -1, "docs/api.md has no Every export section");
    const section = page.slice(start, page.indexOf("\n## ", start + 1));
    const listed = [...section.matchAll(/^- (?:Values|Types): (.*)$/gm)].flatMap((line) =>
      [...line[1]!.matchAll(/`(\w+)`/g)].map((name) => name[1]!),
    );
    assert.deepEqual(listed.sort(), exportNames(read("src/index.ts")).sort());
  });
});

describe("docs/client.md", () => {
  it("mentions every export of src/client/index.ts", () => {
    const names = exportNames(read("src/client/index.ts"));
    assert.ok(names.length > 0, "found no export in src/client/index.ts");
    assert.deepEqual(unmentioned(names, read("docs/client.md")), []);
  });
});

describe("links", () => {
  it("every relative link of README.md and docs/*.md points at a file that exists", () => {
    const pages = [
      "README.md",
      ...readdirSync(new URL("docs/", root))
        .filter((name) => name.endsWith(".md"))
        .map((name) => `docs/${name}`),
    ];
    const broken: string[] = [];
    for (const page of pages) {
      const text = prose(read(page));
      for (const match of text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
        const target = match[1]!;
        if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith("#")) continue;
        const path = decodeURIComponent(target.split("#")[0]!);
        const resolved = new URL(path, new URL(page, root));
        if (!existsSync(fileURLToPath(resolved))) broken.push(`${page}: ${target}`);
      }
    }
    assert.deepEqual(broken, []);
  });
});
