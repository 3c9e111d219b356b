/**
 * The npm package as a user gets it: `npm pack` (which builds through `prepack`), then
 * `npm install <tarball>` into an empty app, then the library, the client and the command line
 * used from that app.
 *
 * `npm pack` runs in a copy of this working tree, `dist/` included: `prepack` empties and rebuilds
 * dist/src, which must not happen under the test files running beside this one, and the copy also
 * shows that a development build (source maps, dist/test, dist/bench) does not leak into the
 * package.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);

/** The repository root: this file runs as dist/test/package/pack-install.test.js. */
const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

/** Entries of the working tree that a clone does not hold, or that only get in the way. */
const NOT_COPIED = new Set([".git", "node_modules", ".cache"]);

/** What `npm pack --json` says of the tarball (the fields read here). */
interface PackResult {
  readonly filename: string;
  readonly files: readonly { readonly path: string }[];
}

/** Every file under `dir`, as paths relative to it with forward slashes. */
function listFiles(dir: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) found.push(relative(dir, join(entry.parentPath, entry.name)));
  }
  return found.map((path) => path.split("\\").join("/")).sort();
}

/** Runs a command in `cwd` with a small environment, and returns its stdout. */
async function sh(cwd: string, file: string, args: readonly string[]): Promise<string> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? "" };
  if (process.env.HOME !== undefined) env.HOME = process.env.HOME;
  const { stdout } = await run(file, args, { cwd, env, maxBuffer: 16 * 1024 * 1024 });
  return stdout;
}

/** A script that uses the installed package as an app would, and prints what it saw. */
const PROBE = `
import { createHub } from "ssehub";
import { createClient, SseParser } from "ssehub/client";

const events = [];
const parser = new SseParser({ onEvent: (event) => events.push(event) });
const sink = {
  queuedBytes: 0,
  isClosed: false,
  write(chunk) { parser.feed(chunk); },
  close() { this.isClosed = true; },
  destroy() { this.isClosed = true; },
};
const hub = createHub();
hub.subscribe({ topics: ["orders"], sink });
const { id } = await hub.publish({ topic: "orders", data: { id: 42 }, event: "order" });
// The hub writes to its subscribers once per event-loop turn.
while (events.length === 0) await new Promise((resolve) => setImmediate(resolve));
await hub.close();
console.log(JSON.stringify({ id, events, createClient: typeof createClient }));
`;

/** The same imports in TypeScript, to check that the package's declarations resolve. */
const TYPES_PROBE = `
import { createHub, type PublishResult, type Sink } from "ssehub";
import { createClient, type SsehubClientOptions } from "ssehub/client";

export const sink: Sink | undefined = undefined;
export const published: Promise<PublishResult> = createHub().publish({ topic: "a", data: "b" });
export const options: SsehubClientOptions = { url: "http://127.0.0.1:8080", topics: ["a"] };
export const connect: typeof createClient = createClient;
`;

