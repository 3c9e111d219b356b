/**
 * docs/api.md shows each framework app that the framework tests run (apps/*-app.ts), verbatim:
 * the examples users copy are the code that passes. When this fails, copy the app into the page
 * (or the page's change into the app, and run the framework tests).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";

/** The repository root: this file runs as dist/test/http/frameworks/docs-examples.test.js. */
const root = new URL("../../../../", import.meta.url);

function read(path: string): string {
  return readFileSync(new URL(path, root), "utf8");
}

/** The first fenced `ts` block after the heading `heading` of `page`. */
function exampleUnder(page: string, heading: string): string | undefined {
  const start = page.indexOf(`\n${heading}\n`);
  if (start === -1) return undefined;
  return /```ts\n([\s\S]*?)```/.exec(page.slice(start))?.[1];
}

describe("docs/api.md and docs/security.md framework examples", () => {
  const page = read("docs/api.md");
  for (const [heading, app] of [
    ["### Express", "express"],
    ["### Fastify", "fastify"],
    ["### Hono", "hono"],
  ] as const) {
    test(`the ${heading.slice(4)} example is test/http/frameworks/apps/${app}-app.ts`, () => {
      const source = read(`test/http/frameworks/apps/${app}-app.ts`);
      assert.equal(exampleUnder(page, heading), source);
    });
  }

  test("the Express hook backend of docs/security.md is test/http/frameworks/apps/express-hook-backend-app.ts", () => {
    const source = read("test/http/frameworks/apps/express-hook-backend-app.ts");
    const security = read("docs/security.md");
    assert.equal(exampleUnder(security, "### A complete backend, in Express"), source);
  });
});
