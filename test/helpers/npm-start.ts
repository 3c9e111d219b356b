/**
 * `npm start` in the repository, as the README's quick start runs it, on a free port.
 */
import { type ChildProcessByStdio, spawn } from "node:child_process";
import type { Readable } from "node:stream";
import { fileURLToPath } from "node:url";

/** The repository root: this file runs as dist/test/helpers/npm-start.js. */
const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

/**
 * Spawns `npm start` with `SSEHUB_PORT=0` and only PATH and HOME from this environment. The
 * caller ends it. `--ignore-scripts` skips `prestart` (the build): the tests run on a fresh
 * build already, and a rebuild would rewrite dist/ under the test files running beside it.
 */
export function spawnNpmStart(): ChildProcessByStdio<null, Readable, Readable> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? "", SSEHUB_PORT: "0" };
  if (process.env.HOME !== undefined) env.HOME = process.env.HOME;
  return spawn("npm", ["start", "--ignore-scripts"], {
    cwd: ROOT,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
}
