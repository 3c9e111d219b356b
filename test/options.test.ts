import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { JWT_ALGORITHMS } from "../src/auth/jwt-algorithms.js";
import { SERVE_OPTION_SPECS } from "../src/cli/serve-options.js";
import { SsehubError } from "../src/errors.js";
import { createRequestHandler } from "../src/http/handler.js";
import { createServer } from "../src/http/server.js";
import {
  HANDLER_OPTION_NAMES,
  resolveHandlerOptions,
  resolveServerOptions,
  SERVER_DEFAULTS,
  SERVER_OPTION_SPECS,
} from "../src/http/server-options.js";
import { createHub } from "../src/hub/hub.js";
import { HUB_DEFAULTS, HUB_OPTION_SPECS, resolveHubOptions } from "../src/hub/hub-options.js";
import { OPTION_LAYERS, type OptionLayer, suggestName } from "../src/options.js";

/** The problems of the SSEHUB_ERR_OPTIONS_INVALID that `fn` throws. */
function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof SsehubError, String(error));
    assert.equal(error.code, "SSEHUB_ERR_OPTIONS_INVALID");
    assert.equal(error.name, "TypeError");
    const problems = error.details?.problems as string[];
    assert.equal(error.message, `Cannot use options: ${problems.join("; ")}`);
    return problems;
  }
  assert.fail("expected SSEHUB_ERR_OPTIONS_INVALID");
}

describe("resolveHubOptions()", () => {
  it("returns the defaults, frozen, for no input", () => {
    const options = resolveHubOptions();
    assert.deepEqual(options, HUB_DEFAULTS);
    assert.ok(Object.isFrozen(options));
  });

  it("merges given options over the defaults", () => {
    const options = resolveHubOptions({ heartbeatMs: 1000, slowConsumerPolicy: "drop" });
    assert.equal(options.heartbeatMs, 1000);
    assert.equal(options.slowConsumerPolicy, "drop");
    assert.equal(options.retryMs, HUB_DEFAULTS.retryMs);
  });

  it("reports every problem in one error, with a hint for renamed options", () => {
    assert.deepEqual(
      problemsOf(() =>
        resolveHubOptions({
          heartbeat: 5,
          historyMaxEvents: -1,
          slowConsumerPolicy: "panic",
          maxQueueBytes: 1.5,
        }),
      ),
      [
        "unknown option heartbeat: use heartbeatMs instead",
        "historyMaxEvents must be between 0 and 10000000: got -1",
        "maxQueueBytes must be an integer: got 1.5",
        'slowConsumerPolicy must be one of disconnect, drop, conflate: got "panic"',
      ],
    );
  });

  it("refuses the options of the server and of ssehub serve, naming the layer of each", () => {
    assert.deepEqual(
      problemsOf(() => resolveHubOptions({ redis: "redis://127.0.0.1", workers: 2, port: 80 })),
      [
        "redis is a serve option: pass it to ssehub serve, not createHub",
        "workers is a serve option: pass it to ssehub serve, not createHub",
        "port is a server option: pass it to createServer, not createHub",
      ],
    );
  });

  it("suggests the nearest name for an unknown key, noting when it belongs to another layer", () => {
    assert.deepEqual(
      problemsOf(() =>
        resolveHubOptions({
          histroyMaxEvents: 1,
          heartbeatMS: 1,
          prot: 1,
          bodyLimit: 1,
          colour: 1,
        }),
      ),
      [
        "unknown option histroyMaxEvents: did you mean historyMaxEvents?",
        "unknown option heartbeatMS: did you mean heartbeatMs?",
        "unknown option prot: did you mean port? (a server option: pass it to createServer, not createHub)",
        "unknown option bodyLimit: use maxBodyBytes instead (a server option: pass it to createServer, not createHub)",
        "unknown option colour",
      ],
    );
  });

  it("accepts every algorithm the token verifier accepts, Ed25519 included, and no other", () => {
    for (const algorithm of JWT_ALGORITHMS) {
      const options = resolveServerOptions({
        publisherJwtAlgorithm: algorithm,
        subscriberJwtAlgorithm: algorithm,
      });
      assert.equal(options.publisherJwtAlgorithm, algorithm);
    }
    assert.ok((JWT_ALGORITHMS as readonly string[]).includes("Ed25519"));
    assert.throws(() => resolveServerOptions({ publisherJwtAlgorithm: "none" as never }), {
      code: "SSEHUB_ERR_OPTIONS_INVALID",
    });
  });

  it("rejects input that is not an object", () => {
    assert.throws(() => resolveHubOptions("port=1"), {
      code: "SSEHUB_ERR_OPTIONS_INVALID",
      message: /options of createHub: expected an object/,
    });
  });
});

