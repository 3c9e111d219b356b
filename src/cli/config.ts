/**
 * The configuration of `ssehub serve`: command-line flags, SSEHUB_* environment variables and a
 * JSON config file become one options object, which resolveServeCommandOptions checks in one
 * place, the way createHub and createServer check theirs. Precedence: flags > env > config file >
 * defaults.
 *
 * Every option of SERVE_COMMAND_OPTIONS has a kebab-case flag (`historyMaxEvents` ->
 * `--history-max-events`) and an env var (`SSEHUB_HISTORY_MAX_EVENTS`). Text is converted by
 * the option's kind (integers as numbers, lists split on commas); anything that does not
 * convert is passed on as text, so that the resolver names it in its error. A boolean flag
 * alone means true (`--subscription-events`), and takes a value too (`--subscription-events
 * false`, `--subscription-events=off`); `--no-subscription-events` means false. node:util's
 * parseArgs has no flag with an optional value, so the command line is read here.
 *
 * Unknown flags and config keys are errors, unknown SSEHUB_* variables warnings (a variable may
 * be meant for another tool or version); each names the nearest known name.
 * @module
 */
import { readFileSync } from "node:fs";
import { SsehubError } from "../errors.js";
import { SOCKET_TAKEOVER_ENV, TCP_HANDLE_STREAM_ENV } from "../index.js";
import { hintText, type OptionName, type OptionSpec, suggestName } from "../options.js";
import {
  type ResolvedServeCommandOptions,
  resolveServeCommandOptions,
  SERVE_COMMAND_OPTIONS,
} from "./serve-options.js";

/** The env var naming a config file when `--config` is not given. */
export const CONFIG_ENV = "SSEHUB_CONFIG";

/** The prefix of ssehub's environment variables. */
const ENV_PREFIX = "SSEHUB_";

/**
 * SSEHUB_* variables that are not options and that a process running `ssehub serve` may see:
 * the config file, the socket takeover and TCP handle stream switches, and the variables of the other commands
 * (`ssehub publish`/`subscribe`, `ssehub bench`).
 */
const OTHER_ENV_VARS: readonly string[] = [
  CONFIG_ENV,
  SOCKET_TAKEOVER_ENV,
  TCP_HANDLE_STREAM_ENV,
  "SSEHUB_URL",
  "SSEHUB_BENCH_WORKER_ARGS",
];

const SPECS: Readonly<Record<string, OptionSpec>> = SERVE_COMMAND_OPTIONS.specs;
const OPTION_NAMES = Object.keys(SPECS) as OptionName[];
const INTEGER = /^[+-]?\d+$/;
const BOOLEAN_WORDS: Readonly<Record<string, boolean>> = {
  true: true,
  "1": true,
  yes: true,
  on: true,
  false: false,
  "0": false,
  no: false,
  off: false,
};

/** What `ssehub serve` was asked to do. */
export type ServeConfig =
  | { readonly help: true }
  | { readonly help: false; readonly options: ResolvedServeCommandOptions };

/** `historyMaxEvents` -> `history-max-events`. */
export function flagName(option: string): string {
  return option.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
}

/** `historyMaxEvents` -> `SSEHUB_HISTORY_MAX_EVENTS`. */
export function envName(option: string): string {
  return `${ENV_PREFIX}${option.replace(/[A-Z]/g, (letter) => `_${letter}`).toUpperCase()}`;
}

/** `CLUSTER_EPOCH` -> `clusterEpoch`: a variable's name as envName's input. */
function camelCase(name: string): string {
  return name.toLowerCase().replace(/_([a-z0-9])/g, (_, letter: string) => letter.toUpperCase());
}

const OPTION_OF_FLAG: ReadonlyMap<string, OptionName> = new Map(
  OPTION_NAMES.map((name) => [flagName(name), name]),
);
const OPTION_ENV_VARS: ReadonlySet<string> = new Set(OPTION_NAMES.map(envName));
/** The names a flag or a variable may mean, in option spelling (`config` is `--config`). */
const FLAG_CANDIDATES: readonly string[] = [...OPTION_NAMES, "config", "help"];
const ENV_CANDIDATES: readonly string[] = [
  ...OPTION_NAMES,
  ...OTHER_ENV_VARS.map((name) => camelCase(name.slice(ENV_PREFIX.length))),
];

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
    case "boolean":
      return BOOLEAN_WORDS[text.trim().toLowerCase()] ?? text;
    case "string":
    case "enum":
      return text;
  }
}

/**
 * Mercure's environment variables, read as aliases so that an operator switching hubs keeps
 * them; the SSEHUB_* name wins when both are set.
 */
