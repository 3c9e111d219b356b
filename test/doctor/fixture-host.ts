/**
 * A host for doctor's tests: a fixture tree of /proc files in a temporary directory, read through
 * createHostReader({ root }), so that every verdict is checked against known numbers. The
 * defaults describe a stock Debian host with a 20,000 open-files hard limit, like ours.
 * @module
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createHostReader, type HostReader } from "../../src/doctor/host-reader.js";

/** Contents by absolute path; undefined leaves the file out (an absent module). */
export type FixtureFiles = Record<string, string | undefined>;

/** Every file the preflight reads, as a stock host has them. */
export const STOCK_FILES: Readonly<FixtureFiles> = {
  "/proc/self/limits":
    "Limit                     Soft Limit           Hard Limit           Units     \n" +
    "Max cpu time              unlimited            unlimited            seconds   \n" +
    "Max open files            20000                20000                files     \n",
  // CapEff without bit 24 (CAP_SYS_RESOURCE), as in a sandbox.
  "/proc/self/status": "Name:\tnode\nCapEff:\t000001fffeffffff\n",
  "/proc/self/cgroup": "0::/\n",
  "/proc/sys/fs/file-max": "2466248\n",
  "/proc/sys/fs/file-nr": "1076\t0\t2466248\n",
  "/proc/sys/fs/nr_open": "1048576\n",
  "/proc/sys/net/core/somaxconn": "4096\n",
  "/proc/sys/net/ipv4/tcp_max_syn_backlog": "2048\n",
  "/proc/sys/net/ipv4/ip_local_port_range": "32768\t60999\n",
  "/proc/sys/net/ipv4/tcp_mem": "287907\t383879\t575814\n",
  "/proc/sys/net/ipv4/tcp_rmem": "4096\t131072\t33554432\n",
  "/proc/sys/net/ipv4/tcp_wmem": "4096\t16384\t4194304\n",
  "/proc/sys/net/netfilter/nf_conntrack_max": "262144\n",
  "/proc/sys/net/netfilter/nf_conntrack_count": "0\n",
  "/proc/sys/net/ipv4/tcp_keepalive_time": "7200\n",
  "/proc/sys/net/ipv4/tcp_keepalive_intvl": "75\n",
  "/proc/sys/net/ipv4/tcp_keepalive_probes": "9\n",
  "/proc/sys/net/ipv4/tcp_retries2": "15\n",
  "/proc/meminfo": "MemTotal:       24683748 kB\nMemAvailable:   24296372 kB\n",
};

/** What a fixture host is made of besides its files. */
export interface FixtureHost {
  /** Files to change from STOCK_FILES; undefined removes one. */
  readonly files?: FixtureFiles;
  readonly env?: Record<string, string>;
  /** The answer of `systemctl show --property=LimitNOFILE --value <unit>`. */
  readonly systemctl?: (unit: string) => string | undefined;
  readonly nodeVersion?: string;
  readonly execArgv?: readonly string[];
  readonly heapSizeLimitBytes?: number;
}

/** The path under /proc/sys of a sysctl key. */
export function sysctlPath(key: string): string {
  return `/proc/sys/${key.replaceAll(".", "/")}`;
}

/**
 * Writes a fixture tree and returns a reader of it; `cleanup()` removes the tree. The reader
 * runs no command: `systemctl` answers from `host.systemctl`.
 */
export function fixtureHost(host: FixtureHost = {}): {
  reader: HostReader;
  root: string;
  cleanup: () => void;
} {
  const root = mkdtempSync(join(tmpdir(), "ssehub-doctor-"));
  const files = { ...STOCK_FILES, ...host.files };
  for (const [path, text] of Object.entries(files)) {
    if (text === undefined) continue;
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  const base = createHostReader({ root, env: host.env ?? {}, commands: false });
  const reader: HostReader = {
    readFile: (path) => base.readFile(path),
    env: (name) => base.env(name),
    run: (command, args) =>
      command === "systemctl" && host.systemctl !== undefined
        ? host.systemctl(args[args.length - 1]!)
        : undefined,
    nodeVersion: host.nodeVersion ?? "v20.20.2",
    execArgv: host.execArgv ?? [],
    heapSizeLimitBytes: host.heapSizeLimitBytes ?? 4144 * 1024 * 1024,
  };
  return { reader, root, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}
