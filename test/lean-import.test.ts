/**
 * `import "ssehub"` loads only what an in-memory hub needs: Redis, logging and metrics
 * packages load when a feature first uses them.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const entry = pathToFileURL(join(root, "dist", "src", "index.js")).href;

/** The npm packages loaded (CommonJS cache) after running `script` in a fresh process. */
function packagesLoadedBy(script: string): string[] {
  const out = execFileSync(
    process.execPath,
    [
      "--input-type=module",
      "-e",
      `${script}
const { default: Module } = await import("node:module");
const names = new Set(Object.keys(Module._cache).filter((p) => p.includes("/node_modules/"))
  .map((p) => p.split("/node_modules/").pop().split("/")[0]));
console.log(JSON.stringify([...names].sort()));`,
    ],
    { encoding: "utf8" },
  );
  return JSON.parse(out) as string[];
}

describe("import ssehub", () => {
  it("loads no Redis, logging or metrics package for an in-memory hub", () => {
    const loaded = packagesLoadedBy(`
const { createHub } = await import(${JSON.stringify(entry)});
const hub = createHub();
await hub.publish({ topic: "t", data: "x" });
await hub.close();`);
    for (const name of ["ioredis", "pino", "prom-client"]) {
      assert.ok(!loaded.includes(name), `${name} was loaded: ${loaded.join(", ")}`);
    }
  });

  it("loads no OpenTelemetry package for a traced publish while no SDK is registered", () => {
    const loaded = packagesLoadedBy(`
const { createHub } = await import(${JSON.stringify(entry)});
const hub = createHub();
const trace = { traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" };
await hub.publish({ topic: "t", data: "x" }, { trace });
await hub.close();`);
    assert.ok(!loaded.includes("@opentelemetry"), loaded.join(", "));
  });

  it("loads the logger and metrics packages once a request handler is made", () => {
    const loaded = packagesLoadedBy(`
const { createHub, createRequestHandler } = await import(${JSON.stringify(entry)});
const hub = createHub();
const handler = createRequestHandler(hub, { logger: undefined });
handler.metrics.close();
await hub.close();`);
    assert.ok(loaded.includes("pino"), loaded.join(", "));
    assert.ok(loaded.includes("prom-client"), loaded.join(", "));
    assert.ok(!loaded.includes("ioredis"), loaded.join(", "));
  });
});
