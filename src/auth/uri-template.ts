/**
 * RFC 6570 URI templates, read backwards: does some expansion of a template equal a given
 * string? Mercure uses templates as topic selectors (`https://example.com/books/{id}`).
 *
 * A template compiles once to a Thompson automaton (a nondeterministic finite automaton over
 * UTF-16 code units), which `matches()` runs over the topic in one pass, keeping the set of
 * states it may be in. Time is O(topic length x automaton states) whatever the input: no
 * backtracking, so no pathological topic. A JavaScript RegExp would backtrack: with
 * `{+a}/{+b}/{+c}` it takes cubic time on a topic of slashes that fails at its last character
 * (0.85 s at 800 characters on the machines here, hours at 10,000).
 *
 * What each operator expands to (RFC 6570 section 3.2; U = unreserved, R = reserved, %XX =
 * a percent-encoded octet; values are strings, lists or associative arrays; an undefined
 * variable or empty list is skipped; "first" comes before the first defined variable and "sep"
 * between defined variables):
 *
 * ```
 * op    first sep  chars of a value  named  empty string value
 * ""    ""    ","  U %XX             no
 * "+"   ""    ","  U R %XX           no
 * "#"   "#"   ","  U R %XX           no
 * "."   "."   "."  U %XX             no
 * "/"   "/"   "/"  U %XX             no
 * ";"   ";"   ";"  U %XX             yes    ;name
 * "?"   "?"   "&"  U %XX             yes    ?name=
 * "&"   "&"   "&"  U %XX             yes    &name=
 * ```
 *
 * A list or associative array joins its items with "," (`{list}` -> `red,green,blue`); exploded
 * (`{list*}`) it joins them with the operator's sep, and an exploded associative array writes
 * `key=value` items (`{keys*}` -> `semi=%3B,dot=.,comma=%2C`). A prefix (`{var:3}`) keeps the
 * first 3 characters of a string value; a percent-encoded UTF-8 sequence counts as one.
 * Literal text between expressions matches itself exactly, as Mercure hubs compare it.
 * @module
 */

import { SsehubError } from "../errors.js";
import { AutomatonStates } from "./automaton-states.js";

// State kinds of the automaton.
const CHAR = 0; // consumes one code unit equal to arg
const CLASS = 1; // consumes one ASCII code unit whose bit is set in CLASSES[arg]
const SPLIT = 2; // epsilon to out and out2
const MATCH = 3; // accepting state
const LOOP_ENTER = 4; // epsilon to out, counter := 0
const LOOP_HEAD = 5; // epsilon to out (the body) while counter < arg, and to out2 (exit, counter := 0)
const LOOP_NEXT = 6; // epsilon to out (the head), counter += 1

const OPERATORS = "+#./;?&";
/** Operators RFC 6570 reserves for future extensions (section 2.2): invalid today. */
const RESERVED_OPERATORS = "=,!@|";
/** The largest prefix length RFC 6570 allows (max-length = 1-4 digits, not starting with 0). */
const MAX_PREFIX = 9999;

const UNRESERVED = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";
const RESERVED = ":/?#[]@!$&'()*+,;=";
const HEX = "0123456789ABCDEFabcdef";

/** One variable of an expression: `name`, `name*` or `name:3`. */
export interface VarSpec {
  readonly name: string;
  readonly explode: boolean;
  /** Characters kept by a prefix modifier; undefined without one. */
  readonly prefix: number | undefined;
}

/** A parsed template: literal text and expressions, in order. */
export type TemplatePart =
  | { readonly kind: "literal"; readonly text: string }
  | { readonly kind: "expression"; readonly operator: string; readonly vars: readonly VarSpec[] };

/** A regular expression over code units, the shape an expression expands to. */
type Pattern =
  | { readonly t: "lit"; readonly s: string }
  | { readonly t: "cls"; readonly c: number }
  | { readonly t: "seq"; readonly items: readonly Pattern[] }
  | { readonly t: "alt"; readonly items: readonly Pattern[] }
  | { readonly t: "star"; readonly item: Pattern }
  | { readonly t: "opt"; readonly item: Pattern }
  /** `item` 0 to `max` times; `item` never matches the empty string, loops never nest. */
  | { readonly t: "upTo"; readonly item: Pattern; readonly max: number };

