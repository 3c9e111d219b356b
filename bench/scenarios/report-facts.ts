/**
 * The facts the benchmark report records beside its figures (report-results.ts): the machine,
 * and the version of every piece of software a target runs on, read from the same binaries and
 * files the targets use (NGINX_BIN, NCHAN_MODULE, REDIS_SERVER, bench/node_modules). A fact
 * that cannot be read is null, never an empty string.
 */
import { spawnSync } from "node:child_process";
import { accessSync, constants, readFileSync } from "node:fs";
import os from "node:os";
import { delimiter, join } from "node:path";
import type { MachineFacts, SoftwareFacts } from "./report-results.js";
import { ROOT, type Target } from "./report-targets.js";

/** Where bench/peers/nchan/start.sh loads the nchan module from by default. */
const DEFAULT_NCHAN_MODULE = "/usr/lib/nginx/modules/ngx_nchan_module.so";

/** The machine this process runs on. */
export function machineFacts(): MachineFacts {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? "unknown",
    memoryGiB: os.totalmem() / 2 ** 30,
    kernel: os.release(),
    node: process.version,
  };
}

/** What `command args` printed (stdout, then stderr), or null when it did not run. */
function output(command: string, args: readonly string[]): string | null {
  const result = spawnSync(command, args, { encoding: "utf8", timeout: 10_000 });
  if (result.error !== undefined || result.status !== 0) return null;
  return `${result.stdout}${result.stderr}`;
}

/** The first match group of `pattern` in the output of `command args`, or null. */
function versionFrom(command: string, args: readonly string[], pattern: RegExp): string | null {
  return pattern.exec(output(command, args) ?? "")?.[1] ?? null;
}

/** The path `command` runs as: itself when it names a path, else its first hit on PATH. */
function resolveCommand(command: string): string | null {
  if (command.includes("/")) return command;
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir === "") continue;
    const path = join(dir, command);
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // not in this folder
    }
  }
  return null;
}

/** The Debian package that installed `path`, with its version (`nginx 1.22.1-9`), or null. */
function debianPackageOf(path: string | null): string | null {
  if (path === null) return null;
  // `dpkg-query -S` answers "package[, other]: path"; diversions answer other lines first.
  const owner = output("dpkg-query", ["-S", path])
    ?.split("\n")
    .find((line) => line.endsWith(`: ${path}`));
  const name = owner?.slice(0, owner.indexOf(":")).split(",")[0]?.trim();
  if (name === undefined || name === "") return null;
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a dpkg-query format, not a template
  const version = output("dpkg-query", ["-W", "-f=${Version}", name])?.trim();
  return version === undefined || version === "" ? null : `${name} ${version}`;
}

/** The version of better-sse the peer runs: installed, else the one the lock file pins. */
function betterSseVersion(): string | null {
  const read = (path: string): unknown => JSON.parse(readFileSync(`${ROOT}${path}`, "utf8"));
  try {
    return (read("bench/node_modules/better-sse/package.json") as { version: string }).version;
  } catch {
    // not installed: the lock file
  }
  try {
    const lock = read("bench/package-lock.json") as {
      packages?: Record<string, { version?: string }>;
    };
    return lock.packages?.["node_modules/better-sse"]?.version ?? null;
  } catch {
    return null;
  }
}

/** The commit of this checkout, and whether tracked files differ from it. */
function ssehubRevision(): Pick<SoftwareFacts, "ssehubCommit" | "ssehubUncommittedChanges"> {
  const commit = output("git", ["-C", ROOT, "rev-parse", "HEAD"])?.trim() ?? null;
  const status = output("git", ["-C", ROOT, "status", "--porcelain", "--untracked-files=no"]);
  // The report itself rewrites the results and the page while it measures.
  const changed = status
    ?.split("\n")
    .filter((line) => line !== "")
    .map((line) => line.slice(3))
    .filter((path) => !path.startsWith("bench/results/") && path !== "docs/BENCHMARKS.md");
  return { ssehubCommit: commit, ssehubUncommittedChanges: changed ? changed.length > 0 : null };
}

/** The versions of ssehub and of the software `target` uses besides it. */
export function softwareFacts(target: Target): SoftwareFacts {
  const facts: { -readonly [K in keyof SoftwareFacts]: SoftwareFacts[K] } = ssehubRevision();
  const uses = target.uses ?? [];
  if (uses.includes("nginx-nchan")) {
    const nginx = process.env.NGINX_BIN ?? "nginx";
    // nginx -V prints "nginx version: nginx/1.22.1" and its build flags, on stderr.
    facts.nginx = versionFrom(nginx, ["-V"], /nginx version: nginx\/(\S+)/);
    facts.nginxPackage = debianPackageOf(resolveCommand(nginx));
    facts.nchanPackage = debianPackageOf(process.env.NCHAN_MODULE ?? DEFAULT_NCHAN_MODULE);
  }
  if (uses.includes("better-sse")) facts.betterSse = betterSseVersion();
  if (uses.includes("redis-server")) {
    const redis = process.env.REDIS_SERVER ?? "redis-server";
    // "Redis server v=7.0.15 sha=00000000:0 malloc=jemalloc-5.3.0 bits=64 build=..."
    facts.redisServer = versionFrom(redis, ["--version"], /\bv=(\S+)/);
    facts.redisServerPackage = debianPackageOf(resolveCommand(redis));
  }
  return facts;
}
