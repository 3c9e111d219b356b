/**
 * Imports point downward only (DESIGN "Modules"): cli -> http -> hub -> history/bus -> protocol;
 * auth/ (tokens, claims, topic selectors) sits beside hub/, used by http/ and cli/.
 * protocol/ is pure and imports nothing of ours but errors.ts; client/ stands alone (it runs in
 * browsers) and may use protocol/ only. options.ts reads the JWT algorithm list from
 * auth/jwt-algorithms.ts, which imports nothing.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const src = join(root, "src");

/** Folder -> the folders of ours it may import from ("." is src/ itself: errors, options). */
const ALLOWED: Record<string, readonly string[]> = {
  protocol: ["protocol", "."],
  history: ["history", "protocol", "."],
  bus: ["bus", "history", "protocol", "."],
  hub: ["hub", "history", "bus", "protocol", "."],
  auth: ["auth", "protocol", "."],
  http: ["http", "auth", "hub", "history", "bus", "protocol", "."],
  loadgen: ["loadgen", "client", "protocol", "."],
  client: ["client", "protocol", "errors"],
  cli: ["cli", "http", "auth", "hub", "bus", "history", "client", "loadgen", "protocol", "."],
  ".": ["."],
};

function sourceFiles(dir: string): string[] {
  const files: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) files.push(...sourceFiles(path));
    else if (name.endsWith(".ts")) files.push(path);
  }
  return files;
}

function areaOf(file: string): string {
  const first = relative(src, file).split("/")[0]!;
  return first.endsWith(".ts") || first.endsWith(".js") ? "." : first;
}

describe("architecture", () => {
  it("every import in src/ points to an allowed area", () => {
    const violations: string[] = [];
    for (const file of sourceFiles(src)) {
      if (relative(src, file) === "index.ts") continue; // the public API re-exports every area
      const from = areaOf(file);
      const allowed = ALLOWED[from];
      assert.ok(allowed, `src/${relative(src, file)} is in an area the architecture does not name`);
      const text = readFileSync(file, "utf8");
      for (const match of text.matchAll(/(?:from|import)\s*\(?\s*"(\.[^"]+)"/g)) {
        const target = resolve(dirname(file), match[1]!);
        const area = areaOf(target);
        const name = relative(src, target);
        const ok =
          allowed.includes(area) ||
          (from === "client" && area === "." && name === "errors.js") ||
          // The JWT algorithm options take their values from auth/, the owner of that list.
          (relative(src, file) === "options.ts" && name === "auth/jwt-algorithms.js");
        if (!ok) violations.push(`src/${relative(src, file)} imports ${match[1]} (${area})`);
      }
    }
    assert.deepEqual(violations, []);
  });

  it("the client uses no Node-only module, so it runs in browsers", () => {
    const clientDir = join(src, "client");
    const offenders: string[] = [];
    try {
      for (const file of sourceFiles(clientDir)) {
        if (/from\s+"node:/.test(readFileSync(file, "utf8"))) offenders.push(relative(src, file));
      }
    } catch {
      return; // no client yet
    }
    assert.deepEqual(offenders, []);
  });
});
