import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import {
  compileUrlPattern,
  MAX_URLPATTERN_LENGTH,
  MAX_URLPATTERN_STATES,
} from "../../src/auth/url-pattern.js";
import { automatonSize, repeat, seq, set } from "../../src/auth/url-pattern-automaton.js";
import { isSsehubError } from "../../src/errors.js";

/** The built-in of Node 24 and later, absent on Node 20. */
const BuiltIn = (
  globalThis as { URLPattern?: new (pattern: string) => { test(input: string): boolean } }
).URLPattern;

/** Asserts what `pattern` matches and what it does not. */
function check(pattern: string, matching: readonly string[], other: readonly string[]): void {
  const test = compileUrlPattern(pattern);
  for (const topic of matching) assert.equal(test(topic), true, `${pattern} should match ${topic}`);
  for (const topic of other)
    assert.equal(test(topic), false, `${pattern} should not match ${topic}`);
}

function assertRefused(pattern: string, problem?: RegExp): void {
  assert.throws(
    () => compileUrlPattern(pattern),
    (error: unknown) => {
      assert.ok(isSsehubError(error), `${pattern}: ${String(error)}`);
      assert.equal(error.code, "SSEHUB_ERR_URLPATTERN_INVALID");
      assert.equal(error.status, 400);
      if (problem !== undefined) assert.match(error.message, problem);
      return true;
    },
    `${pattern} should be refused`,
  );
}

describe("compileUrlPattern: the syntax of the standard", () => {
  it("matches a named group up to the next slash of the pathname", () => {
    check(
      "https://example.com/books/:id",
      [
        "https://example.com/books/1",
        "https://example.com/books/abc-1",
        "https://example.com/books/1?x#y",
      ],
      [
        "https://example.com/books/",
        "https://example.com/books",
        "https://example.com/books/1/reviews",
        "https://example.org/books/1",
      ],
    );
  });

  it("matches a full wildcard across slashes, and nothing is required after the prefix", () => {
    check(
      "https://example.com/users/:id/*",
      ["https://example.com/users/7/", "https://example.com/users/7/a/b/c"],
      ["https://example.com/users/7", "https://example.com/users/"],
    );
  });

  it("makes the slash before an optional group optional with it", () => {
    check(
      "https://example.com/books/:id?",
      ["https://example.com/books", "https://example.com/books/1"],
      ["https://example.com/books/", "https://example.com/books/1/2"],
    );
  });

  it("repeats a group with its slash: + at least once, * any number of times", () => {
    check(
      "https://example.com/files/:path+",
      ["https://example.com/files/a", "https://example.com/files/a/b/c"],
      ["https://example.com/files", "https://example.com/files/", "https://example.com/files/a//b"],
    );
    check(
      "https://example.com/files/:path*",
      ["https://example.com/files", "https://example.com/files/a", "https://example.com/files/a/b"],
      ["https://example.com/files/"],
    );
  });

  it("reads groups {...}: plain text without a modifier, prefix and suffix with one", () => {
    check(
      "https://example.com/books{/:id}?",
      ["https://example.com/books", "https://example.com/books/1"],
      ["https://example.com/books/"],
    );
    check("https://example.com/{a}b", ["https://example.com/ab"], ["https://example.com/a"]);
    check(
      "https://example.com/{:part-}+",
      ["https://example.com/x-", "https://example.com/x-y-"],
      ["https://example.com/x", "https://example.com/x-y"],
    );
    check(
      "https://example.com/{x:a(\\d)y}*",
      ["https://example.com/", "https://example.com/x1y", "https://example.com/x1yx2y"],
      ["https://example.com/x1", "https://example.com/x1yx"],
    );
  });

  it("matches regexp groups, named or not", () => {
    check(
      "https://example.com/books/:id(\\d+)",
      ["https://example.com/books/42"],
      ["https://example.com/books/4a", "https://example.com/books/"],
    );
    check(
      "https://example.com/(foo|bar)/:id",
      ["https://example.com/foo/1", "https://example.com/bar/1"],
      ["https://example.com/baz/1"],
    );
    check(
      "https://example.com/:code([A-Z]{2}-[0-9]{1,3})",
      ["https://example.com/AB-1", "https://example.com/AB-123"],
      ["https://example.com/AB-1234", "https://example.com/ab-1", "https://example.com/A-1"],
    );
  });

  it("takes escaped characters literally", () => {
    check(
      "https://example.com/books/\\:id",
      ["https://example.com/books/:id"],
      ["https://example.com/books/1"],
    );
    check("https://example.com/a\\*b", ["https://example.com/a*b"], ["https://example.com/axb"]);
    check("urn\\:isbn\\:*", ["urn:isbn:0451450523"], ["urn:issn:1", "https://example.com/"]);
  });

  it("matches a wildcard and a group inside a segment: *.json, :file.:ext", () => {
    check(
      "https://example.com/*.json",
      ["https://example.com/a.json", "https://example.com/a/b.json"],
      ["https://example.com/a.xml"],
    );
    check(
      "https://example.com/:file.:ext",
      ["https://example.com/a.json"],
      ["https://example.com/a", "https://example.com/a/b.json"],
    );
  });
});

