/**
 * The topic namespaces the hub writes into itself, which no publisher may speak in: the path of
 * the Mercure hub, `/.well-known/mercure`, and ssehub's own, `/.well-known/ssehub` (the
 * dashboard's stats snapshots, http/dashboard/stats-exchange.ts), each with everything below it. The hub publishes its
 * subscription events on `/.well-known/mercure/subscriptions/{topic}/{subscriber}`; a watcher of
 * those events must be able to trust that the hub wrote them. As Mercure does (draft-08,
 * section "Publication"), the whole path of the hub is reserved, not only the part in use
 * today, so that what the hub writes there later is just as safe.
 *
 * A topic addresses the namespace however it is spelled. Its path is read the way URL parsers
 * read it, and when two parsers disagree both readings are checked, so that no spelling that
 * some reader takes for the hub's path passes:
 * - any scheme and authority is stripped (`https://example.com/.well-known/mercure/...`,
 *   `//host/...`, `urn:/...`), whatever the host: the hub cannot know every name it is reached by;
 *   after a scheme, a run of slashes is read both as RFC 3986 does (`//` then the authority) and
 *   as WHATWG does for `http:` and friends (every slash skipped, then the authority); without a
 *   scheme, `//.well-known/mercure` is read both as an authority and as a path;
 * - the query and the fragment are stripped;
 * - a backslash is read as a slash (WHATWG does so in `http:` URLs);
 * - percent-escapes of unreserved characters (`A-Z a-z 0-9 - . _ ~`) are decoded, in either
 *   case of hex (`%6D`, `%6d`, `%2E`); other escapes stay as they are (`%2F` is not a slash in
 *   a path, and `%25` decodes to `%`, never to a second round of decoding);
 * - dot segments are removed (RFC 3986, section 5.2.4), both as written and after repeated
 *   slashes are collapsed into one, since some servers collapse them.
 * The resulting path is in a namespace when it equals `/.well-known/mercure` or starts with
 * `/.well-known/mercure/` (and the same for `/.well-known/ssehub`). Paths are case-sensitive, as in URLs and in the hub's topic matching
 * (`/.well-known/Mercure` is another path).
 *
 * Not reserved: a topic whose path does not start at the root. ssehub compares topics as
 * strings (exactly, or against a URI template) and never resolves a relative one, and the hub's
 * own topics always start with `/`; so `/x/.well-known/mercure/subscriptions` (another path) and
 * `mercure/subscriptions/x` (a plain name) name nothing of the hub's. Mercure draft-08 would
 * resolve the latter against the hub's URL; ssehub does not, so that a plain topic such as
 * `mercure` stays usable.
 *
 * Cost: one scan for `%` and one for `well-known` on every topic; only a topic holding one of
 * them is parsed.
 * @see https://www.rfc-editor.org/rfc/rfc3986#section-5.2.4
 * @module
 */

/** The path of the Mercure hub: it and every path below it are the hub's own topics. */
export const HUB_TOPIC_NAMESPACE = "/.well-known/mercure";
/** ssehub's own topics (the dashboard's stats snapshots): it and every path below it. */
export const SSEHUB_TOPIC_NAMESPACE = "/.well-known/ssehub";

/** Every reserved namespace, both as it is and with the slash that starts the paths below it. */
const NAMESPACES = [HUB_TOPIC_NAMESPACE, SSEHUB_TOPIC_NAMESPACE].map((path) => [path, `${path}/`]);
/** A scheme (RFC 3986, section 3.1) and its colon. */
const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:/;
/** Schemes whose URLs WHATWG parses with any number of slashes before the authority. */
const SPECIAL_SCHEME = /^(?:https?|wss?|ftp|file):$/i;
/** A percent-escape of an unreserved character: ALPHA / DIGIT / "-" / "." / "_" / "~". */
const UNRESERVED_ESCAPE = /%(?:[46][1-9A-Fa-f]|[57][0-9Aa]|3[0-9]|2[Dd]|2[Ee]|5[Ff]|7[Ee])/g;

/**
 * True when `topic` addresses one of the hub's own namespaces, `/.well-known/mercure` or
 * `/.well-known/ssehub` and below, in any spelling (see the module comment). Publishers may not publish there
 * (SSEHUB_ERR_TOPIC_RESERVED); subscribing there is allowed.
 */
export function isReservedTopic(topic: string): boolean {
  // Only a `%` can spell letters that are not written out: without one, the words must be there.
  if (!topic.includes("%") && !topic.includes("well-known")) return false;
  for (const path of pathReadings(topic.replaceAll("\\", "/"))) {
    const decoded = decodeUnreserved(path);
    if (inNamespace(removeDotSegments(decoded))) return true;
    if (inNamespace(removeDotSegments(decoded.replace(/\/{2,}/g, "/")))) return true;
  }
  return false;
}

function inNamespace(path: string): boolean {
  return NAMESPACES.some(([root, below]) => path === root || path.startsWith(below!));
}

/** The path component of `reference` (its slashes already normalized), as each parser reads it. */
function pathReadings(reference: string): string[] {
  const end = reference.search(/[?#]/);
  const withoutQuery = end === -1 ? reference : reference.slice(0, end);
  const scheme = SCHEME.exec(withoutQuery)?.[0];
  const rest = scheme === undefined ? withoutQuery : withoutQuery.slice(scheme.length);
  if (!rest.startsWith("//")) return [rest];
  // RFC 3986: `//` starts the authority, which runs to the next slash.
  const readings = [afterAuthority(rest.slice(2))];
  // WHATWG, for special schemes: every leading slash is skipped before the authority.
  if (scheme !== undefined && SPECIAL_SCHEME.test(scheme)) {
    readings.push(afterAuthority(rest.replace(/^\/+/, "")));
  }
  // Without a scheme, `//.well-known/...` is also a path whose slashes a server may collapse.
  if (scheme === undefined) readings.push(rest);
  return readings;
}

function afterAuthority(authorityAndPath: string): string {
  const slash = authorityAndPath.indexOf("/");
  return slash === -1 ? "" : authorityAndPath.slice(slash);
}

function decodeUnreserved(path: string): string {
  if (!path.includes("%")) return path;
  return path.replace(UNRESERVED_ESCAPE, (percentEscape) =>
    String.fromCharCode(Number.parseInt(percentEscape.slice(1), 16)),
  );
}

/**
 * RFC 3986, section 5.2.4, "Remove Dot Segments": `.` and `..` segments go, each `..` with the
 * segment before it.
 */
export function removeDotSegments(path: string): string {
  let input = path;
  const output: string[] = [];
  while (input.length > 0) {
    if (input.startsWith("../")) {
      input = input.slice(3); // A
    } else if (input.startsWith("./")) {
      input = input.slice(2); // A
    } else if (input.startsWith("/./")) {
      input = input.slice(2); // B: "/./" -> "/"
    } else if (input === "/.") {
      input = "/"; // B
    } else if (input.startsWith("/../")) {
      input = input.slice(3); // C: "/../" -> "/", and the last output segment goes
      output.pop();
    } else if (input === "/..") {
      input = "/"; // C
      output.pop();
    } else if (input === "." || input === "..") {
      input = ""; // D
    } else {
      // E: the first segment, with its leading slash if any, up to the next slash.
      const next = input.indexOf("/", input.startsWith("/") ? 1 : 0);
      const segment = next === -1 ? input : input.slice(0, next);
      output.push(segment);
      input = input.slice(segment.length);
    }
  }
  return output.join("");
}
