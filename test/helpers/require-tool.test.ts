/**
 * The rule for tests that need a program besides Node: skip with the install command on a
 * machine without it, fail in CI.
 */
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { describe, it } from "node:test";
import { findTool, isCi, requireTools, type ToolName } from "./require-tool.js";

/** A machine where only `installed` are on PATH. */
function machineWith(...installed: ToolName[]): (name: ToolName) => string | undefined {
  return (name) => (installed.includes(name) ? `/usr/bin/${name}` : undefined);
}

describe("requireTools()", () => {
  it("runs the test (false) when every program is installed, in CI or not", () => {
    const find = machineWith("redis-server", "redis-cli");
    assert.equal(requireTools(["redis-server", "redis-cli"], { env: {}, find }), false);
    assert.equal(requireTools(["redis-server"], { env: { CI: "true" }, find }), false);
  });

  it("skips with the Debian package to install when a program is missing outside CI", () => {
    const find = machineWith("redis-server");
    assert.equal(
      requireTools(["redis-server", "redis-cli"], { env: {}, find }),
      "redis-cli is not installed: apt-get install -y --no-install-recommends redis-tools " +
        "(.ci/run installs it)",
    );
    assert.equal(
      requireTools(["openssl", "redis-server", "redis-cli"], {
        env: { CI: "false" },
        find: machineWith(),
      }),
      "openssl and redis-server and redis-cli are not installed: apt-get install -y " +
        "--no-install-recommends openssl redis-server redis-tools (.ci/run installs them)",
    );
  });

  it("fails in CI (CI=true) when a program is missing, saying that .ci/run installs it", () => {
    assert.throws(
      () => requireTools(["redis-server"], { env: { CI: "true" }, find: machineWith() }),
      {
        message:
          "redis-server is required in CI: .ci/run installs it (Debian: redis-server); a test " +
          "that needs it fails rather than skips when CI=true",
      },
    );
    assert.throws(
      () => requireTools(["openssl"], { env: { CI: "true" }, find: machineWith("redis-cli") }),
      /^Error: openssl is required in CI: \.ci\/run installs it \(Debian: openssl\)/,
    );
  });

  it("isCi() is true only for CI=true", () => {
    assert.equal(isCi({ CI: "true" }), true);
    for (const value of [undefined, "", "false", "0", "TRUE"]) {
      assert.equal(isCi(value === undefined ? {} : { CI: value }), false, String(value));
    }
  });
});

describe("findTool()", () => {
  it("finds an executable on PATH and nothing else", (t) => {
    const dir = mkdtempSync(join(tmpdir(), "ssehub-tool-"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const tool = join(dir, "some-tool");
    writeFileSync(tool, "#!/bin/sh\n");
    chmodSync(tool, 0o755);
    writeFileSync(join(dir, "not-executable"), "");
    const path = ["", "/nonexistent", dir].join(delimiter);
    assert.equal(findTool("some-tool", path), tool);
    assert.equal(findTool("not-executable", path), undefined);
    assert.equal(findTool("missing-tool", path), undefined);
  });
});
