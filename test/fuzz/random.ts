/**
 * A seeded random source for fuzz tests: the same seed gives the same inputs on every machine,
 * so that a failure printed with its seed can be replayed. mulberry32 for the stream, and a
 * splitmix32 step to derive one independent stream per case from (seed, case index).
 */

/** One splitmix32 step: mixes `value` into a well-spread 32-bit integer. */
export function mix32(value: number): number {
  let z = (value + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** Characters that break things: framing, quoting, encodings, white space of every kind. */
const NASTY: readonly string[] = [
  "\r",
  "\n",
  "\r\n",
  "\0",
  "\t",
  "\x0b",
  "\x0c",
  "\x1b",
  "\x7f",
  "\x85",
  "\u00a0",
  "\u2028",
  "\u2029",
  "\ufeff",
  "\ufffd",
  "\ud800", // a lone high surrogate
  "\udfff", // a lone low surrogate
  "😀",
  "é",
  "日本",
  '"',
  "\\",
  "%",
  "%25",
  "%0A",
  "%ZZ",
  "+",
  "&",
  "=",
  ";",
  ":",
  " ",
  "data: forged",
  "\n\nevent: forged\ndata: x\n\n",
  "id: forged",
  "__proto__",
  "constructor",
];

const ASCII = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./~!$'()*,@";

export class Random {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** A number in [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) | 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 0x1_0000_0000;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** An integer in [min, max]. */
  between(min: number, max: number): number {
    return min + this.int(max - min + 1);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }

  /** Picks by weight: `[[3, a], [1, b]]` gives a three times as often as b. */
  weighted<T>(choices: readonly (readonly [number, T])[]): T {
    let total = 0;
    for (const [weight] of choices) total += weight;
    let roll = this.next() * total;
    for (const [weight, value] of choices) {
      roll -= weight;
      if (roll < 0) return value;
    }
    return (choices.at(-1) as readonly [number, T])[1];
  }

  /** Plain, well-formed text of `length` characters from a safe alphabet. */
  plain(length: number): string {
    let out = "";
    for (let i = 0; i < length; i++) out += ASCII[this.int(ASCII.length)];
    return out;
  }

  /** Text mixing plain characters, controls, line breaks, quotes, surrogates and emoji. */
  text(maxLength: number): string {
    const length = this.int(maxLength + 1);
    let out = "";
    while (out.length < length) {
      out += this.weighted<() => string>([
        [6, () => this.plain(this.between(1, 6))],
        [3, () => this.pick(NASTY)],
        [1, () => String.fromCharCode(this.int(0x20))],
        [1, () => String.fromCharCode(this.between(0x80, 0xffff))],
        [1, () => String.fromCodePoint(this.between(0x10000, 0x10ffff))],
      ])();
    }
    return out;
  }

  /** `length` random bytes. */
  bytes(length: number): Buffer {
    const out = Buffer.allocUnsafe(length);
    for (let i = 0; i < length; i++) out[i] = this.int(256);
    return out;
  }
}

/**
 * A fuzz setting from the environment (a seed, a number of runs): `fallback` when unset, and an
 * error for anything but a non-negative integer, so that a typo never runs a different suite.
 */
export function envInteger(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === "") return fallback;
  if (!/^\d+$/.test(text)) throw new Error(`${name} must be a non-negative integer, got ${text}`);
  return Number(text);
}
