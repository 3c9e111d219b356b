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

async function run(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case "serve": {
      const { serveCommand } = await import("./commands/serve.js");
      return serveCommand(rest);
    }
    case "publish": {
      const { publishCommand } = await import("./commands/publish.js");
      return publishCommand(rest);
    }
    case "subscribe": {
      const { subscribeCommand } = await import("./commands/subscribe.js");
      return subscribeCommand(rest);
    }
    case "bench": {
      const { benchCommand } = await import("./commands/bench.js");
      return benchCommand(rest);
    }
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
