/**
 * The layering of src/ (test/architecture-rules.ts) holds for every import of every file, and
 * docs/architecture.md shows exactly the graph enforced here. The checker is also fed sources
 * with known violations, so that a checker that stopped seeing them fails too.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { ARCHITECTURE } from "./architecture-rules.js";
import { findImports, posixRelative } from "./helpers/import-graph.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const src = join(root, "src");

function sourceFiles(dir: string): string[] {
  const files: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) files.push(...sourceFiles(path));
    else if (name.endsWith(".ts")) files.push(path);
  }
  return files;
}

function sourceOf(path: string): string {
  return readFileSync(join(src, path), "utf8");
}

/** Between `<!-- name:start -->` and `<!-- name:end -->` in docs/architecture.md. */
function docsBlock(name: string): string {
  const page = readFileSync(join(root, "docs", "architecture.md"), "utf8");
  const start = page.indexOf(`<!-- ${name}:start -->`);
  const end = page.indexOf(`<!-- ${name}:end -->`);
  assert.ok(start !== -1 && end > start, `docs/architecture.md has no ${name} block`);
  return page.slice(start + `<!-- ${name}:start -->`.length, end).trim();
}

describe("architecture", () => {
  it("every import of every file in src/ follows the layering", () => {
    const violations: string[] = [];
    for (const file of sourceFiles(src)) {
      const path = posixRelative(src, file);
      violations.push(...ARCHITECTURE.check(path, readFileSync(file, "utf8")));
    }
    assert.deepEqual(violations, []);
  });

  it("docs/architecture.md shows the graph and the table that the test enforces", () => {
    // After changing the rules: npm run build && node scripts/render-architecture.mjs
    assert.equal(docsBlock("layer-graph"), `\`\`\`mermaid\n${ARCHITECTURE.mermaid()}\n\`\`\``);
    assert.equal(docsBlock("layer-table"), ARCHITECTURE.table());
  });

  describe("the checker bites", () => {
    const withLine = (path: string, line: string): string[] =>
      ARCHITECTURE.check(path, `${sourceOf(path)}\n${line}\n`);

    it("refuses a Node built-in that the layer may not use (hub importing node:http)", () => {
      const problems = withLine("hub/hub.ts", 'import { createServer } from "node:http";');
      assert.equal(problems.length, 1);
      assert.match(problems[0]!, /src\/hub\/hub\.ts:\d+ \(hub\) imports node:http/);
    });

    it("refuses protocol importing node:net, even as a type", () => {
      const problems = withLine("protocol/encode.ts", 'import type { Socket } from "node:net";');
      assert.equal(problems.length, 1);
      assert.match(problems[0]!, /\(protocol\) imports node:net/);
    });

    it("refuses a dynamic import() it cannot read, such as a template literal", () => {
      const problems = withLine(
        "hub/hub.ts",
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the text of a source under test
        "export const load = (name: string) => import(`../http/${name}.js`);",
      );
      assert.equal(problems.length, 1);
      assert.match(problems[0]!, /import\(\) of `\.\.\/http\/\$\{name\}\.js` cannot be checked/);
    });

    it("refuses an upward import in every form", () => {
      for (const line of [
        'import { createServer } from "../http/server.js";',
        'import "../http/server.js";',
        'export { createServer } from "../http/server.js";',
        'export const load = () => import("../http/server.js");',
        'export type S = import("../http/server.js").ListenAddress;',
        'export const s = require("../http/server.js");',
        'export const s = createRequire(import.meta.url)("../http/server.js");',
      ]) {
        const problems = withLine("hub/hub.ts", line);
        assert.equal(problems.length, 1, line);
        assert.match(problems[0]!, /\(hub\) imports \.\.\/http\/server\.js \(http\)/, line);
      }
    });

    it("refuses a package the layer may not use, and a file in no layer", () => {
      assert.match(withLine("protocol/parse.ts", 'import pino from "pino";')[0]!, /package pino/);
      assert.deepEqual(ARCHITECTURE.check("utils/misc.ts", ""), [
        "src/utils/misc.ts is in no layer of the architecture",
      ]);
    });

    it("reads specifiers in every form, with their lines", () => {
      const found = findImports(
        "x.ts",
        [
          'import a from "a";',
          'import "b";',
          'export * from "c";',
          'const d = await import("d");',
          'type E = import("e").E;',
          'const f = require("f");',
          'const g = createRequire(import.meta.url)("g");',
          "const h = await import(name);",
        ].join("\n"),
      );
      assert.deepEqual(
        found.map((f) => [f.specifier ?? f.expression, f.line, f.form]),
        [
          ["a", 1, "import"],
          ["b", 2, "import"],
          ["c", 3, "export"],
          ["d", 4, "import()"],
          ["e", 5, "import type()"],
          ["f", 6, "require"],
          ["g", 7, "require"],
          ["name", 8, "import()"],
        ],
      );
    });
  });
});
