import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it, type TestContext } from "node:test";
import type { DoctorCheck } from "../../src/doctor/check.js";
import { retransmitSeconds } from "../../src/doctor/checks-network.js";
import { filesFor } from "../../src/doctor/doctor-target.js";
import {
  type PreflightInput,
  type PreflightReport,
  preflightExitCode,
  runPreflight,
} from "../../src/doctor/preflight.js";
import { formatPreflightText } from "../../src/doctor/preflight-format.js";
import { type FixtureHost, fixtureHost, sysctlPath } from "./fixture-host.js";

/** A host with room for a million connections: every check passes. */
const ROOMY: FixtureHost = {
  files: {
    "/proc/self/limits":
      "Max open files            1200000              1200000              files\n",
    "/proc/sys/fs/nr_open": "2000000\n",
    "/proc/sys/fs/file-max": "9223372036854775807\n",
    "/proc/sys/net/ipv4/ip_local_port_range": "10000\t65535\n",
    "/proc/sys/net/ipv4/tcp_mem": "2000000\t3000000\t4000000\n",
    "/proc/sys/net/netfilter/nf_conntrack_max": "2000000\n",
    "/proc/sys/net/ipv4/tcp_retries2": "8\n",
    "/proc/meminfo": "MemAvailable:   67108864 kB\n",
  },
};

function preflight(t: TestContext, host: FixtureHost, input: PreflightInput): PreflightReport {
  const fixture = fixtureHost(host);
  t.after(fixture.cleanup);
  return runPreflight({ ...input, reader: fixture.reader });
}

function check(report: PreflightReport, id: string): DoctorCheck {
  const found = report.checks.find((c) => c.id === id);
  assert.ok(found, `no check ${id}`);
  return found;
}

