import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  parseOpenFilesLimit,
  readHostFacts,
  serviceOfCgroup,
} from "../../src/doctor/host-facts.js";
import { fixtureHost } from "./fixture-host.js";

describe("readHostFacts()", () => {
  it("readHostFacts() reads limits, sysctls and memory from the files of a fixture tree", (t) => {
    const host = fixtureHost();
    t.after(host.cleanup);
    const facts = readHostFacts(host.reader);
    assert.deepEqual(facts.openFiles, { soft: 20_000, hard: 20_000 });
    assert.equal(facts.canRaiseHardLimit, false);
    assert.equal(facts.fileMax, 2_466_248);
    assert.equal(facts.filesAllocated, 1076);
    assert.equal(facts.nrOpen, 1_048_576);
    assert.equal(facts.somaxconn, 4096);
    assert.equal(facts.tcpMaxSynBacklog, 2048);
    assert.deepEqual(facts.ephemeralPorts, [32768, 60999]);
    assert.deepEqual(facts.tcpMemPages, [287907, 383879, 575814]);
    assert.deepEqual(facts.tcpRmem, [4096, 131072, 33554432]);
    assert.deepEqual(facts.tcpWmem, [4096, 16384, 4194304]);
    assert.equal(facts.conntrackMax, 262_144);
    assert.equal(facts.keepaliveTimeSeconds, 7200);
    assert.equal(facts.keepaliveIntervalSeconds, 75);
    assert.equal(facts.keepaliveProbes, 9);
    assert.equal(facts.tcpRetries2, 15);
    assert.equal(facts.memAvailableBytes, 24_296_372 * 1024);
    assert.equal(facts.systemd, undefined);
  });

  it("readHostFacts() leaves conntrack undefined when the module is not loaded", (t) => {
    const host = fixtureHost({
      files: {
        "/proc/sys/net/netfilter/nf_conntrack_max": undefined,
        "/proc/sys/net/netfilter/nf_conntrack_count": undefined,
      },
    });
    t.after(host.cleanup);
    assert.equal(readHostFacts(host.reader).conntrackMax, undefined);
  });

  it("readHostFacts() sees CAP_SYS_RESOURCE in CapEff", (t) => {
    const host = fixtureHost({ files: { "/proc/self/status": "CapEff:\t000001ffffffffff\n" } });
    t.after(host.cleanup);
    assert.equal(readHostFacts(host.reader).canRaiseHardLimit, true);
  });

  it("readHostFacts() finds its systemd unit in the cgroup and reads its LimitNOFILE", (t) => {
    const asked: string[] = [];
    const host = fixtureHost({
      files: { "/proc/self/cgroup": "0::/system.slice/ssehub.service\n" },
      systemctl: (unit) => {
        asked.push(unit);
        return "524288\n";
      },
    });
    t.after(host.cleanup);
    assert.deepEqual(readHostFacts(host.reader).systemd, {
      unit: "ssehub.service",
      detectedBy: "the cgroup",
      limitNofile: 524_288,
    });
    assert.deepEqual(asked, ["ssehub.service"]);
  });

  it("readHostFacts() takes INVOCATION_ID as running under systemd", (t) => {
    const host = fixtureHost({
      env: { INVOCATION_ID: "0123abcd" },
      files: { "/proc/self/cgroup": "0::/system.slice/hub.service\n" },
      systemctl: () => "infinity\n",
    });
    t.after(host.cleanup);
    assert.deepEqual(readHostFacts(host.reader).systemd, {
      unit: "hub.service",
      detectedBy: "INVOCATION_ID",
      limitNofile: Number.POSITIVE_INFINITY,
    });
  });

  it("readHostFacts() reads the unit named with --unit from outside it", (t) => {
    const host = fixtureHost({ systemctl: () => "65536\n" });
    t.after(host.cleanup);
    const facts = readHostFacts(host.reader, "ssehub.service");
    assert.equal(facts.systemd?.limitNofile, 65_536);
    assert.equal(facts.systemd?.detectedBy, "--unit");
  });

  it("readHostFacts() joins Node's flags and the words of NODE_OPTIONS", (t) => {
    const host = fixtureHost({
      execArgv: ["--max-semi-space-size=2"],
      env: { NODE_OPTIONS: '--max-old-space-size=8192 --title "a b"' },
    });
    t.after(host.cleanup);
    assert.deepEqual(readHostFacts(host.reader).nodeFlags, [
      "--max-semi-space-size=2",
      "--max-old-space-size=8192",
      "--title",
      "a b",
    ]);
  });
});

describe("parseOpenFilesLimit()", () => {
  it("parseOpenFilesLimit() reads unlimited as infinity and a missing row as undefined", () => {
    assert.deepEqual(parseOpenFilesLimit("Max open files            1024    unlimited   files\n"), {
      soft: 1024,
      hard: Number.POSITIVE_INFINITY,
    });
    assert.equal(parseOpenFilesLimit("Max cpu time  unlimited unlimited seconds\n"), undefined);
  });
});

describe("serviceOfCgroup()", () => {
  it("serviceOfCgroup() finds the service in cgroup v1 and v2 paths, and nothing outside one", () => {
    assert.equal(serviceOfCgroup("0::/system.slice/ssehub.service\n"), "ssehub.service");
    assert.equal(
      serviceOfCgroup("1:name=systemd:/system.slice/hub.service/worker\n"),
      "hub.service",
    );
    assert.equal(serviceOfCgroup("0::/user.slice/user-0.slice/session-3.scope\n"), undefined);
    assert.equal(serviceOfCgroup("9:name=systemd:/\n0::/\n"), undefined);
    assert.equal(
      serviceOfCgroup("0::/user.slice/user-1000.slice/user@1000.service/app.slice/vte.scope\n"),
      undefined,
    );
  });
});