describe("compileUrlPattern: components", () => {
  it("leaves the search and hash free when the pattern stops at the pathname", () => {
    check(
      "https://example.com/books",
      ["https://example.com/books?page=2", "https://example.com/books#top"],
      ["https://example.com/books/"],
    );
  });

  it("requires an empty search when the pattern has a hash, and the root path before ?", () => {
    check("https://example.com?q", ["https://example.com/?q"], ["https://example.com/x?q"]);
    check(
      "https://example.com/books#top",
      ["https://example.com/books#top"],
      ["https://example.com/books?x#top", "https://example.com/books#bottom"],
    );
  });

  it("matches search and hash patterns", () => {
    check(
      "https://example.com/books?q=:q",
      ["https://example.com/books?q=dune"],
      ["https://example.com/books", "https://example.com/books?p=1"],
    );
    check(
      "https://example.com/books#:section",
      ["https://example.com/books#intro"],
      ["https://example.com/books"],
    );
  });

  it("matches only the scheme's default port unless the pattern names one", () => {
    check(
      "https://example.com/*",
      ["https://example.com/", "https://example.com:443/x"],
      ["https://example.com:8443/x"],
    );
    check("https://example.com:443/*", ["https://example.com/x"], ["https://example.com:444/x"]);
    check("https://example.com:8080/*", ["https://example.com:8080/x"], ["https://example.com/x"]);
    check(
      "https://example.com:*/*",
      ["https://example.com/x", "https://example.com:8443/x"],
      ["http://example.com/x"],
    );
  });

  it("matches host names with groups and wildcards, separated by dots", () => {
    check(
      "https://:tenant.example.com/*",
      ["https://acme.example.com/x"],
      ["https://a.b.example.com/x", "https://example.com/x"],
    );
    check(
      "https://*.example.com/*",
      ["https://a.example.com/x", "https://a.b.example.com/x"],
      ["https://example.com/x"],
    );
  });

  it("lower-cases protocol and host name but not the pathname", () => {
    check(
      "HTTPS://EXAMPLE.com/Books",
      ["https://example.com/Books", "HTTPS://EXAMPLE.COM/Books"],
      ["https://example.com/books"],
    );
  });

  it("matches protocols with groups and alternatives", () => {
    check(
      "http{s}?://example.com/*",
      ["http://example.com/", "https://example.com/"],
      ["ws://example.com/"],
    );
    check("(https|wss)://example.com/*", ["wss://example.com/x"], ["ws://example.com/x"]);
  });

  it("leaves username and password free unless the pattern names them", () => {
    check("https://example.com/*", ["https://user:pw@example.com/x"], []);
    check(
      "https://alice@example.com/*",
      ["https://alice@example.com/x", "https://alice:pw@example.com/x"],
      ["https://bob@example.com/x", "https://example.com/x"],
    );
  });

  it("canonicalizes fixed text as the URL parser writes it", () => {
    check("https://example.com/é/:x", ["https://example.com/%C3%A9/1"], []);
    check(
      "https://example.com/a/../b",
      ["https://example.com/b"],
      ["https://example.com/a/../b/x"],
    );
    check("https://exämple.com/", ["https://xn--exmple-cua.com/"], []);
  });

  it("matches non-special schemes, whose pathname has no segments", () => {
    check("foo://host/:rest", ["foo://host/a", "foo://host/a/b"], ["foo://host/"]);
    check("mailto\\:*@example.com", ["mailto:a@example.com"], ["mailto:a@example.org"]);
  });

  it("matches IPv6 hosts when the colons are escaped", () => {
    check("https://[\\:\\:1]/*", ["https://[::1]/x"], ["https://[::2]/x"]);
  });
});