describe("runPreflight()", () => {
  it("runPreflight() passes a host with room for the target, and exits 0", (t) => {
    const report = preflight(t, ROOMY, { connections: 200_000, workers: 8 });
    const notPassed = report.checks.filter((c) => c.status !== "pass" && c.status !== "skip");
    assert.deepEqual(
      notPassed.map((c) => `${c.id}: ${c.status}`),
      [],
    );
    assert.equal(report.status, "pass");
    assert.equal(preflightExitCode(report), 0);
  });

  it("runPreflight() fails a target above the hard limit and says how many workers it needs", (t) => {
    const report = preflight(t, {}, { connections: 500_000 });
    const hard = check(report, "nofile.hard");
    assert.equal(hard.status, "fail");
    assert.equal(hard.found, "20,000");
    assert.equal(hard.needs, `>= ${filesFor(500_000).toLocaleString("en-US")}`);
    assert.match(hard.note, /500,000 connections need ssehub serve --workers 28/);
    assert.match(hard.note, /lacks CAP_SYS_RESOURCE/);
    assert.ok(hard.fix.includes("ssehub serve --workers 28"));
    assert.ok(hard.fix.includes("LimitNOFILE=551000"));
    assert.ok(hard.fix.includes("ulimit -n 551000"));
    assert.ok(
      hard.fix.includes("echo '* hard nofile 551000' >> /etc/security/limits.d/90-ssehub.conf"),
    );
    assert.equal(report.status, "fail");
    assert.equal(preflightExitCode(report), 1);
  });

  it("runPreflight() passes the open-files checks once the workers it names share the target", (t) => {
    const report = preflight(t, {}, { connections: 500_000, workers: 28 });
    for (const id of ["nofile.soft", "nofile.hard", "fs.nr_open", "fs.file-max"]) {
      assert.equal(check(report, id).status, "pass", id);
    }
    assert.equal(report.target.connectionsPerProcess, 17_858);
  });

  it("runPreflight() passes a soft limit below the target when the hard limit covers it (Node raises it)", (t) => {
    const report = preflight(
      t,
      { files: { "/proc/self/limits": "Max open files  1024  1048576  files\n" } },
      { connections: 100_000 },
    );
    const soft = check(report, "nofile.soft");
    assert.equal(soft.status, "pass");
    assert.match(soft.note, /Node raises its soft limit/);
  });

  it("runPreflight() does not name CAP_SYS_RESOURCE when the process could raise its hard limit", (t) => {
    const report = preflight(
      t,
      { files: { "/proc/self/status": "CapEff:\t000001ffffffffff\n" } },
      { connections: 500_000 },
    );
    assert.doesNotMatch(check(report, "nofile.hard").note, /CAP_SYS_RESOURCE/);
  });

  it("runPreflight() checks the LimitNOFILE of the systemd unit and prints the unit line", (t) => {
    const host: FixtureHost = {
      ...ROOMY,
      files: { ...ROOMY.files, "/proc/self/cgroup": "0::/system.slice/ssehub.service\n" },
      systemctl: () => "524288\n",
    };
    const report = preflight(t, host, { connections: 500_000 });
    const unit = check(report, "systemd.LimitNOFILE");
    assert.equal(unit.status, "fail");
    assert.equal(unit.found, "524,288");
    assert.deepEqual(unit.fix, [
      "LimitNOFILE=551000",
      "systemctl daemon-reload && systemctl restart ssehub.service",
    ]);
    assert.equal(check(preflight(t, host, { connections: 400_000 }), unit.id).status, "pass");
  });

  it("runPreflight() takes its own hard limit as LimitNOFILE inside a unit systemctl cannot show", (t) => {
    const unit = check(
      preflight(t, { env: { INVOCATION_ID: "abc" } }, { connections: 100_000 }),
      "systemd.LimitNOFILE",
    );
    assert.equal(unit.status, "fail");
    assert.equal(unit.found, "20,000");
    assert.deepEqual(unit.fix, [
      "LimitNOFILE=111000",
      "systemctl daemon-reload && systemctl restart <unit>",
    ]);
  });

  it("runPreflight() skips the systemd check outside systemd, and warns when systemctl cannot tell", (t) => {
    assert.equal(check(preflight(t, {}, {}), "systemd.LimitNOFILE").status, "skip");
    const unreadable = check(preflight(t, {}, { unit: "ssehub.service" }), "systemd.LimitNOFILE");
    assert.equal(unreadable.status, "warn");
    assert.equal(unreadable.found, "unknown");
  });

  it("runPreflight() fails fs.nr_open and fs.file-max below what the target needs", (t) => {
    const report = preflight(
      t,
      {
        files: {
          "/proc/self/limits": "Max open files  600000  600000  files\n",
          "/proc/sys/fs/nr_open": "524288\n",
          "/proc/sys/fs/file-max": "400000\n",
        },
      },
      { connections: 500_000 },
    );
    assert.equal(check(report, "fs.nr_open").status, "fail");
    assert.deepEqual(check(report, "fs.nr_open").fix, [
      "sysctl -w fs.nr_open=551000",
      "echo 'fs.nr_open = 551000' >> /etc/sysctl.d/90-ssehub.conf",
    ]);
    const fileMax = check(report, "fs.file-max");
    assert.equal(fileMax.status, "fail");
    // The target's files plus the 1,076 the system has open now (fs.file-nr).
    assert.equal(fileMax.needs, ">= 551,176");
  });

  it("runPreflight() passes conntrack when the module is not loaded, and fails a table too small", (t) => {
    const absent = preflight(
      t,
      { files: { "/proc/sys/net/netfilter/nf_conntrack_max": undefined } },
      { connections: 500_000 },
    );
    const none = check(absent, "net.netfilter.nf_conntrack_max");
    assert.equal(none.status, "pass");
    assert.equal(none.found, "module not loaded");
    const small = check(preflight(t, {}, { connections: 500_000 }), none.id);
    assert.equal(small.status, "fail");
    assert.equal(small.fix[0], "sysctl -w net.netfilter.nf_conntrack_max=550000");
  });

  it("runPreflight() weighs tcp_mem in pages: pass under pressure, warn up to high, fail above", (t) => {
    // 4 KiB per connection is one page each: pressure 383,879 pages, high 575,814.
    const status = (connections: number) =>
      check(preflight(t, {}, { connections, workers: 40 }), "net.ipv4.tcp_mem").status;
    assert.equal(status(383_879), "pass");
    assert.equal(status(383_880), "warn");
    assert.equal(status(575_814), "warn");
    assert.equal(status(575_815), "fail");
    const buffered = preflight(t, {}, { connections: 100_000, socketBufferBytes: 16_384 });
    assert.equal(check(buffered, "net.ipv4.tcp_mem").status, "warn");
  });

  it("runPreflight() warns when Node's backlog of 511 is cut by somaxconn or the SYN queue", (t) => {
    const report = preflight(
      t,
      {
        files: {
          "/proc/sys/net/core/somaxconn": "128\n",
          "/proc/sys/net/ipv4/tcp_max_syn_backlog": "128\n",
        },
      },
      { connections: 1000 },
    );
    assert.equal(check(report, "net.core.somaxconn").status, "warn");
    assert.equal(check(report, "listen.backlog").found, "128");
    assert.equal(check(report, "net.ipv4.tcp_max_syn_backlog").status, "warn");
  });

  it("runPreflight() warns when one process takes longer to accept its clients back than the reconnect spread", (t) => {
    const slow = check(preflight(t, ROOMY, { connections: 100_000 }), "listen.backlog");
    assert.equal(slow.status, "warn");
    assert.deepEqual(slow.fix, ["ssehub serve --shutdown-retry-jitter-ms 15000"]);
    const spread = check(preflight(t, ROOMY, { connections: 100_000, workers: 4 }), slow.id);
    assert.equal(spread.status, "pass");
  });

  it("runPreflight() names the source addresses a load tool needs past the ephemeral range", (t) => {
    const ports = check(preflight(t, {}, { connections: 500_000 }), "net.ipv4.ip_local_port_range");
    assert.equal(ports.status, "warn");
    assert.equal(ports.found, "32768-60999 (28,232 ports)");
    assert.match(ports.note, /ssehub bench --source-addresses 18/);
    assert.equal(check(preflight(t, {}, { connections: 20_000 }), ports.id).status, "pass");
  });

  it("runPreflight() explains keepalive and warns about a long tcp_retries2", (t) => {
    const report = preflight(t, {}, {});
    const keepalive = check(report, "net.ipv4.tcp_keepalive_time");
    assert.equal(keepalive.status, "pass");
    assert.equal(keepalive.found, "7200 s, 75 s x 9");
    assert.match(keepalive.note, /after 7,875 s/);
    const retries = check(report, "net.ipv4.tcp_retries2");
    assert.equal(retries.status, "warn");
    assert.equal(retries.found, "15 (about 925 s)");
  });

  it("runPreflight() fails a target that does not fit in the memory available", (t) => {
    const host = { files: { "/proc/meminfo": "MemAvailable:    4194304 kB\n" } };
    assert.equal(
      check(preflight(t, host, { connections: 500_000, workers: 28 }), "memory").status,
      "fail",
    );
    assert.equal(
      check(preflight(t, host, { connections: 250_000, workers: 14 }), "memory").status,
      "warn",
    );
    assert.equal(
      check(preflight(t, host, { connections: 100_000, workers: 6 }), "memory").status,
      "pass",
    );
  });

  it("runPreflight() fails Node before 20, warns on untested majors, passes 20 and 24", (t) => {
    const version = (nodeVersion: string) =>
      check(preflight(t, { nodeVersion }, {}), "node.version").status;
    assert.equal(version("v18.20.4"), "fail");
    assert.equal(version("v22.11.0"), "warn");
    assert.equal(version("v20.20.2"), "pass");
    assert.equal(version("v24.3.0"), "pass");
  });

  it("runPreflight() fails a heap limit below what the connections of a process keep", (t) => {
    const small = preflight(
      t,
      { heapSizeLimitBytes: 512 * 1024 * 1024, env: { NODE_OPTIONS: "--max-old-space-size=512" } },
      { connections: 500_000, workers: 2 },
    );
    const heap = check(small, "node.max-old-space-size");
    assert.equal(heap.status, "fail");
    assert.equal(heap.found, "512 MiB (--max-old-space-size=512)");
    assert.deepEqual(heap.fix, ["NODE_OPTIONS=--max-old-space-size=768 ssehub serve ..."]);
    const semi = check(
      preflight(t, { execArgv: ["--max-semi-space-size=2"] }, {}),
      "node.max-semi-space-size",
    );
    assert.equal(semi.found, "--max-semi-space-size=2");
    const lowMemory = { files: { "/proc/meminfo": "MemAvailable:    4194304 kB\n" } };
    // 10 workers x 3 x 16 MiB = 480 MiB, above a tenth of 4 GiB; with 2 MiB, 60 MiB.
    const crowded = check(preflight(t, lowMemory, { connections: 10_000, workers: 10 }), semi.id);
    assert.equal(crowded.status, "warn");
    assert.deepEqual(crowded.fix, ["NODE_OPTIONS=--max-semi-space-size=2 ssehub serve ..."]);
    const trimmed = preflight(
      t,
      { ...lowMemory, env: { NODE_OPTIONS: "--max-semi-space-size=2" } },
      { connections: 10_000, workers: 10 },
    );
    assert.equal(check(trimmed, semi.id).status, "pass");
  });

  it("runPreflight() rejects a target that makes no sense", () => {
    assert.throws(() => runPreflight({ connections: 0 }), { code: "SSEHUB_ERR_OPTIONS_INVALID" });
    assert.throws(() => runPreflight({ connections: 10, workers: 11 }), {
      code: "SSEHUB_ERR_OPTIONS_INVALID",
    });
  });

  it("every sysctl line doctor prints, applied to the host, makes its check pass", (t) => {
    const fixture = fixtureHost();
    t.after(fixture.cleanup);
    const input = { connections: 500_000, workers: 28, reader: fixture.reader };
    const before = runPreflight(input);
    const fixed = before.checks.filter((c) => c.fix.some((line) => line.startsWith("sysctl -w ")));
    assert.deepEqual(
      fixed.map((c) => c.id),
      [
        "net.ipv4.ip_local_port_range",
        "net.ipv4.tcp_mem",
        "net.netfilter.nf_conntrack_max",
        "net.ipv4.tcp_retries2",
      ],
    );
    for (const c of fixed) {
      const match = /^sysctl -w ([\w.-]+)="?([^"]*)"?$/.exec(c.fix[0]!);
      assert.ok(match, c.fix[0]);
      assert.equal(c.fix[1], `echo '${match[1]} = ${match[2]}' >> /etc/sysctl.d/90-ssehub.conf`);
      writeFileSync(
        join(fixture.root, sysctlPath(match[1]!)),
        `${match[2]!.replaceAll(" ", "\t")}\n`,
      );
    }
    const after = runPreflight(input);
    for (const c of fixed) assert.equal(check(after, c.id).status, "pass", c.id);
    assert.equal(after.status, "pass");
  });
});

