#!/usr/bin/env node
/**
 * The `ssehub` command: dispatches to `commands/<name>.ts`. Commands load on demand, so that
 * `ssehub publish` does not pay for the server's modules.
 * @module
 */
import { readFileSync } from "node:fs";

const USAGE = `Usage: ssehub <command> [options]

Commands:
  serve       Runs the hub over HTTP (ssehub serve --help lists every option)
  publish     Publishes an event to a running hub
  subscribe   Prints the events of topics of a running hub
  bench       Runs a load scenario against a hub or another SSE server on loopback
  doctor      Checks this host against a target and prints the fixes, or diagnoses a hub
  help        Prints this help, or a command's: ssehub help serve

Options:
  -v, --version   Prints the version
  -h, --help      Prints this help`;

function version(): string {
  // dist/src/cli/main.js -> package.json at the package root.
  const manifest = JSON.parse(
    readFileSync(new URL("../../../package.json", import.meta.url), "utf8"),
  ) as { version: string };
  return manifest.version;
}

/** Each command, loaded when it runs: `ssehub publish` never loads the server. */
const COMMANDS: Readonly<
  Record<string, () => Promise<(argv: readonly string[]) => Promise<number>>>
> = {
  serve: async () => (await import("./commands/serve.js")).serveCommand,
  publish: async () => (await import("./commands/publish.js")).publishCommand,
  subscribe: async () => (await import("./commands/subscribe.js")).subscribeCommand,
  bench: async () => (await import("./commands/bench.js")).benchCommand,
  doctor: async () => (await import("./commands/doctor.js")).doctorCommand,
};

async function run(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  // Own keys only: `ssehub toString` is an unknown command, not a method of every object.
  const load =
    command !== undefined && Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
  if (load !== undefined) return (await load())(rest);
  switch (command) {
    case "-v":
    case "--version":
    case "version":
      console.log(version());
      return 0;
    case undefined:
    case "-h":
    case "--help":
    case "help":
      if (rest[0] !== undefined && rest[0] !== command) return run([rest[0], "--help"]);
      console.log(USAGE);
      return 0;
    default:
      console.error(`ssehub: unknown command ${JSON.stringify(command)}: run ssehub help`);
      return 2;
  }
}

try {
  process.exitCode = await run(process.argv.slice(2));
} catch (error) {
  console.error(`ssehub: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}
