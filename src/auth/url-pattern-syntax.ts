/**
 * The syntax of URL patterns, as the WHATWG URL Pattern Standard defines it
 * (https://urlpattern.spec.whatwg.org/): the tokenizer, the parser of a component's pattern
 * string into parts (`/books/:id(\d+)?` -> fixed text, a named group with a regexp and a
 * modifier), and the parser that splits a whole pattern string (`https://example.com/books/:id`)
 * into its components. Each function follows the algorithm of the same name in the standard;
 * indices are UTF-16 offsets where the standard counts code points, which changes nothing since
 * both walk the same code points.
 * @module
 */

/** A pattern the standard refuses; the message says why. */
export class PatternSyntaxError extends Error {}

type TokenType =
  | "open"
  | "close"
  | "regexp"
  | "name"
  | "char"
  | "escaped-char"
  | "other-modifier"
  | "asterisk"
  | "end"
  | "invalid-char";

interface Token {
  readonly type: TokenType;
  /** Where the token starts in the pattern string. */
  readonly index: number;
  readonly value: string;
}

const ID_START = /[$_\p{ID_Start}]/u;
const ID_CONTINUE = /[$\p{ID_Continue}]|\u200C|\u200D/u;

function isValidNameCodePoint(ch: string, first: boolean): boolean {
  return (first ? ID_START : ID_CONTINUE).test(ch);
}

function codePointWidth(input: string, at: number): number {
  return input.codePointAt(at)! > 0xffff ? 2 : 1;
}

/** Splits a pattern string into tokens ("tokenize"). Strict mode throws where lenient marks. */
export function tokenize(input: string, policy: "strict" | "lenient"): Token[] {
  const tokens: Token[] = [];
  let index = 0;
  /** "process a tokenizing error": the text from `index` to `valueEnd` becomes invalid-char. */
  const fail = (valueEnd: number, problem: string): void => {
    if (policy === "strict") throw new PatternSyntaxError(`${problem} at index ${index}`);
    tokens.push({ type: "invalid-char", index, value: input.slice(index, valueEnd) });
    index = valueEnd;
  };
  const add = (type: TokenType, next: number, valueStart = index, valueEnd = next): void => {
    tokens.push({ type, index, value: input.slice(valueStart, valueEnd) });
    index = next;
  };
  while (index < input.length) {
    const ch = input[index]!;
    const next = index + codePointWidth(input, index);
    if (ch === "*") add("asterisk", next);
    else if (ch === "+" || ch === "?") add("other-modifier", next);
    else if (ch === "\\") {
      if (next >= input.length) fail(next, 'a pattern cannot end with "\\"');
      else add("escaped-char", next + codePointWidth(input, next), next);
    } else if (ch === "{") add("open", next);
    else if (ch === "}") add("close", next);
    else if (ch === ":") {
      let end = next;
      while (end < input.length) {
        const width = codePointWidth(input, end);
        if (!isValidNameCodePoint(input.slice(end, end + width), end === next)) break;
        end += width;
      }
      if (end <= next) fail(next, 'a ":" must start a group name');
      else add("name", end, next);
    } else if (ch === "(") {
      const end = regexpGroupEnd(input, next);
      if (typeof end === "string") fail(next, end);
      else add("regexp", end, next, end - 1);
    } else add("char", next);
  }
  tokens.push({ type: "end", index: input.length, value: "" });
  return tokens;
}

/**
 * The regexp-group branch of "tokenize", from just after its "(" at `start`: answers where the
 * group ends (after its ")"), or what is wrong with it.
 */
function regexpGroupEnd(input: string, start: number): number | string {
  let depth = 1;
  let position = start;
  while (position < input.length) {
    const code = input.charCodeAt(position);
    if (code > 0x7f) return "a regexp group may hold only ASCII characters";
    if (position === start && code === 0x3f) return 'a regexp group cannot start with "?"';
    if (code === 0x5c) {
      if (position === input.length - 1) return 'a regexp group cannot end in "\\"';
      if (input.charCodeAt(position + 1) > 0x7f) {
        return "a regexp group may hold only ASCII characters";
      }
      position += 2;
      continue;
    }
    if (code === 0x29) {
      depth--;
      if (depth === 0) return position - start === 0 ? "a regexp group is empty" : position + 1;
    } else if (code === 0x28) {
      depth++;
      if (position === input.length - 1) return "a regexp group is not closed";
      if (input[position + 1] !== "?") {
        return 'a capturing group inside a regexp group must be "(?:...)"';
      }
    }
    position++;
  }
  return "a regexp group is not closed";
}

