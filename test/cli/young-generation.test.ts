import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { describe, test } from "node:test";
import { promisify } from "node:util";
import { isYoungGenerationUnset } from "../../src/cli/young-generation.js";

const run = promisify(execFile);
const MODULE = new URL("../../src/cli/young-generation.js", import.meta.url).href;

/**
 * Runs a fresh node that calls limitYoungGeneration(), then allocates short-lived objects the
 * way a connect burst does, and prints whether the flags were set and the largest size V8's new
 * space reached during the burst, in MiB. The largest, not the last: on Node 24 the new space
 * grew while a full collection was marking and shrank when it ended, so a size read at the end
 * of the burst saw the growth only when the burst ended during a marking.
 */
async function newSpaceAfterBurst(
  nodeArgs: readonly string[],
  env: NodeJS.ProcessEnv,
): Promise<{ limited: boolean; newSpaceMiB: number }> {
  const script = `
    import v8 from "node:v8";
    import { limitYoungGeneration } from ${JSON.stringify(MODULE)};
    const newSpaceMiB = () =>
      v8.getHeapSpaceStatistics().find((s) => s.space_name === "new_space").space_size / 2 ** 20;
    const limited = limitYoungGeneration();
    let keep = [];
    let largest = newSpaceMiB();
    for (let i = 0; i < 2e6; i++) {
      keep.push({ i, list: [i] });
      if (keep.length > 20000) keep = [];
      if (i % 1024 === 0) largest = Math.max(largest, newSpaceMiB());
    }
    largest = Math.max(largest, newSpaceMiB());
    console.log(JSON.stringify({ limited, newSpaceMiB: largest }));
  `;
  const { stdout } = await run(
    process.execPath,
    [...nodeArgs, "--input-type=module", "-e", script],
    {
      env,
    },
  );
  return JSON.parse(stdout) as { limited: boolean; newSpaceMiB: number };
}

describe("limitYoungGeneration", () => {
  test("isYoungGenerationUnset is false when the flags or NODE_OPTIONS size the young generation", () => {
    assert.equal(isYoungGenerationUnset([], undefined), true);
    assert.equal(isYoungGenerationUnset(["--expose-gc"], "--enable-source-maps"), true);
    assert.equal(isYoungGenerationUnset(["--max-semi-space-size=8"], undefined), false);
    assert.equal(isYoungGenerationUnset(["--max_semi_space_size=8"], undefined), false);
    assert.equal(isYoungGenerationUnset([], "--min-semi-space-size=4"), false);
    assert.equal(isYoungGenerationUnset([], "--semi-space-growth-factor=2"), false);
    assert.equal(isYoungGenerationUnset(["--separate-gc-phases"], undefined), false);
    assert.equal(isYoungGenerationUnset([], "--no_separate_gc_phases"), false);
  });

  test("a burst of short-lived objects leaves the young generation at its initial size", async () => {
    const env = { ...process.env };
    delete env.NODE_OPTIONS;
    const { limited, newSpaceMiB } = await newSpaceAfterBurst([], env);
    assert.equal(limited, true);
    // Two semi-spaces of 1 MiB on Node 20 and 24 (2 MiB measured at every sample); V8 grows
    // them to 16 MiB each without the flags, and Node 24 added pages beyond them while a full
    // collection was marking (up to 12.5 MiB measured) without --no-separate-gc-phases.
    assert.ok(newSpaceMiB <= 4, `new space ${newSpaceMiB} MiB`);
  });

  test("an operator's --max-semi-space-size is kept", async () => {
    const env = { ...process.env, NODE_OPTIONS: "--max-semi-space-size=8" };
    const { limited, newSpaceMiB } = await newSpaceAfterBurst([], env);
    assert.equal(limited, false);
    assert.ok(newSpaceMiB > 4, `new space ${newSpaceMiB} MiB`);
  });
});
