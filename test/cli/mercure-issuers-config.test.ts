import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { parseTrustedIssuers } from "../../src/auth/index.js";
import { loadServeConfig } from "../../src/cli/config.js";

const RESOURCE = "https://hub.example.com/.well-known/mercure";
const SECRET = "a-secret-of-at-least-thirty-two-bytes!";
const ISSUERS = JSON.stringify([
  { issuer: "https://auth.example.com", jwksUrl: "https://auth.example.com/jwks.json" },
  { issuer: "https://app.example.com", key: SECRET, actions: ["subscribe"] },
]);

function problemsOf(argv: string[], env: Record<string, string> = {}): string[] {
  try {
    loadServeConfig(argv, env);
  } catch (error) {
    assert.equal((error as { code?: string }).code, "SSEHUB_ERR_OPTIONS_INVALID", String(error));
    return (error as { details: { problems: string[] } }).details.problems;
  }
  assert.fail("expected SSEHUB_ERR_OPTIONS_INVALID");
}

describe("the draft-08 issuers of ssehub serve", () => {
  test("--mercure-issuers takes a JSON array, with --mercure-resource", () => {
    const config = loadServeConfig(
      ["--mercure-issuers", ISSUERS, "--mercure-resource", RESOURCE],
      {},
    );
    assert.equal(config.help, false);
    if (config.help) return;
    assert.equal(config.options.mercureResource, RESOURCE);
    assert.deepEqual(
      parseTrustedIssuers(config.options.mercureIssuers).map((issuer) => issuer.issuer),
      ["https://auth.example.com", "https://app.example.com"],
    );
  });

  test("SSEHUB_MERCURE_ISSUERS and the config file give the same value", (t) => {
    const fromEnv = loadServeConfig([], {
      SSEHUB_MERCURE_ISSUERS: ISSUERS,
      SSEHUB_MERCURE_RESOURCE: RESOURCE,
    });
    const dir = mkdtempSync(join(tmpdir(), "ssehub-issuers-"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, "ssehub.json");
    writeFileSync(path, JSON.stringify({ mercureIssuers: ISSUERS, mercureResource: RESOURCE }));
    const fromFile = loadServeConfig(["--config", path], {});
    assert.ok(!fromEnv.help && !fromFile.help);
    assert.equal(fromEnv.options.mercureIssuers, ISSUERS);
    assert.equal(fromFile.options.mercureIssuers, ISSUERS);
  });

  test("issuers without --mercure-resource, or not a JSON array, are refused without the secret", () => {
    const [missing] = problemsOf(["--mercure-issuers", ISSUERS]);
    assert.match(missing ?? "", /mercureIssuers needs mercureResource/);
    const [broken] = problemsOf([
      "--mercure-issuers",
      `{"key":"${SECRET}"`,
      "--mercure-resource",
      RESOURCE,
    ]);
    assert.match(broken ?? "", /must be a JSON array/);
    assert.doesNotMatch(broken ?? "", new RegExp(SECRET));
  });

  test("a resource identifier must be an http(s) URL without a fragment", () => {
    const [problem] = problemsOf(["--mercure-resource", "hub.example.com#x"]);
    assert.match(problem ?? "", /mercureResource must be an http:\/\/ or https:\/\/ URL/);
  });
});