export type Modifier = "none" | "optional" | "zero-or-more" | "one-or-more";

/** One piece of a component's pattern ("part"). */
export interface Part {
  readonly type: "fixed-text" | "regexp" | "segment-wildcard" | "full-wildcard";
  /** The text of fixed-text, the regexp of a regexp part; empty for wildcards. */
  readonly value: string;
  readonly modifier: Modifier;
  readonly name: string;
  readonly prefix: string;
  readonly suffix: string;
}

/** How a component treats its groups ("options"). */
export interface ComponentOptions {
  /** What a segment wildcard (`:name`) stops at: "/" in pathnames, "." in hostnames. */
  readonly delimiter: string;
  /** The code point that, just before a group, becomes its prefix: "/" in pathnames. */
  readonly prefix: string;
}

export const DEFAULT_OPTIONS: ComponentOptions = { delimiter: "", prefix: "" };
export const HOSTNAME_OPTIONS: ComponentOptions = { delimiter: ".", prefix: "" };
export const PATHNAME_OPTIONS: ComponentOptions = { delimiter: "/", prefix: "/" };

/** Validates and encodes a piece of fixed text; throws when it is not valid. */
export type EncodingCallback = (text: string) => string;

const REGEXP_SPECIALS = `.+*?^$${"{}"}()[]|/\\`;

/** "escape a regexp string". */
export function escapeRegexpString(input: string): string {
  let result = "";
  for (const ch of input) result += REGEXP_SPECIALS.includes(ch) ? `\\${ch}` : ch;
  return result;
}

/** "generate a segment wildcard regexp". */
export function segmentWildcardRegexp(options: ComponentOptions): string {
  return `[^${escapeRegexpString(options.delimiter)}]+?`;
}

/** "full wildcard regexp value". */
export const FULL_WILDCARD_REGEXP = ".*";

