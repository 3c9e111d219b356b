/**
 * The `Idempotency-Key` request header of the publish routes (draft-ietf-httpapi-idempotency-key-header),
 * mapped onto the hub's idempotency key: for one event, its `idempotencyKey` field; for a
 * batch, the batch's key. The key's rules are the hub's (hub/publish-input.ts); here it is only
 * read. The draft writes the value as a Structured Field string (`"8e03978e-40d5"`): the quotes
 * are taken off; a bare token (`8e03978e-40d5`, as Stripe and others send it) is taken as it is.
 * @see https://datatracker.ietf.org/doc/draft-ietf-httpapi-idempotency-key-header/
 * @module
 */
import type { IncomingMessage } from "node:http";
import { SsehubError } from "../../errors.js";
import type { PublishInput } from "../../hub/publish-input.js";

/** The header's name, as node:http keys it. */
export const IDEMPOTENCY_KEY_HEADER = "idempotency-key";

/**
 * The key `req` carries, or undefined. A header given twice reaches the hub as both values
 * joined with ", ", which no key may hold: it is refused there.
 */
export function idempotencyKeyOf(req: IncomingMessage): string | undefined {
  const value = req.headers[IDEMPOTENCY_KEY_HEADER];
  if (typeof value !== "string") return undefined;
  const trimmed = value.trim();
  const quoted = trimmed.length >= 2 && trimmed.startsWith('"') && trimmed.endsWith('"');
  return quoted ? trimmed.slice(1, -1) : trimmed;
}

/**
 * `input` with the header's `key` as its idempotencyKey. An input that is not an object is
 * left as it is (the hub refuses it for what it is); a body whose own idempotencyKey differs
 * from the header is refused (SSEHUB_ERR_PUBLISH_MALFORMED): the request would say two things.
 */
export function withIdempotencyKey(input: PublishInput, key: string | undefined): PublishInput {
  if (key === undefined || typeof input !== "object" || input === null || Array.isArray(input)) {
    return input;
  }
  if (input.idempotencyKey !== undefined && input.idempotencyKey !== key) {
    throw new SsehubError(
      "SSEHUB_ERR_PUBLISH_MALFORMED",
      "Cannot publish the event: the Idempotency-Key header and the body's idempotencyKey differ; give the key once",
      { details: { field: "idempotencyKey" } },
    );
  }
  return { ...input, idempotencyKey: key };
}
