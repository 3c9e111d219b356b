/**
 * Topic selectors, as Mercure defines them: the expressions in a token's `publish` and
 * `subscribe` claims (and in a subscription) that say which topics they cover.
 *
 * A string matches a selector when (Mercure, section "Topic Selectors"):
 * 1. the selector is `*`, or
 * 2. the selector and the string are the same (so a template also matches itself: a claim
 *    `https://example.com/books/{id}` allows subscribing to that very template), or
 * 3. the selector is a URI template (RFC 6570) and some expansion of it equals the string.
 *
 * A selector without `{` is matched exactly. One with `{` must be a valid template: an invalid
 * one is refused (SSEHUB_ERR_TOPIC_INVALID) instead of silently matching only itself.
 * @module
 */
import { compileUriTemplate, type UriTemplateMatcher } from "./uri-template.js";

/** The selector that matches every topic. */
export const WILDCARD = "*";

/** Compiled selectors kept for reuse, the least recently used dropped first. */
export const SELECTOR_CACHE_SIZE = 10_000;

/** A compiled topic selector. Immutable: share it freely. */
export interface TopicSelector {
  /** The selector as written. */
  readonly source: string;
  /** True when `topic` is matched by this selector. */
  matches(topic: string): boolean;
}

class WildcardSelector implements TopicSelector {
  readonly source = WILDCARD;
  matches(_topic: string): boolean {
    return true;
  }
}

class ExactSelector implements TopicSelector {
  readonly source: string;
  constructor(source: string) {
    this.source = source;
  }
  matches(topic: string): boolean {
    return topic === this.source;
  }
}

class TemplateSelector implements TopicSelector {
  readonly source: string;
  readonly #template: UriTemplateMatcher;
  constructor(source: string) {
    this.source = source;
    this.#template = compileUriTemplate(source);
  }
  matches(topic: string): boolean {
    return topic === this.source || this.#template.matches(topic);
  }
}

// Compiled selectors by source. A Map iterates in insertion order, so deleting and setting an
// entry on each hit moves it to the end, and the first key is the least recently used.
// Invariant: cache.size <= SELECTOR_CACHE_SIZE.
const cache = new Map<string, TopicSelector>();

/**
 * Compiles `selector` (or returns the compiled one from the cache). Throws
 * SSEHUB_ERR_TOPIC_INVALID when it holds `{` but is not a valid URI template (an unclosed
 * brace, a reserved operator such as `{=x}`, a bad variable name or prefix).
 * @example
 * const books = compileTopicSelector("https://example.com/books/{id}");
 * books.matches("https://example.com/books/1"); // true
 * books.matches("https://example.com/books/1/reviews"); // false
 */
export function compileTopicSelector(selector: string): TopicSelector {
  const cached = cache.get(selector);
  if (cached !== undefined) {
    cache.delete(selector);
    cache.set(selector, cached);
    return cached;
  }
  const compiled =
    selector === WILDCARD
      ? new WildcardSelector()
      : selector.includes("{")
        ? new TemplateSelector(selector)
        : new ExactSelector(selector);
  if (cache.size >= SELECTOR_CACHE_SIZE) cache.delete(cache.keys().next().value!);
  cache.set(selector, compiled);
  return compiled;
}

/** True when one of `selectors` matches `topic`. */
export function matchesAny(selectors: readonly TopicSelector[], topic: string): boolean {
  for (const selector of selectors) if (selector.matches(topic)) return true;
  return false;
}
