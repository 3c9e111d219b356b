/**
 * URL patterns (WHATWG URL Pattern Standard) as topic matchers, for Mercure draft-08's
 * `match_urlpattern`. A placeholder backed by the runtime's `URLPattern` (Node 23.8 and later,
 * so Node 24 but not Node 20): on a Node without it, every pattern is refused with a message
 * saying so. A matcher of its own, with the limits the spec asks for, replaces this file.
 * @see https://urlpattern.spec.whatwg.org/
 * @module
 */
import { SsehubError } from "../errors.js";

/** The part of the runtime's URLPattern this module uses. */
interface RuntimeUrlPattern {
  test(input: string): boolean;
}
type RuntimeUrlPatternClass = new (pattern: string) => RuntimeUrlPattern;

/**
 * Compiles `pattern` into a test of topics. Throws SSEHUB_ERR_URLPATTERN_INVALID when the
 * pattern is not a valid URL pattern, or when this Node has no URLPattern.
 * @example
 * const books = compileUrlPattern("https://example.com/books/:id");
 * books("https://example.com/books/1"); // true
 */
export function compileUrlPattern(pattern: string): (topic: string) => boolean {
  const UrlPattern = (globalThis as { URLPattern?: RuntimeUrlPatternClass }).URLPattern;
  if (UrlPattern === undefined) {
    throw new SsehubError(
      "SSEHUB_ERR_URLPATTERN_INVALID",
      `Cannot use the URL pattern ${JSON.stringify(pattern)}: URL patterns are not supported on this Node (${process.version}); use Node 24 or exact topics`,
    );
  }
  let compiled: RuntimeUrlPattern;
  try {
    compiled = new UrlPattern(pattern);
  } catch (error) {
    throw new SsehubError(
      "SSEHUB_ERR_URLPATTERN_INVALID",
      `Cannot use the URL pattern ${JSON.stringify(pattern)}: it is not a valid URL pattern`,
      { cause: error },
    );
  }
  return (topic) => {
    // A topic that is not a URL matches no pattern (the runtime throws on some inputs).
    try {
      return compiled.test(topic);
    } catch {
      return false;
    }
  };
}
