/**
 * The Mercure paths both drafts share: the hub's, the prefix of the subscriptions API (also the
 * prefix of subscription event topics), and the percent-encoding of each variable.
 * @module
 */

/** The path of the Mercure hub. */
export const MERCURE_PATH = "/.well-known/mercure";

/** The path of Mercure's subscriptions API, and the prefix of subscription event topics. */
export const SUBSCRIPTIONS_PATH = `${MERCURE_PATH}/subscriptions`;

/** Characters of a UTF-8 percent-encoded string that RFC 6570 leaves as they are (unreserved). */
const NOT_UNRESERVED = /[!'()*]/g;
/** A UTF-16 surrogate without its other half: it has no UTF-8 form. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * `value` percent-encoded as an RFC 6570 simple expansion writes it: every character but the
 * unreserved ones (`A-Z a-z 0-9 - . _ ~`) as UTF-8 `%XX`, so a `%` already in it is encoded
 * again (once: the value is taken as raw text, never as already encoded). A lone surrogate,
 * which has no UTF-8 form, becomes U+FFFD first.
 */
export function encodeSegment(value: string): string {
  return encodeURIComponent(value.replace(LONE_SURROGATE, "\uFFFD")).replace(
    NOT_UNRESERVED,
    (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}
