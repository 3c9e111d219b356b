/**
 * The example of docs/tracing.md runs as written: the page's example block, saved inside the
 * package (so that `import "ssehub"` resolves to this build) and run with node.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

/** The repository root: this file runs as dist/test/tracing/docs-example.test.js. */
const root = new URL("../../../", import.meta.url);

/** The fenced block after the `<!-- example: name ... -->` marker of `page`. */
function exampleOf(page: string, name: string): string {
  const marker = page.indexOf(`<!-- example: ${name}`);
  assert.notEqual(marker, -1, `no example ${name}`);
  const block = /```js\n([\s\S]*?)\n```/.exec(page.slice(marker));
  assert.ok(block, `no code block after the example ${name}`);
  return block[1]!;
}

describe("docs/tracing.md", () => {
  it("runs its example: the spans of a publish, in the traceparent's trace", async (t) => {
    const page = readFileSync(new URL("docs/tracing.md", root), "utf8");
    const script = new URL("dist/tracing-docs-example.mjs", root);
    writeFileSync(script, exampleOf(page, "tracing-server"));
    t.after(() => rmSync(script, { force: true }));
    const { stdout } = await promisify(execFile)(process.execPath, [fileURLToPath(script)], {
      cwd: fileURLToPath(root),
    });
    assert.match(stdout, /publish answered 200/);
    for (const name of ["ssehub.publish", "ssehub.order", "ssehub.dispatch"]) {
      assert.match(stdout, new RegExp(`name: '${name.replace(".", "\\.")}'`), stdout);
    }
    assert.match(stdout, /traceId: '4bf92f3577b34da6a3ce929d0e0e4736'/);
  });
});
