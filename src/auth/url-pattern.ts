/**
 * URL Pattern topic matchers (Mercure draft-08, matcher type `urlpattern`), backed by the
 * runtime's `URLPattern` (WHATWG URL Pattern Standard) where it has one. A minimal stand-in:
 * the full matcher, with its own engine and evaluation limits, replaces this module.
 * @module
 */
import { SsehubError } from "../errors.js";

interface UrlPatternInstance {
  test(input: string): boolean;
}
type UrlPatternConstructor = new (pattern: string) => UrlPatternInstance;

/**
 * Compiles `pattern` into a test of topics. Throws SSEHUB_ERR_URLPATTERN_INVALID when the
 * pattern is not a valid URL pattern, or when this Node has no `URLPattern`.
 * @example
 * const books = compileUrlPattern("https://example.com/books/:id");
 * books("https://example.com/books/1"); // true
 */
export function compileUrlPattern(pattern: string): (topic: string) => boolean {
  const UrlPattern = (globalThis as { URLPattern?: UrlPatternConstructor }).URLPattern;
  if (UrlPattern === undefined) {
    throw new SsehubError(
      "SSEHUB_ERR_URLPATTERN_INVALID",
      `Cannot compile the URL pattern ${JSON.stringify(pattern)}: this Node (${process.version}) has no URLPattern`,
    );
  }
  let compiled: UrlPatternInstance;
  try {
    compiled = new UrlPattern(pattern);
  } catch (cause) {
    throw new SsehubError(
      "SSEHUB_ERR_URLPATTERN_INVALID",
      `Cannot compile the URL pattern ${JSON.stringify(pattern)}: ${(cause as Error).message}`,
      { cause },
    );
  }
  return (topic) => {
    try {
      return compiled.test(topic);
    } catch {
      return false; // a topic that is not a URL matches no pattern
    }
  };
}
