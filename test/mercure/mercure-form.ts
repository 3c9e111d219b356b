/**
 * Requests to a hub's Mercure route that the Mercure tests share: the form of a publish, a
 * publish that must succeed (its id) or be refused (its status), a subscribe query.
 */
import assert from "node:assert/strict";

/** The path of the Mercure hub. */
export const HUB = "/.well-known/mercure";
/** The media type of a publish (and of a QUERY subscription's body). */
export const FORM = "application/x-www-form-urlencoded";

/** A publish request: `fields` as an urlencoded form, with `headers` (a token, an Origin...). */
export function form(
  fields: [string, string][],
  headers: Record<string, string> = {},
): RequestInit {
  return {
    method: "POST",
    headers: { "Content-Type": FORM, ...headers },
    body: new URLSearchParams(fields).toString(),
  };
}

/** Publishes `fields` to the hub at `url`; asserts 200 and answers the update's id. */
export async function publish(
  url: string,
  fields: [string, string][],
  headers: Record<string, string> = {},
): Promise<string> {
  const answer = await fetch(`${url}${HUB}`, form(fields, headers));
  const text = await answer.text();
  assert.equal(answer.status, 200, text);
  return text;
}

/** The status of a publish that the hub must refuse. */
export async function publishStatus(url: string, fields: [string, string][]): Promise<number> {
  const answer = await fetch(`${url}${HUB}`, form(fields));
  await answer.arrayBuffer();
  return answer.status;
}

/** A subscribe query string of `params`, in order. */
export function query(params: [string, string][]): string {
  return new URLSearchParams(params).toString();
}
