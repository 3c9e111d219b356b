/**
 * A Mercure subscription request, read as the draft it speaks (protocol-version.ts): its topic
 * matchers, the id it resumes from, and the name of the response header that answers it.
 *
 * Draft-08 (Mercure hub 1.0):
 * - `match` and `match_exact`: an exact topic, compared byte for byte (a `{` is no template);
 *   `match_urlpattern`: a WHATWG URL pattern (auth/url-pattern.ts). `*` is the wildcard under
 *   every matcher type, as the spec reserves it before the type is read. Any other name in the
 *   `match` namespace (`matchURLPattern`, `match_regex`, `Match`) is refused
 *   (SSEHUB_ERR_MERCURE_MATCHER_UNKNOWN), so that a misspelt matcher fails loudly.
 * - `GET` with the parameters in the query, or `QUERY` with them in an
 *   `application/x-www-form-urlencoded` body (the query's and the body's parameters together).
 * - resume from the `Last-Event-ID` header, else the `last_event_id` parameter; the answer's
 *   `Mercure-Last-Event-ID` header says where the replay starts.
 *
 * Draft-07 (Mercure hub 0.x): `topic` (an exact topic, `*`, or a URI template when it holds
 * `{`), `lastEventID` (ssehub also reads `lastEventId`), and the answer's `Last-Event-ID`.
 *
 * Matcher values follow the hub's topic rules (length, no control characters: 400), as topics.
 * @module
 */
import { compileTopicSelector, WILDCARD } from "../auth/topic-selector.js";
import { compileUrlPattern } from "../auth/url-pattern.js";
import { SsehubError } from "../errors.js";
import { decodeForm, FORM_MEDIA_TYPE, publishMediaType } from "../http/messages/publish-body.js";
import { readBody } from "../http/messages/read-body.js";
import type { RouteContext } from "../http/routes/route.js";
import type { TopicPattern } from "../hub/subscriber.js";
import { assertValidId } from "../protocol/field-rules.js";
import { isMatchNamespace, type MercureDraft, TOPIC_PARAMETER } from "./protocol-version.js";
import type { MatchType } from "./subscription-08.js";
import { MERCURE_PATH } from "./subscription-path.js";

/**
 * Draft-08's exact matcher parameters: the bare name and its explicit spelling, as the Mercure
 * hub 1.0 writes it (`match_exact`) and as the draft's text does (`matchExact`).
 */
export const EXACT_PARAMETERS: ReadonlySet<string> = new Set([
  "match",
  "match_exact",
  "matchExact",
]);
/** Draft-08's URL pattern matcher parameter, as the Mercure hub 1.0 writes it. */
export const URL_PATTERN_PARAMETER = "match_urlpattern";
/** The same, as the draft's text writes it; both are read alike. */
export const URL_PATTERN_PARAMETER_DRAFT_SPELLING = "matchURLPattern";
/** Draft-08's resume parameter (draft-07: `lastEventID`). */
export const LAST_EVENT_ID_PARAMETER = "last_event_id";
/** The response header naming where the replay starts, per draft. */
export const RESUME_HEADERS: Readonly<Record<MercureDraft, string>> = Object.freeze({
  "draft-08": "Mercure-Last-Event-ID",
  "draft-07": "Last-Event-ID",
});

/** What a Mercure subscription asks for. */
export interface MercureSubscribeRequest {
  /** Exact topics, checked by the hub. */
  readonly topics: readonly string[];
  /** `*`, URI templates (draft-07) and URL patterns (draft-08). */
  readonly patterns: readonly TopicPattern[];
  /** Every matcher value as the client wrote it. */
  readonly selectors: readonly string[];
  /**
   * Every matcher with its draft-08 type (none for a draft-07 selector), in the order written:
   * one subscription each (presence.ts). `*` keeps the type of its parameter.
   */
  readonly matchers: readonly { readonly matchType?: MatchType; readonly match: string }[];
  readonly lastEventId: string | undefined;
}

/**
 * The parameters of a subscription: the query of a GET; the query and the form body of a QUERY.
 * A QUERY body of another type is refused (415), as is one past `maxBodyBytes` (413).
 */
export async function subscribeParamsOf(ctx: RouteContext): Promise<URLSearchParams> {
  if (ctx.req.method !== "QUERY") return ctx.query;
  const mediaType = publishMediaType(ctx.req.headers["content-type"]);
  if (mediaType !== FORM_MEDIA_TYPE) {
    throw new SsehubError(
      "SSEHUB_ERR_PUBLISH_UNSUPPORTED_MEDIA_TYPE",
      `Cannot subscribe with a QUERY body of type ${JSON.stringify(mediaType)}: use ${FORM_MEDIA_TYPE}`,
      { details: { accepted: [FORM_MEDIA_TYPE] } },
    );
  }
  const form = decodeForm(await readBody(ctx.req, ctx.limits.maxBodyBytes));
  const params = new URLSearchParams(ctx.query);
  for (const [name, value] of form) params.append(name, value);
  return params;
}