describe("retransmitSeconds()", () => {
  it("retransmitSeconds() follows the kernel's doubling RTO from 200 ms, capped at 120 s", () => {
    assert.equal(retransmitSeconds(15).toFixed(1), "924.6");
    assert.equal(retransmitSeconds(8).toFixed(1), "102.2");
  });
});

describe("formatPreflightText()", () => {
  it("formatPreflightText() aligns the table, explains what did not pass and ends with the summary", (t) => {
    const report = preflight(t, {}, { connections: 500_000 });
    const lines = formatPreflightText(report);
    const header = lines.indexOf(lines.find((line) => line.startsWith("status"))!);
    const rows = lines.slice(header, header + 1 + report.checks.length);
    const foundColumn = rows[0]!.indexOf("found");
    for (const c of report.checks) {
      const row = rows.find((line) => line.split(/\s+/)[1] === c.id);
      assert.ok(row, c.id);
      assert.equal(row.indexOf(c.found, foundColumn), foundColumn, c.id);
    }
    assert.ok(lines.includes("fail nofile.hard: open files, hard limit of a process"));
    assert.ok(lines.includes("    ssehub serve --workers 28"));
    assert.match(
      lines.at(-1)!,
      /^3 failed, 4 warned, 11 passed, 1 skipped: fix the failures above/,
    );
    assert.ok(
      !lines.includes(
        "pass net.ipv4.tcp_keepalive_time: TCP keepalive: idle time, interval, probes",
      ),
    );
    const verbose = formatPreflightText(report, { verbose: true });
    assert.ok(
      verbose.includes(
        "pass net.ipv4.tcp_keepalive_time: TCP keepalive: idle time, interval, probes",
      ),
    );
  });
});