describe("compileUrlPattern: topics that are not absolute URLs", () => {
  it("matches nothing, even with a pattern of wildcards", () => {
    const test = compileUrlPattern("*://*:*/*");
    for (const topic of ["", "orders", "books/1", "/books/1", "not a url", ":", "https//x"]) {
      assert.equal(test(topic), false, topic);
    }
    assert.equal(test("https://example.com:8443/x?y#z"), true);
  });
});

describe("compileUrlPattern: refused patterns", () => {
  it("refuses what the standard refuses", () => {
    for (const pattern of [
      "https://example.com/{a", // unclosed group
      "https://example.com/a}",
      "https://example.com/(a", // unclosed regexp group
      "https://example.com/()", // empty regexp group
      "https://example.com/(?a)", // regexp group starting with ?
      "https://example.com/((a))", // capturing group inside
      "https://example.com/:id/:id", // duplicate name
      "https://example.com/:", // a colon without a name
      "https://example.com/(é)", // non-ASCII regexp
      "https://example.com/([a-z-])", // invalid with the v flag
      "https://example.com/(a{2,1})",
      "https://example.com/\\", // trailing backslash
      "https://exa mple.com/", // not a host
      "https://example.com:99999/",
      "1http://example.com/",
    ]) {
      assertRefused(pattern);
    }
  });

  it("refuses relative patterns without a base URL: the standard needs one", () => {
    assertRefused("/books/:id", /relative/);
    assertRefused("books/:id", /relative/);
    assertRefused("?q=:q", /relative/);
    // ":isbn" is a named group, not the colon after a protocol.
    assertRefused("urn:isbn", /relative/);
  });

  it("reads a relative pattern against a base URL, as the standard does", () => {
    const base = "https://example.com:8443/.well-known/mercure";
    const absolute = compileUrlPattern("/books/:id", base);
    assert.equal(absolute("https://example.com:8443/books/1"), true);
    assert.equal(absolute("https://example.com/books/1"), false, "the base's port");
    assert.equal(absolute("http://example.com:8443/books/1"), false, "the base's scheme");
    assert.equal(absolute("https://other.example:8443/books/1"), false, "the base's host");
    const fromDirectory = compileUrlPattern("books/:id", base);
    assert.equal(fromDirectory("https://example.com:8443/.well-known/books/1"), true);
    assert.equal(fromDirectory("https://example.com:8443/books/1"), false);
    const searchOnly = compileUrlPattern("?q=:q", base);
    assert.equal(searchOnly("https://example.com:8443/.well-known/mercure?q=1"), true);
    assert.equal(searchOnly("https://example.com:8443/other?q=1"), false);
    // An absolute pattern ignores the base; a base that is no URL is refused.
    assert.equal(compileUrlPattern("https://a.example/*", base)("https://a.example/x"), true);
    assertRefusedWithBase("/books/:id", "not a url", /base URL/);
    if (BuiltInWithBase !== undefined) {
      for (const [pattern, topic] of [
        ["/books/:id", "https://example.com:8443/books/1"],
        ["books/:id", "https://example.com:8443/.well-known/books/1"],
        ["?q=:q", "https://example.com:8443/.well-known/mercure?q=1"],
        ["/books/:id", "https://example.com/books/1"],
      ] as const) {
        assert.equal(
          compileUrlPattern(pattern, base)(topic),
          new BuiltInWithBase(pattern, base).test(topic),
          `${pattern} against ${topic}, as the built-in`,
        );
      }
    }
  });

  it("declines regexp features beyond regular expressions, naming them", () => {
    assertRefused("https://example.com/(^a)", /anchor/);
    assertRefused("https://example.com/(a$)", /anchor/);
    assertRefused("https://example.com/(a(?=b))", /lookaround/);
    assertRefused("https://example.com/((?<!a)b)", /lookaround/);
    assertRefused("https://example.com/((?<n>a))", /named groups/);
    assertRefused("https://example.com/(\\p{L}+)", /property/);
    assertRefused("https://example.com/(\\bx)", /\\b/);
    assertRefused("https://example.com/([[a-z]--[aeiou]])", /nested classes|subtraction/);
    assertRefused("https://example.com/([a&&b])", /class set/);
  });

  it("declines path text of non-special schemes that implementations read differently", () => {
    // The standard keeps "/./" and "//" in an opaque path; Node's URLPattern resolves them.
    assertRefused("foo://host/./:x", /non-special scheme/);
    assertRefused("foo://host//:x", /non-special scheme/);
    assertRefused("mailto\\:a b@example.com", /opaque path/);
    check("foo://host/a/:x", ["foo://host/a/b/c"], ["foo://host/b/c"]);
  });

  it("refuses a pattern longer than MAX_URLPATTERN_LENGTH", () => {
    const base = "https://example.com/";
    const longest = base + "a".repeat(MAX_URLPATTERN_LENGTH - base.length);
    assert.equal(compileUrlPattern(longest)(longest), true);
    assertRefused(`${longest}a`, /longer than 4096/);
  });

  it("refuses control characters", () => {
    assertRefused("https://example.com/a\tb", /control/);
    assertRefused("https://example.com/\u0000", /control/);
  });

  it("refuses a pattern whose automata would pass MAX_URLPATTERN_STATES", () => {
    assertRefused("https://example.com/(a{1,5000})", /automaton states/);
    assertRefused("https://example.com/((?:(?:a{1,100}){1,100}){1,100})", /automaton states/);
    // 100 copies and 99 optional ones: 199 states. Spread over components, the budget is shared.
    const group = "(a{1,100})";
    assert.equal(compileUrlPattern(`https://${group}.com/${group}`)("https://aa.com/a"), true);
    assertRefused(`https://${group}.com/${group}?${group}`, /more than 512 automaton states/);
    assertRefused(`https://example.com/${"{a}?".repeat(300)}`, /too many groups and wildcards/);
    // A long text costs no state where a component is plain text.
    assert.equal(compileUrlPattern(`https://example.com/${"a".repeat(2000)}`)("https://a"), false);
  });

  it("measures nested repetitions without building them", () => {
    let node = set([0x61, 0x61]);
    for (let i = 0; i < 50; i++) node = repeat(seq(node, node), 1, 1000);
    assert.equal(automatonSize(node, MAX_URLPATTERN_STATES), Number.POSITIVE_INFINITY);
  });
});

