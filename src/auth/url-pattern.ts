/**
 * WHATWG URL patterns (https://urlpattern.spec.whatwg.org/), for Mercure's `match_urlpattern`:
 * does a topic match a pattern such as `https://example.com/books/:id`?
 *
 * `compileUrlPattern()` reads a pattern string the way `new URLPattern(pattern, baseUrl)` does
 * (no options; without a base URL, a relative pattern is refused) and answers a function that tests a topic the way `URLPattern.test(topic)`
 * does: the topic is parsed as a URL (a topic that is not an absolute URL matches nothing), and
 * each of its eight components must match the pattern's.
 *
 * What it supports: the whole pattern syntax of the standard (named groups `:id`, wildcards `*`,
 * modifiers `? * +`, groups `{...}`, escapes `\`), every component (protocol, username,
 * password, hostname, port, pathname, search, hash) with the standard's defaults (components
 * after the last one written are wildcards, the port defaults to the scheme's default port,
 * username and password to wildcards), its canonicalization of fixed text (protocol and
 * hostname are lower-cased, IDNA, percent-encoding), and case-sensitive matching.
 *
 * What it declines, with SSEHUB_ERR_URLPATTERN_INVALID, beside what the standard itself
 * refuses:
 * - relative patterns (`/books/:id`) without a base URL. With one (Mercure resolves them against
 *   the hub's URL), the protocol, host and port come from the base, and a pathname that does not
 *   start with `/` is read from the base's directory, as the standard's "process a URLPatternInit"
 *   does;
 * - patterns longer than MAX_URLPATTERN_LENGTH characters, holding control characters, or whose
 *   automata would exceed MAX_URLPATTERN_STATES states in all;
 * - in regexp groups, what url-pattern-regexp.ts lists (anchors, lookaround, backreferences,
 *   named groups, property escapes, v-flag set operations); `(\d+)`, classes, alternation and
 *   quantifiers are accepted;
 * - in the pathname of a non-special scheme (`foo://host/...`, `mailto:...`), fixed text holding
 *   `?`, `#` or spaces, or that the standard and Node's own URLPattern read differently (dot
 *   segments, a leading `//`); a port that is not all digits (the standard reads `80x` as 80).
 *
 * Node 24's URLPattern gives the same answers on every accepted pattern of the tests and on
 * thousands of generated ones (test/auth/url-pattern.test.ts).
 *
 * Why not `new RegExp()` as the standard does: a group such as `(a+)+b` compiles to a
 * backtracking RegExp that takes exponential time on `aaaa...c`, and the patterns come from
 * untrusted subscribers. Here every component compiles to a Thompson automaton
 * (url-pattern-automaton.ts), run once over the component: the cost of a test is the URL parse
 * of the topic, then O(component length x states) per component, whatever the pattern; a
 * component that is a wildcard or plain text costs nothing or one string comparison. Measured
 * by bench/micro/url-pattern.bench.ts on a busy 2-core machine: 0.27 to 0.55 µs per test on
 * Node 24 (about 0.2 µs of it `new URL(topic)`), where the built-in URLPattern takes 0.5 to
 * 0.6 µs, and 0.3 to 1 ms on `{(a+)}+b` against 16 letters "a" and a "c" (0.25 µs here).
 * @module
 */
import { SsehubError } from "../errors.js";
import {
  Automaton,
  automatonSize,
  chars,
  type RegexNode,
  repeat,
  seq,
  set,
} from "./url-pattern-automaton.js";
import { NOT_LINE_TERMINATOR, parseRegexpGroup, RegexpDeclined } from "./url-pattern-regexp.js";
import {
  COMPONENTS,
  type Component,
  type ComponentOptions,
  DEFAULT_OPTIONS,
  type EncodingCallback,
  HOSTNAME_OPTIONS,
  PATHNAME_OPTIONS,
  type Part,
  PatternSyntaxError,
  parseConstructorString,
  parsePatternString,
} from "./url-pattern-syntax.js";

/** The longest pattern accepted, in UTF-16 code units (the bound of a selector in a token). */
export const MAX_URLPATTERN_LENGTH = 4_096;