/** ASCII character classes, 128 flags each, shared by every automaton. */
const CLASSES: Uint8Array[] = [];
const classIds = new Map<string, number>();

function cls(chars: string): Pattern {
  let id = classIds.get(chars);
  if (id === undefined) {
    const table = new Uint8Array(128);
    for (let i = 0; i < chars.length; i++) table[chars.charCodeAt(i)] = 1;
    id = CLASSES.length;
    CLASSES.push(table);
    classIds.set(chars, id);
  }
  return { t: "cls", c: id };
}

const lit = (s: string): Pattern => ({ t: "lit", s });
const seq = (...items: Pattern[]): Pattern => ({ t: "seq", items });
const alt = (...items: Pattern[]): Pattern => ({ t: "alt", items });
const star = (item: Pattern): Pattern => ({ t: "star", item });
const opt = (item: Pattern): Pattern => ({ t: "opt", item });

/** `%XX`: any percent-encoded octet. */
const PCT = seq(lit("%"), cls(HEX), cls(HEX));
/** `%XX` of a UTF-8 continuation byte (80-BF). */
const CONT = seq(lit("%"), cls("89ABab"), cls(HEX));
/**
 * What a prefix counts as one character when percent-encoded: a UTF-8 sequence of 2 to 4
 * octets, or any single octet (a reserved expansion passes `%XX` of its value through as is).
 */
const PCT_CHAR = alt(
  PCT,
  seq(lit("%"), alt(seq(cls("Cc"), cls("23456789ABCDEFabcdef")), seq(cls("Dd"), cls(HEX))), CONT),
  seq(lit("%"), cls("Ee"), cls(HEX), CONT, CONT),
  seq(lit("%"), cls("Ff"), cls("01234"), CONT, CONT, CONT),
);

/** The rules of one operator (RFC 6570 appendix A). */
interface OperatorRules {
  readonly first: string;
  readonly sep: string;
  readonly named: boolean;
  /** What follows the name of an empty named value: "" for `;`, "=" for `?` and `&`. */
  readonly ifEmpty: string;
  /** Characters a value may hold unencoded. */
  readonly allow: string;
}

function rulesOf(operator: string): OperatorRules {
  switch (operator) {
    case "+":
      return { first: "", sep: ",", named: false, ifEmpty: "", allow: UNRESERVED + RESERVED };
    case "#":
      return { first: "#", sep: ",", named: false, ifEmpty: "", allow: UNRESERVED + RESERVED };
    case ".":
      return { first: ".", sep: ".", named: false, ifEmpty: "", allow: UNRESERVED };
    case "/":
      return { first: "/", sep: "/", named: false, ifEmpty: "", allow: UNRESERVED };
    case ";":
      return { first: ";", sep: ";", named: true, ifEmpty: "", allow: UNRESERVED };
    case "?":
      return { first: "?", sep: "&", named: true, ifEmpty: "=", allow: UNRESERVED };
    case "&":
      return { first: "&", sep: "&", named: true, ifEmpty: "=", allow: UNRESERVED };
    default:
      return { first: "", sep: ",", named: false, ifEmpty: "", allow: UNRESERVED };
  }
}

/** What one variable of an expression may expand to (its item, without first or sep). */
function variablePattern(spec: VarSpec, rules: OperatorRules): Pattern {
  const encoded = star(alt(cls(rules.allow), PCT)); // one encoded string
  if (spec.explode) {
    // A list: items joined by sep; an associative array: key=value items joined by sep. A named
    // operator writes the variable's name (list) or the key (array) before each value, so an
    // item is an encoded key, then "=" and the value, or ifEmpty for an empty value.
    const item = rules.named
      ? seq(
          star(alt(cls(UNRESERVED), PCT)),
          rules.ifEmpty === "" ? opt(seq(lit("="), encoded)) : seq(lit("="), encoded),
        )
      : seq(encoded, opt(seq(lit("="), encoded)));
    return seq(item, star(seq(lit(rules.sep), item)));
  }
  // A string, or a list or associative array joined with "," (which the encoding of a string
  // never holds unencoded for U-only operators): any run of allowed characters and commas.
  const value =
    spec.prefix === undefined
      ? star(alt(cls(`${rules.allow},`), PCT))
      : { t: "upTo" as const, item: alt(cls(rules.allow), PCT_CHAR), max: spec.prefix };
  if (!rules.named) return value;
  if (rules.ifEmpty === "") return seq(lit(spec.name), opt(seq(lit("="), value)));
  return seq(lit(spec.name), lit("="), value);
}

