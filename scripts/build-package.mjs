#!/usr/bin/env node
// Builds what the npm package ships (run by `npm pack` and `npm publish` as `prepack`):
// dist/src compiled from src alone by tsconfig.build.json, JavaScript and declarations, no
// source maps. dist/src is emptied first, so that the package carries neither the maps of a
// development build nor the output of a source file that was moved or deleted since.
// The package ships no maps because they would point at src/*.ts, which it does not ship; tsc's
// ES2022 output keeps the names, lines and comments of the source, so stack traces stay readable.
import { spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

const root = join(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "..");
rmSync(join(root, "dist", "src"), { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
const result = spawnSync(process.execPath, [tsc, "-p", join(root, "tsconfig.build.json")], {
  stdio: "inherit",
});
process.exit(result.status ?? 1);
