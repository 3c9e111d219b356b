/**
 * What the options of every layer share: how an option is checked (OptionSpec), which layer
 * reads each option (OPTION_LAYERS), and optionResolver, which turns a layer's specs and
 * defaults into its resolve function. The options themselves live with the layer that reads
 * them: hub/hub-options.ts (createHub), http/server-options.ts (createServer and
 * createRequestHandler) and cli/serve-options.ts (`ssehub serve`, which composes all three).
 *
 * A layer knows the names of the others only through OPTION_LAYERS, so that an option handed to
 * the wrong layer is an error naming the layer it belongs to, never silence.
 * @module
 */
import { SsehubError } from "./errors.js";

/** The layers that read options, lowest first; each resolves and checks its own. */
export type OptionLayer = "hub" | "server" | "serve";

/** Where each layer takes its options: the entry point an error about a misplaced option names. */
export const LAYER_ENTRY: Readonly<Record<OptionLayer, string>> = Object.freeze({
  hub: "createHub",
  server: "createServer",
  serve: "ssehub serve",
});

/**
 * Every option and the layer that reads it. An option read by two layers belongs to the lower
 * one, which passes it up (`hub.options`). Each layer's specs are checked against this list
 * (test/options.test.ts, and `satisfies` where the specs are written).
 */
export const OPTION_LAYERS = Object.freeze({
  historyMaxEvents: "hub",
  historyMaxAgeMs: "hub",
  historyMaxDroppedTopicBytes: "hub",
  maxQueueBytes: "hub",
  slowConsumerPolicy: "hub",
  dispatchTimeoutMs: "hub",
  heartbeatMs: "hub",
  retryMs: "hub",
  maxTopicsPerSubscription: "hub",
  maxTopicsPerPublish: "hub",
  maxTopicLength: "hub",
  maxBatchEvents: "hub",
  shutdownRetryJitterMs: "hub",
  maxPublishBacklog: "hub",
  writeDelayMs: "hub",
  writeCoalesceMaxMs: "hub",
  priorityTopics: "hub",
  idempotencyWindowMs: "hub",
  idempotencyMaxKeys: "hub",
  host: "server",
  port: "server",
  maxBodyBytes: "server",
  corsOrigins: "server",
  publishOrigins: "server",
  headersTimeoutMs: "server",
  requestTimeoutMs: "server",
  keepAliveTimeoutMs: "server",
  shutdownTimeoutMs: "server",
  logLevel: "server",
  accessLog: "server",
  publisherJwtKey: "server",
  publisherJwtAlgorithm: "server",
  publisherJwksUrl: "server",
  subscriberJwtKey: "server",
  subscriberJwtAlgorithm: "server",
  subscriberJwksUrl: "server",
  anonymousSubscribe: "server",
  anonymousPublish: "server",
  authCookieName: "server",
  authQueryParam: "server",
  mercureIssuers: "server",
  mercureResource: "server",
  subscriptionEvents: "server",
  mercureProtocol: "server",
  maxConnections: "server",
  maxConnectionsPerIp: "server",
  maxConnectionLifetimeMs: "server",
  maxPublishesPerSecond: "server",
  trustedProxies: "server",
  trustedProxyHeader: "server",
  tlsCertFile: "server",
  tlsKeyFile: "server",
  adminToken: "server",
  dashboard: "server",
  stallThresholdMs: "server",
  stallProfileMs: "server",
  presenceWebhookUrl: "server",
  presenceWebhookSecret: "server",
  presenceWebhookDebounceMs: "server",
  presenceWebhookTimeoutMs: "server",
  presenceWebhookQueueEvents: "server",
  subscribeHookUrl: "server",
  publishHookUrl: "server",
  hookForwardHeaders: "server",
  hookTimeoutMs: "server",
  hookCacheSize: "server",
  hookCacheTtlMs: "server",
  hookFailureThreshold: "server",
  hookCooldownMs: "server",
  hookFailOpen: "server",
  workers: "serve",
  redis: "serve",
  redisPrefix: "serve",
  redisLogMaxEvents: "serve",
  redisTimeoutMs: "serve",
  redisWaitReplicas: "serve",
  dataDir: "serve",
  dataMaxBytes: "serve",
  dataSyncMs: "serve",
} as const satisfies Record<string, OptionLayer>);

