/**
 * Micro benchmark of the URL pattern matcher (src/auth/url-pattern.ts) beside the URI template
 * matcher (src/auth/uri-template.ts) and, on Node 24 and later, the built-in URLPattern.test():
 * the cost of one test of a topic against a compiled pattern, matching and not, for a named
 * group, a regexp group and a wildcard; `new URL(topic)` alone, the floor of both URL pattern
 * matchers (each parses the topic first); and one hostile pattern, `{(a+)}+b` against
 * HOSTILE_AS letters "a" then "c", where the built-in's backtracking RegExp takes 2^n steps.
 *
 *   npm run build && node dist/bench/micro/url-pattern.bench.js
 *   (Node 24: /path/to/node24 dist/bench/micro/url-pattern.bench.js)
 *
 * Sized by env: MATCHES (per round, default 200000), HOSTILE_AS (default 16), ROUNDS,
 * WARMUP_ROUNDS (see harness.ts). Not run by the tests.
 * @module
 */
import { compileUriTemplate } from "../../src/auth/uri-template.js";
import { compileUrlPattern } from "../../src/auth/url-pattern.js";
import {
  formatNs,
  formatRate,
  formatRatio,
  measure,
  printPreamble,
  printTable,
} from "./harness.js";

const MATCHES = Number(process.env.MATCHES ?? 200_000);
const HOSTILE_AS = Number(process.env.HOSTILE_AS ?? 16);
/** Tests of the hostile case per round: the built-in takes milliseconds each. */
const HOSTILE_MATCHES = 10;

type Test = (topic: string) => boolean;

const BuiltIn = (
  globalThis as { URLPattern?: new (pattern: string) => { test(input: string): boolean } }
).URLPattern;

interface Case {
  readonly name: string;
  readonly urlPattern: string;
  /** The URI template that selects the same topics, where one does. */
  readonly template: string | undefined;
  readonly topics: readonly string[];
}

const CASES: readonly Case[] = [
  {
    name: "named group, match",
    urlPattern: "https://example.com/books/:id",
    template: "https://example.com/books/{id}",
    topics: ["https://example.com/books/1", "https://example.com/books/12345"],
  },
  {
    name: "named group, no match",
    urlPattern: "https://example.com/books/:id",
    template: "https://example.com/books/{id}",
    topics: ["https://example.com/books/1/reviews", "https://example.com/authors/1"],
  },
  {
    name: "regexp group (\\d+), match",
    urlPattern: "https://example.com/books/:id(\\d+)",
    template: undefined,
    topics: ["https://example.com/books/1", "https://example.com/books/12345"],
  },
  {
    name: "wildcard, match",
    urlPattern: "https://example.com/users/:id/*",
    template: "https://example.com/users/{id}/{+rest}",
    topics: ["https://example.com/users/7/orders/3", "https://example.com/users/7/profile"],
  },
];

/** Times `test` over the topics, MATCHES tests per round; answers ns per test. */
async function nsPerTest(test: Test, topics: readonly string[], count = MATCHES): Promise<number> {
  const ns = await measure({
    run() {
      let hits = 0;
      for (let i = 0, t = 0; i < count; i++, t = t + 1 === topics.length ? 0 : t + 1) {
        if (test(topics[t]!)) hits++;
      }
      return hits;
    },
  });
  return ns / count;
}

function row(name: string, ns: number, base: number): string[] {
  return [name, formatNs(ns), formatRate(1e9 / ns), formatRatio(ns, base)];
}

printPreamble("url-pattern");
if (BuiltIn === undefined)
  console.log("(no global URLPattern on this Node: its rows are left out)");
const headers = ["matcher", "ns/test", "tests/s", "vs compileUrlPattern"];

for (const c of CASES) {
  const ours = compileUrlPattern(c.urlPattern);
  const base = await nsPerTest(ours, c.topics);
  const rows = [row("compileUrlPattern", base, base)];
  if (c.template !== undefined) {
    const template = compileUriTemplate(c.template);
    rows.push(
      row(
        `URI template ${c.template}`,
        await nsPerTest((t) => template.matches(t), c.topics),
        base,
      ),
    );
  }
  if (BuiltIn !== undefined) {
    const builtIn = new BuiltIn(c.urlPattern);
    rows.push(
      row("URLPattern.test (built-in)", await nsPerTest((t) => builtIn.test(t), c.topics), base),
    );
  }
  rows.push(
    row("new URL(topic) alone", await nsPerTest((t) => new URL(t).port === "", c.topics), base),
  );
  printTable(`${c.name}: ${c.urlPattern}`, headers, rows);
}

const hostilePattern = "https://example.com/{(a+)}+b";
const hostileTopics = [`https://example.com/${"a".repeat(HOSTILE_AS)}c`];
const hostile = compileUrlPattern(hostilePattern);
const hostileBase = await nsPerTest(hostile, hostileTopics, HOSTILE_MATCHES);
const hostileRows = [row("compileUrlPattern", hostileBase, hostileBase)];
if (BuiltIn !== undefined) {
  const builtIn = new BuiltIn(hostilePattern);
  hostileRows.push(
    row(
      "URLPattern.test (built-in)",
      await nsPerTest((t) => builtIn.test(t), hostileTopics, HOSTILE_MATCHES),
      hostileBase,
    ),
  );
}
printTable(
  `hostile: ${hostilePattern} on ${HOSTILE_AS} x "a" then "c" (no match)`,
  headers,
  hostileRows,
);