// A generous bound for the whole suite: the build in `prepack` type-checks all of src.
describe("the npm package", { timeout: 600_000 }, () => {
  let temp = "";
  let source = "";
  let app = "";
  let packed: PackResult;

  before(
    async () => {
      temp = mkdtempSync(join(tmpdir(), "ssehub-pack-"));
      source = join(temp, "source");
      app = join(temp, "app");
      const out = join(temp, "out");
      for (const dir of [source, app, out]) mkdirSync(dir);
      for (const name of readdirSync(ROOT)) {
        if (NOT_COPIED.has(name)) continue;
        cpSync(join(ROOT, name), join(source, name), { recursive: true });
      }
      symlinkSync(realpathSync(join(ROOT, "node_modules")), join(source, "node_modules"), "dir");
      const [result] = JSON.parse(
        await sh(source, "npm", ["pack", "--json", "--pack-destination", out]),
      ) as PackResult[];
      assert.ok(result !== undefined);
      packed = result;

      writeFileSync(
        join(app, "package.json"),
        `${JSON.stringify({ name: "ssehub-pack-probe", private: true, type: "module" })}\n`,
      );
      // --prefer-offline, not --offline: the dependencies' tarballs come from the npm cache, but
      // the registry documents that `npm ci` leaves there are not the ones `npm install` asks
      // for (--offline failed with ENOTCACHED for ioredis), so npm fetches only those.
      await sh(app, "npm", [
        "install",
        "--prefer-offline",
        "--no-audit",
        "--no-fund",
        join(out, packed.filename),
      ]);
    },
    { timeout: 600_000 },
  );

  after(() => {
    if (temp !== "") rmSync(temp, { recursive: true, force: true });
  });

  it("ships the compiled src, its declarations, the docs and LICENSE, and nothing else", () => {
    const paths = packed.files.map((file) => file.path).sort();
    for (const path of ["LICENSE", "README.md", "CHANGELOG.md", "package.json", "docs/api.md"]) {
      assert.ok(paths.includes(path), `${path} is missing from ${paths.join(", ")}`);
    }
    const unexpected = paths.filter(
      (path) =>
        !(path.startsWith("dist/src/") && /\.(js|d\.ts)$/.test(path)) &&
        !path.startsWith("docs/") &&
        !["LICENSE", "README.md", "CHANGELOG.md", "package.json"].includes(path),
    );
    assert.deepEqual(unexpected, []);
    // One .js and one .d.ts per source file: nothing stale from a moved or deleted module.
    const expected = listFiles(join(source, "src"))
      .filter((path) => path.endsWith(".ts") && !path.endsWith(".d.ts"))
      .flatMap((path) => [`dist/src/${path.slice(0, -3)}.js`, `dist/src/${path.slice(0, -3)}.d.ts`])
      .sort();
    assert.deepEqual(
      paths.filter((path) => path.startsWith("dist/")),
      expected,
    );
  });

  it("ships no source map and no file that refers to one", () => {
    const installed = join(app, "node_modules", "ssehub");
    const files = listFiles(installed);
    assert.deepEqual(
      files.filter((path) => path.endsWith(".map")),
      [],
    );
    const referring = files.filter(
      (path) =>
        path.endsWith(".js") &&
        readFileSync(join(installed, path), "utf8").includes("sourceMappingURL"),
    );
    assert.deepEqual(referring, []);
  });

  it("has every file that package.json's bin and exports name", () => {
    const manifest = JSON.parse(
      readFileSync(join(app, "node_modules", "ssehub", "package.json"), "utf8"),
    ) as { bin: Record<string, string>; exports: Record<string, string | Record<string, string>> };
    const targets = [
      ...Object.values(manifest.bin),
      ...Object.values(manifest.exports).flatMap((target) =>
        typeof target === "string" ? [target] : Object.values(target),
      ),
    ].map((target) => target.replace(/^\.\//, ""));
    const paths = packed.files.map((file) => file.path);
    assert.deepEqual(
      targets.filter((target) => !paths.includes(target)),
      [],
    );
  });

  it("import from ssehub publishes to a subscriber, and ssehub/client imports", async () => {
    writeFileSync(join(app, "probe.mjs"), PROBE);
    const seen = JSON.parse(await sh(app, process.execPath, ["probe.mjs"])) as {
      id: string;
      events: { type: string; data: string; lastEventId: string }[];
      createClient: string;
    };
    assert.deepEqual(seen.events, [{ type: "order", data: '{"id":42}', lastEventId: seen.id }]);
    assert.equal(seen.createClient, "function");
  });

  it("its declarations type-check an app's imports of ssehub and ssehub/client", async () => {
    writeFileSync(join(app, "probe-types.ts"), TYPES_PROBE);
    // skipLibCheck and no types: the app has no @types/node, which the declarations refer to.
    const compilerOptions = {
      module: "nodenext",
      moduleResolution: "nodenext",
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      types: [],
    };
    writeFileSync(
      join(app, "tsconfig.json"),
      JSON.stringify({ compilerOptions, files: ["probe-types.ts"] }),
    );
    const tsc = join(ROOT, "node_modules", "typescript", "bin", "tsc");
    await sh(app, process.execPath, [tsc, "-p", "tsconfig.json"]);
  });

  it("npx ssehub prints the help and the version, ssehub serve --help every option", async () => {
    // --no: fail rather than fetch a package named ssehub when the app's own bin is missing (the
    // "--" keeps npx from taking the command's options for its own).
    assert.match(
      await sh(app, "npx", ["--no", "--", "ssehub", "--help"]),
      /^Usage: ssehub <command>/,
    );
    const manifest = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
      version: string;
    };
    assert.equal(
      (await sh(app, "npx", ["--no", "--", "ssehub", "--version"])).trim(),
      manifest.version,
    );
    const help = await sh(app, join(app, "node_modules", ".bin", "ssehub"), ["serve", "--help"]);
    assert.match(help, /--port/);
  });
});