/** The name of an option of any layer. */
export type OptionName = keyof typeof OPTION_LAYERS;

/** The names of the options of layer `L`. */
export type LayerOptionName<L extends OptionLayer> = {
  [K in OptionName]: (typeof OPTION_LAYERS)[K] extends L ? K : never;
}[OptionName];

const OPTION_NAMES = Object.keys(OPTION_LAYERS) as OptionName[];

/** How one option is checked and how a command line or env var spells it. */
export type OptionSpec =
  | { readonly kind: "integer"; readonly min: number; readonly max: number; readonly help: string }
  | {
      readonly kind: "string";
      readonly help: string;
      /** The empty string is allowed (it means "off"). */
      readonly allowEmpty?: boolean;
      /** What the value must match, and how to say it. */
      readonly pattern?: { readonly regex: RegExp; readonly description: string };
      /** Never repeated in an error message (keys, passwords). */
      readonly secret?: boolean;
    }
  | { readonly kind: "enum"; readonly values: readonly string[]; readonly help: string }
  | { readonly kind: "list"; readonly help: string }
  | { readonly kind: "boolean"; readonly help: string };

/** The largest delay setTimeout accepts, in ms: the bound of every *Ms option. */
export const MAX_MS = 2_147_483_647;

/** Input options: any subset of the resolved options `R`. */
export type OptionInput<R> = { -readonly [K in keyof R]?: R[K] };

/** A check across fields: two options that contradict each other. */
export interface CrossCheck {
  /** The options it reads; a group without one of them drops the check. */
  readonly fields: readonly string[];
  /** A problem, or undefined when the options agree. */
  check(options: Readonly<Record<string, unknown>>): string | undefined;
}

/** The options of one layer or entry point: how each is checked, its default, its cross-checks. */
export interface OptionGroup<R> {
  readonly specs: { readonly [K in keyof R]: OptionSpec };
  readonly defaults: R;
  readonly crossChecks: readonly CrossCheck[];
}

/** The options of both groups, `a`'s first: what an entry point that reads both takes. */
export function combineGroups<A, B>(a: OptionGroup<A>, b: OptionGroup<B>): OptionGroup<A & B> {
  return Object.freeze({
    specs: Object.freeze({ ...a.specs, ...b.specs }) as OptionGroup<A & B>["specs"],
    defaults: Object.freeze({ ...a.defaults, ...b.defaults }),
    crossChecks: Object.freeze([...a.crossChecks, ...b.crossChecks]),
  });
}

/** The options `names` of `group`, with the cross-checks that read only those. */
export function pickGroup<R, K extends keyof R & string>(
  group: OptionGroup<R>,
  names: readonly K[],
): OptionGroup<Pick<R, K>> {
  const kept = new Set<string>(names);
  return Object.freeze({
    specs: Object.freeze(pick(group.specs, names)),
    defaults: Object.freeze(pick(group.defaults, names)),
    crossChecks: Object.freeze(
      group.crossChecks.filter((check) => check.fields.every((field) => kept.has(field))),
    ),
  });
}

/** The fields of resolved `options` that `group` holds, frozen: what to hand the layer below. */
export function pickOptions<R>(group: OptionGroup<R>, options: R): R {
  return Object.freeze(pick(options, Object.keys(group.specs) as (keyof R)[])) as R;
}

function pick<T, K extends keyof T>(from: T, names: readonly K[]): Pick<T, K> {
  const picked = {} as Pick<T, K>;
  for (const name of names) picked[name] = from[name];
  return picked;
}

/** Resolves the options of one entry point; see optionResolver. */
export type OptionResolver<R> = (input?: unknown, earlierProblems?: readonly string[]) => R;

