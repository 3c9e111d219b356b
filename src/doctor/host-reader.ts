/**
 * Where `ssehub doctor` reads the host: files under /proc, the environment, `systemctl` and the
 * running Node. Everything goes through a HostReader, so that tests hand the checks a fixture
 * tree (`root`) and a fixed Node instead of this machine.
 * @module
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { getHeapStatistics } from "node:v8";

/** What the host preflight reads, one method per kind of source. */
export interface HostReader {
  /** The text of an absolute path such as `/proc/self/limits`, or undefined when it is absent. */
  readFile(path: string): string | undefined;
  /** An environment variable, or undefined. */
  env(name: string): string | undefined;
  /** The standard output of a command, or undefined when it fails or is missing. */
  run(command: string, args: readonly string[]): string | undefined;
  /** The Node version, `v20.20.2`. */
  readonly nodeVersion: string;
  /** The flags Node was started with (`process.execArgv`), NODE_OPTIONS apart. */
  readonly execArgv: readonly string[];
  /** V8's heap limit in bytes (what `--max-old-space-size` sets, or V8's default). */
  readonly heapSizeLimitBytes: number;
}

/** Where createHostReader() reads. */
export interface HostReaderOptions {
  /** The directory that stands for `/`: a fixture tree in tests. @default "/" */
  readonly root?: string;
  /** The environment. @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Run commands (systemctl); false in tests, so that no fixture depends on the host. @default true */
  readonly commands?: boolean;
}

/** A HostReader of this machine, or of a fixture tree with `root`. */
export function createHostReader(options: HostReaderOptions = {}): HostReader {
  const root = options.root ?? "/";
  const env = options.env ?? process.env;
  const commands = options.commands ?? true;
  return {
    readFile(path) {
      try {
        return readFileSync(join(root, path), "utf8");
      } catch {
        return undefined;
      }
    },
    env: (name) => env[name],
    run(command, args) {
      if (!commands) return undefined;
      try {
        return execFileSync(command, [...args], {
          encoding: "utf8",
          stdio: ["ignore", "pipe", "ignore"],
          timeout: 5_000,
        });
      } catch {
        return undefined;
      }
    },
    nodeVersion: process.version,
    execArgv: process.execArgv,
    heapSizeLimitBytes: getHeapStatistics().heap_size_limit,
  };
}