/**
 * Reads a template, or throws SSEHUB_ERR_TOPIC_INVALID naming the problem: an unclosed or
 * unopened brace, an empty expression, a reserved operator, a bad variable name or modifier.
 */
export function parseUriTemplate(template: string): readonly TemplatePart[] {
  const parts: TemplatePart[] = [];
  let literalStart = 0;
  let i = 0;
  while (i < template.length) {
    const ch = template[i];
    if (ch === "}") throw invalid(template, `"}" at index ${i} closes no expression`);
    if (ch !== "{") {
      i++;
      continue;
    }
    if (i > literalStart) parts.push({ kind: "literal", text: template.slice(literalStart, i) });
    const close = template.indexOf("}", i + 1);
    if (close === -1) throw invalid(template, `the expression at index ${i} has no closing "}"`);
    if (template.lastIndexOf("{", close) !== i) {
      throw invalid(template, `the expression at index ${i} has no closing "}" before "{"`);
    }
    parts.push(parseExpression(template, template.slice(i + 1, close), i));
    i = close + 1;
    literalStart = i;
  }
  if (literalStart < template.length) {
    parts.push({ kind: "literal", text: template.slice(literalStart) });
  }
  return parts;
}

const VARNAME = /^(?:[A-Za-z0-9_]|%[0-9A-Fa-f]{2})+(?:\.(?:[A-Za-z0-9_]|%[0-9A-Fa-f]{2})+)*$/;
const PREFIX = /^[1-9][0-9]{0,3}$/;

function parseExpression(template: string, body: string, at: number): TemplatePart {
  if (body === "") throw invalid(template, `the expression at index ${at} is empty`);
  const first = body[0]!;
  if (RESERVED_OPERATORS.includes(first)) {
    throw invalid(template, `operator "${first}" at index ${at} is reserved by RFC 6570`);
  }
  const operator = OPERATORS.includes(first) ? first : "";
  const vars: VarSpec[] = [];
  for (const raw of body.slice(operator.length).split(",")) {
    let name = raw;
    let explode = false;
    let prefix: number | undefined;
    const colon = raw.indexOf(":");
    if (colon === -1 && raw.endsWith("*")) {
      name = raw.slice(0, -1);
      explode = true;
    } else if (colon !== -1) {
      name = raw.slice(0, colon);
      const digits = raw.slice(colon + 1);
      if (!PREFIX.test(digits)) {
        throw invalid(
          template,
          `the prefix of "${name}" at index ${at} must be an integer from 1 to ${MAX_PREFIX}`,
        );
      }
      prefix = Number(digits);
    }
    if (!VARNAME.test(name)) {
      throw invalid(
        template,
        `the variable ${JSON.stringify(raw)} at index ${at} is not a valid name (letters, digits, "_", "%XX", inner ".")`,
      );
    }
    vars.push({ name, explode, prefix });
  }
  return { kind: "expression", operator, vars };
}

function invalid(template: string, problem: string): SsehubError {
  const shown = template.length > 120 ? `${template.slice(0, 120)}...` : template;
  return new SsehubError(
    "SSEHUB_ERR_TOPIC_INVALID",
    `Cannot use topic selector ${JSON.stringify(shown)}: ${problem}`,
  );
}

/**
 * A compiled template. `matches()` is synchronous and reuses the buffers of the instance, so
 * one instance is safe to share across the requests of one thread.
 */
export class UriTemplateMatcher {
  readonly #kind: Uint8Array;
  readonly #arg: Int32Array;
  readonly #out: Int32Array;
  readonly #out2: Int32Array;
  readonly #start: number;
  /**
   * Literal text every match starts and ends with. They are compared directly, and the
   * automaton runs only over what lies between them.
   */
  readonly #head: string;
  readonly #tail: string;
  // Buffers of a run. Per state: the step it was last added in, and its least loop counter
  // in that step. The current and the next list of states, with their counters.
  readonly #mark: Int32Array;
  readonly #count: Int32Array;
  #step = 0;
  #list: Int32Array;
  #listCount: Int32Array;
  #next: Int32Array;
  #nextCount: Int32Array;
  #stack: Int32Array;