const ENV_ALIASES: Readonly<Partial<Record<OptionName, string>>> = {
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

/** What the command line says. */
interface CommandLine {
  readonly help: boolean;
  readonly config: string | undefined;
  /** Each option given, as text, or as a boolean for a bare or negated boolean flag. */
  readonly values: ReadonlyMap<OptionName, string | boolean>;
  /** Unknown flags, missing values, stray arguments. */
  readonly problems: readonly string[];
}

/** `unknown flag --x: did you mean --y?` */
function unknownFlag(flag: string): string {
  const suggestion = suggestName(flag, FLAG_CANDIDATES);
  const hint =
    suggestion === undefined ? "" : `: ${hintText(suggestion, (name) => `--${flagName(name)}`)}`;
  return `unknown flag --${flag}${hint}`;
}

/**
 * Reads `argv`: `--flag value`, `--flag=value`, a boolean flag alone (true) or with a value,
 * `--no-<boolean flag>` (false), `--config <file>`, `-h`/`--help`. serve takes no positional
 * argument, so a word after a boolean flag is its value; a flag that needs a value is never
 * given the next flag as one.
 */
function readCommandLine(argv: readonly string[]): CommandLine {
  let help = false;
  let config: string | undefined;
  const values = new Map<OptionName, string | boolean>();
  const problems: string[] = [];
  const isFlag = (arg: string | undefined): boolean =>
    arg === "-h" || arg?.startsWith("--") === true;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "-h" || arg === "--help") {
      help = true;
      continue;
    }
    if (!arg.startsWith("-") || arg === "--") {
      problems.push(`unexpected argument ${JSON.stringify(arg)}: ssehub serve takes flags only`);
      continue;
    }
    if (!arg.startsWith("--")) {
      problems.push(`unknown flag ${arg}`);
      continue;
    }
    const equals = arg.indexOf("=");
    const flag = equals === -1 ? arg.slice(2) : arg.slice(2, equals);
    const inline = equals === -1 ? undefined : arg.slice(equals + 1);
    const next = argv[i + 1];
    /** The value of a flag that needs one: inline, else the next argument unless it is a flag. */
    const takeValue = (): string | undefined => {
      if (inline !== undefined) return inline;
      if (next === undefined || isFlag(next)) return undefined;
      i++;
      return next;
    };
    const option = OPTION_OF_FLAG.get(flag);
    const negated = flag.startsWith("no-") ? OPTION_OF_FLAG.get(flag.slice(3)) : undefined;
    if (flag === "config") {
      config = takeValue();
      if (config === undefined) problems.push("--config needs a file");
    } else if (option !== undefined && SPECS[option]!.kind === "boolean") {
      // Alone it means true; a word after it (serve takes no positional) is its value.
      if (inline !== undefined) values.set(option, inline);
      else if (next === undefined || next.startsWith("-")) values.set(option, true);
      else values.set(option, argv[++i]!);
    } else if (option !== undefined) {
      const value = takeValue();
      if (value === undefined) problems.push(`--${flag} needs a value`);
      else values.set(option, value);
    } else if (negated !== undefined && SPECS[negated]!.kind === "boolean") {
      if (inline === undefined) values.set(negated, false);
      else problems.push(`--${flag} takes no value: use --${flag.slice(3)}=${inline} instead`);
    } else {
      problems.push(unknownFlag(flag));
      // Its value, if it has one, is no stray argument of its own.
      if (inline === undefined && next !== undefined && !next.startsWith("-")) i++;
    }
  }
  return { help, config, values, problems };
}

/**
 * Reads the options of `ssehub serve` from `argv` (the arguments after `serve`), `env` and the
 * config file they name. Throws SSEHUB_ERR_OPTIONS_INVALID for an unreadable config file, or
 * with every problem at once: unknown flags and config keys (each with its nearest name), and
 * every value resolveServeCommandOptions refuses.
 */
export function loadServeConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): ServeConfig {
  const commandLine = readCommandLine(argv);
  if (commandLine.help) return { help: true };

  const configPath = commandLine.config ?? env[CONFIG_ENV];
  const input: Record<string, unknown> =
    configPath === undefined || configPath === "" ? {} : { ...readConfigFile(configPath) };
  for (const name of OPTION_NAMES) {
    const spec = SPECS[name]!;
    const alias = ENV_ALIASES[name];
    const fromEnv = env[envName(name)] ?? (alias === undefined ? undefined : env[alias]);
    if (fromEnv !== undefined && fromEnv !== "") input[name] = fromText(spec, fromEnv);
    const fromFlag = commandLine.values.get(name);
    if (fromFlag !== undefined) {
      input[name] = typeof fromFlag === "boolean" ? fromFlag : fromText(spec, fromFlag);
    }
  }
  return { help: false, options: resolveServeCommandOptions(input, commandLine.problems) };
}

/**
 * One warning for each SSEHUB_* variable of `env` that ssehub does not read, with the nearest
 * known name: `SSEHUB_HEARTBEAT is not an ssehub variable and is ignored: use
 * SSEHUB_HEARTBEAT_MS instead`. Warnings, not errors: the variable may be meant for another
 * version or tool.
 */
export function unknownEnvWarnings(env: Readonly<Record<string, string | undefined>>): string[] {
  const warnings: string[] = [];
  for (const name of Object.keys(env)) {
    if (!name.startsWith(ENV_PREFIX) || OPTION_ENV_VARS.has(name)) continue;
    if (OTHER_ENV_VARS.includes(name)) continue;
    const suggestion = suggestName(name.slice(ENV_PREFIX.length), ENV_CANDIDATES);
    const hint = suggestion === undefined ? "" : `: ${hintText(suggestion, envName)}`;
    warnings.push(`${name} is not an ssehub variable and is ignored${hint}`);
  }
  return warnings;
}
