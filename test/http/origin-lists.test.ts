/**
 * An origin list entry that no browser can send (`example.com`, a path, a default port) is
 * refused when the options are resolved: by the library (SSEHUB_ERR_OPTIONS_INVALID) and by
 * `ssehub serve` (one line, exit code 2), for every origin list option.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { originProblem } from "../../src/http/access/origin-list.js";
import { createRequestHandler } from "../../src/http/handler.js";
import { createServer } from "../../src/http/server.js";
import { createLogger } from "../../src/http/telemetry/logger.js";
import { createHub } from "../../src/hub/hub.js";
import { ssehub } from "../helpers/ssehub-process.js";

/** The problems of the SSEHUB_ERR_OPTIONS_INVALID that `make` throws. */
function problemsOf(make: () => unknown): string[] {
  try {
    make();
  } catch (error) {
    assert.equal((error as { code?: string }).code, "SSEHUB_ERR_OPTIONS_INVALID", String(error));
    return (error as { details: { problems: string[] } }).details.problems;
  }
  assert.fail("expected SSEHUB_ERR_OPTIONS_INVALID");
}

describe("origin list options", () => {
  test("originProblem() accepts what a browser sends, and refuses what it never sends", () => {
    for (const good of [
      "*",
      "null",
      "https://app.example",
      "http://localhost:3000",
      "HTTPS://App.Example/",
    ]) {
      assert.equal(originProblem(good), undefined, good);
    }
    assert.match(originProblem("example.com") ?? "", /no scheme: use "https:\/\/example\.com"/);
    assert.match(originProblem("localhost:3000") ?? "", /no scheme/);
    assert.match(originProblem("https://app.example/page") ?? "", /"https:\/\/app\.example"/);
    assert.match(originProblem("https://app.example:443") ?? "", /"https:\/\/app\.example"/);
  });

  test("createServer() and createRequestHandler() refuse a corsOrigins or publishOrigins entry without a scheme", () => {
    const silent = createLogger("silent");
    const server = problemsOf(() =>
      createServer({ corsOrigins: ["example.com"], port: 0, logger: silent }),
    );
    assert.deepEqual(server, [
      'corsOrigins has "example.com", which can never match a browser\'s Origin: it has no scheme: use "https://example.com" (or http://)',
    ]);
    const hub = createHub();
    try {
      const handler = problemsOf(() =>
        createRequestHandler(hub, { publishOrigins: ["app.example"], logger: silent }),
      );
      assert.equal(handler.length, 1);
      assert.match(handler[0]!, /^publishOrigins has "app\.example", which can never match/);
    } finally {
      hub.close();
    }
  });

  test("ssehub serve --cors-origins example.com exits with code 2 and one line naming the fix", async (t) => {
    const run = ssehub(t, ["serve", "--port", "0", "--cors-origins", "example.com"]);
    assert.equal(await run.exited, 2);
    const said = [...run.stdout, ...run.stderr].join("\n");
    assert.match(said, /corsOrigins has "example\.com", which can never match/);
    assert.match(said, /use "https:\/\/example\.com"/);
  });

  test("ssehub serve refuses SSEHUB_PUBLISH_ORIGINS without a scheme with exit code 2", async (t) => {
    const run = ssehub(t, ["serve", "--port", "0"], { SSEHUB_PUBLISH_ORIGINS: "app.example" });
    assert.equal(await run.exited, 2);
    assert.match([...run.stdout, ...run.stderr].join("\n"), /publishOrigins has "app\.example"/);
  });
});
