/**
 * The configuration of `ssehub serve`: command-line flags, SSEHUB_* environment variables and a
 * JSON config file become one options object, which resolveOptions checks in one place, the way
 * the library checks it. Precedence: flags > env > config file > defaults.
 *
 * Every option of OPTION_SPECS has a kebab-case flag (`historyMaxEvents` ->
 * `--history-max-events`) and an env var (`SSEHUB_HISTORY_MAX_EVENTS`). Text is converted by
 * the option's kind (integers as numbers, lists split on commas); anything that does not
 * convert is passed on as text, so that resolveOptions names it in its error.
 * @module
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { SsehubError } from "../errors.js";
import {
  DEFAULTS,
  OPTION_SPECS,
  type OptionSpec,
  type ResolvedOptions,
  resolveOptions,
} from "../options.js";

/** The env var naming a config file when `--config` is not given. */
export const CONFIG_ENV = "SSEHUB_CONFIG";

type OptionName = keyof ResolvedOptions;

const OPTION_NAMES = Object.keys(OPTION_SPECS) as OptionName[];
const INTEGER = /^[+-]?\d+$/;

/** What `ssehub serve` was asked to do. */
export type ServeConfig =
  | { readonly help: true }
  | { readonly help: false; readonly options: ResolvedOptions };

/** `historyMaxEvents` -> `history-max-events`. */
export function flagName(option: string): string {
  return option.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
}

/** `historyMaxEvents` -> `SSEHUB_HISTORY_MAX_EVENTS`. */
export function envName(option: string): string {
  return `SSEHUB_${option.replace(/[A-Z]/g, (letter) => `_${letter}`).toUpperCase()}`;
}

/** Converts command-line or env text by the option's kind; text that does not convert stays. */
function fromText(spec: OptionSpec, text: string): unknown {
  switch (spec.kind) {
    case "integer":
      return INTEGER.test(text.trim()) ? Number(text.trim()) : text;
    case "list":
      return text
        .split(",")
        .map((item) => item.trim())
        .filter((item) => item !== "");
    case "boolean": {
      const lower = text.trim().toLowerCase();
      if (lower === "true" || lower === "1" || lower === "yes" || lower === "on") return true;
      if (lower === "false" || lower === "0" || lower === "no" || lower === "off") return false;
      return text;
    }
    case "string":
    case "enum":
      return text;
  }
}

/**
 * Mercure's environment variables, read as aliases so that an operator switching hubs keeps
 * them; the SSEHUB_* name wins when both are set.
 */
const ENV_ALIASES: Readonly<Partial<Record<keyof ResolvedOptions, string>>> = {
  publisherJwtKey: "MERCURE_PUBLISHER_JWT_KEY",
  publisherJwtAlgorithm: "MERCURE_PUBLISHER_JWT_ALG",
  subscriberJwtKey: "MERCURE_SUBSCRIBER_JWT_KEY",
  subscriberJwtAlgorithm: "MERCURE_SUBSCRIBER_JWT_ALG",
};

function invalid(message: string, cause?: unknown): SsehubError {
  return new SsehubError(
    "SSEHUB_ERR_OPTIONS_INVALID",
    message,
    cause === undefined ? undefined : { cause },
  );
}

function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (cause) {
    throw invalid(`Cannot read config file ${path}: ${(cause as Error).message}`, cause);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw invalid(`Cannot parse config file ${path}: ${(cause as Error).message}`, cause);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw invalid(`Cannot use config file ${path}: expected a JSON object of option names`);
  }
  return value as Record<string, unknown>;
}

/**
 * Reads the options of `ssehub serve` from `argv` (the arguments after `serve`), `env` and the
 * config file they name. Throws SSEHUB_ERR_OPTIONS_INVALID for an unknown flag, an unreadable
 * config file, or any option resolveOptions refuses (all of them in one error).
 */
export function loadServeConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): ServeConfig {
  const flags: Record<string, { type: "string" } | { type: "boolean"; short?: string }> = {
    config: { type: "string" },
    help: { type: "boolean", short: "h" },
  };
  for (const name of OPTION_NAMES) flags[flagName(name)] = { type: "string" };
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: flags,
      strict: true,
      allowPositionals: false,
    }));
  } catch (cause) {
    throw invalid(`Cannot read the command line: ${(cause as Error).message}`, cause);
  }
  if (values.help === true) return { help: true };

  const configPath = (values.config as string | undefined) ?? env[CONFIG_ENV];
  const input: Record<string, unknown> =
    configPath === undefined || configPath === "" ? {} : { ...readConfigFile(configPath) };
  for (const name of OPTION_NAMES) {
    const spec: OptionSpec = OPTION_SPECS[name];
    const alias = ENV_ALIASES[name];
    const fromEnv = env[envName(name)] ?? (alias === undefined ? undefined : env[alias]);
    if (fromEnv !== undefined && fromEnv !== "") input[name] = fromText(spec, fromEnv);
    const fromFlag = values[flagName(name)];
    if (typeof fromFlag === "string") input[name] = fromText(spec, fromFlag);
  }
  return { help: false, options: resolveOptions(input) };
}

function describeDefault(value: unknown): string {
  if (Array.isArray(value)) return value.length === 0 ? "none" : value.join(",");
  return value === "" ? "none (off)" : String(value);
}

function describeKind(spec: OptionSpec): string {
  switch (spec.kind) {
    case "integer":
      return `<${spec.min}..${spec.max}>`;
    case "enum":
      return `<${spec.values.join("|")}>`;
    case "list":
      return "<a,b,...>";
    case "string":
      return "<text>";
    case "boolean":
      return "<true|false>";
  }
}

/** The text of `ssehub serve --help`, generated from OPTION_SPECS. */
export function serveHelp(): string {
  const lines = [
    "Usage: ssehub serve [options]",
    "",
    "Runs the hub over HTTP: GET /events, POST /publish, GET /topics, /healthz, /readyz, /metrics.",
    "Each option is read from its flag, else its env var, else the config file, else the default.",
    "",
    "Options:",
  ];
  for (const name of OPTION_NAMES) {
    const spec: OptionSpec = OPTION_SPECS[name];
    lines.push(`  --${flagName(name)} ${describeKind(spec)}`);
    lines.push(`      ${spec.help}`);
    lines.push(
      `      env ${envName(name)}, config "${name}", default ${describeDefault(DEFAULTS[name])}`,
    );
  }
  lines.push(
    "  --config <file.json>",
    `      A JSON object of option names (as in "config" above); env ${CONFIG_ENV}`,
    "  -h, --help",
    "      Prints this help",
    "",
    "SIGINT or SIGTERM shuts down gracefully: clients are told when to come back, streams end,",
    "and the process exits 0 within shutdownTimeoutMs.",
  );
  return lines.join("\n");
}