describe("compileUrlPattern: hostile patterns and long inputs", () => {
  const a = "a".repeat(5000);

  it("answers nested repetitions that make a backtracking RegExp exponential", () => {
    // A RegExp built as the standard says takes 2^n steps on "aaa...c" for these.
    check(
      "https://example.com/{(a+)}+b",
      [`https://example.com/${a}b`],
      [`https://example.com/${a}c`, `https://example.com/${a}`],
    );
    check(
      "https://example.com/((?:a|aa)*)c",
      [`https://example.com/${a}c`],
      [`https://example.com/${a}b`],
    );
    check(
      "https://example.com/((?:a*)*)b",
      [`https://example.com/${a}b`, "https://example.com/b"],
      [`https://example.com/${a}`],
    );
    check(
      "https://example.com/:x(.*a.*a.*a.*a.*a)/end",
      [`https://example.com/${a}/end`],
      [`https://example.com/${"b".repeat(5000)}/end`, `https://example.com/${a}/ends`],
    );
  });

  it("answers wildcards and groups against topics of 100,000 characters", () => {
    const long = "x".repeat(100_000);
    check("https://example.com/*", [`https://example.com/${long}`], []);
    check(
      "https://example.com/:id",
      [`https://example.com/${long}`],
      [`https://example.com/${long}/x`],
    );
    check(
      "https://example.com/:a+/end",
      [`https://example.com/${"ab/".repeat(30_000)}end`],
      [`https://example.com/${"ab/".repeat(30_000)}x`],
    );
    check("https://example.com/books/:id", [], [`https://example.com/books/${long}/`]);
  });

  it("keeps one compiled pattern usable across many topics", () => {
    const test = compileUrlPattern("https://example.com/books/:id(\\d+)");
    for (let i = 0; i < 1000; i++) {
      assert.equal(test(`https://example.com/books/${i}`), true);
      assert.equal(test(`https://example.com/books/${i}x`), false);
    }
  });
});