/**
 * The most automaton states a pattern may compile to, all components together. The cost per
 * character of a topic is at most proportional to it: on the worst patterns accepted (such as
 * `{a}?` 250 times, every state active at once) a topic of 256 characters, the hub's default
 * maxTopicLength, takes 256 x 512 steps, about 0.6 ms of CPU here. Patterns people write need
 * tens of states (`https://example.com/users/:user/books/:book` about 30).
 */
export const MAX_URLPATTERN_STATES = 512;

/** Special schemes and their default ports (WHATWG URL). */
const SPECIAL_SCHEMES: Readonly<Record<string, string>> = {
  ftp: "21",
  file: "",
  http: "80",
  https: "443",
  ws: "80",
  wss: "443",
};

/** A compiled component: a test of one component of a topic. */
type ComponentMatcher = (value: string) => boolean;

const matchAll: ComponentMatcher = () => true;

/** Thrown by encoding callbacks for fixed text the standard refuses. */
class FixedTextInvalid extends Error {}

// Encoding callbacks: the canonical form of a piece of fixed text, as the URL parser writes
// that component ("canonicalize a protocol" and the others).

function canonicalizeProtocol(text: string): string {
  if (text === "") return text;
  if (!/^[A-Za-z0-9+.-]+$/.test(text)) throw new FixedTextInvalid(`"${text}" is not a scheme`);
  try {
    return new URL(`${text}://dummy.test`).protocol.slice(0, -1);
  } catch {
    throw new FixedTextInvalid(`"${text}" is not a scheme`);
  }
}

function canonicalizeUsername(text: string): string {
  if (text === "") return text;
  const url = new URL("https://dummy.test");
  url.username = text;
  return url.username;
}

function canonicalizePassword(text: string): string {
  if (text === "") return text;
  const url = new URL("https://dummy.test");
  url.password = text;
  return url.password;
}

