/**
 * Successful JSON answers. Errors never come through here: see error-response.ts.
 * @module
 */
import type { ServerResponse } from "node:http";

/** Answers `res` with `status` and `body` serialized as JSON, with its length. */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "Content-Type": "application/json; charset=utf-8",
    "Content-Length": Buffer.byteLength(text),
    "Cache-Control": "no-store",
  });
  res.end(text);
}
