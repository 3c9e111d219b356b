/**
 * The check of the origin lists among the options (`corsOrigins`, `publishOrigins`). A browser
 * sends an origin serialized: `scheme://host[:port]`, lowercase, no path, no default port. A
 * listed entry in any other shape (`example.com`, `https://app.example/`, `https://app.example:443`
 * with a path) can never equal what a browser sends, so it is refused when the options are
 * resolved instead of silently refusing every request later.
 * @module
 */
import type { CrossCheck } from "../../options.js";

/** The options that list origins. */
export const ORIGIN_LIST_OPTIONS = Object.freeze(["corsOrigins", "publishOrigins"] as const);

/** `*` (any origin) and `null` (the origin of sandboxed pages and local files) are words, not URLs. */
const ORIGIN_WORDS: ReadonlySet<string> = new Set(["*", "null"]);

/**
 * What is wrong with `entry` as an origin, with the value to use instead when one is clear, or
 * undefined when a browser can send it. A trailing slash and upper case are accepted: origins
 * are compared lowercase and without it (access/cors.ts).
 */
export function originProblem(entry: string): string | undefined {
  if (ORIGIN_WORDS.has(entry)) return undefined;
  const trimmed = entry.trim().replace(/\/$/, "");
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed)) {
    return `it has no scheme: use ${JSON.stringify(`https://${trimmed}`)} (or http://)`;
  }
  let origin: string;
  try {
    origin = new URL(trimmed).origin;
  } catch {
    return "it is not a URL";
  }
  if (origin === "null") return "its scheme has no origin: use an http:// or https:// origin";
  if (origin !== trimmed.toLowerCase()) {
    return `a browser sends it as ${JSON.stringify(origin)}: list that (scheme, host and port only)`;
  }
  return undefined;
}

/** Refuses an entry of option `name` that no browser can send (see originProblem). */
function originListCheck(name: string): CrossCheck {
  return {
    fields: [name],
    check(options) {
      const list = options[name];
      if (!Array.isArray(list)) return undefined;
      for (const entry of list) {
        if (typeof entry !== "string" || entry === "") continue;
        const problem = originProblem(entry);
        if (problem !== undefined) {
          return `${name} has ${JSON.stringify(entry)}, which can never match a browser's Origin: ${problem}`;
        }
      }
      return undefined;
    },
  };
}

/** One check per origin list option. */
export const ORIGIN_LIST_CHECKS: readonly CrossCheck[] = Object.freeze(
  ORIGIN_LIST_OPTIONS.map(originListCheck),
);
