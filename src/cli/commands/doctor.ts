/**
 * `ssehub doctor`: checks this host against a target (`--connections`, `--workers`) and prints
 * the fix for each limit that falls short; with `--url`, diagnoses a running hub instead.
 * @module
 */
import { parseArgs } from "node:util";
import { diagnoseLiveHub } from "../../doctor/live.js";
import { preflightExitCode, runPreflight } from "../../doctor/preflight.js";
import { formatPreflightText } from "../../doctor/preflight-format.js";
import { isSsehubError } from "../../errors.js";
import { CredentialError, credentialHeaders } from "../hub-credentials.js";

const USAGE = `Usage: ssehub doctor [options]

Checks this host against a target and prints, for each limit, the value found, what the
target needs, pass / warn / fail, and the exact lines that fix it. Run it as the hub runs:
same user, same NODE_OPTIONS, same systemd unit or container.

Host preflight:
  --connections N          concurrent connections to hold (default 10000)
  --workers N              processes of the hub (ssehub serve --workers N): the open-files
                           limit is per process, so each needs N-th of the connections
                           (default 1)
  --unit NAME              a systemd unit whose LimitNOFILE to check (default: the unit
                           doctor runs in, when it runs under systemd)
  --socket-buffer-bytes B  kernel send buffer each connection may hold in a burst, counted
                           against net.ipv4.tcp_mem (default 4096)
  --verbose                explain the checks that passed too

Live diagnosis of a running hub:
  --url URL                the hub's base URL, http://host:port
  --admin-token T          its admin token (default: $SSEHUB_ADMIN_TOKEN)
  --header H               an extra request header, 'Name: value' (a proxy's); repeat for more

Output:
  --json                   print one JSON object (schema ssehub-doctor/1 for the preflight)
  -h, --help               show this help

Exit status: 0 nothing failed (warnings allowed), 1 a check failed, 2 bad usage or (live)
the hub could not be read.
`;

const OPTIONS = {
  connections: { type: "string" },
  workers: { type: "string" },
  unit: { type: "string" },
  "socket-buffer-bytes": { type: "string" },
  verbose: { type: "boolean", default: false },
  url: { type: "string" },
  "admin-token": { type: "string" },
  header: { type: "string", multiple: true },
  json: { type: "boolean", default: false },
  help: { type: "boolean", short: "h", default: false },
} as const;

/** A failure to print as `ssehub: <code>: <message>`. */
class UsageError extends Error {
  readonly code = "SSEHUB_ERR_OPTIONS_INVALID";
}

/** What the arguments of `ssehub doctor` ask for. */
export type ParsedDoctorArgs =
  | {
      readonly mode: "host";
      readonly connections: number | undefined;
      readonly workers: number | undefined;
      readonly socketBufferBytes: number | undefined;
      readonly unit: string | undefined;
      readonly verbose: boolean;
      readonly json: boolean;
    }
  | {
      readonly mode: "live";
      readonly url: string;
      readonly adminToken: string;
      /** Extra request headers (--header). */
      readonly headers: Readonly<Record<string, string>>;
      readonly json: boolean;
    }
  | { readonly mode: "help" };

function wholeNumber(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text.replaceAll("_", ""));
  if (text.trim() === "" || !Number.isSafeInteger(value) || value < 1) {
    throw new UsageError(
      `Cannot use --${name} ${JSON.stringify(text)}: give a whole number of at least 1`,
    );
  }
  return value;
}

/**
 * Maps the arguments after `doctor` onto a mode and its inputs. Throws a UsageError (code
 * SSEHUB_ERR_OPTIONS_INVALID) for flags that make no sense.
 * @param env the environment, for SSEHUB_ADMIN_TOKEN
 */
export function parseDoctorArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>> = process.env,
): ParsedDoctorArgs {
  let values: ReturnType<typeof parseArgs<{ options: typeof OPTIONS }>>["values"];
  try {
    ({ values } = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: false }));
  } catch (error) {
    throw new UsageError(`${(error as Error).message}. Run "ssehub doctor --help"`);
  }
  if (values.help) return { mode: "help" };
  if (values.url !== undefined) {
    const hostFlags = ["connections", "workers", "unit", "socket-buffer-bytes"] as const;
    const mixed = hostFlags.filter((name) => values[name] !== undefined);
    if (mixed.length > 0) {
      throw new UsageError(
        `Cannot use --url with --${mixed.join(", --")}: --url diagnoses a running hub, the others check this host`,
      );
    }
    let url: URL;
    try {
      url = new URL(values.url);
    } catch {
      throw new UsageError(
        `Cannot use --url ${JSON.stringify(values.url)}: give the base URL of a running hub, such as http://127.0.0.1:8080`,
      );
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new UsageError(
        `Cannot use --url ${JSON.stringify(values.url)}: give the base URL of a running hub, such as http://127.0.0.1:8080`,
      );
    }
    const adminToken = values["admin-token"] ?? env.SSEHUB_ADMIN_TOKEN ?? "";
    let headers: Record<string, string>;
    try {
      // The admin token is the doctor's credential: no JWT (--token) here.
      const own = adminToken === "" ? ["Accept"] : ["Accept", "Authorization"];
      headers = credentialHeaders({ header: values.header }, {}, own);
    } catch (error) {
      if (error instanceof CredentialError) throw new UsageError(error.message);
      throw error;
    }
    return { mode: "live", url: values.url, adminToken, headers, json: values.json };
  }
  if (values["admin-token"] !== undefined) {
    throw new UsageError("Cannot use --admin-token without --url: it is for a running hub");
  }
  if (values.header !== undefined) {
    throw new UsageError("Cannot use --header without --url: it is for a running hub");
  }
  return {
    mode: "host",
    connections: wholeNumber("connections", values.connections),
    workers: wholeNumber("workers", values.workers),
    socketBufferBytes: wholeNumber("socket-buffer-bytes", values["socket-buffer-bytes"]),
    unit: values.unit,
    verbose: values.verbose,
    json: values.json,
  };
}

/**
 * Runs `ssehub doctor`: `argv` holds the arguments after `doctor`. Prints the report on stdout
 * and `ssehub: <code>: <message>` on stderr for bad usage.
 * @returns the exit status: 0 nothing failed, 1 a check failed, 2 bad usage (live mode: the
 *   status of diagnoseLiveHub)
 */
export async function doctorCommand(argv: readonly string[]): Promise<number> {
  let parsed: ParsedDoctorArgs;
  try {
    parsed = parseDoctorArgs(argv);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`ssehub: ${error.code}: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  if (parsed.mode === "help") {
    process.stdout.write(USAGE);
    return 0;
  }
  if (parsed.mode === "live") {
    const { url, adminToken, headers, json } = parsed;
    return diagnoseLiveHub({ url, adminToken, headers, json }, (line) =>
      process.stdout.write(`${line}\n`),
    );
  }
  try {
    const report = runPreflight(parsed);
    if (parsed.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    else {
      const lines = formatPreflightText(report, { verbose: parsed.verbose });
      process.stdout.write(`${lines.join("\n")}\n`);
    }
    return preflightExitCode(report);
  } catch (error) {
    if (isSsehubError(error)) {
      process.stderr.write(`ssehub: ${error.code}: ${error.message}\n`);
      return error.code === "SSEHUB_ERR_OPTIONS_INVALID" ? 2 : 1;
    }
    throw error;
  }
}