/** Forbidden host code points of WHATWG URL (control characters are refused earlier). */
const FORBIDDEN_HOST = /[ #/:<>?@[\\\]^|]/;

function canonicalizeHostname(text: string): string {
  if (text === "") return text;
  if (FORBIDDEN_HOST.test(text)) throw new FixedTextInvalid(`"${text}" is not a host name`);
  try {
    return new URL(`https://${text}/`).hostname;
  } catch {
    throw new FixedTextInvalid(`"${text}" is not a host name`);
  }
}

function canonicalizeIpv6Hostname(text: string): string {
  if (!/^[0-9A-Fa-f[\]:]*$/.test(text)) {
    throw new FixedTextInvalid(`"${text}" is not part of an IPv6 address`);
  }
  return text.toLowerCase();
}

function canonicalizePort(text: string): string {
  if (text === "") return text;
  if (!/^[0-9]+$/.test(text) || Number(text) > 65_535) {
    throw new FixedTextInvalid(`"${text}" is not a port`);
  }
  return String(Number(text));
}

/**
 * What the path parser of a non-special URL percent-encodes (the path percent-encode set, but
 * for control characters, which compileUrlPattern refuses): encoded here first so that `?` and `#` stay in the path and trailing spaces are kept.
 */
const PATH_ENCODED = /[ "#<>?^`{}]/g;

function canonicalizePathname(text: string): string {
  if (text === "") return text;
  const leadingSlash = text.startsWith("/");
  const encoded = text.replace(PATH_ENCODED, percentEncode);
  // After an authority, so that a leading "//" stays in the path; "/-" keeps a leading "."
  // from being read as a dot segment, and is cut off again.
  const path = new URL(`foo://dummy.test${leadingSlash ? "" : "/-"}${encoded}`).pathname;
  return leadingSlash ? path : path.slice(2);
}

function canonicalizeOpaquePathname(text: string): string {
  if (text === "") return text;
  if (/[ #?]/.test(text)) {
    throw new FixedTextInvalid(
      `"${text}": spaces, "?", "#" and control characters are not supported in an opaque path`,
    );
  }
  // The standard parses the text as an opaque path; Node's URLPattern parses "scheme:" + text,
  // where a text starting with "/" is a hierarchical path (dot segments resolved, more
  // characters encoded) and "//" starts an authority. Where the two differ, decline rather
  // than pick one.
  const opaque = new URL(`foo:-${text}`).pathname.slice(1);
  let appended: string | undefined;
  try {
    appended = new URL(`foo:${text}`).pathname;
  } catch {
    appended = undefined;
  }
  if (appended !== opaque) {
    throw new FixedTextInvalid(
      `"${text}" in the path of a non-special scheme is read differently by implementations (dot segments, "//", characters to encode)`,
    );
  }
  return opaque;
}

function canonicalizeSearch(text: string): string {
  if (text === "") return text;
  const url = new URL("foo://dummy.test");
  url.search = `?${text}`;
  return url.search.slice(1);
}

function canonicalizeHash(text: string): string {
  if (text === "") return text;
  const url = new URL("foo://dummy.test");
  url.hash = `#${text}`;
  return url.hash.slice(1);
}

function percentEncode(ch: string): string {
  return `%${ch.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0")}`;
}

/** The regular expression a part list stands for ("generate a regular expression"). */
function partsToRegex(parts: readonly Part[], options: ComponentOptions): RegexNode {
  const items: RegexNode[] = [];
  for (const part of parts) {
    if (part.type === "fixed-text") {
      items.push(withModifier(chars(part.value), part.modifier));
      continue;
    }
    const value =
      part.type === "segment-wildcard"
        ? repeat(set(notDelimiter(options)), 1, Number.POSITIVE_INFINITY)
        : part.type === "full-wildcard"
          ? repeat(set(NOT_LINE_TERMINATOR), 0, Number.POSITIVE_INFINITY)
          : parseRegexpGroup(part.value);
    const prefix = chars(part.prefix);
    const suffix = chars(part.suffix);
    if (part.modifier === "none" || part.modifier === "optional") {
      items.push(withModifier(seq(prefix, value, suffix), part.modifier));
      continue;
    }
    // `prefix value (suffix prefix value)* suffix`, optional as a whole for zero-or-more.
    const repeated = seq(
      prefix,
      value,
      repeat(seq(suffix, prefix, value), 0, Number.POSITIVE_INFINITY),
      suffix,
    );
    if (part.prefix === "" && part.suffix === "") {
      items.push(withModifier(value, part.modifier));
    } else {
      items.push(part.modifier === "zero-or-more" ? repeat(repeated, 0, 1) : repeated);
    }
  }
  return seq(...items);
}

function withModifier(node: RegexNode, modifier: Part["modifier"]): RegexNode {
  switch (modifier) {
    case "none":
      return node;
    case "optional":
      return repeat(node, 0, 1);
    case "zero-or-more":
      return repeat(node, 0, Number.POSITIVE_INFINITY);
    case "one-or-more":
      return repeat(node, 1, Number.POSITIVE_INFINITY);
  }
}

const notDelimiterCache = new Map<string, readonly number[]>();

function notDelimiter(options: ComponentOptions): readonly number[] {
  if (options.delimiter === "") return [0, 0x10ffff];
  let ranges = notDelimiterCache.get(options.delimiter);
  if (ranges === undefined) {
    const cp = options.delimiter.codePointAt(0)!;
    ranges = cp === 0 ? [1, 0x10ffff] : [0, cp - 1, cp + 1, 0x10ffff];
    notDelimiterCache.set(options.delimiter, ranges);
  }
  return ranges;
}

/** States left to the components not compiled yet. */
interface Budget {
  states: number;
}

/** Compiles one component's pattern string ("compile a component"). */
function compileComponent(
  pattern: string,
  encode: EncodingCallback,
  options: ComponentOptions,
  budget: Budget,
): ComponentMatcher {
  const parts = parsePatternString(pattern, options, encode);
  const only = parts.length === 1 ? parts[0]! : undefined;
  if (parts.length === 0) return (value) => value === "";
  if (
    only?.type === "full-wildcard" &&
    only.modifier === "none" &&
    only.prefix === "" &&
    only.suffix === ""
  ) {
    // The components of a parsed URL hold no line terminator: `.*` matches them all.
    return matchAll;
  }
  if (only?.type === "fixed-text" && only.modifier === "none") {
    const text = only.value;
    return (value) => value === text;
  }
  // Fixed text that the component starts or ends with is compared as a string, and the
  // automaton runs only over what lies between: fewer states, and a quicker miss.
  const first = parts[0]!;
  const last = parts[parts.length - 1]!;
  const head = first.type === "fixed-text" && first.modifier === "none" ? first.value : "";
  const tail =
    parts.length > 1 && last.type === "fixed-text" && last.modifier === "none" ? last.value : "";
  const middle = parts.slice(head === "" ? 0 : 1, tail === "" ? parts.length : -1);
  const regex = partsToRegex(middle, options);
  const size = automatonSize(regex, budget.states);
  if (size > budget.states) {
    throw new PatternSyntaxError(
      `it compiles to more than ${MAX_URLPATTERN_STATES} automaton states: too many groups and wildcards, or counted repetitions such as "{1,1000}", which multiply them`,
    );
  }
  budget.states -= size;
  const automaton = new Automaton(regex);
  const fixedLength = head.length + tail.length;
  return (value) =>
    value.length >= fixedLength &&
    value.startsWith(head) &&
    value.endsWith(tail) &&
    automaton.matches(value, head.length, value.length - tail.length);
}

/** True when the protocol pattern matches one of the special schemes. */
function protocolMatchesSpecialScheme(protocol: ComponentMatcher): boolean {
  for (const scheme of Object.keys(SPECIAL_SCHEMES)) if (protocol(scheme)) return true;
  return false;
}

/** The topic as a URL, or undefined when it is not an absolute URL. */
function parseTopic(topic: string): URL | undefined {
  // Without a ":" no string is an absolute URL: skip the cost of a failing parse.
  if (!topic.includes(":")) return undefined;
  try {
    return new URL(topic);
  } catch {
    return undefined;
  }
}

function invalid(pattern: string, problem: string): SsehubError {
  const shown = pattern.length > 120 ? `${pattern.slice(0, 120)}...` : pattern;
  return new SsehubError(
    "SSEHUB_ERR_URLPATTERN_INVALID",
    `Cannot use URL pattern ${JSON.stringify(shown)}: ${problem}`,
  );
}

/**
 * Compiles a URL pattern string; answers a test of topics. Throws SSEHUB_ERR_URLPATTERN_INVALID
 * when the pattern is not valid, is relative, too long, too complex, or uses a regexp feature
 * that ssehub declines (see the module comment).
 * @example
 * const books = compileUrlPattern("https://example.com/books/:id(\\d+)");
 * books("https://example.com/books/42"); // true
 * books("https://example.com/books/42/reviews"); // false
 * books("not a URL"); // false
 */
export function compileUrlPattern(pattern: string, baseUrl?: string): (topic: string) => boolean {
  if (pattern.length > MAX_URLPATTERN_LENGTH) {
    throw invalid(pattern, `it is longer than ${MAX_URLPATTERN_LENGTH} characters`);
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: what is refused
  if (/[\u0000-\u001f\u007f]/.test(pattern)) {
    throw invalid(pattern, "it holds a control character");
  }
  let matchers: Record<Component, ComponentMatcher>;
  try {
    matchers = compileComponents(pattern, baseUrl);
  } catch (error) {
    if (
      error instanceof PatternSyntaxError ||
      error instanceof RegexpDeclined ||
      error instanceof FixedTextInvalid ||
      error instanceof SyntaxError ||
      error instanceof TypeError
    ) {
      throw invalid(pattern, error.message);
    }
    throw error;
  }
  const { protocol, username, password, hostname, port, pathname, search, hash } = matchers;
  // A wildcard component is not even read from the URL: each getter builds a string.
  return (topic) => {
    const url = parseTopic(topic);
    return (
      url !== undefined &&
      (protocol === matchAll || protocol(url.protocol.slice(0, -1))) &&
      (hostname === matchAll || hostname(url.hostname)) &&
      (pathname === matchAll || pathname(url.pathname)) &&
      (port === matchAll || port(url.port)) &&
      (username === matchAll || username(url.username)) &&
      (password === matchAll || password(url.password)) &&
      (search === matchAll || search(url.search.slice(1))) &&
      (hash === matchAll || hash(url.hash.slice(1)))
    );
  };
}

/** Escapes `text` so that a pattern reads it as fixed text (the standard's "escape a pattern string"). */
function escapePatternString(text: string): string {
  return text.replace(/[+*?:{}()\\]/g, "\\$&");
}

/**
 * Fills the components a relative pattern leaves out from `baseUrl`, as the standard's
 * "process a URLPatternInit" does for a pattern with a base URL: protocol, username, password,
 * hostname and port from the base (escaped: fixed text), the pathname from the base when the
 * pattern has none, or resolved against the base's directory when it does not start with `/`.
 */
function resolveAgainstBase(init: Partial<Record<Component, string>>, baseUrl: string): void {
  let base: URL;
  try {
    base = new URL(baseUrl);
  } catch {
    throw new PatternSyntaxError(`its base URL ${JSON.stringify(baseUrl)} is not a URL`);
  }
  init.protocol = escapePatternString(base.protocol.slice(0, -1));
  init.username ??= escapePatternString(base.username);
  init.password ??= escapePatternString(base.password);
  init.hostname ??= escapePatternString(base.hostname);
  init.port ??= escapePatternString(base.port);
  const basePath = escapePatternString(base.pathname);
  if (init.pathname === undefined || init.pathname === "") {
    init.pathname = basePath;
    init.search ??= escapePatternString(base.search.slice(1));
  } else if (!init.pathname.startsWith("/")) {
    init.pathname = basePath.slice(0, basePath.lastIndexOf("/") + 1) + init.pathname;
  }
}

/** The steps of "create" a URL pattern from a string, with an optional base URL, no options. */
function compileComponents(
  pattern: string,
  baseUrl: string | undefined,
): Record<Component, ComponentMatcher> {
  const budget: Budget = { states: MAX_URLPATTERN_STATES };
  const init = parseConstructorString(pattern, (protocol) =>
    protocolMatchesSpecialScheme(
      compileComponent(protocol, canonicalizeProtocol, DEFAULT_OPTIONS, {
        states: MAX_URLPATTERN_STATES,
      }),
    ),
  );
  if (init.protocol === undefined) {
    if (baseUrl === undefined) {
      throw new PatternSyntaxError(
        'it is relative (it has no protocol, such as "https:"), and no base URL applies',
      );
    }
    resolveAgainstBase(init, baseUrl);
  }
  // "process a URLPatternInit" for a pattern: the delimiters "?" and "#" are not part of them.
  if (init.protocol?.endsWith(":") === true) init.protocol = init.protocol.slice(0, -1);
  if (init.search?.startsWith("?")) init.search = init.search.slice(1);
  if (init.hash?.startsWith("#")) init.hash = init.hash.slice(1);
  const source = {} as Record<Component, string>;
  for (const component of COMPONENTS) source[component] = init[component] ?? "*";
  if (SPECIAL_SCHEMES[source.protocol] === source.port && SPECIAL_SCHEMES[source.protocol] !== "") {
    source.port = "";
  }
  const protocol = compileComponent(source.protocol, canonicalizeProtocol, DEFAULT_OPTIONS, budget);
  const ipv6 = source.hostname.length >= 2 && /^(?:\[|\{\[|\\\[)/.test(source.hostname);
  const special = protocolMatchesSpecialScheme(protocol);
  return {
    protocol,
    username: compileComponent(source.username, canonicalizeUsername, DEFAULT_OPTIONS, budget),
    password: compileComponent(source.password, canonicalizePassword, DEFAULT_OPTIONS, budget),
    hostname: compileComponent(
      source.hostname,
      ipv6 ? canonicalizeIpv6Hostname : canonicalizeHostname,
      HOSTNAME_OPTIONS,
      budget,
    ),
    port: compileComponent(source.port, canonicalizePort, DEFAULT_OPTIONS, budget),
    pathname: special
      ? compileComponent(source.pathname, canonicalizePathname, PATHNAME_OPTIONS, budget)
      : compileComponent(source.pathname, canonicalizeOpaquePathname, DEFAULT_OPTIONS, budget),
    search: compileComponent(source.search, canonicalizeSearch, DEFAULT_OPTIONS, budget),
    hash: compileComponent(source.hash, canonicalizeHash, DEFAULT_OPTIONS, budget),
  };
}