describe("compileUrlPattern: regexp groups mean what a RegExp with the v flag means", () => {
  /** Our answer for `source` on a path segment, and RegExp's. */
  function both(source: string, segment: string): [boolean, boolean] {
    const ours = compileUrlPattern(`https://example.com/:x(${source})`);
    const reference = new RegExp(`^(?:${source})$`, "v");
    return [ours(`https://example.com/${segment}`), reference.test(segment)];
  }

  it("agrees on escapes, classes and counted repetitions", () => {
    const table: readonly (readonly [string, readonly string[]])[] = [
      ["\\d+", ["0", "123", "1a", ""]],
      ["\\D\\W\\S", ["a-b", "1-b", "a~b", "aa-"]],
      ["\\w{2,3}", ["a", "ab", "a_1", "abcd", "a-"]],
      ["[a-c\\d]+", ["abc1", "abd", "c9"]],
      ["[^a-c]", ["d", "a", "~", "ab"]],
      ["\\x41\\u0042\\u{43}", ["ABC", "abc"]],
      ["(?:ab|a)(?:bc|c)", ["abc", "abbc", "ac", "abcc"]],
      ["a{2}b{0,1}c{1,}", ["aac", "aabcc", "abc", "aab"]],
      ["a*?b+?", ["b", "aab", "a"]],
      ["[\\-_~]+", ["-_~", "-a"]],
      [".", ["a", "~", "ab", ""]],
      ["(?:)", ["", "a"]],
    ];
    for (const [source, segments] of table) {
      for (const segment of segments) {
        const [ours, reference] = both(source, segment);
        assert.equal(ours, reference, `(${source}) on ${JSON.stringify(segment)}`);
      }
    }
  });

  it("agrees on generated expressions", () => {
    const atom = fc.constantFrom(
      "a",
      "b",
      "1",
      ".",
      "\\d",
      "\\w",
      "\\W",
      "[ab]",
      "[^a]",
      "[a-c]",
      "[\\d\\-]",
      "(?:a|b1)",
      "(?:ab)",
      "(?:a*)",
      "\\x61",
    );
    const quantifier = fc.constantFrom("", "", "*", "+", "?", "{2}", "{0,2}", "{1,}", "+?", "??");
    const expression = fc
      .array(fc.tuple(atom, quantifier, fc.boolean()), { minLength: 1, maxLength: 5 })
      .map((terms) => terms.map(([a, q, bar], i) => `${i > 0 && bar ? "|" : ""}${a}${q}`).join(""));
    const segment = fc
      .array(fc.constantFrom("a", "b", "c", "1", "2", "-", "_", "~", "A"), { maxLength: 8 })
      .map((units) => units.join(""));
    fc.assert(
      fc.property(
        expression,
        fc.array(segment, { minLength: 1, maxLength: 5 }),
        (source, segments) => {
          for (const text of segments) {
            const [ours, reference] = both(source, text);
            assert.equal(ours, reference, `(${source}) on ${JSON.stringify(text)}`);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });
});

/** Patterns and topics for the comparison with the built-in URLPattern. */
const PATTERNS: readonly string[] = [
  "https://example.com/books/:id",
  "https://example.com/users/:id/*",
  "https://example.com/books/:id?",
  "https://example.com/books/:id+",
  "https://example.com/books/:id*",
  "https://example.com/books{/:id}?",
  "https://example.com/{books/}?:id",
  "https://example.com/(\\d+)",
  "https://example.com/:id(\\d+)",
  "https://example.com/:a/:b(\\d+)?",
  "https://example.com/*.json",
  "https://example.com/:file.:ext",
  "https://*.example.com/*",
  "https://:sub.example.com/*",
  "https://example.com:8080/*",
  "https://example.com:*/*",
  "https://example.com:443/*",
  "http://example.com:80/x",
  "https://EXAMPLE.com/Books",
  "https://example.com/books/\\:id",
  "https://example.com/a\\*b",
  "https://example.com/{a}b",
  "https://example.com/books?q=:q",
  "https://example.com/books?*",
  "https://example.com/books#:h",
  "https://example.com/books?x#y",
  "http{s}?://example.com/*",
  "(https|wss)://example.com/*",
  "*://example.com/*",
  "https://user:pass@example.com/*",
  "https://user@example.com/*",
  "urn\\:isbn\\:*",
  "mailto\\:*@example.com",
  "data\\:text/plain,*",
  "foo://host/:a",
  "https://example.com/é/:x",
  "https://example.com/a b/:x",
  "https://example.com/books/:id([a-z0-9\\-]+)",
  "https://example.com/:id(a|b|c)",
  "https://example.com/(foo|bar)/:id",
  "https://example.com/:id(\\w{2,4})",
  "https://example.com/(a+)+b",
  "https://example.com/{(a+)}+b",
  "https://example.com/((?:a|aa)*)c",
  "https://example.com/:x(.*)/end",
  "https://example.com/:x([^\\/]+)",
  "https://example.com/a/../b",
  "https://example.com//x",
  "https://example.com",
  "https://example.com?q",
  "https://example.com#h",
  "https://[\\:\\:1]/*",
  "https://127.0.0.1:3000/*",
  "https://example.com/%41/:x",
  "https://example.com/\\?x",
  "https://example.com/{:a}{:b}",
  "https://example.com/:a(x)*",
  "https://example.com/{x:a}+",
  "https://example.com/{x:a(\\d)y}*",
  "file:///tmp/*",
  "ws://example.com/:room",
  "https://example.com/:ü",
];

const TOPICS: readonly string[] = [
  "https://example.com/books/1",
  "https://example.com/books/1/x",
  "https://example.com/books",
  "https://example.com/books/",
  "https://example.com/books/1/2",
  "https://example.com/users/7/a/b",
  "https://example.com/users/7",
  "https://example.com/42",
  "https://example.com/4a",
  "https://example.com/a.json",
  "https://example.com/x/y.json",
  "https://a.example.com/x",
  "https://a.b.example.com/x",
  "https://example.com:8080/x",
  "https://example.com:443/x",
  "http://example.com/x",
  "https://EXAMPLE.COM/Books",
  "https://example.com/books/:id",
  "https://example.com/a*b",
  "https://example.com/ab",
  "https://example.com/books?q=1",
  "https://example.com/books#top",
  "https://example.com/books?x#y",
  "wss://example.com/1",
  "https://user:pass@example.com/x",
  "https://user@example.com/x",
  "urn:isbn:123",
  "mailto:a@example.com",
  "data:text/plain,hi",
  "foo://host/a/b",
  "https://example.com/%C3%A9/1",
  "https://example.com/a%20b/1",
  "https://example.com/abc-1",
  "https://example.com/b",
  "https://example.com/foo/1",
  "https://example.com/aaab",
  "https://example.com/aaac",
  "https://example.com/x/y/end",
  "https://example.com//x",
  "https://example.com/",
  "https://example.com/?q",
  "https://example.com/#h",
  "https://[::1]/x",
  "https://127.0.0.1:3000/x",
  "https://example.com/A/1",
  "https://example.com/%3Fx",
  "https://example.com/xaxa",
  "https://example.com/xa1yxa2y",
  "file:///tmp/a",
  "ws://example.com/lobby",
  "not a url",
  "books/1",
  "",
];

/** The built-in URLPattern with a base URL (Node 24), if any. */
const BuiltInWithBase = (
  globalThis as {
    URLPattern?: new (pattern: string, base: string) => { test(input: string): boolean };
  }
).URLPattern;

function assertRefusedWithBase(pattern: string, base: string, problem: RegExp): void {
  assert.throws(
    () => compileUrlPattern(pattern, base),
    (error: unknown) =>
      isSsehubError(error) &&
      error.code === "SSEHUB_ERR_URLPATTERN_INVALID" &&
      problem.test(error.message),
  );
}

describe("compileUrlPattern: the same answers as the built-in URLPattern", {
  skip: BuiltIn === undefined ? "no global URLPattern before Node 24" : false,
}, () => {
  it("agrees on every pattern it accepts x every topic of a table", () => {
    const Pattern = BuiltIn!;
    let compared = 0;
    for (const pattern of PATTERNS) {
      const ours = compileUrlPattern(pattern); // every pattern of the table is accepted
      const theirs = new Pattern(pattern);
      for (const topic of TOPICS) {
        assert.equal(ours(topic), theirs.test(topic), `${pattern} on ${JSON.stringify(topic)}`);
        compared++;
      }
    }
    assert.equal(compared, PATTERNS.length * TOPICS.length);
  });

  it("agrees on generated pathname patterns, and accepts only what the built-in accepts", () => {
    const Pattern = BuiltIn!;
    const fragment = fc.constantFrom(
      "/",
      "a",
      "b",
      ".",
      "-",
      ":x",
      ":y",
      "*",
      "?",
      "+",
      "{",
      "}",
      "{/:z}?",
      "(\\d+)",
      "(a|b)",
      "(a*)",
      "([ab]+)",
      "\\.",
      "\\:",
    );
    const piece = fc.constantFrom("/", "a", "b", "1", "2", ".", "-", "ab", "a1", ":", "*");
    fc.assert(
      fc.property(
        fc.array(fragment, { maxLength: 7 }),
        fc.array(fc.array(piece, { maxLength: 8 }), { minLength: 1, maxLength: 6 }),
        (fragments, paths) => {
          const pattern = `https://example.com/${fragments.join("")}`;
          let theirs: { test(input: string): boolean } | undefined;
          try {
            theirs = new Pattern(pattern);
          } catch {
            theirs = undefined;
          }
          let ours: ((topic: string) => boolean) | undefined;
          try {
            ours = compileUrlPattern(pattern);
          } catch {
            ours = undefined;
          }
          if (ours === undefined) return; // a refusal is allowed; an extra acceptance is not
          assert.ok(theirs !== undefined, `${pattern} is accepted but the built-in refuses it`);
          for (const path of paths) {
            const topic = `https://example.com/${path.join("")}`;
            assert.equal(ours(topic), theirs.test(topic), `${pattern} on ${topic}`);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
