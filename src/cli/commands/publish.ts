/**
 * `ssehub publish <topic> <data>`: publishes one event to a running hub over HTTP
 * (`POST <url>/publish`) and prints the id the hub gave it.
 * @module
 */
import { parseArgs } from "node:util";
import {
  CREDENTIAL_OPTIONS,
  CredentialError,
  credentialHeaders,
  credentialUsage,
  refusalHint,
} from "../hub-credentials.js";

/** The hub the commands talk to when neither --url nor SSEHUB_URL says otherwise. */
const DEFAULT_URL = "http://127.0.0.1:8080";

const USAGE = `Usage: ssehub publish <topic> <data> [options]

Publishes one event to a hub and prints the id the hub gave it.

Options:
  --event TYPE     event type (default: message)
  --topic NAME     another topic for the same event; repeat for more
  --retry MS       reconnection delay to set on the subscribers, in milliseconds
  --json           send <data> as a JSON value instead of a string
  --id ID          the event's id, instead of the one the hub would give (such as order-42)
  --url URL        base URL of the hub (default: $SSEHUB_URL or ${DEFAULT_URL})
${credentialUsage(19)}
  -h, --help       show this help

A hub started with --publisher-jwt-key needs a token whose mercure.publish claim covers the
topics: ssehub publish orders '{"id":42}' --json --token "$JWT".

Exit status: 0 published, 1 the hub refused or could not be reached, 2 bad usage.
`;

const OPTIONS = {
  event: { type: "string" },
  topic: { type: "string", multiple: true },
  retry: { type: "string" },
  json: { type: "boolean", default: false },
  id: { type: "string" },
  url: { type: "string" },
  ...CREDENTIAL_OPTIONS,
  help: { type: "boolean", short: "h", default: false },
} as const;

/** A failure to print as `ssehub: <code>: <message>`, and its hint on the next line. */
class CommandError extends Error {
  readonly code: string;
  readonly exitCode: number;
  readonly hint: string | undefined;
  constructor(code: string, message: string, exitCode: number, hint?: string) {
    super(message);
    this.code = code;
    this.exitCode = exitCode;
    this.hint = hint;
  }
}

function usageError(message: string): CommandError {
  return new CommandError("SSEHUB_ERR_OPTIONS_INVALID", message, 2);
}

/** `<base>/publish`, keeping the base's path and query. */
function publishUrl(base: string): string {
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    throw usageError(`Cannot use --url ${JSON.stringify(base)}: give an absolute http(s) URL`);
  }
  url.pathname = `${url.pathname.replace(/\/+$/, "")}/publish`;
  return url.href;
}

/** What to send where. */
interface PublishRequest {
  readonly url: string;
  readonly body: Readonly<Record<string, unknown>>;
  /** Headers besides the command's own: the token and the --header ones. */
  readonly headers: Readonly<Record<string, string>>;
}

/** The request that `argv` asks for, or "help". Throws a usage CommandError. */
function parseRequest(argv: readonly string[]): PublishRequest | "help" {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true });
  } catch (error) {
    throw usageError(`${(error as Error).message}. Run "ssehub publish --help"`);
  }
  const { values, positionals } = parsed;
  if (values.help) return "help";
  if (positionals.length !== 2) {
    throw usageError(
      `Cannot publish: expected <topic> <data>, got ${positionals.length} argument(s). Run "ssehub publish --help"`,
    );
  }
  const [topic, text] = positionals as [string, string];
  let data: unknown = text;
  if (values.json) {
    try {
      data = JSON.parse(text);
    } catch (error) {
      throw usageError(`Cannot read <data> as JSON (--json): ${(error as Error).message}`);
    }
  }
  const body: Record<string, unknown> = { topics: [topic, ...(values.topic ?? [])], data };
  if (values.event !== undefined) body.event = values.event;
  if (values.id !== undefined) body.id = values.id;
  if (values.retry !== undefined) {
    if (!/^\d+$/.test(values.retry)) {
      throw usageError(`Cannot use --retry ${JSON.stringify(values.retry)}: give milliseconds`);
    }
    body.retry = Number(values.retry);
  }
  let headers: Record<string, string>;
  try {
    headers = credentialHeaders(values, process.env, ["Content-Type", "Accept"]);
  } catch (error) {
    if (error instanceof CredentialError) throw usageError(error.message);
    throw error;
  }
  const base = values.url ?? process.env.SSEHUB_URL ?? DEFAULT_URL;
  return { url: publishUrl(base), body, headers };
}

/** The hub's answer: the id on success, a CommandError with the hub's code otherwise. */
async function readAnswer(response: Response, url: string): Promise<string> {
  const text = await response.text();
  let json: Record<string, unknown> = {};
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === "object" && value !== null) json = value as Record<string, unknown>;
  } catch {
    // Not JSON: a proxy's error page, or not a hub at all; the status says what went wrong.
  }
  if (!response.ok) {
    const hubCode = typeof json.code === "string" ? json.code : undefined;
    const message =
      typeof json.message === "string"
        ? json.message
        : `the hub answered ${response.status} ${response.statusText}`.trim();
    const hint = refusalHint(response.status, hubCode, "publish");
    throw new CommandError(
      hubCode ?? `HTTP_${response.status}`,
      message,
      1,
      hint === undefined ? undefined : `the hub at ${url} answered ${response.status}: ${hint}`,
    );
  }
  if (typeof json.id !== "string") {
    throw new CommandError(
      "SSEHUB_ERR_PUBLISH_MALFORMED",
      `Cannot read the hub's answer: expected {"id": ...}, got ${JSON.stringify(text.slice(0, 200))}`,
      1,
    );
  }
  return json.id;
}

/**
 * Runs `ssehub publish`: `argv` holds the arguments after `publish`. Prints the event's id on
 * stdout; prints `ssehub: <code>: <message>` on stderr when it fails.
 * @returns the exit status: 0 published, 1 refused or unreachable, 2 bad usage
 */
export async function publishCommand(argv: readonly string[]): Promise<number> {
  try {
    const request = parseRequest(argv);
    if (request === "help") {
      process.stdout.write(USAGE);
      return 0;
    }
    const { url, body, headers } = request;
    let response: Response;
    try {
      response = await fetch(url, {
        method: "POST",
        headers: { ...headers, "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify(body),
      });
    } catch (error) {
      // fetch hides the system error (ECONNREFUSED, ENOTFOUND) in its cause.
      const cause = (error as Error).cause;
      const code =
        typeof cause === "object" &&
        cause !== null &&
        "code" in cause &&
        typeof cause.code === "string"
          ? cause.code
          : "SSEHUB_ERR_CLIENT_NETWORK";
      const reason = cause instanceof Error ? cause.message : (error as Error).message;
      throw new CommandError(code, `Cannot reach the hub at ${url}: ${reason}`, 1);
    }
    process.stdout.write(`${await readAnswer(response, url)}\n`);
    return 0;
  } catch (error) {
    if (error instanceof CommandError) {
      process.stderr.write(`ssehub: ${error.code}: ${error.message}\n`);
      if (error.hint !== undefined) process.stderr.write(`ssehub: ${error.hint}\n`);
      return error.exitCode;
    }
    throw error;
  }
}
