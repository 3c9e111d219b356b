/**
 * The regular expressions a URL pattern may hold in a regexp group (`/:id(\d+)`), read into
 * the tree of url-pattern-automaton.ts so that they run in linear time instead of on
 * JavaScript's backtracking engine.
 *
 * The URL Pattern standard hands a group's text to `new RegExp(..., "v")`. ssehub first checks
 * it the same way (so what the standard refuses is refused), then accepts the regular part of
 * that language, whose meaning it reproduces exactly:
 * - literal characters, `.`, escapes of syntax characters (`\.`, `\/`, `\(`...), `\t \n \v \f
 *   \r \0`, `\xHH`, `\uHHHH`, `\u{H...}`, and the classes `\d \D \w \W \s \S`;
 * - character classes `[...]` and `[^...]` of characters, ranges and the escapes above;
 * - alternation `|`, groups `(?:...)`, quantifiers `* + ? {n} {n,} {n,m}`, greedy or lazy
 *   (laziness changes which match a RegExp reports, not whether there is one).
 *
 * It declines, with the reason in the error: anchors and word boundaries (`^ $ \b \B`),
 * lookaround (`(?= (?! (?<= (?<!`), named groups and backreferences (`(?<n>` `\1` `\k<n>`),
 * inline modifiers (`(?i:`), Unicode property escapes (`\p{...}`), control escapes (`\cX`), and
 * the set notation of the `v` flag (nested classes, `&&`, `--`, `\q{...}`). A backreference is
 * not regular at all; the others would need an engine with assertions for little use in topics.
 * @module
 */
import {
  alt,
  type CodePointRanges,
  chars,
  complementRanges,
  normalizeRanges,
  type RegexNode,
  repeat,
  seq,
  set,
} from "./url-pattern-automaton.js";

/** A regexp group that the standard accepts but ssehub does not. */
export class RegexpDeclined extends Error {}

type Pairs = [number, number][];

const DIGIT: Pairs = [[0x30, 0x39]];
const WORD: Pairs = [
  [0x30, 0x39],
  [0x41, 0x5a],
  [0x5f, 0x5f],
  [0x61, 0x7a],
];
/** WhiteSpace and LineTerminator of ECMAScript, what `\s` matches. */
const SPACE: Pairs = [
  [0x09, 0x0d],
  [0x20, 0x20],
  [0xa0, 0xa0],
  [0x1680, 0x1680],
  [0x2000, 0x200a],
  [0x2028, 0x2029],
  [0x202f, 0x202f],
  [0x205f, 0x205f],
  [0x3000, 0x3000],
  [0xfeff, 0xfeff],
];
/** What `.` matches without the `s` flag: everything but line terminators. */
export const NOT_LINE_TERMINATOR = complementRanges(
  normalizeRanges([
    [0x0a, 0x0a],
    [0x0d, 0x0d],
    [0x2028, 0x2029],
  ]),
);

const CLASS_ESCAPES: Record<string, CodePointRanges> = {
  d: normalizeRanges(DIGIT),
  D: complementRanges(normalizeRanges(DIGIT)),
  w: normalizeRanges(WORD),
  W: complementRanges(normalizeRanges(WORD)),
  s: normalizeRanges(SPACE),
  S: complementRanges(normalizeRanges(SPACE)),
};

const CHARACTER_ESCAPES: Record<string, number> = { t: 9, n: 10, v: 11, f: 12, r: 13 };

/**
 * Reads the text of a regexp group into a tree. Throws SyntaxError when JavaScript refuses it
 * with the `v` flag (as the standard does), RegexpDeclined when it uses what ssehub declines.
 */
export function parseRegexpGroup(source: string): RegexNode {
  new RegExp(`^(?:${source})$`, "v"); // throws SyntaxError where the standard throws
  const reader = new RegexpReader(source);
  const node = reader.disjunction();
  if (!reader.done) throw new RegexpDeclined(`unexpected "${reader.peek}"`);
  return node;
}

/** A recursive-descent reader of the accepted subset; its input is already known valid. */
class RegexpReader {
  readonly #source: string;
  #at = 0;

  constructor(source: string) {
    this.#source = source;
  }

  get done(): boolean {
    return this.#at >= this.#source.length;
  }

  get peek(): string {
    return this.#source[this.#at] ?? "";
  }