/** Reads the subscription of `params` as `draft` speaks it. Throws SsehubError (400). */
export function mercureSubscribeRequest(
  ctx: RouteContext,
  params: URLSearchParams,
  draft: MercureDraft,
): MercureSubscribeRequest {
  const exact: string[] = [];
  const patterns: TopicPattern[] = [];
  const selectors: string[] = [];
  const matchers: { matchType?: MatchType; match: string }[] = [];
  const urlPatterns: string[] = [];
  for (const [name, value] of params) {
    if (draft === "draft-07") {
      if (name !== TOPIC_PARAMETER) continue;
      if (value === WILDCARD || value.includes("{")) patterns.push(compileTopicSelector(value));
      else exact.push(value);
    } else {
      if (!isMatchNamespace(name)) continue;
      const matchType = matchTypeOf(name);
      if (value === WILDCARD) patterns.push(compileTopicSelector(WILDCARD));
      else if (matchType === "exact") exact.push(value);
      else urlPatterns.push(value);
      matchers.push({ matchType, match: value });
      selectors.push(value);
      continue;
    }
    matchers.push({ match: value });
    selectors.push(value);
  }
  if (selectors.length === 0) {
    throw new SsehubError(
      "SSEHUB_ERR_TOPIC_MISSING",
      draft === "draft-07"
        ? "Cannot subscribe without a topic: add ?topic=<topic or URI template>"
        : "Cannot subscribe without a topic matcher: add ?match=<topic> or ?match_urlpattern=<URL pattern>",
    );
  }
  const { hub } = ctx;
  // URL patterns are held to the topic rules as well (length, characters, how many), before
  // they are compiled.
  if (urlPatterns.length > 0) {
    const base = hubUrlOf(ctx);
    for (const pattern of hub.checkTopics(urlPatterns)) {
      patterns.push(urlPatternMatcher(pattern, base));
    }
  }
  return {
    topics: exact.length === 0 ? [] : hub.checkTopics(exact),
    patterns,
    selectors,
    matchers,
    lastEventId: lastEventIdOf(ctx, params, draft),
  };
}

/**
 * The id the client resumes from. The header wins over the parameter (both drafts): a browser
 * reconnects to the same URL, still carrying the parameter of its first request, with a fresh
 * header naming the last event it actually got.
 */
function lastEventIdOf(
  ctx: RouteContext,
  params: URLSearchParams,
  draft: MercureDraft,
): string | undefined {
  const header = ctx.req.headers["last-event-id"];
  const id =
    typeof header === "string" && header !== ""
      ? header
      : draft === "draft-08"
        ? params.get(LAST_EVENT_ID_PARAMETER)
        : (params.get("lastEventID") ?? params.get("lastEventId"));
  if (id === null || id === undefined || id === "") return undefined;
  assertValidId(id);
  return id;
}

/** The matcher type of a parameter in the `match` namespace; throws for an unknown one. */
function matchTypeOf(name: string): MatchType {
  if (EXACT_PARAMETERS.has(name)) return "exact";
  if (name === URL_PATTERN_PARAMETER || name === URL_PATTERN_PARAMETER_DRAFT_SPELLING) {
    return "urlpattern";
  }
  throw unknownMatcher(name);
}

/**
 * The hub's URL as the request names it (scheme, Host, the hub's path): what Mercure resolves a
 * relative URL pattern against (`match_urlpattern=/books/:id`).
 */
function hubUrlOf(ctx: RouteContext): string {
  const scheme = (ctx.req.socket as { encrypted?: boolean }).encrypted === true ? "https" : "http";
  return `${scheme}://${ctx.req.headers.host ?? "localhost"}${MERCURE_PATH}`;
}

/** A URL pattern as the hub matches topics with it; a relative one is read against `base`. */
function urlPatternMatcher(pattern: string, base: string): TopicPattern {
  const test = compileUrlPattern(pattern, base);
  // The parameter's name is part of the source: the hub shares a turn's batch between
  // subscribers whose sources are equal, and a URL pattern is not a URI template of the same text.
  return { source: `${URL_PATTERN_PARAMETER}=${pattern}`, matches: test };
}

function unknownMatcher(name: string): SsehubError {
  return new SsehubError(
    "SSEHUB_ERR_MERCURE_MATCHER_UNKNOWN",
    `Cannot subscribe with the parameter ${JSON.stringify(name)}: Mercure reserves every name starting with "match" for topic matchers; use match or match_exact (exact topic) or match_urlpattern (URL pattern)`,
    {
      details: {
        parameter: name,
        matchers: [
          ...EXACT_PARAMETERS,
          URL_PATTERN_PARAMETER,
          URL_PATTERN_PARAMETER_DRAFT_SPELLING,
        ],
      },
    },
  );
}
