import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { envName, flagName, loadServeConfig, serveHelp } from "../../src/cli/config.js";
import { DEFAULTS, OPTION_SPECS, type ResolvedOptions } from "../../src/options.js";

function optionsOf(argv: string[], env: Record<string, string> = {}): ResolvedOptions {
  const config = loadServeConfig(argv, env);
  assert.equal(config.help, false);
  return config.options;
}

function writeConfig(t: { after(fn: () => void): void }, value: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), "ssehub-config-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, "ssehub.json");
  writeFileSync(path, typeof value === "string" ? value : JSON.stringify(value));
  return path;
}

describe("loadServeConfig()", () => {
  test("flagName() and envName() spell options in kebab case and upper snake case", () => {
    assert.equal(flagName("historyMaxEvents"), "history-max-events");
    assert.equal(envName("historyMaxEvents"), "SSEHUB_HISTORY_MAX_EVENTS");
    assert.equal(flagName("host"), "host");
    assert.equal(envName("corsOrigins"), "SSEHUB_CORS_ORIGINS");
  });

  test("loadServeConfig() reads Mercure's key variables as aliases; the SSEHUB_ name wins", () => {
    const options = optionsOf([], {
      MERCURE_PUBLISHER_JWT_KEY: "mercure-publisher",
      MERCURE_PUBLISHER_JWT_ALG: "HS512",
      MERCURE_SUBSCRIBER_JWT_KEY: "mercure-subscriber",
      MERCURE_SUBSCRIBER_JWT_ALG: "ES256",
      SSEHUB_SUBSCRIBER_JWT_KEY: "ssehub-subscriber",
    });
    assert.equal(options.publisherJwtKey, "mercure-publisher");
    assert.equal(options.publisherJwtAlgorithm, "HS512");
    assert.equal(options.subscriberJwtKey, "ssehub-subscriber");
    assert.equal(options.subscriberJwtAlgorithm, "ES256");
  });

  test("loadServeConfig() reads booleans as true/false, 1/0, yes/no, on/off", () => {
    assert.equal(optionsOf(["--anonymous-subscribe", "off"]).anonymousSubscribe, false);
    assert.equal(optionsOf([], { SSEHUB_ANONYMOUS_PUBLISH: "yes" }).anonymousPublish, true);
    assert.throws(() => optionsOf(["--anonymous-publish", "maybe"]), {
      code: "SSEHUB_ERR_OPTIONS_INVALID",
      message: /anonymousPublish must be true or false/,
    });
  });

  test("a JWKS URL must be an http or https URL", () => {
    assert.throws(
      () => optionsOf(["--publisher-jwks-url", "ftp://secret-host/keys"]),
      (error: Error) => /publisherJwksUrl must be an http/.test(error.message),
    );
  });

  test("loadServeConfig() without input gives the defaults", () => {
    assert.deepEqual(optionsOf([]), DEFAULTS);
  });

  test("loadServeConfig() converts flags by the kind of each option", () => {
    const options = optionsOf([
      "--history-max-events",
      "500",
      "--cors-origins",
      "https://a.example, https://b.example",
      "--slow-consumer-policy",
      "drop",
      "--host",
      "0.0.0.0",
    ]);
    assert.equal(options.historyMaxEvents, 500);
    assert.deepEqual(options.corsOrigins, ["https://a.example", "https://b.example"]);
    assert.equal(options.slowConsumerPolicy, "drop");
    assert.equal(options.host, "0.0.0.0");
  });

  test("loadServeConfig() reads every option from its SSEHUB_ env var", () => {
    const options = optionsOf([], {
      SSEHUB_HISTORY_MAX_EVENTS: "7",
      SSEHUB_CORS_ORIGINS: "*",
      SSEHUB_LOG_LEVEL: "warn",
    });
    assert.equal(options.historyMaxEvents, 7);
    assert.deepEqual(options.corsOrigins, ["*"]);
    assert.equal(options.logLevel, "warn");
  });

  test("loadServeConfig() takes flags over env over the config file over defaults", (t) => {
    const path = writeConfig(t, { retryMs: 1111, heartbeatMs: 2222, maxTopicLength: 33 });
    const options = optionsOf(["--config", path, "--retry-ms", "3333"], {
      SSEHUB_RETRY_MS: "4444",
      SSEHUB_HEARTBEAT_MS: "5555",
    });
    assert.equal(options.retryMs, 3333);
    assert.equal(options.heartbeatMs, 5555);
    assert.equal(options.maxTopicLength, 33);
    assert.equal(options.maxBodyBytes, DEFAULTS.maxBodyBytes);
  });

  test("loadServeConfig() finds the config file through SSEHUB_CONFIG", (t) => {
    const path = writeConfig(t, { historyMaxEvents: 9 });
    assert.equal(optionsOf([], { SSEHUB_CONFIG: path }).historyMaxEvents, 9);
  });

  test("loadServeConfig() reports every invalid value in one SSEHUB_ERR_OPTIONS_INVALID", () => {
    assert.throws(
      () =>
        loadServeConfig(["--history-max-events", "abc", "--slow-consumer-policy", "nope"], {
          SSEHUB_PORT: "70000",
        }),
      (error: Error & { code?: string; details?: { problems: string[] } }) => {
        assert.equal(error.code, "SSEHUB_ERR_OPTIONS_INVALID");
        assert.equal(error.details?.problems.length, 3);
        assert.match(error.message, /historyMaxEvents must be an integer: got "abc"/);
        assert.match(error.message, /slowConsumerPolicy/);
        assert.match(error.message, /port must be between 0 and 65535/);
        return true;
      },
    );
  });

  test("loadServeConfig() refuses an unknown flag, an unknown key and a broken config file", (t) => {
    const code = { code: "SSEHUB_ERR_OPTIONS_INVALID" };
    assert.throws(() => loadServeConfig(["--histroy-max-events", "1"], {}), code);
    assert.throws(() => loadServeConfig(["extra"], {}), code);
    assert.throws(() => loadServeConfig(["--config", writeConfig(t, { bodyLimit: 5 })], {}), {
      code: "SSEHUB_ERR_OPTIONS_INVALID",
      message: /unknown option bodyLimit: use maxBodyBytes instead/,
    });
    assert.throws(() => loadServeConfig(["--config", writeConfig(t, "{nope")], {}), code);
    assert.throws(() => loadServeConfig(["--config", writeConfig(t, [1])], {}), code);
    assert.throws(() => loadServeConfig(["--config", "/nonexistent/ssehub.json"], {}), code);
  });

  test("loadServeConfig() answers help for --help and -h", () => {
    assert.deepEqual(loadServeConfig(["--help"], {}), { help: true });
    assert.deepEqual(loadServeConfig(["-h"], {}), { help: true });
  });

  test("serveHelp() names every option with its flag, env var, default and help", () => {
    const help = serveHelp();
    for (const [name, spec] of Object.entries(OPTION_SPECS)) {
      assert.ok(help.includes(`--${flagName(name)} `), name);
      assert.ok(help.includes(envName(name)), name);
      assert.ok(help.includes(spec.help), name);
    }
    assert.match(help, /default 1000\b/);
    assert.match(help, /--config/);
  });
});