  constructor(parts: readonly TemplatePart[]) {
    let from = 0;
    let to = parts.length;
    const first = parts[0];
    this.#head = first?.kind === "literal" ? first.text : "";
    if (first?.kind === "literal") from++;
    const last = parts[to - 1];
    this.#tail = to > from && last?.kind === "literal" ? last.text : "";
    if (to > from && last?.kind === "literal") to--;

    const builder = new AutomatonBuilder();
    let next = builder.add(MATCH, 0, -1, -1);
    for (let p = to - 1; p >= from; p--) {
      const part = parts[p]!;
      next =
        part.kind === "literal"
          ? builder.compile(lit(part.text), next)
          : builder.expression(part.operator, part.vars, next);
    }
    this.#start = next;
    const size = builder.kind.length;
    this.#kind = Uint8Array.from(builder.kind);
    this.#arg = Int32Array.from(builder.arg);
    this.#out = Int32Array.from(builder.out);
    this.#out2 = Int32Array.from(builder.out2);
    this.#mark = new Int32Array(size).fill(-1);
    this.#count = new Int32Array(size);
    this.#list = new Int32Array(size);
    this.#listCount = new Int32Array(size);
    this.#next = new Int32Array(size);
    this.#nextCount = new Int32Array(size);
    this.#stack = new Int32Array(size * 4 + 16);
  }

  /** Number of states of the automaton (a measure of the cost per character). */
  get size(): number {
    return this.#kind.length;
  }

  /** True when some expansion of the template equals `text`. */
  matches(text: string): boolean {
    const end = text.length - this.#tail.length;
    if (end < this.#head.length || !text.startsWith(this.#head) || !text.endsWith(this.#tail)) {
      return false;
    }
    this.#newStep();
    let length = this.#closure(this.#start, 0, this.#list, 0);
    this.#settle(this.#list, this.#listCount, length);
    for (let i = this.#head.length; i < end && length > 0; i++) {
      const unit = text.charCodeAt(i);
      const list = this.#list;
      const listCount = this.#listCount;
      const next = this.#next;
      const nextCount = this.#nextCount;
      this.#newStep();
      let nextLength = 0;
      for (let j = 0; j < length; j++) {
        const state = list[j]!;
        if (this.#consumes(state, unit)) {
          nextLength = this.#closure(this.#out[state]!, listCount[j]!, next, nextLength);
        }
      }
      this.#settle(next, nextCount, nextLength);
      this.#list = next;
      this.#listCount = nextCount;
      this.#next = list;
      this.#nextCount = listCount;
      length = nextLength;
    }
    for (let j = 0; j < length; j++) if (this.#kind[this.#list[j]!] === MATCH) return true;
    return false;
  }

  #consumes(state: number, unit: number): boolean {
    const kind = this.#kind[state];
    if (kind === CHAR) return this.#arg[state] === unit;
    return kind === CLASS && unit < 128 && CLASSES[this.#arg[state]!]![unit] === 1;
  }

  /**
   * Copies the counters of a finished step beside its list: the next step overwrites #count
   * while it still reads them.
   */
  #settle(list: Int32Array, counts: Int32Array, length: number): void {
    for (let k = 0; k < length; k++) counts[k] = this.#count[list[k]!]!;
  }

