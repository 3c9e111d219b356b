/**
 * The tuning guide of docs/operations.md and the README's pointer stay true to `ssehub doctor`:
 * its example output is what doctor prints for the host it describes, its commands parse, its
 * sysctl lines are ones doctor checks and make those checks pass, and the unit example's
 * LimitNOFILE holds the target its doctor line names.
 */
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { parseDoctorArgs } from "../../src/cli/commands/doctor.js";
import { flagName } from "../../src/cli/config.js";
import { SERVE_COMMAND_OPTIONS } from "../../src/cli/serve-options.js";
import {
  filesFor,
  KERNEL_BYTES_PER_SOCKET,
  RSS_BYTES_PER_CONNECTION,
} from "../../src/doctor/doctor-target.js";
import { runPreflight } from "../../src/doctor/preflight.js";
import { formatPreflightText } from "../../src/doctor/preflight-format.js";
import { fixtureHost, sysctlPath } from "./fixture-host.js";

const root = new URL("../../../", import.meta.url);
const operations = readFileSync(new URL("docs/operations.md", root), "utf8");
const readme = readFileSync(new URL("README.md", root), "utf8");

/** The fenced blocks of a page: info string and body. */
function fences(markdown: string): { info: string; body: string }[] {
  return [...markdown.matchAll(/^```([^\n]*)\n([\s\S]*?)^```$/gm)].map((m) => ({
    info: m[1]!.trim(),
    body: m[2]!,
  }));
}

/** The arguments of every `doctor ...` command a page shows, placeholders (`N`) left out. */
function doctorCommands(markdown: string): string[][] {
  return [...markdown.matchAll(/\bdoctor((?:[ \t]+--[a-z-]+(?:[ \t]+(?!--)[^\s`)\]]+)?)+)/g)]
    .map((m) => m[1]!.trim().split(/[ \t]+/))
    .filter((args) => !args.some((arg) => /^[A-Z]+$/.test(arg)));
}

/** The sysctl.d block: key and value of each line. */
function sysctlBlock(): [string, string][] {
  const block = fences(operations).find((f) => f.body.startsWith("# /etc/sysctl.d/90-ssehub.conf"));
  assert.ok(block, "docs/operations.md has no /etc/sysctl.d/90-ssehub.conf block");
  return block.body
    .split("\n")
    .filter((line) => line !== "" && !line.startsWith("#"))
    .map((line) => {
      const [key, value] = line.split(/\s*=\s*/);
      return [key!, value!];
    });
}

describe("docs/operations.md: host tuning", () => {
  it("shows what ssehub doctor --connections 500000 prints on the stock host it describes", (t) => {
    const example = fences(operations).find((f) =>
      f.body.startsWith("$ ssehub doctor --connections 500000\n"),
    );
    assert.ok(example, "no example of ssehub doctor --connections 500000");
    const host = fixtureHost();
    t.after(host.cleanup);
    const printed = formatPreflightText(
      runPreflight({ connections: 500_000, reader: host.reader }),
    );
    let from = 0;
    for (const line of example.body.trimEnd().split("\n").slice(1)) {
      if (line.trim() === "[...]") continue;
      const at = printed.indexOf(line, from);
      assert.notEqual(at, -1, `doctor does not print, in this order: ${JSON.stringify(line)}`);
      from = at + 1;
    }
  });

  it("every doctor command of the page and of the README parses", () => {
    const commands = [...doctorCommands(operations), ...doctorCommands(readme)];
    assert.ok(commands.length >= 4, `found only ${commands.length} doctor commands`);
    for (const args of commands)
      assert.doesNotThrow(() => parseDoctorArgs(args, {}), args.join(" "));
  });

  it("every serve flag the page shows is an option of ssehub serve", () => {
    const known = new Set([
      ...Object.keys(SERVE_COMMAND_OPTIONS.specs).map((name) => flagName(name)),
      "config",
    ]);
    const shown = [
      ...operations.matchAll(/\bserve((?:[ \t]+--[a-z-]+(?:[ \t]+(?!--)[^\s`)]+)?)+)/g),
    ].flatMap((m) => [...m[1]!.matchAll(/--([a-z-]+)/g)].map((flag) => flag[1]!));
    assert.ok(shown.length > 0);
    assert.deepEqual(
      shown.filter((flag) => !known.has(flag)),
      [],
    );
  });

  it("the sysctl.d block names only settings doctor checks, and applied to the stock host passes them all", (t) => {
    const host = fixtureHost();
    t.after(host.cleanup);
    const lines = sysctlBlock();
    for (const [key, value] of lines) {
      writeFileSync(join(host.root, sysctlPath(key)), `${value.replaceAll(" ", "\t")}\n`);
    }
    const report = runPreflight({ connections: 500_000, workers: 28, reader: host.reader });
    const ids = new Set(report.checks.map((c) => c.id));
    assert.deepEqual(
      lines.map(([key]) => key).filter((key) => !ids.has(key)),
      [],
    );
    assert.deepEqual(
      report.checks.filter((c) => c.status !== "pass" && c.status !== "skip").map((c) => c.id),
      [],
    );
  });

  it("every sysctl -w line of the page names a setting doctor checks", (t) => {
    const host = fixtureHost();
    t.after(host.cleanup);
    const ids = new Set(runPreflight({ reader: host.reader }).checks.map((c) => c.id));
    const keys = [...operations.matchAll(/sysctl -w ([\w.-]+)=/g)].map((m) => m[1]!);
    assert.ok(keys.length > 0);
    assert.deepEqual(
      keys.filter((key) => !ids.has(key)),
      [],
    );
  });

  it("the unit example's LimitNOFILE holds the connections its doctor line checks", () => {
    const unit = fences(operations).find((f) => f.body.includes("[Service]"));
    assert.ok(unit, "no systemd unit example");
    const limit = Number(/^LimitNOFILE=(\d+)$/m.exec(unit.body)?.[1]);
    const [args] = doctorCommands(unit.body);
    assert.ok(args, "the unit example has no doctor line");
    const parsed = parseDoctorArgs(args, {});
    assert.equal(parsed.mode, "host");
    if (parsed.mode !== "host") return;
    const perProcess = Math.ceil(parsed.connections! / (parsed.workers ?? 1));
    assert.ok(
      filesFor(perProcess) <= limit,
      `${filesFor(perProcess)} files > LimitNOFILE=${limit}`,
    );
  });

  it("quotes the per-connection figures doctor counts", () => {
    assert.match(operations, new RegExp(`${(KERNEL_BYTES_PER_SOCKET / 1024).toFixed(1)} KiB`));
    assert.match(operations, new RegExp(`${(RSS_BYTES_PER_CONNECTION / 1024).toFixed(1)} KiB`));
  });
});
