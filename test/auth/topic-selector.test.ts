import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  compileTopicSelector,
  matchesAny,
  SELECTOR_CACHE_SIZE,
} from "../../src/auth/topic-selector.js";
import { isSsehubError } from "../../src/errors.js";

describe("compileTopicSelector()", () => {
  it("* matches every topic", () => {
    const all = compileTopicSelector("*");
    for (const topic of ["a", "https://example.com/books/1", "*", "{x}", "é/ü"]) {
      assert.equal(all.matches(topic), true, topic);
    }
    assert.equal(all.source, "*");
  });

  it("a selector without { matches the same topic only", () => {
    const exact = compileTopicSelector("https://example.com/books/1");
    assert.equal(exact.matches("https://example.com/books/1"), true);
    assert.equal(exact.matches("https://example.com/books/10"), false);
    assert.equal(exact.matches("https://example.com/books/"), false);
    assert.equal(exact.matches("HTTPS://example.com/books/1"), false);
    assert.equal(compileTopicSelector("a}b").matches("a}b"), true);
  });

  it("https://example.com/books/{id} matches a book, not its reviews (Mercure's example)", () => {
    const books = compileTopicSelector("https://example.com/books/{id}");
    assert.equal(books.matches("https://example.com/books/1"), true);
    assert.equal(books.matches("https://example.com/books/the-book_1.2~"), true);
    assert.equal(books.matches("https://example.com/books/1/reviews"), false);
    assert.equal(books.matches("https://example.com/books"), false);
    assert.equal(books.matches("https://example.org/books/1"), false);
  });

  it("{+path} matches across slashes, {path} does not", () => {
    const reserved = compileTopicSelector("https://example.com/{+path}");
    assert.equal(reserved.matches("https://example.com/a/b/c?d=1#e"), true);
    const simple = compileTopicSelector("https://example.com/{path}");
    assert.equal(simple.matches("https://example.com/a/b/c"), false);
    assert.equal(simple.matches("https://example.com/a%2Fb%2Fc"), true);
  });

  it("matches the private-update selector of Mercure's authorization example", () => {
    const selector = compileTopicSelector("https://example.com/users/foo/{?topic}");
    assert.equal(
      selector.matches(
        "https://example.com/users/foo/?topic=https%3A%2F%2Fexample.com%2Fbooks%2F1",
      ),
      true,
    );
    assert.equal(selector.matches("https://example.com/users/bar/?topic=x"), false);
    assert.equal(selector.matches("https://example.com/users/foo/?other=x"), false);
  });

  it("a template matches itself, so a claim can allow subscribing to that template", () => {
    const selector = compileTopicSelector("https://example.com/books/{id}");
    assert.equal(selector.matches("https://example.com/books/{id}"), true);
    assert.equal(selector.matches("https://example.com/books/{isbn}"), false);
  });

  it("treats regular-expression characters of the literal text as plain text", () => {
    const selector = compileTopicSelector("https://example.com/a.b/(x)+[y]*?^$|\\{id}");
    assert.equal(selector.matches("https://example.com/a.b/(x)+[y]*?^$|\\1"), true);
    assert.equal(selector.matches("https://example.com/aXb/(x)+[y]*?^$|\\1"), false);
    assert.equal(selector.matches("https://example.com/a.b/(x)[y]?^$|\\1"), false);
    assert.equal(selector.matches("https://example.com/a.b/(x)+[y]*?^$|1"), false);
  });

  it("matches literal text outside ASCII exactly", () => {
    const selector = compileTopicSelector("https://example.com/café/{id}");
    assert.equal(selector.matches("https://example.com/café/1"), true);
    assert.equal(selector.matches("https://example.com/cafe/1"), false);
  });

  it("matches as the examples of docs/security.md say", () => {
    const cases: [string, string, boolean][] = [
      ["page{#section}", "page#intro", true],
      ["page{#section}", "page", true],
      ["file{.ext}", "file.json", true],
      ["https://example.com{/user,book}", "https://example.com/u1/b2", true],
      ["https://example.com/map{;lat,long}", "https://example.com/map;lat=50;long=3", true],
      ["search?q=ssehub{&page}", "search?q=ssehub&page=2", true],
      ["https://example.com/books/{id}{/rest*}", "https://example.com/books/1/a/b", true],
      ["https://example.com/books/{id}{/rest*}", "https://example.com/books/1", true],
      ["{id:3}", "abc", true],
      ["{id:3}", "abcd", false],
      ["x{?params*}", "x?a=1&b=2&c=", true],
      ["{id}", "a b", false],
      ["{id}", "a%20b", true],
      ["{id}", "%C3%A9", true],
    ];
    for (const [selector, topic, expected] of cases) {
      assert.equal(compileTopicSelector(selector).matches(topic), expected, `${selector} ${topic}`);
    }
  });

  it("refuses an invalid template with SSEHUB_ERR_TOPIC_INVALID", () => {
    for (const selector of ["https://example.com/{id", "{=x}", "a{b}}", "{}"]) {
      assert.throws(
        () => compileTopicSelector(selector),
        (error: unknown) => isSsehubError(error) && error.code === "SSEHUB_ERR_TOPIC_INVALID",
        selector,
      );
    }
  });

  it("returns the cached selector for a source compiled before", () => {
    const a = compileTopicSelector("https://example.com/cache/{id}");
    assert.equal(compileTopicSelector("https://example.com/cache/{id}"), a);
  });

  it("keeps at most SELECTOR_CACHE_SIZE selectors, dropping the least recently used", () => {
    const first = compileTopicSelector("lru/{first}");
    const kept = compileTopicSelector("lru/{kept}");
    for (let i = 0; i < SELECTOR_CACHE_SIZE - 2; i++) compileTopicSelector(`lru/${i}/{x}`);
    assert.equal(compileTopicSelector("lru/{kept}"), kept); // used again: now the most recent
    compileTopicSelector("lru/{one_more}");
    compileTopicSelector("lru/{and_another}");
    assert.notEqual(compileTopicSelector("lru/{first}"), first, "the oldest entry was dropped");
    assert.equal(compileTopicSelector("lru/{kept}"), kept);
  });

  it("stays linear on long adversarial topics (no catastrophic backtracking)", () => {
    const long = 10_000;
    const cases: [string, string, boolean][] = [
      // Backtracking engines take cubic time on these: each {+x} may end at every slash.
      ["{+a}/{+b}/{+c}x", `${"/".repeat(long)}y`, false],
      ["{+a}/{+b}/{+c}", "/".repeat(long), true],
      ["{a}{b}{c}{d}{e}", `${"a".repeat(long)}!`, false],
      ["https://example.com/{a}{b}{c}/{+d}", `https://example.com/${"ab".repeat(long / 2)}`, false],
      ["{/a*}{/b*}{?c*}{&d*}", `${"/a".repeat(long / 2)}?x=1&y=`, true],
      ["{;a*}{;b*}{;c*}", `${";a=b".repeat(long / 4)};`, true],
      ["{;a*}{;b*}{;c*}", `${";a=b".repeat(long / 4)}=`, false],
      ["{x:9999}{y:9999}z", `${"%C3%A9".repeat(long / 6)}!`, false],
      ["{#a,b,c,d,e,f}", `#${",".repeat(long)}`, true],
    ];
    // No bound on time here (tests never time speed): a backtracking matcher would take hours on
    // these 10,000-character topics, so it fails by the runner's timeout, not by a stopwatch.
    for (const [template, topic, expected] of cases) {
      assert.equal(compileTopicSelector(template).matches(topic), expected, template);
    }
  });
});

describe("matchesAny()", () => {
  it("is true when one selector matches, false for none or no selector", () => {
    const selectors = ["https://example.com/books/{id}", "news"].map(compileTopicSelector);
    assert.equal(matchesAny(selectors, "news"), true);
    assert.equal(matchesAny(selectors, "https://example.com/books/2"), true);
    assert.equal(matchesAny(selectors, "sports"), false);
    assert.equal(matchesAny([], "news"), false);
  });
});