/**
 * The resolve function of entry point `entry` (named in errors) over `group`: merges the input
 * over the defaults, checks every field and every cross-check, and returns the result
 * deep-frozen (lists too, copied, so the caller's arrays stay theirs). Unknown keys are refused
 * with a hint (the new name of a renamed option, else the nearest name), and so are options of
 * another layer, naming it. Every problem, after `earlierProblems` (found while reading the
 * input, such as unknown flags), is reported in one SSEHUB_ERR_OPTIONS_INVALID error whose
 * `details.problems` lists them.
 */
export function optionResolver<R>(entry: string, group: OptionGroup<R>): OptionResolver<R> {
  const specs = Object.entries(group.specs) as [string, OptionSpec][];
  // Accepted names first, so that a tie in nearestName goes to an option this entry takes.
  const candidates = [
    ...Object.keys(group.specs),
    ...OPTION_NAMES.filter((name) => !Object.hasOwn(group.specs, name)),
  ];
  return (input = {}, earlierProblems = []) => {
    if (typeof input !== "object" || input === null || Array.isArray(input)) {
      throw new SsehubError(
        "SSEHUB_ERR_OPTIONS_INVALID",
        `Cannot read the options of ${entry}: expected an object, got ${describe(input)}`,
      );
    }
    const problems = [...earlierProblems];
    const merged: Record<string, unknown> = { ...(group.defaults as object) };
    for (const [key, value] of Object.entries(input)) {
      if (value === undefined) continue;
      if (Object.hasOwn(group.specs, key)) merged[key] = value;
      else problems.push(misplaced(key, entry, group, candidates));
    }
    for (const [key, spec] of specs) {
      const problem = checkOne(key, spec, merged[key]);
      if (problem !== undefined) problems.push(problem);
    }
    for (const crossCheck of group.crossChecks) {
      const problem = crossCheck.check(merged);
      if (problem !== undefined) problems.push(problem);
    }
    if (problems.length > 0) {
      throw new SsehubError(
        "SSEHUB_ERR_OPTIONS_INVALID",
        `Cannot use options: ${problems.join("; ")}`,
        { details: { problems } },
      );
    }
    return deepFrozen(merged) as R;
  };
}

/** The problem with `key`, which `entry` does not take. */
function misplaced(
  key: string,
  entry: string,
  group: OptionGroup<unknown>,
  candidates: readonly string[],
): string {
  if (Object.hasOwn(OPTION_LAYERS, key)) return `${key} is ${layerNote(key as OptionName, entry)}`;
  const suggestion = suggestName(key, candidates);
  if (suggestion === undefined) return `unknown option ${key}`;
  const hint = hintText(suggestion);
  return Object.hasOwn(group.specs, suggestion.name)
    ? `unknown option ${key}: ${hint}`
    : `unknown option ${key}: ${hint} (${layerNote(suggestion.name as OptionName, entry)})`;
}

/** `a server option: pass it to createServer, not createHub`. */
function layerNote(name: OptionName, entry: string): string {
  const layer = OPTION_LAYERS[name];
  return `a ${layer} option: pass it to ${LAYER_ENTRY[layer]}, not ${entry}`;
}

/** Old or commonly guessed names, with the option they mean. */
const RENAMED: Readonly<Record<string, OptionName>> = {
  heartbeat: "heartbeatMs",
  heartbeatInterval: "heartbeatMs",
  retry: "retryMs",
  historySize: "historyMaxEvents",
  historyTtlMs: "historyMaxAgeMs",
  maxQueueSize: "maxQueueBytes",
  slowConsumer: "slowConsumerPolicy",
  bodyLimit: "maxBodyBytes",
  cors: "corsOrigins",
  corsOrigin: "corsOrigins",
};

/** What a name that is not known most likely means. */
export interface NameSuggestion {
  /** The name meant, as `candidates` spell it. */
  readonly name: string;
  /** True for the new name of a renamed option, false for a near spelling. */
  readonly renamed: boolean;
}

