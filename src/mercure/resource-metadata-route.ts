/**
 * The OAuth 2.0 Protected Resource Metadata (RFC 9728) of the Mercure hub, for draft-08
 * clients: `GET /.well-known/oauth-protected-resource` and the form RFC 9728 section 3.1 derives
 * from the resource identifier's path (`/.well-known/oauth-protected-resource/.well-known/mercure`
 * for the default). Served when `mercureResource` is set; 404 otherwise, as an unknown route.
 * @see https://www.rfc-editor.org/rfc/rfc9728
 * @module
 */

import { SsehubError } from "../errors.js";
import { RESOURCE_METADATA_PATH } from "../http/access/resource-metadata.js";
import { sendJson } from "../http/messages/send-json.js";
import type { Route, RouteContext } from "../http/routes/route.js";

export { RESOURCE_METADATA_PATH };

/** The metadata route: mount it on RESOURCE_METADATA_PATH and under `${RESOURCE_METADATA_PATH}/`. */
export function createResourceMetadataRoute(): Route {
  return { methods: ["GET"], handle: answer };
}

function answer(ctx: RouteContext): void {
  const path =
    ctx.param === undefined ? RESOURCE_METADATA_PATH : `${RESOURCE_METADATA_PATH}/${ctx.param}`;
  const document = ctx.auth.mercure08.metadataFor(path);
  if (document === undefined) {
    throw new SsehubError(
      "SSEHUB_ERR_ROUTE_NOT_FOUND",
      `Cannot find ${JSON.stringify(path)}: the hub's resource metadata is served when mercureResource is set, at ${RESOURCE_METADATA_PATH} and the path derived from it`,
    );
  }
  sendJson(ctx.res, 200, document);
}
