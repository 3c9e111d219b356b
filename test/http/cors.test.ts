import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { CORS_ALLOWED_HEADERS, CORS_ALLOWED_METHODS } from "../../src/http/access/cors.js";
import { expectError } from "./expect-error.js";
import { openStream } from "./raw-stream.js";
import { startServer } from "./start-server.js";

const APP = "https://app.example";

function preflight(url: string, origin: string): Promise<Response> {
  return fetch(url, {
    method: "OPTIONS",
    headers: {
      Origin: origin,
      "Access-Control-Request-Method": "POST",
      "Access-Control-Request-Headers": "content-type",
    },
  });
}

describe("CORS", () => {
  test("without corsOrigins no response carries CORS headers", async (t) => {
    const { url } = await startServer(t);
    const response = await fetch(`${url}/healthz`, { headers: { Origin: APP } });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("access-control-allow-origin"), null);
  });

  test("without corsOrigins a preflight answers 403 SSEHUB_ERR_CORS_ORIGIN_FORBIDDEN", async (t) => {
    const { url } = await startServer(t);
    const response = await preflight(`${url}/publish`, APP);
    assert.equal(response.status, 403);
    const body = (await response.json()) as { code: string };
    assert.equal(body.code, "SSEHUB_ERR_CORS_ORIGIN_FORBIDDEN");
  });

  test("an allowed origin is echoed with Vary: Origin, on streams too", async (t) => {
    const { url } = await startServer(t, { corsOrigins: [APP, "https://other.example"] });
    const response = await fetch(`${url}/topics`, { headers: { Origin: APP } });
    assert.equal(response.headers.get("access-control-allow-origin"), APP);
    assert.equal(response.headers.get("access-control-allow-credentials"), "true");
    assert.equal(response.headers.get("vary"), "Origin");
    const stream = await openStream(t, `${url}/events?topic=a`, { Origin: APP });
    assert.equal(stream.response.headers["access-control-allow-origin"], APP);
    assert.equal(stream.response.headers.vary, "Origin");
  });

  test("an allowed origin's preflight answers 204 with methods, headers and max age", async (t) => {
    const { url } = await startServer(t, { corsOrigins: [APP] });
    const response = await preflight(`${url}/publish`, APP);
    assert.equal(response.status, 204);
    assert.equal(response.headers.get("access-control-allow-origin"), APP);
    assert.equal(response.headers.get("access-control-allow-methods"), CORS_ALLOWED_METHODS);
    assert.equal(response.headers.get("access-control-allow-headers"), CORS_ALLOWED_HEADERS);
    assert.match(response.headers.get("access-control-max-age") ?? "", /^\d+$/);
    assert.equal(response.headers.get("vary"), "Origin");
  });

  test("a disallowed origin gets no CORS header and its preflight answers 403", async (t) => {
    const { url } = await startServer(t, { corsOrigins: [APP] });
    const response = await fetch(`${url}/healthz`, { headers: { Origin: "https://evil.example" } });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("access-control-allow-origin"), null);
    const refused = await preflight(`${url}/publish`, "https://evil.example");
    assert.equal(refused.status, 403);
    assert.equal(
      ((await refused.json()) as { code: string }).code,
      "SSEHUB_ERR_CORS_ORIGIN_FORBIDDEN",
    );
  });

  test("corsOrigins * allows any origin with a wildcard", async (t) => {
    const { url } = await startServer(t, { corsOrigins: ["*"] });
    const response = await fetch(`${url}/healthz`, { headers: { Origin: "https://any.example" } });
    assert.equal(response.headers.get("access-control-allow-origin"), "*");
    const answer = await preflight(`${url}/events`, "https://any.example");
    assert.equal(answer.status, 204);
    assert.equal(answer.headers.get("access-control-allow-origin"), "*");
  });

  test("error responses to an allowed origin carry the CORS headers", async (t) => {
    const { url } = await startServer(t, { corsOrigins: [APP] });
    const { headers } = await expectError(`${url}/events`, 400, "SSEHUB_ERR_TOPIC_MISSING", {
      headers: { Origin: APP },
    });
    assert.equal(headers.get("access-control-allow-origin"), APP);
  });
});