/** Parses a component's pattern string into parts ("parse a pattern string"). */
export function parsePatternString(
  input: string,
  options: ComponentOptions,
  encode: EncodingCallback,
): Part[] {
  const tokens = tokenize(input, "strict");
  const segmentWildcard = segmentWildcardRegexp(options);
  const parts: Part[] = [];
  let pendingFixed = "";
  let index = 0;
  let nextNumericName = 0;
  const names = new Set<string>();

  const tryConsume = (type: TokenType): Token | null => {
    const token = tokens[index]!;
    if (token.type !== type) return null;
    index++;
    return token;
  };
  const tryConsumeModifier = (): Token | null =>
    tryConsume("other-modifier") ?? tryConsume("asterisk");
  const tryConsumeRegexpOrWildcard = (name: Token | null): Token | null => {
    const token = tryConsume("regexp");
    return name === null && token === null ? tryConsume("asterisk") : token;
  };
  const consumeRequired = (type: TokenType): Token => {
    const token = tryConsume(type);
    if (token === null) {
      const found = tokens[index]!;
      const what = found.type === "end" ? "the end" : `"${found.value}" at index ${found.index}`;
      throw new PatternSyntaxError(`expected ${type === "end" ? "the end" : `"}"`}, found ${what}`);
    }
    return token;
  };
  const consumeText = (): string => {
    let result = "";
    for (;;) {
      const token = tryConsume("char") ?? tryConsume("escaped-char");
      if (token === null) return result;
      result += token.value;
    }
  };
  const flushPendingFixed = (): void => {
    if (pendingFixed === "") return;
    const value = encode(pendingFixed);
    pendingFixed = "";
    parts.push({ type: "fixed-text", value, modifier: "none", name: "", prefix: "", suffix: "" });
  };
  const addPart = (
    prefix: string,
    nameToken: Token | null,
    regexpOrWildcard: Token | null,
    suffix: string,
    modifierToken: Token | null,
  ): void => {
    const modifier: Modifier =
      modifierToken?.value === "?"
        ? "optional"
        : modifierToken?.value === "*"
          ? "zero-or-more"
          : modifierToken?.value === "+"
            ? "one-or-more"
            : "none";
    if (nameToken === null && regexpOrWildcard === null && modifier === "none") {
      pendingFixed += prefix; // a "{foo}" group: plain text
      return;
    }
    flushPendingFixed();
    if (nameToken === null && regexpOrWildcard === null) {
      if (prefix === "") return;
      parts.push({
        type: "fixed-text",
        value: encode(prefix),
        modifier,
        name: "",
        prefix: "",
        suffix: "",
      });
      return;
    }
    let regexpValue =
      regexpOrWildcard === null
        ? segmentWildcard
        : regexpOrWildcard.type === "asterisk"
          ? FULL_WILDCARD_REGEXP
          : regexpOrWildcard.value;
    let type: Part["type"] = "regexp";
    if (regexpValue === segmentWildcard) {
      type = "segment-wildcard";
      regexpValue = "";
    } else if (regexpValue === FULL_WILDCARD_REGEXP) {
      type = "full-wildcard";
      regexpValue = "";
    }
    const name = nameToken !== null ? nameToken.value : String(nextNumericName++);
    if (names.has(name)) throw new PatternSyntaxError(`the group name "${name}" is used twice`);
    names.add(name);
    parts.push({
      type,
      value: regexpValue,
      modifier,
      name,
      prefix: encode(prefix),
      suffix: encode(suffix),
    });
  };

  while (index < tokens.length) {
    const charToken = tryConsume("char");
    let nameToken = tryConsume("name");
    let regexpOrWildcard = tryConsumeRegexpOrWildcard(nameToken);
    if (nameToken !== null || regexpOrWildcard !== null) {
      let prefix = charToken?.value ?? "";
      if (prefix !== "" && prefix !== options.prefix) {
        pendingFixed += prefix;
        prefix = "";
      }
      flushPendingFixed();
      addPart(prefix, nameToken, regexpOrWildcard, "", tryConsumeModifier());
      continue;
    }
    const fixedToken = charToken ?? tryConsume("escaped-char");
    if (fixedToken !== null) {
      pendingFixed += fixedToken.value;
      continue;
    }
    if (tryConsume("open") !== null) {
      const prefix = consumeText();
      nameToken = tryConsume("name");
      regexpOrWildcard = tryConsumeRegexpOrWildcard(nameToken);
      const suffix = consumeText();
      consumeRequired("close");
      addPart(prefix, nameToken, regexpOrWildcard, suffix, tryConsumeModifier());
      continue;
    }
    flushPendingFixed();
    consumeRequired("end");
  }
  return parts;
}

/** The components of a URL, in the order of the standard. */
export const COMPONENTS = [
  "protocol",
  "username",
  "password",
  "hostname",
  "port",
  "pathname",
  "search",
  "hash",
] as const;

export type Component = (typeof COMPONENTS)[number];

/** The components a pattern string names, as pattern strings ("URLPatternInit"). */
export type PatternInit = Partial<Record<Component, string>>;

type State = Component | "init" | "authority" | "done";

/**
 * Splits a whole pattern string into its components ("parse a constructor string").
 * `protocolIsSpecial` answers whether a protocol pattern matches one of the special schemes
 * (http, https, ws, wss, ftp, file), which decides whether an authority follows.
 */