  /** Starts a new set of states: marks of earlier steps no longer count. */
  #newStep(): void {
    this.#step++;
    if (this.#step === 0x7fffffff) {
      this.#mark.fill(-1);
      this.#step = 1;
    }
  }

  /**
   * Adds `from` and every state it reaches without consuming a character to `list` (only the
   * states that consume a character, and MATCH); their loop counters are in #count until the
   * step ends (see #settle). A state already added in this step is visited again only with a
   * smaller counter, which allows everything a larger one does. Returns the new length.
   */
  #closure(from: number, counter: number, list: Int32Array, length: number): number {
    const mark = this.#mark;
    const count = this.#count;
    const step = this.#step;
    let stack = this.#stack;
    let top = 0;
    stack[top++] = from;
    stack[top++] = counter;
    let added = length;
    while (top > 0) {
      const c = stack[--top]!;
      const s = stack[--top]!;
      const seen = mark[s] === step;
      if (seen && count[s]! <= c) continue;
      mark[s] = step;
      count[s] = c;
      const kind = this.#kind[s];
      if (kind === CHAR || kind === CLASS || kind === MATCH) {
        if (!seen) list[added++] = s;
        continue;
      }
      if (top + 4 > stack.length) {
        const grown = new Int32Array(stack.length * 2);
        grown.set(stack);
        stack = grown;
        this.#stack = grown;
      }
      switch (kind) {
        case SPLIT:
          stack[top++] = this.#out2[s]!;
          stack[top++] = c;
          stack[top++] = this.#out[s]!;
          stack[top++] = c;
          break;
        case LOOP_ENTER:
          stack[top++] = this.#out[s]!;
          stack[top++] = 0;
          break;
        case LOOP_HEAD:
          stack[top++] = this.#out2[s]!;
          stack[top++] = 0;
          if (c < this.#arg[s]!) {
            stack[top++] = this.#out[s]!;
            stack[top++] = c;
          }
          break;
        case LOOP_NEXT:
          stack[top++] = this.#out[s]!;
          stack[top++] = c + 1;
          break;
      }
    }
    return added;
  }
}

/** Builds the automaton backwards: each pattern compiles given the state that follows it. */
class AutomatonBuilder extends AutomatonStates {
  compile(pattern: Pattern, next: number): number {
    switch (pattern.t) {
      case "lit": {
        let state = next;
        for (let i = pattern.s.length - 1; i >= 0; i--) {
          state = this.add(CHAR, pattern.s.charCodeAt(i), state, -1);
        }
        return state;
      }
      case "cls":
        return this.add(CLASS, pattern.c, next, -1);
      case "seq": {
        let state = next;
        for (let i = pattern.items.length - 1; i >= 0; i--) {
          state = this.compile(pattern.items[i]!, state);
        }
        return state;
      }
      case "alt": {
        let state = this.compile(pattern.items[pattern.items.length - 1]!, next);
        for (let i = pattern.items.length - 2; i >= 0; i--) {
          state = this.add(SPLIT, 0, this.compile(pattern.items[i]!, next), state);
        }
        return state;
      }
      case "opt":
        return this.add(SPLIT, 0, this.compile(pattern.item, next), next);
      case "star": {
        const split = this.add(SPLIT, 0, -1, next);
        this.out[split] = this.compile(pattern.item, split);
        return split;
      }
      case "upTo": {
        const head = this.add(LOOP_HEAD, pattern.max, -1, next);
        this.out[head] = this.compile(pattern.item, this.add(LOOP_NEXT, 0, head, -1));
        return this.add(LOOP_ENTER, 0, head, -1);
      }
    }
  }

  /**
   * An expression: nothing (every variable undefined), or `first`, then the items of the
   * defined variables in their order, joined by `sep`.
   *
   * ```
   * start -> next                      (no variable defined)
   * start -> first -> choice[0]
   * choice[i] -> item[i] -> tail[i]   or   choice[i] -> choice[i+1]
   * tail[i]   -> next                 or   tail[i] -> sep -> choice[i+1]
   * ```
   */
  expression(operator: string, vars: readonly VarSpec[], next: number): number {
    const rules = rulesOf(operator);
    let choice = -1;
    for (let i = vars.length - 1; i >= 0; i--) {
      const tail =
        choice === -1 ? next : this.add(SPLIT, 0, next, this.compile(lit(rules.sep), choice));
      const item = this.compile(variablePattern(vars[i]!, rules), tail);
      choice = choice === -1 ? item : this.add(SPLIT, 0, item, choice);
    }
    return this.add(SPLIT, 0, this.compile(lit(rules.first), choice), next);
  }
}

/** Parses and compiles `template`; throws SSEHUB_ERR_TOPIC_INVALID when it is not valid. */
export function compileUriTemplate(template: string): UriTemplateMatcher {
  return new UriTemplateMatcher(parseUriTemplate(template));
}
