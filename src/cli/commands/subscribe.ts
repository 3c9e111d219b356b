/**
 * `ssehub subscribe <topic>...`: prints the events of topics as they arrive, through the
 * ssehub client, so it resumes with Last-Event-ID after a reconnect. Ctrl-C ends it.
 * @module
 */
import { parseArgs } from "node:util";
import { type ParsedEvent, SsehubClient, type SsehubClientError } from "../../client/index.js";
import { isSsehubError } from "../../errors.js";
import {
  CREDENTIAL_OPTIONS,
  CredentialError,
  credentialHeaders,
  credentialUsage,
  refusalHint,
} from "../hub-credentials.js";

/** The hub the commands talk to when neither --url nor SSEHUB_URL says otherwise. */
const DEFAULT_URL = "http://127.0.0.1:8080";

const USAGE = `Usage: ssehub subscribe <topic>... [options]

Prints the events of the topics as they arrive, one per line: "[id] type: data".
Reconnects when the stream drops and resumes after the last event printed. Ctrl-C stops.

Options:
  --last-event-id ID   resume after this event id
  --json               print one JSON object per line: {"id","event","data"}
  --url URL            base URL of the hub (default: $SSEHUB_URL or ${DEFAULT_URL})
${credentialUsage(23)}
  -h, --help           show this help

Private events, and a hub started with --subscriber-jwt-key and --no-anonymous-subscribe, need
a token whose mercure.subscribe claim covers the topics: ssehub subscribe orders --token "$JWT".

Exit status: 0 stopped by a signal, 1 the hub refused the subscription, 2 bad usage.
`;

const OPTIONS = {
  "last-event-id": { type: "string" },
  json: { type: "boolean", default: false },
  url: { type: "string" },
  ...CREDENTIAL_OPTIONS,
  help: { type: "boolean", short: "h", default: false },
} as const;

/** Signals that end the command with status 0. */
const STOP_SIGNALS = ["SIGINT", "SIGTERM"] as const;

function fail(code: string, message: string, exitCode: number): number {
  process.stderr.write(`ssehub: ${code}: ${message}\n`);
  return exitCode;
}

/** One line of output for `event`. */
function formatEvent(event: ParsedEvent, json: boolean): string {
  if (json) {
    return `${JSON.stringify({ id: event.lastEventId, event: event.type, data: event.data })}\n`;
  }
  return `[${event.lastEventId}] ${event.type}: ${event.data}\n`;
}

/**
 * The stderr lines for `error` of a subscription at the hub `url`: `ssehub: <code>: <message>`.
 * When the hub refused with its JSON error, its own code and message, then a line with the
 * status and, after a 401 or 403, what to change.
 */
function describeError(error: SsehubClientError, url: string): string {
  const next = error.willReconnect ? "; reconnecting" : "";
  const hint =
    error.status === undefined ? undefined : refusalHint(error.status, error.hubCode, "subscribe");
  if (error.hubCode === undefined) {
    const then = hint === undefined ? "" : `ssehub: ${hint}\n`;
    return `ssehub: ${error.code}: ${error.message}${next}\n${then}`;
  }
  const answered = `the hub at ${url} answered ${error.status}`;
  return (
    `ssehub: ${error.hubCode}: ${error.hubMessage ?? answered}${next}\n` +
    `ssehub: ${answered}${hint === undefined ? "" : `: ${hint}`}\n`
  );
}

/**
 * Runs `ssehub subscribe`: `argv` holds the arguments after `subscribe`. Prints each event on
 * stdout and each connection problem on stderr as `ssehub: <code>: <message>`, and goes on
 * until SIGINT or SIGTERM (status 0) or until the hub refuses the subscription for good
 * (a 4xx answer: status 1).
 * @returns the exit status
 */
export async function subscribeCommand(argv: readonly string[]): Promise<number> {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true });
  } catch (error) {
    return fail(
      "SSEHUB_ERR_OPTIONS_INVALID",
      `${(error as Error).message}. Run "ssehub subscribe --help"`,
      2,
    );
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (positionals.length === 0) {
    return fail(
      "SSEHUB_ERR_TOPIC_MISSING",
      'Cannot subscribe without a topic: name one or more. Run "ssehub subscribe --help"',
      2,
    );
  }

  let headers: Record<string, string>;
  try {
    headers = credentialHeaders(values, process.env, ["Accept", "Last-Event-ID"]);
  } catch (error) {
    if (error instanceof CredentialError) {
      return fail(error.code, `${error.message}. Run "ssehub subscribe --help"`, 2);
    }
    throw error;
  }

  const json = values.json;
  const url = values.url ?? process.env.SSEHUB_URL ?? DEFAULT_URL;
  let refused = false;
  let client: SsehubClient;
  try {
    client = new SsehubClient({
      url,
      topics: positionals,
      lastEventId: values["last-event-id"],
      headers,
      onOpen: () => {
        process.stderr.write(`ssehub: subscribed to ${positionals.join(", ")} at ${url}\n`);
      },
      onEvent: (event) => {
        process.stdout.write(formatEvent(event, json));
      },
      onError: (error: SsehubClientError) => {
        if (!error.willReconnect) refused = true;
        process.stderr.write(describeError(error, url));
      },
    });
  } catch (error) {
    if (isSsehubError(error)) return fail(error.code, error.message, 2);
    throw error;
  }

  const stop = () => client.close();
  for (const signal of STOP_SIGNALS) process.once(signal, stop);
  // A closed pipe (`ssehub subscribe a | head -1`) ends the command like a signal would.
  process.stdout.once("error", stop);
  try {
    await client.closed;
  } finally {
    for (const signal of STOP_SIGNALS) process.off(signal, stop);
    process.stdout.off("error", stop);
  }
  return refused ? 1 : 0;
}
