/**
 * The programs some tests need besides Node (a real Redis, openssl for certificates), and the
 * one rule for a test that needs one: on a machine without it the test is skipped and says
 * how to install it; in CI (`CI=true` in the environment) a missing program fails the run
 * instead, since a skip there would pass a run that tested nothing of what needs it.
 * `.ci/run` installs each of them from Debian's packages when missing.
 * @example
 * describe("RedisBus", { skip: requireTools(["redis-server"]) }, () => { ... });
 * @module
 */
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";

/** Each program the tests may need, with the Debian package that brings it. */
export const TOOL_PACKAGES = Object.freeze({
  "redis-server": "redis-server",
  "redis-cli": "redis-tools", // a dependency of redis-server, so it comes with it
  openssl: "openssl",
  curl: "curl", // the shell examples of the README and docs (test/docs/shell-examples.test.ts)
  prlimit: "util-linux", // a disk that refuses writes, then takes them (behaviour/durable-restart)
});

export type ToolName = keyof typeof TOOL_PACKAGES;

/** The path of `name` on PATH, or undefined when it is not installed. */
export function findTool(name: string, path = process.env.PATH ?? ""): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (dir === "") continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this folder
    }
  }
  return undefined;
}

/** Where requireTools looks; tests of the helper pass their own. */
export interface ToolContext {
  /** The environment whose `CI` is read. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** Finds a program. @default findTool */
  readonly find?: (name: ToolName) => string | undefined;
}

/** True in CI: the environment has `CI=true`, as CI services and `.ci/run` set it. */
export function isCi(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.CI === "true";
}

/**
 * What a test that needs `names` does on this machine: false when every program is installed
 * (run it); otherwise the reason to skip it, naming the install command. In CI a missing
 * program throws instead, so that the test (or its file) fails with the message.
 */
export function requireTools(
  names: readonly ToolName[],
  context: ToolContext = {},
): string | false {
  const find = context.find ?? ((name: ToolName) => findTool(name));
  const missing = names.filter((name) => find(name) === undefined);
  if (missing.length === 0) return false;
  const list = missing.join(" and ");
  const packages = [...new Set(missing.map((name) => TOOL_PACKAGES[name]))].join(" ");
  if (isCi(context.env)) {
    throw new Error(
      `${list} ${missing.length === 1 ? "is" : "are"} required in CI: .ci/run installs ` +
        `${missing.length === 1 ? "it" : "them"} (Debian: ${packages}); a test that needs ` +
        `${missing.length === 1 ? "it" : "them"} fails rather than skips when CI=true`,
    );
  }
  return (
    `${list} ${missing.length === 1 ? "is" : "are"} not installed: apt-get install -y ` +
    `--no-install-recommends ${packages} (.ci/run installs ${missing.length === 1 ? "it" : "them"})`
  );
}