  disjunction(): RegexNode {
    const options = [this.#alternative()];
    while (this.peek === "|") {
      this.#at++;
      options.push(this.#alternative());
    }
    return options.length === 1 ? options[0]! : alt(...options);
  }

  #alternative(): RegexNode {
    const items: RegexNode[] = [];
    while (!this.done && this.peek !== "|" && this.peek !== ")") {
      items.push(this.#quantified(this.#atom()));
    }
    return items.length === 1 ? items[0]! : seq(...items);
  }

  #atom(): RegexNode {
    const ch = this.peek;
    this.#at++;
    switch (ch) {
      case "(":
        return this.#group();
      case "[":
        return set(this.#class());
      case ".":
        return set(NOT_LINE_TERMINATOR);
      case "\\":
        return this.#escape();
      case "^":
      case "$":
        throw new RegexpDeclined(`the anchor "${ch}" is not supported`);
      default:
        return chars(ch);
    }
  }

  #group(): RegexNode {
    // The tokenizer of the standard lets only "(?" open a group inside a regexp group.
    const opener = this.#source.slice(this.#at, this.#at + 3);
    if (!opener.startsWith("?:")) {
      const what =
        opener.startsWith("?=") || opener.startsWith("?!") || opener === "?<=" || opener === "?<!"
          ? "lookaround"
          : opener.startsWith("?<")
            ? "named groups"
            : "inline modifiers";
      throw new RegexpDeclined(`${what} ("(${opener}") are not supported`);
    }
    this.#at += 2;
    const inner = this.disjunction();
    this.#at++; // ")"
    return inner;
  }

  #quantified(atom: RegexNode): RegexNode {
    let min: number;
    let max: number;
    const ch = this.peek;
    if (ch === "*" || ch === "+" || ch === "?") {
      this.#at++;
      min = ch === "+" ? 1 : 0;
      max = ch === "?" ? 1 : Number.POSITIVE_INFINITY;
    } else if (ch === "{") {
      const close = this.#source.indexOf("}", this.#at);
      const [low, high] = this.#source.slice(this.#at + 1, close).split(",");
      min = Number(low);
      max = high === undefined ? min : high === "" ? Number.POSITIVE_INFINITY : Number(high);
      this.#at = close + 1;
    } else {
      return atom;
    }
    if (this.peek === "?") this.#at++; // lazy: the same language
    return repeat(atom, min, max);
  }

  /** After a backslash outside a class. */
  #escape(): RegexNode {
    const ch = this.peek;
    const cls = CLASS_ESCAPES[ch];
    if (cls !== undefined) {
      this.#at++;
      return set(cls);
    }
    if (ch === "b" || ch === "B") throw new RegexpDeclined(`"\\${ch}" is not supported`);
    return chars(String.fromCodePoint(this.#characterEscape()));
  }

  /** A character escape (after the backslash): answers its code point. */
  #characterEscape(): number {
    const ch = this.peek;
    this.#at++;
    const simple = CHARACTER_ESCAPES[ch];
    if (simple !== undefined) return simple;
    if (ch === "0") return 0;
    if (ch === "x") return this.#hex(2);
    if (ch === "u") {
      if (this.peek === "{") {
        const close = this.#source.indexOf("}", this.#at);
        const value = Number.parseInt(this.#source.slice(this.#at + 1, close), 16);
        this.#at = close + 1;
        return value;
      }
      const unit = this.#hex(4);
      // With the u and v flags, an escaped surrogate pair is one code point.
      if (unit >= 0xd800 && unit <= 0xdbff && this.#source.startsWith("\\u", this.#at)) {
        const low = Number.parseInt(this.#source.slice(this.#at + 2, this.#at + 6), 16);
        if (low >= 0xdc00 && low <= 0xdfff) {
          this.#at += 6;
          return (unit - 0xd800) * 0x400 + (low - 0xdc00) + 0x10000;
        }
      }
      return unit;
    }
    if (/[A-Za-z0-9]/.test(ch)) {
      const what =
        ch === "p" || ch === "P"
          ? "Unicode property escapes"
          : ch === "k" || /[1-9]/.test(ch)
            ? "backreferences"
            : `"\\${ch}"`;
      throw new RegexpDeclined(`${what} are not supported`);
    }
    return ch.codePointAt(0)!; // an escaped syntax character stands for itself
  }

  #hex(digits: number): number {
    const value = Number.parseInt(this.#source.slice(this.#at, this.#at + digits), 16);
    this.#at += digits;
    return value;
  }

  /** After "[": the class, up to and including its "]". */
  #class(): CodePointRanges {
    const negated = this.peek === "^";
    if (negated) this.#at++;
    const pairs: Pairs = [];
    while (this.peek !== "]") {
      if (this.peek === "[" || this.#source.startsWith("&&", this.#at)) {
        throw new RegexpDeclined("nested classes and class set operations are not supported");
      }
      if (this.#source.startsWith("--", this.#at)) {
        throw new RegexpDeclined("class set subtraction is not supported");
      }
      const low = this.#classAtom();
      if (typeof low !== "number") {
        pairs.push(...toPairs(low));
        continue;
      }
      if (this.peek === "-" && this.#source[this.#at + 1] !== "]") {
        this.#at++;
        const high = this.#classAtom() as number; // a class escape cannot end a range
        pairs.push([low, high]);
      } else {
        pairs.push([low, low]);
      }
    }
    this.#at++; // "]"
    const ranges = normalizeRanges(pairs);
    return negated ? complementRanges(ranges) : ranges;
  }

  /** One member of a class: a code point, or the ranges of a class escape. */
  #classAtom(): number | CodePointRanges {
    const ch = this.peek;
    this.#at++;
    if (ch !== "\\") return ch.codePointAt(0)!;
    const escaped = this.peek;
    const cls = CLASS_ESCAPES[escaped];
    if (cls !== undefined) {
      this.#at++;
      return cls;
    }
    if (escaped === "b") {
      this.#at++;
      return 8; // backspace, inside a class
    }
    if (escaped === "q") throw new RegexpDeclined('"\\q{...}" is not supported');
    if (escaped === "-") {
      this.#at++;
      return 0x2d;
    }
    return this.#characterEscape();
  }
}

function toPairs(ranges: CodePointRanges): Pairs {
  const pairs: Pairs = [];
  for (let i = 0; i < ranges.length; i += 2) pairs.push([ranges[i]!, ranges[i + 1]!]);
  return pairs;
}
