/**
 * The matching engine behind URL patterns (url-pattern.ts): a small regular-expression tree,
 * compiled to a Thompson automaton (a nondeterministic finite automaton over code points) and
 * run over a string in one pass, keeping the set of states it may be in. Time is
 * O(length x states) whatever the input and whatever the expression: no backtracking, so
 * neither a hostile pattern such as `(a+)+b` nor a long topic can make it slow.
 *
 * The size of an automaton is known before it is built (`automatonSize`), so a pattern whose
 * counted repetitions (`x{1,1000}`) would blow it up is refused before any memory is spent.
 * @module
 */
import { AutomatonStates } from "./automaton-states.js";

/** The largest code point. */
const MAX_CODE_POINT = 0x10ffff;

/**
 * A set of code points: sorted, disjoint, non-adjacent inclusive ranges, as a flat list
 * `[lo0, hi0, lo1, hi1, ...]`.
 */
export type CodePointRanges = readonly number[];

/** A regular expression over code points. Repetitions carry their bounds. */
export type RegexNode =
  | { readonly t: "chars"; readonly text: string }
  | { readonly t: "set"; readonly ranges: CodePointRanges }
  | { readonly t: "seq"; readonly items: readonly RegexNode[] }
  | { readonly t: "alt"; readonly items: readonly RegexNode[] }
  /** `item` from `min` to `max` times; `max` is Infinity when unbounded. */
  | { readonly t: "repeat"; readonly item: RegexNode; readonly min: number; readonly max: number };

export const chars = (text: string): RegexNode => ({ t: "chars", text });
export const set = (ranges: CodePointRanges): RegexNode => ({ t: "set", ranges });
export const seq = (...items: RegexNode[]): RegexNode => ({ t: "seq", items });
export const alt = (...items: RegexNode[]): RegexNode => ({ t: "alt", items });
export const repeat = (item: RegexNode, min: number, max: number): RegexNode => ({
  t: "repeat",
  item,
  min,
  max,
});

/** Sorts and merges ranges given as `[lo, hi]` pairs (in any order, overlapping or not). */
export function normalizeRanges(pairs: readonly (readonly [number, number])[]): CodePointRanges {
  const sorted = [...pairs].sort((a, b) => a[0] - b[0]);
  const out: number[] = [];
  for (const [lo, hi] of sorted) {
    const last = out.length - 1;
    if (last > 0 && lo <= out[last]! + 1) out[last] = Math.max(out[last]!, hi);
    else out.push(lo, hi);
  }
  return out;
}

/** Every code point not in `ranges`. */
export function complementRanges(ranges: CodePointRanges): CodePointRanges {
  const out: number[] = [];
  let next = 0;
  for (let i = 0; i < ranges.length; i += 2) {
    if (ranges[i]! > next) out.push(next, ranges[i]! - 1);
    next = ranges[i + 1]! + 1;
  }
  if (next <= MAX_CODE_POINT) out.push(next, MAX_CODE_POINT);
  return out;
}

/** Every code point. */
export const ANY: CodePointRanges = [0, MAX_CODE_POINT];

/**
 * The states `node` compiles to, or Infinity as soon as the count passes `budget` (so that a
 * nest of counted repetitions is measured without being expanded).
 */
export function automatonSize(node: RegexNode, budget: number): number {
  switch (node.t) {
    case "chars":
      return node.text.length;
    case "set":
      return 1;
    case "seq":
    case "alt": {
      let total = node.t === "alt" ? node.items.length - 1 : 0;
      for (const item of node.items) {
        total += automatonSize(item, budget - total);
        if (total > budget) return Number.POSITIVE_INFINITY;
      }
      return total;
    }
    case "repeat": {
      const one = automatonSize(node.item, budget);
      if (one > budget) return Number.POSITIVE_INFINITY;
      // Copies of the item, and a SPLIT per optional copy (or one for the loop).
      const copies = node.max === Number.POSITIVE_INFINITY ? node.min + 1 : node.max;
      const total = one * copies + (copies - node.min);
      return total > budget ? Number.POSITIVE_INFINITY : total;
    }
  }
}

// State kinds.
const CHAR = 0; // consumes one code point equal to arg
const SET = 1; // consumes one code point in sets[arg]
const SPLIT = 2; // epsilon to out and out2
const MATCH = 3; // accepting state

/** A set of code points compiled for lookups: a table for ASCII, ranges above it. */
class CodePointSet {
  readonly #ascii = new Uint8Array(128);
  readonly #ranges: CodePointRanges;

  constructor(ranges: CodePointRanges) {
    this.#ranges = ranges;
    for (let i = 0; i < ranges.length; i += 2) {
      for (let cp = ranges[i]!; cp <= ranges[i + 1]! && cp < 128; cp++) this.#ascii[cp] = 1;
    }
  }

  has(cp: number): boolean {
    if (cp < 128) return this.#ascii[cp] === 1;
    const ranges = this.#ranges;
    let lo = 0;
    let hi = ranges.length / 2 - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (cp < ranges[mid * 2]!) hi = mid - 1;
      else if (cp > ranges[mid * 2 + 1]!) lo = mid + 1;
      else return true;
    }
    return false;
  }
}

/**
 * A compiled expression that must match a whole string. `matches()` is synchronous and reuses
 * the buffers of the instance, so one instance is safe to share across the requests of a thread.
 */