/** Lower case without `-` and `_`, so that a flag or an env var compares with its option name. */
function comparable(name: string): string {
  return name.toLowerCase().replace(/[-_]/g, "");
}

const RENAMED_BY_COMPARABLE: ReadonlyMap<string, OptionName> = new Map(
  Object.entries(RENAMED).map(([old, current]) => [comparable(old), current]),
);

/**
 * What `name` (not among `candidates`) most likely means: the new name of a renamed option when
 * it is a candidate, else the candidate nearest by edit distance when near enough (at most 2
 * edits, or a third of the name's length); undefined when nothing is near. Case, `-` and `_`
 * are ignored, so that `histroy-max-events` and `HISTORY_SIZE` find `historyMaxEvents`.
 */
export function suggestName(
  name: string,
  candidates: readonly string[],
): NameSuggestion | undefined {
  const wanted = comparable(name);
  const renamed = RENAMED_BY_COMPARABLE.get(wanted);
  if (renamed !== undefined && candidates.includes(renamed))
    return { name: renamed, renamed: true };
  const allowed = Math.max(2, Math.floor(wanted.length / 3));
  let best: string | undefined;
  let bestDistance = allowed + 1;
  for (const candidate of candidates) {
    const distance = editDistance(wanted, comparable(candidate));
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best === undefined ? undefined : { name: best, renamed: false };
}

/**
 * The hint of a suggestion, with the name written by `spell` (a flag, an env var):
 * `use heartbeatMs instead` or `did you mean heartbeatMs?`.
 */
export function hintText(
  suggestion: NameSuggestion,
  spell: (name: string) => string = (name) => name,
): string {
  const name = spell(suggestion.name);
  return suggestion.renamed ? `use ${name} instead` : `did you mean ${name}?`;
}

/**
 * Edits (insert, delete, substitute, swap two neighbours) from `a` to `b`: the optimal string
 * alignment distance, so that a swapped pair of letters (`histroy`) costs one edit.
 */
function editDistance(a: string, b: string): number {
  // d[i][j]: edits from the first i characters of a to the first j of b.
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, d[i - 2]![j - 2]! + 1);
      }
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/** A copy of `value` frozen all the way down: options hold only lists and scalars. */
function deepFrozen(value: unknown): unknown {
  if (Array.isArray(value)) return Object.freeze(value.map(deepFrozen));
  if (typeof value === "object" && value !== null) {
    const copy: Record<string, unknown> = {};
    for (const [key, field] of Object.entries(value)) copy[key] = deepFrozen(field);
    return Object.freeze(copy);
  }
  return value;
}

function describe(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value) : String(value);
}

function checkOne(key: string, spec: OptionSpec, value: unknown): string | undefined {
  switch (spec.kind) {
    case "integer":
      if (typeof value !== "number" || !Number.isInteger(value)) {
        return `${key} must be an integer: got ${describe(value)}`;
      }
      if (value < spec.min || value > spec.max) {
        return `${key} must be between ${spec.min} and ${spec.max}: got ${value}`;
      }
      return undefined;
    case "string":
      if (typeof value !== "string" || (value.length === 0 && spec.allowEmpty !== true)) {
        return `${key} must be a non-empty string: got ${describe(value)}`;
      }
      if (spec.pattern !== undefined && !spec.pattern.regex.test(value)) {
        return `${key} must be ${spec.pattern.description}: got ${spec.secret === true ? "another value" : describe(value)}`;
      }
      return undefined;
    case "boolean":
      return typeof value === "boolean"
        ? undefined
        : `${key} must be true or false: got ${describe(value)}`;
    case "enum":
      return typeof value === "string" && spec.values.includes(value)
        ? undefined
        : `${key} must be one of ${spec.values.join(", ")}: got ${describe(value)}`;
    case "list":
      return Array.isArray(value) && value.every((v) => typeof v === "string" && v.length > 0)
        ? undefined
        : `${key} must be a list of non-empty strings: got ${describe(value)}`;
  }
}
