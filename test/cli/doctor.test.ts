import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { describe, it } from "node:test";
import { parseDoctorArgs } from "../../src/cli/commands/doctor.js";
import { workersUnder } from "../../src/doctor/checks-open-files.js";
import { filesFor } from "../../src/doctor/doctor-target.js";
import type { PreflightReport } from "../../src/doctor/preflight.js";

const MAIN = new URL("../../src/cli/main.js", import.meta.url);

interface Finished {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `ssehub <args>` in its own process, to its end. */
function ssehub(args: readonly string[], env: Record<string, string> = {}): Promise<Finished> {
  const child = spawn(process.execPath, [MAIN.pathname, ...args], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
  });
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** A sysctl as /proc says, as numbers, or undefined when it is absent. */
function sysctl(key: string): number[] | undefined {
  try {
    return readFileSync(`/proc/sys/${key.replaceAll(".", "/")}`, "utf8")
      .trim()
      .split(/\s+/)
      .map(Number);
  } catch {
    return undefined;
  }
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe("parseDoctorArgs()", () => {
  it("parseDoctorArgs() maps the target flags onto a host preflight", () => {
    assert.deepEqual(
      parseDoctorArgs(["--connections", "500_000", "--workers", "28", "--unit", "ssehub.service"]),
      {
        mode: "host",
        connections: 500_000,
        workers: 28,
        socketBufferBytes: undefined,
        unit: "ssehub.service",
        verbose: false,
        json: false,
      },
    );
  });

  it("parseDoctorArgs() takes the admin token from SSEHUB_ADMIN_TOKEN unless --admin-token gives one", () => {
    const env = { SSEHUB_ADMIN_TOKEN: "from-env" };
    assert.deepEqual(parseDoctorArgs(["--url", "http://127.0.0.1:8080", "--json"], env), {
      mode: "live",
      url: "http://127.0.0.1:8080",
      adminToken: "from-env",
      headers: {},
      json: true,
    });
    const flagged = parseDoctorArgs(["--url", "http://h:1", "--admin-token", "t"], env);
    assert.equal(flagged.mode === "live" && flagged.adminToken, "t");
    const none = parseDoctorArgs(["--url", "http://h:1"], {});
    assert.equal(none.mode === "live" && none.adminToken, "");
  });

  it("parseDoctorArgs() takes --header for the live diagnosis, and Authorization when no admin token is given", () => {
    const parsed = parseDoctorArgs(
      ["--url", "http://h:1", "--header", "X-Proxy-Key: k", "--header", "Authorization: Basic x"],
      {},
    );
    assert.deepEqual(parsed.mode === "live" && parsed.headers, {
      "X-Proxy-Key": "k",
      Authorization: "Basic x",
    });
  });

  it("parseDoctorArgs() refuses flags that make no sense, with SSEHUB_ERR_OPTIONS_INVALID", () => {
    for (const argv of [
      ["--connections", "many"],
      ["--connections", "0"],
      ["--workers", "1.5"],
      ["--url", "http://h:1", "--connections", "10"],
      ["--url", "ftp://h:1"],
      ["--admin-token", "t"],
      ["--header", "X-Proxy-Key: k"],
      ["--url", "http://h:1", "--header", "X-Proxy-Key"],
      ["--url", "http://h:1", "--admin-token", "t", "--header", "Authorization: Bearer x"],
      ["--nonsense"],
      ["extra"],
    ]) {
      assert.throws(
        () => parseDoctorArgs(argv, {}),
        { code: "SSEHUB_ERR_OPTIONS_INVALID" },
        argv.join(" "),
      );
    }
  });
});

describe("ssehub doctor", () => {
  it("ssehub doctor --json reports this machine's limits as /proc gives them, and fails exactly what falls short", async () => {
    const { code, stdout } = await ssehub(["doctor", "--connections", "500000", "--json"]);
    const report = JSON.parse(stdout) as PreflightReport;
    assert.equal(report.schema, "ssehub-doctor/1");
    const limits = /^Max open files\s+(\d+)\s+(\d+)/m.exec(
      readFileSync("/proc/self/limits", "utf8"),
    )!;
    // Node raises its soft limit to the hard limit when it starts: both processes run Node.
    assert.deepEqual(report.facts.openFiles, { soft: Number(limits[1]), hard: Number(limits[2]) });
    assert.equal(report.facts.fileMax, sysctl("fs.file-max")![0]);
    assert.equal(report.facts.nrOpen, sysctl("fs.nr_open")![0]);
    assert.equal(report.facts.somaxconn, sysctl("net.core.somaxconn")![0]);
    assert.equal(report.facts.tcpMaxSynBacklog, sysctl("net.ipv4.tcp_max_syn_backlog")![0]);
    assert.deepEqual(report.facts.ephemeralPorts, sysctl("net.ipv4.ip_local_port_range"));
    assert.deepEqual(report.facts.tcpMemPages, sysctl("net.ipv4.tcp_mem"));
    assert.deepEqual(report.facts.tcpWmem, sysctl("net.ipv4.tcp_wmem"));
    assert.deepEqual(report.facts.tcpRmem, sysctl("net.ipv4.tcp_rmem"));
    assert.equal(report.facts.conntrackMax, sysctl("net.netfilter.nf_conntrack_max")?.[0]);
    assert.equal(report.facts.keepaliveTimeSeconds, sysctl("net.ipv4.tcp_keepalive_time")![0]);
    assert.equal(report.facts.tcpRetries2, sysctl("net.ipv4.tcp_retries2")![0]);
    assert.equal(report.facts.nodeVersion, process.version);
    const available =
      Number(/^MemAvailable:\s+(\d+)/m.exec(readFileSync("/proc/meminfo", "utf8"))![1]) * 1024;
    // Memory moves while others work: the same order of magnitude is what matters here.
    assert.ok(Math.abs(report.facts.memAvailableBytes! - available) < available / 4);

    const hard = report.checks.find((c) => c.id === "nofile.hard")!;
    assert.equal(hard.status, Number(limits[2]) >= filesFor(500_000) ? "pass" : "fail");
    const conntrack = report.checks.find((c) => c.id === "net.netfilter.nf_conntrack_max")!;
    const conntrackMax = sysctl("net.netfilter.nf_conntrack_max")?.[0];
    if (conntrackMax === undefined) assert.equal(conntrack.status, "pass");
    else assert.equal(conntrack.found, conntrackMax.toLocaleString("en-US"));
    assert.equal(code, report.status === "fail" ? 1 : 0);
  });

  it("ssehub doctor prints the table, the fixes and the summary, and names the workers a target above the hard limit needs", async () => {
    const limits = /^Max open files\s+(\d+)\s+(\d+)/m.exec(
      readFileSync("/proc/self/limits", "utf8"),
    )!;
    const hard = Number(limits[2]);
    const connections = hard * 10;
    const { code, stdout } = await ssehub(["doctor", "--connections", String(connections)]);
    const lines = stdout.trimEnd().split("\n");
    assert.match(lines[0]!, /^Host preflight for [\d,]+ connections over 1 process/);
    assert.ok(lines.some((line) => /^status\s+check\s+found\s+needs$/.test(line)));
    assert.ok(lines.some((line) => /^fail\s+nofile\.hard\s+[\d,]+\s+>= [\d,]+$/.test(line)));
    assert.ok(lines.includes(`    ssehub serve --workers ${workersUnder(hard, connections)}`));
    assert.match(
      lines.at(-1)!,
      /^\d+ failed, \d+ warned, \d+ passed, \d+ skipped: fix the failures above/,
    );
    assert.equal(code, 1);
  });

  it("ssehub doctor --url hands a running hub's diagnosis to diagnoseLiveHub and exits with its status", async () => {
    const port = await closedPort();
    const { code, stdout } = await ssehub(["doctor", "--url", `http://127.0.0.1:${port}`]);
    // Nothing listens there: the hub could not be read, and the diagnosis says something.
    assert.equal(code, 2);
    assert.notEqual(stdout.trim(), "");
  });

  it("ssehub doctor exits 2 with the code on bad usage, and ssehub help lists it", async () => {
    const bad = await ssehub(["doctor", "--workers", "none"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^ssehub: SSEHUB_ERR_OPTIONS_INVALID: Cannot use --workers "none"/);
    const help = await ssehub(["doctor", "--help"]);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /--connections N/);
    const usage = await ssehub(["help"]);
    assert.match(usage.stdout, /^ {2}doctor {6}Checks this host/m);
  });
});