export function parseConstructorString(
  input: string,
  protocolIsSpecial: (protocol: string) => boolean,
): PatternInit {
  const tokens = tokenize(input, "lenient");
  const result: PatternInit = {};
  let componentStart = 0;
  let tokenIndex = 0;
  let tokenIncrement = 1;
  let groupDepth = 0;
  let ipv6BracketDepth = 0;
  let protocolMatchesSpecialScheme = false;
  let state = "init" as State;

  const safeToken = (at: number): Token => tokens[at] ?? tokens[tokens.length - 1]!;
  const isNonSpecialPatternChar = (at: number, value: string): boolean => {
    const token = safeToken(at);
    return (
      token.value === value &&
      (token.type === "char" || token.type === "escaped-char" || token.type === "invalid-char")
    );
  };
  const is = (value: string): boolean => isNonSpecialPatternChar(tokenIndex, value);
  const isSearchPrefix = (): boolean => {
    if (is("?")) return true;
    if (tokens[tokenIndex]!.value !== "?") return false;
    if (tokenIndex === 0) return true;
    const previous = safeToken(tokenIndex - 1).type;
    return !(
      previous === "name" ||
      previous === "regexp" ||
      previous === "close" ||
      previous === "asterisk"
    );
  };
  const makeComponentString = (): string =>
    input.slice(safeToken(componentStart).index, tokens[tokenIndex]!.index);
  const rewind = (): void => {
    tokenIndex = componentStart;
    tokenIncrement = 0;
  };
  const rewindAndSetState = (next: State): void => {
    rewind();
    state = next;
  };
  const changeState = (next: State, skip: number): void => {
    if (state !== "init" && state !== "authority" && state !== "done") {
      result[state] = makeComponentString();
    }
    if (state !== "init" && next !== "done") {
      const before = (...states: State[]): boolean => states.includes(state);
      if (
        before("protocol", "authority", "username", "password") &&
        (next === "port" || next === "pathname" || next === "search" || next === "hash") &&
        result.hostname === undefined
      ) {
        result.hostname = "";
      }
      if (
        before("protocol", "authority", "username", "password", "hostname", "port") &&
        (next === "search" || next === "hash") &&
        result.pathname === undefined
      ) {
        result.pathname = protocolMatchesSpecialScheme ? "/" : "";
      }
      if (
        before("protocol", "authority", "username", "password", "hostname", "port", "pathname") &&
        next === "hash" &&
        result.search === undefined
      ) {
        result.search = "";
      }
    }
    state = next;
    tokenIndex += skip;
    componentStart = tokenIndex;
    tokenIncrement = 0;
  };

  while (tokenIndex < tokens.length) {
    tokenIncrement = 1;
    if (tokens[tokenIndex]!.type === "end") {
      if (state === "init") {
        // No protocol: a relative pattern.
        rewind();
        if (is("#")) changeState("hash", 1);
        else if (isSearchPrefix()) changeState("search", 1);
        else changeState("pathname", 0);
        tokenIndex += tokenIncrement;
        continue;
      }
      if (state === "authority") {
        // No "@": no username or password.
        rewindAndSetState("hostname");
        tokenIndex += tokenIncrement;
        continue;
      }
      changeState("done", 0);
      break;
    }
    if (tokens[tokenIndex]!.type === "open") {
      // Component boundaries are ignored inside "{...}".
      groupDepth++;
      tokenIndex += tokenIncrement;
      continue;
    }
    if (groupDepth > 0) {
      if (tokens[tokenIndex]!.type === "close") groupDepth--;
      else {
        tokenIndex += tokenIncrement;
        continue;
      }
    }
    switch (state) {
      case "init":
        if (is(":")) rewindAndSetState("protocol");
        break;
      case "protocol":
        if (is(":")) {
          protocolMatchesSpecialScheme = protocolIsSpecial(makeComponentString());
          let next: State = "pathname";
          let skip = 1;
          if (
            isNonSpecialPatternChar(tokenIndex + 1, "/") &&
            isNonSpecialPatternChar(tokenIndex + 2, "/")
          ) {
            next = "authority";
            skip = 3;
          } else if (protocolMatchesSpecialScheme) {
            next = "authority";
          }
          changeState(next, skip);
        }
        break;
      case "authority":
        if (is("@")) rewindAndSetState("username");
        else if (is("/") || isSearchPrefix() || is("#")) rewindAndSetState("hostname");
        break;
      case "username":
        if (is(":")) changeState("password", 1);
        else if (is("@")) changeState("hostname", 1);
        break;
      case "password":
        if (is("@")) changeState("hostname", 1);
        break;
      case "hostname":
        if (is("[")) ipv6BracketDepth++;
        else if (is("]")) ipv6BracketDepth--;
        else if (is(":") && ipv6BracketDepth === 0) changeState("port", 1);
        else if (is("/")) changeState("pathname", 0);
        else if (isSearchPrefix()) changeState("search", 1);
        else if (is("#")) changeState("hash", 1);
        break;
      case "port":
        if (is("/")) changeState("pathname", 0);
        else if (isSearchPrefix()) changeState("search", 1);
        else if (is("#")) changeState("hash", 1);
        break;
      case "pathname":
        if (isSearchPrefix()) changeState("search", 1);
        else if (is("#")) changeState("hash", 1);
        break;
      case "search":
        if (is("#")) changeState("hash", 1);
        break;
      default:
        break;
    }
    tokenIndex += tokenIncrement;
  }
  if (result.hostname !== undefined && result.port === undefined) result.port = "";
  return result;
}
