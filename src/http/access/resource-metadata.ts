/**
 * OAuth 2.0 Protected Resource Metadata (RFC 9728) of the Mercure hub under draft-08: where it
 * is served, and what it says (Mercure, section "Protected Resource Metadata").
 *
 * RFC 9728 section 3.1 derives the document's URL from the resource identifier: the
 * well-known prefix `/.well-known/oauth-protected-resource` goes between the host and the
 * path, so `https://hub.example.com/.well-known/mercure` has its metadata at
 * `https://hub.example.com/.well-known/oauth-protected-resource/.well-known/mercure`.
 * @module
 */

/** The well-known path of the metadata (RFC 9728 section 3). */
export const RESOURCE_METADATA_PATH = "/.well-known/oauth-protected-resource";

/** The metadata document's members that ssehub writes. */
export interface ResourceMetadata {
  readonly resource: string;
  readonly authorization_servers?: readonly string[];
  readonly bearer_methods_supported: readonly string[];
  readonly authorization_details_types_supported: readonly string[];
  readonly mercure_cookie: boolean;
  readonly mercure_subscriptions?: boolean;
  /** The revision of the Mercure protocol the hub implements, as a number (draft-08: 8). */
  readonly mercure_version: number;
}

/** The revision of the Mercure protocol whose metadata this is (draft-dunglas-mercure-08). */
export const MERCURE_VERSION = 8;

/** The path of `resource`'s metadata on its host: the well-known prefix, then its path. */
export function resourceMetadataPath(resource: string): string {
  const { pathname } = new URL(resource);
  return pathname === "/" ? RESOURCE_METADATA_PATH : `${RESOURCE_METADATA_PATH}${pathname}`;
}

/**
 * The URL of `resource`'s metadata (RFC 9728 section 3.1), what the `resource_metadata`
 * parameter of a Bearer challenge names.
 * @example
 * resourceMetadataUrl("https://hub.example.com/.well-known/mercure");
 * // "https://hub.example.com/.well-known/oauth-protected-resource/.well-known/mercure"
 */
export function resourceMetadataUrl(resource: string): string {
  return `${new URL(resource).origin}${resourceMetadataPath(resource)}`;
}

/**
 * The metadata document: the resource identifier, the issuers as authorization servers, the
 * Authorization header as the one RFC 6750 method (tokens in the URL are refused; the cookie is
 * Mercure's own member, `mercure_cookie`), the `mercure` authorization details type, and
 * `mercure_subscriptions` when the active subscriptions are on, and `mercure_version` (8): a
 * client tells a draft-08 hub from earlier ones by it.
 */
export function resourceMetadataDocument(config: {
  readonly resource: string;
  readonly issuers: readonly string[];
  readonly subscriptionEvents: boolean;
}): ResourceMetadata {
  return {
    resource: config.resource,
    ...(config.issuers.length === 0 ? {} : { authorization_servers: config.issuers }),
    bearer_methods_supported: ["header"],
    authorization_details_types_supported: ["mercure"],
    mercure_cookie: true,
    ...(config.subscriptionEvents ? { mercure_subscriptions: true } : {}),
    mercure_version: MERCURE_VERSION,
  };
}
