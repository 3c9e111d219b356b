import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { describe, test } from "node:test";
import { serveCommand } from "../../src/cli/commands/serve.js";
import { envName, flagName, loadServeConfig, unknownEnvWarnings } from "../../src/cli/config.js";
import { serveHelp } from "../../src/cli/option-table.js";
import {
  type ResolvedServeCommandOptions,
  SERVE_COMMAND_OPTIONS,
} from "../../src/cli/serve-options.js";
import { OPTION_LAYERS, type OptionName } from "../../src/options.js";

const DEFAULTS = SERVE_COMMAND_OPTIONS.defaults;

function optionsOf(argv: string[], env: Record<string, string> = {}): ResolvedServeCommandOptions {
  const config = loadServeConfig(argv, env);
  assert.equal(config.help, false);
  return config.options;
}

/** The problems of the SSEHUB_ERR_OPTIONS_INVALID that loadServeConfig(argv, env) throws. */
function problemsOf(argv: string[], env: Record<string, string> = {}): string[] {
  try {
    loadServeConfig(argv, env);
  } catch (error) {
    assert.equal((error as { code?: string }).code, "SSEHUB_ERR_OPTIONS_INVALID", String(error));
    return (error as { details: { problems: string[] } }).details.problems;
  }
  assert.fail("expected SSEHUB_ERR_OPTIONS_INVALID");
}