export class Automaton {
  readonly #kind: Uint8Array;
  readonly #arg: Int32Array;
  readonly #out: Int32Array;
  readonly #out2: Int32Array;
  readonly #sets: readonly CodePointSet[];
  readonly #start: number;
  // Buffers of a run: per state, the step it was last added in; two lists of states, the
  // current one and the next, which swap after each code point.
  readonly #mark: Int32Array;
  #step = 0;
  readonly #list: Int32Array;
  readonly #next: Int32Array;
  readonly #stack: Int32Array;

  /** Compiles `node`; its size must have been checked with automatonSize first. */
  constructor(node: RegexNode) {
    const builder = new AutomatonBuilder();
    this.#start = builder.compile(node, builder.add(MATCH, 0, -1, -1));
    const size = builder.kind.length;
    this.#kind = Uint8Array.from(builder.kind);
    this.#arg = Int32Array.from(builder.arg);
    this.#out = Int32Array.from(builder.out);
    this.#out2 = Int32Array.from(builder.out2);
    this.#sets = builder.sets.map((ranges) => new CodePointSet(ranges));
    this.#mark = new Int32Array(size).fill(-1);
    this.#list = new Int32Array(size);
    this.#next = new Int32Array(size);
    // Each state is pushed at most once per closure (it is marked before its successors are).
    this.#stack = new Int32Array(size * 2 + 2);
  }

  /** Number of states (the cost per code point of a run is at most proportional to it). */
  get size(): number {
    return this.#kind.length;
  }

  /** True when the whole of `text` from `start` to `end` (UTF-16 offsets) matches. */
  matches(text: string, start = 0, end = text.length): boolean {
    const kinds = this.#kind;
    const args = this.#arg;
    const outs = this.#out;
    const sets = this.#sets;
    let list = this.#list;
    let next = this.#next;
    this.#newStep();
    let length = this.#closure(this.#start, list, 0);
    for (let i = start; i < end && length > 0; ) {
      const cp = text.codePointAt(i)!;
      i += cp > 0xffff ? 2 : 1;
      this.#newStep();
      let nextLength = 0;
      for (let j = 0; j < length; j++) {
        const state = list[j]!;
        const kind = kinds[state];
        const consumes =
          kind === CHAR ? args[state] === cp : kind === SET && sets[args[state]!]!.has(cp);
        if (consumes) nextLength = this.#closure(outs[state]!, next, nextLength);
      }
      const done = list;
      list = next;
      next = done;
      length = nextLength;
    }
    for (let j = 0; j < length; j++) if (kinds[list[j]!] === MATCH) return true;
    return false;
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
   * Adds `from` and every state it reaches without consuming a code point to `list` (only the
   * states that consume one, and MATCH), each once per step. Returns the new length.
   */
  #closure(from: number, list: Int32Array, length: number): number {
    const mark = this.#mark;
    const step = this.#step;
    const stack = this.#stack;
    let top = 0;
    let added = length;
    if (mark[from] === step) return added;
    mark[from] = step;
    stack[top++] = from;
    while (top > 0) {
      const s = stack[--top]!;
      if (this.#kind[s] !== SPLIT) {
        list[added++] = s;
        continue;
      }
      // Push out2 first so that out is explored first (order does not change the result).
      const second = this.#out2[s]!;
      if (mark[second] !== step) {
        mark[second] = step;
        stack[top++] = second;
      }
      const first = this.#out[s]!;
      if (mark[first] !== step) {
        mark[first] = step;
        stack[top++] = first;
      }
    }
    return added;
  }
}

/** Builds the automaton backwards: each node compiles given the state that follows it. */
class AutomatonBuilder extends AutomatonStates {
  readonly sets: CodePointRanges[] = [];
  /** Index in `sets` of each ranges object already seen: shared ranges compile once. */
  readonly #setIndex = new Map<CodePointRanges, number>();

  compile(node: RegexNode, next: number): number {
    switch (node.t) {
      case "chars": {
        let state = next;
        const points = Array.from(node.text);
        for (let i = points.length - 1; i >= 0; i--) {
          state = this.add(CHAR, points[i]!.codePointAt(0)!, state, -1);
        }
        return state;
      }
      case "set": {
        let index = this.#setIndex.get(node.ranges);
        if (index === undefined) {
          index = this.sets.push(node.ranges) - 1;
          this.#setIndex.set(node.ranges, index);
        }
        return this.add(SET, index, next, -1);
      }
      case "seq": {
        let state = next;
        for (let i = node.items.length - 1; i >= 0; i--)
          state = this.compile(node.items[i]!, state);
        return state;
      }
      case "alt": {
        let state = this.compile(node.items[node.items.length - 1]!, next);
        for (let i = node.items.length - 2; i >= 0; i--) {
          state = this.add(SPLIT, 0, this.compile(node.items[i]!, next), state);
        }
        return state;
      }
      case "repeat": {
        // x{min,max} = min copies of x, then (max - min) nested optional copies, or a loop.
        let tail: number;
        if (node.max === Number.POSITIVE_INFINITY) {
          tail = this.add(SPLIT, 0, -1, next);
          this.out[tail] = this.compile(node.item, tail);
        } else {
          tail = next;
          for (let k = node.min; k < node.max; k++) {
            tail = this.add(SPLIT, 0, this.compile(node.item, tail), next);
          }
        }
        for (let k = 0; k < node.min; k++) tail = this.compile(node.item, tail);
        return tail;
      }
    }
  }
}
