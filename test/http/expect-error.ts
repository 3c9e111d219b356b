/**
 * Asserts that a request answers a JSON error of ssehub with `status` and `code`.
 */
import assert from "node:assert/strict";

export async function expectError(
  url: string,
  status: number,
  code: string,
  init?: RequestInit,
): Promise<{ body: Record<string, unknown>; headers: Headers }> {
  const response = await fetch(url, init);
  const body = (await response.json()) as Record<string, unknown>;
  assert.equal(response.status, status, JSON.stringify(body));
  assert.match(response.headers.get("content-type") ?? "", /^application\/json/);
  assert.equal(body.statusCode, status);
  assert.equal(body.code, code, JSON.stringify(body));
  assert.equal(typeof body.message, "string");
  return { body, headers: response.headers };
}