describe("resolveServerOptions()", () => {
  it("gives the hub's and the server's defaults for no input", () => {
    assert.deepEqual(resolveServerOptions(), { ...HUB_DEFAULTS, ...SERVER_DEFAULTS });
  });

  it("takes hub options beside its own, and refuses those of ssehub serve", () => {
    const options = resolveServerOptions({ port: 0, heartbeatMs: 1000 });
    assert.equal(options.port, 0);
    assert.equal(options.heartbeatMs, 1000);
    assert.deepEqual(
      problemsOf(() =>
        resolveServerOptions({ workers: 2, redisPrefix: "a", redisLogMaxEvents: 1 }),
      ),
      [
        "workers is a serve option: pass it to ssehub serve, not createServer",
        "redisPrefix is a serve option: pass it to ssehub serve, not createServer",
        "redisLogMaxEvents is a serve option: pass it to ssehub serve, not createServer",
      ],
    );
  });

  it("returns lists deep-frozen, as copies of the caller's arrays", () => {
    const corsOrigins = ["https://a.example"];
    const trustedProxies = ["10.0.0.0/8"];
    const options = resolveServerOptions({ corsOrigins, trustedProxies });
    assert.ok(Object.isFrozen(options));
    assert.ok(Object.isFrozen(options.corsOrigins));
    assert.ok(Object.isFrozen(options.trustedProxies));
    corsOrigins.push("https://b.example");
    trustedProxies.length = 0;
    assert.deepEqual(options.corsOrigins, ["https://a.example"]);
    assert.deepEqual(options.trustedProxies, ["10.0.0.0/8"]);
    assert.ok(!Object.isFrozen(corsOrigins), "the caller's array stays the caller's");
  });

  it("refuses one TLS file without the other", () => {
    assert.deepEqual(
      problemsOf(() => resolveServerOptions({ tlsCertFile: "cert.pem" })),
      ["tlsCertFile needs tlsKeyFile: set both for TLS, or neither for plain HTTP"],
    );
  });
});

describe("resolveHandlerOptions()", () => {
  it("gives the server's defaults of the options a request handler reads", () => {
    const options = resolveHandlerOptions();
    assert.deepEqual(Object.keys(options).sort(), [...HANDLER_OPTION_NAMES].sort());
    assert.deepEqual(options.corsOrigins, SERVER_DEFAULTS.corsOrigins);
  });

  it("refuses the listener's options and the hub's, naming where each goes", () => {
    assert.deepEqual(
      problemsOf(() => resolveHandlerOptions({ port: 80, heartbeatMs: 1000 })),
      [
        "port is a server option: pass it to createServer, not createRequestHandler",
        "heartbeatMs is a hub option: pass it to createHub, not createRequestHandler",
      ],
    );
  });
});

describe("OPTION_LAYERS", () => {
  it("names the layer whose specs hold each option, and every option of every layer", () => {
    const specsByLayer: Record<OptionLayer, object> = {
      hub: HUB_OPTION_SPECS,
      server: SERVER_OPTION_SPECS,
      serve: SERVE_OPTION_SPECS,
    };
    for (const [layer, specs] of Object.entries(specsByLayer)) {
      const named = Object.entries(OPTION_LAYERS)
        .filter(([, owner]) => owner === layer)
        .map(([name]) => name);
      assert.deepEqual(Object.keys(specs).sort(), named.sort(), layer);
    }
  });

  it("puts the request handler's options among the server's", () => {
    for (const name of HANDLER_OPTION_NAMES) assert.equal(OPTION_LAYERS[name], "server", name);
  });
});

describe("the entry points", () => {
  it("createHub() refuses server and serve options instead of ignoring them", () => {
    assert.deepEqual(
      problemsOf(() => createHub({ port: 80, workers: 2 } as object)),
      [
        "port is a server option: pass it to createServer, not createHub",
        "workers is a serve option: pass it to ssehub serve, not createHub",
      ],
    );
  });

  it("createServer() refuses serve options", () => {
    assert.deepEqual(
      problemsOf(() => createServer({ redis: "redis://127.0.0.1" } as object)),
      ["redis is a serve option: pass it to ssehub serve, not createServer"],
    );
  });

  it("createRequestHandler() refuses options of the hub and of the listener", () => {
    const hub = createHub();
    try {
      assert.deepEqual(
        problemsOf(() => createRequestHandler(hub, { historyMaxEvents: 5, host: "::" } as object)),
        [
          "historyMaxEvents is a hub option: pass it to createHub, not createRequestHandler",
          "host is a server option: pass it to createServer, not createRequestHandler",
        ],
      );
    } finally {
      hub.close();
    }
  });
});

describe("suggestName()", () => {
  const names = ["historyMaxEvents", "heartbeatMs", "port", "host"];

  it("gives the new name of a renamed option first", () => {
    assert.deepEqual(suggestName("historySize", names), {
      name: "historyMaxEvents",
      renamed: true,
    });
    assert.deepEqual(suggestName("HEARTBEAT", names), { name: "heartbeatMs", renamed: true });
  });

  it("finds the nearest name whatever its case, dashes or underscores, a swap costing one edit", () => {
    assert.deepEqual(suggestName("histroy-max-events", names), {
      name: "historyMaxEvents",
      renamed: false,
    });
    assert.deepEqual(suggestName("HEARTBEAT_M", names), { name: "heartbeatMs", renamed: false });
    assert.deepEqual(suggestName("prot", names), { name: "port", renamed: false });
  });

  it("suggests nothing when no name is near", () => {
    assert.equal(suggestName("colour", names), undefined);
    assert.equal(suggestName("x", ["workers"]), undefined);
  });
});