/** A stream that keeps what is written to it. */
class Collected extends Writable {
  text = "";
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.text += chunk.toString("utf8");
    callback();
  }
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

  test("loadServeConfig() names the nearest flag or key of each unknown one, with every other problem", (t) => {
    const path = writeConfig(t, { heartbeatMS: 5, colour: "red" });
    const argv = ["--histroy-max-events", "1", "--heartbeat", "5", "--prot", "80", "extra"];
    argv.push("-x", "--retry-ms", "abc", "--config", path);
    assert.deepEqual(problemsOf(argv), [
      "unknown flag --histroy-max-events: did you mean --history-max-events?",
      "unknown flag --heartbeat: use --heartbeat-ms instead",
      "unknown flag --prot: did you mean --port?",
      'unexpected argument "extra": ssehub serve takes flags only',
      "unknown flag -x",
      "unknown option heartbeatMS: did you mean heartbeatMs?",
      "unknown option colour",
      'retryMs must be an integer: got "abc"',
    ]);
  });

  test("loadServeConfig() takes a bare boolean flag as true, before another flag or at the end", () => {
    const both = optionsOf(["--subscription-events", "--anonymous-publish"]);
    assert.equal(both.subscriptionEvents, true);
    assert.equal(both.anonymousPublish, true);
    const last = optionsOf(["--port", "0", "--subscription-events"]);
    assert.equal(last.port, 0);
    assert.equal(last.subscriptionEvents, true);
    const before = optionsOf(["--subscription-events", "--port", "0"]);
    assert.equal(before.port, 0);
    assert.equal(before.subscriptionEvents, true);
  });

  test("loadServeConfig() still reads --flag true|false and --flag=false, and --no-flag as false", () => {
    const spaced = optionsOf(["--anonymous-subscribe", "false", "--port", "0"]);
    assert.equal(spaced.anonymousSubscribe, false);
    assert.equal(spaced.port, 0);
    assert.equal(optionsOf(["--anonymous-subscribe=false"]).anonymousSubscribe, false);
    assert.equal(optionsOf(["--subscription-events", "true"]).subscriptionEvents, true);
    assert.equal(optionsOf(["--no-anonymous-subscribe"]).anonymousSubscribe, false);
    // The command line wins over the environment, a negated flag too.
    const env = { SSEHUB_ANONYMOUS_SUBSCRIBE: "true" };
    assert.equal(optionsOf(["--no-anonymous-subscribe"], env).anonymousSubscribe, false);
    assert.deepEqual(problemsOf(["--no-anonymous-subscribe=true", "--no-port"]), [
      "--no-anonymous-subscribe takes no value: use --anonymous-subscribe=true instead",
      "unknown flag --no-port: did you mean --port?",
    ]);
  });

  test("loadServeConfig() never takes the next flag as the value of a flag that needs one", () => {
    assert.deepEqual(problemsOf(["--host", "--port", "0", "--config"]), [
      "--host needs a value",
      "--config needs a file",
    ]);
    assert.equal(optionsOf(["--host=::1", "--redis="]).host, "::1");
  });

  test("unknownEnvWarnings() warns of each unknown SSEHUB_ variable, with the nearest name", () => {
    const warnings = unknownEnvWarnings({
      SSEHUB_HEARTBEAT: "1",
      SSEHUB_HEARTBEAT_M: "1",
      SSEHUB_FOO: "1",
      SSEHUB_CONFG: "ssehub.json",
      SSEHUB_PORT: "0",
      SSEHUB_CONFIG: "",
      SSEHUB_URL: "http://127.0.0.1:8080",
      MERCURE_PUBLISHER_JWT_KEY: "key",
      MERCURE_SOMETHING: "x",
      PATH: "/bin",
    });
    assert.deepEqual(warnings, [
      "SSEHUB_HEARTBEAT is not an ssehub variable and is ignored: use SSEHUB_HEARTBEAT_MS instead",
      "SSEHUB_HEARTBEAT_M is not an ssehub variable and is ignored: did you mean SSEHUB_HEARTBEAT_MS?",
      "SSEHUB_FOO is not an ssehub variable and is ignored",
      "SSEHUB_CONFG is not an ssehub variable and is ignored: did you mean SSEHUB_CONFIG?",
    ]);
  });

  test("serveCommand() writes one warning line per unknown SSEHUB_ variable to its stderr", async () => {
    const stdout = new Collected();
    const stderr = new Collected();
    const env = { SSEHUB_HEARTBEAT_M: "1", SSEHUB_LOG_LEVEL: "silent" };
    assert.equal(await serveCommand(["--help"], { env, stdout, stderr }), 0);
    assert.equal(
      stderr.text,
      "ssehub: warning: SSEHUB_HEARTBEAT_M is not an ssehub variable and is ignored: did you mean SSEHUB_HEARTBEAT_MS?\n",
    );
    assert.match(stdout.text, /^Usage: ssehub serve/);
  });

  test("loadServeConfig() answers help for --help and -h", () => {
    assert.deepEqual(loadServeConfig(["--help"], {}), { help: true });
    assert.deepEqual(loadServeConfig(["-h"], {}), { help: true });
  });

  test("serveHelp() names every option with its flag, env var, default and help", () => {
    const help = serveHelp();
    for (const [name, spec] of Object.entries(SERVE_COMMAND_OPTIONS.specs)) {
      assert.ok(help.includes(`--${flagName(name)} `), name);
      assert.ok(help.includes(envName(name)), name);
      assert.ok(help.includes(spec.help), name);
    }
    assert.match(help, /default 1000\b/);
    assert.match(help, /--config/);
    assert.match(help, /--subscription-events \[true\|false\]/);
  });

  test("serveHelp() lists the options by layer: hub, then server, then serve", () => {
    const help = serveHelp();
    const headings = ["Hub options", "Server options", "Serve options"].map((h) => help.indexOf(h));
    assert.ok(
      headings.every((at, i) => at > (headings[i - 1] ?? 0)),
      String(headings),
    );
    for (const [name, layer] of Object.entries(OPTION_LAYERS) as [OptionName, string][]) {
      const at = help.indexOf(`  --${flagName(name)} `);
      const index = ["hub", "server", "serve"].indexOf(layer);
      assert.ok(at > headings[index]!, name);
      if (index < 2) assert.ok(at < headings[index + 1]!, name);
    }
  });
});
