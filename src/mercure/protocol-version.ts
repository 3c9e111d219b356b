/**
 * Which Mercure draft a request speaks, and which ones the hub accepts (`mercureProtocol`,
 * like the Mercure hub's `protocol_version_compatibility`).
 *
 * - `draft-08` (Mercure hub 1.0): subscribe with `match`, `match_exact`, `match_urlpattern`
 *   (GET, or QUERY with a form body), resume with `last_event_id`, publish one topic per update.
 * - `draft-07` (Mercure hub 0.x): subscribe with `topic` (URI templates, `*`), resume with
 *   `lastEventID`, publish with alternate topics.
 * - `both` (the default): each request is read as the draft it speaks, so that clients of either
 *   hub version work against one ssehub while they move over.
 *
 * How a request is classified in `both`:
 * - a subscription is draft-07 when it has a `topic` parameter, draft-08 when it has a parameter
 *   in the `match` namespace (a name starting with `match`, in any case), and refused
 *   (SSEHUB_ERR_MERCURE_PARAMETERS_MIXED) when it has both: no reading of such a request is
 *   safe. A QUERY request is draft-08 (draft-07 had no QUERY).
 * - a publication is draft-07 when it has several `topic` fields (alternate topics exist only
 *   there), else draft-08: the two drafts' forms are otherwise the same fields, and draft-08's
 *   checks are the stricter ones, save that it ignores fields it does not know.
 *
 * A request that speaks a draft the setting turned off is refused
 * (SSEHUB_ERR_MERCURE_PROTOCOL_DISABLED) rather than read as the other draft: read as draft-08,
 * a draft-07 subscription would have no matcher, and the other way round it would match nothing.
 * @see https://datatracker.ietf.org/doc/html/draft-dunglas-mercure-07
 * @module
 */
import { SsehubError } from "../errors.js";

/**
 * The drafts the hub accepts: the values of `mercureProtocol`, which http/server-options.ts
 * declares (option tables may not import this folder; the compiler refuses an option value
 * unknown here where the handler passes the option on).
 */
export type MercureProtocol = "draft-08" | "draft-07" | "both";

/** The draft one request speaks. */
export type MercureDraft = "draft-08" | "draft-07";

/** The draft-07 subscribe parameter. */
export const TOPIC_PARAMETER = "topic";

/** True for a name in draft-08's reserved `match` namespace: `match`, or any name after it. */
export function isMatchNamespace(name: string): boolean {
  return name.length >= 5 && name.slice(0, 5).toLowerCase() === "match";
}

/**
 * The draft of a subscription whose parameters (query, and form body of a QUERY) are `params`.
 * Throws SSEHUB_ERR_MERCURE_PARAMETERS_MIXED when it speaks both, and
 * SSEHUB_ERR_MERCURE_PROTOCOL_DISABLED when it speaks one `accepted` leaves out.
 */
export function subscribeDraftOf(
  params: URLSearchParams,
  method: string,
  accepted: MercureProtocol,
): MercureDraft {
  const hasTopic = params.has(TOPIC_PARAMETER);
  let matcher: string | undefined;
  for (const name of params.keys()) {
    if (isMatchNamespace(name)) {
      matcher = name;
      break;
    }
  }
  if (hasTopic && matcher !== undefined) {
    throw new SsehubError(
      "SSEHUB_ERR_MERCURE_PARAMETERS_MIXED",
      `Cannot subscribe with both topic (Mercure draft-07) and ${matcher} (draft-08) parameters: use match for exact topics and match_urlpattern for URL patterns, or topic alone`,
      { details: { parameters: [TOPIC_PARAMETER, matcher] } },
    );
  }
  let draft: MercureDraft;
  if (method === "QUERY") {
    if (hasTopic) throw disabled("draft-07", accepted, "QUERY is a draft-08 method: use match");
    draft = "draft-08";
  } else if (hasTopic) draft = "draft-07";
  else if (matcher !== undefined) draft = "draft-08";
  // No parameter at all: the draft the hub prefers, whose error then names its parameters.
  else draft = accepted === "draft-07" ? "draft-07" : "draft-08";
  if (accepted !== "both" && accepted !== draft) {
    throw disabled(
      draft,
      accepted,
      draft === "draft-07"
        ? "use match (exact topic) or match_urlpattern instead of topic"
        : "use topic (a topic or URI template) instead of match",
    );
  }
  return draft;
}

/** The draft of a publish form: draft-07 when it names several topics, else draft-08. */
export function publishDraftOf(form: URLSearchParams, accepted: MercureProtocol): MercureDraft {
  if (accepted !== "both") return accepted;
  return form.getAll(TOPIC_PARAMETER).length > 1 ? "draft-07" : "draft-08";
}

function disabled(draft: MercureDraft, accepted: MercureProtocol, hint: string): SsehubError {
  return new SsehubError(
    "SSEHUB_ERR_MERCURE_PROTOCOL_DISABLED",
    `Cannot subscribe with Mercure ${draft} parameters: this hub speaks ${accepted === "both" ? "draft-08 here" : `${accepted} only (mercureProtocol)`}: ${hint}`,
    { details: { protocol: draft, accepted } },
  );
}
