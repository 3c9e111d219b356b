/**
 * The raw facts of a host that the preflight checks weigh: limits, kernel settings, memory, the
 * supervisor and Node. Reading is all here; judging is in the checks. A fact the host does not
 * have (no conntrack module, no systemd) is undefined, never a guess.
 * @module
 */
import type { HostReader } from "./host-reader.js";

/** Bit of CAP_SYS_RESOURCE in the capability masks of /proc/self/status. */
const CAP_SYS_RESOURCE = 24n;

/** The open-files limits of the process that runs doctor. */
export interface OpenFilesLimit {
  readonly soft: number;
  readonly hard: number;
}

/** The systemd unit doctor runs in, or the one named with `--unit`. */
export interface SystemdFacts {
  /** The unit, `ssehub.service`. */
  readonly unit: string;
  /** How doctor knows: `--unit`, or what it detected (INVOCATION_ID, the cgroup). */
  readonly detectedBy: string;
  /** The unit's `LimitNOFILE` (hard), undefined when `systemctl show` could not tell. */
  readonly limitNofile: number | undefined;
}

/** Everything the preflight checks read. Numbers are as the kernel gives them. */
export interface HostFacts {
  readonly openFiles: OpenFilesLimit | undefined;
  /** False when the process lacks CAP_SYS_RESOURCE and so cannot raise its hard limit. */
  readonly canRaiseHardLimit: boolean | undefined;
  readonly fileMax: number | undefined;
  /** Files allocated system-wide now (first field of fs.file-nr). */
  readonly filesAllocated: number | undefined;
  readonly nrOpen: number | undefined;
  readonly systemd: SystemdFacts | undefined;
  readonly somaxconn: number | undefined;
  readonly tcpMaxSynBacklog: number | undefined;
  /** `net.ipv4.ip_local_port_range`: first and last port. */
  readonly ephemeralPorts: readonly [number, number] | undefined;
  /** `net.ipv4.tcp_mem` in pages: low, pressure, high. */
  readonly tcpMemPages: readonly [number, number, number] | undefined;
  /** `net.ipv4.tcp_rmem` in bytes: min, default, max. */
  readonly tcpRmem: readonly [number, number, number] | undefined;
  /** `net.ipv4.tcp_wmem` in bytes: min, default, max. */
  readonly tcpWmem: readonly [number, number, number] | undefined;
  /** `net.netfilter.nf_conntrack_max`; undefined when the conntrack module is not loaded. */
  readonly conntrackMax: number | undefined;
  readonly conntrackCount: number | undefined;
  readonly keepaliveTimeSeconds: number | undefined;
  readonly keepaliveIntervalSeconds: number | undefined;
  readonly keepaliveProbes: number | undefined;
  readonly tcpRetries2: number | undefined;
  readonly memAvailableBytes: number | undefined;
  readonly pageBytes: number;
  readonly nodeVersion: string;
  /** Node's flags: execArgv, then NODE_OPTIONS, as one list of words. */
  readonly nodeFlags: readonly string[];
  readonly heapSizeLimitBytes: number;
}

/** The whitespace-separated integers of a /proc/sys file, or undefined when absent or malformed. */
function sysctlNumbers(reader: HostReader, key: string): number[] | undefined {
  const text = reader.readFile(`/proc/sys/${key.replaceAll(".", "/")}`);
  if (text === undefined) return undefined;
  const numbers = text.trim().split(/\s+/).map(Number);
  return numbers.length > 0 && numbers.every(Number.isFinite) ? numbers : undefined;
}

function sysctlNumber(reader: HostReader, key: string): number | undefined {
  return sysctlNumbers(reader, key)?.[0];
}

function sysctlTriple(
  reader: HostReader,
  key: string,
): readonly [number, number, number] | undefined {
  const numbers = sysctlNumbers(reader, key);
  return numbers?.length === 3 ? [numbers[0]!, numbers[1]!, numbers[2]!] : undefined;
}

/** "unlimited" in /proc/self/limits is the kernel's RLIM_INFINITY. */
function limitValue(text: string): number {
  return text === "unlimited" ? Number.POSITIVE_INFINITY : Number(text);
}

/** The soft and hard open-files limits from the text of /proc/<pid>/limits. */
export function parseOpenFilesLimit(limits: string): OpenFilesLimit | undefined {
  const match = /^Max open files\s+(\S+)\s+(\S+)/m.exec(limits);
  if (match === null) return undefined;
  const soft = limitValue(match[1]!);
  const hard = limitValue(match[2]!);
  return Number.isNaN(soft) || Number.isNaN(hard) ? undefined : { soft, hard };
}

/** Whether the capability mask CapEff of /proc/self/status holds CAP_SYS_RESOURCE. */
function hasSysResource(status: string): boolean | undefined {
  const match = /^CapEff:\s*([0-9a-f]+)/im.exec(status);
  if (match === null) return undefined;
  return ((BigInt(`0x${match[1]!}`) >> CAP_SYS_RESOURCE) & 1n) === 1n;
}

/**
 * The systemd service of this process, from the last `*.service` segment of its cgroup path.
 * `user@<uid>.service` is a login's service manager, not a unit that runs the hub.
 */
export function serviceOfCgroup(cgroup: string): string | undefined {
  for (const line of cgroup.split("\n")) {
    const path = line.split(":").slice(2).join(":");
    const unit = path
      .split("/")
      .reverse()
      .find((segment) => segment.endsWith(".service") && !segment.startsWith("user@"));
    if (unit !== undefined) return unit;
  }
  return undefined;
}

function systemdFacts(reader: HostReader, unit: string | undefined): SystemdFacts | undefined {
  let detectedBy = "--unit";
  let name = unit;
  if (name === undefined) {
    const fromCgroup = serviceOfCgroup(reader.readFile("/proc/self/cgroup") ?? "");
    const invocation = reader.env("INVOCATION_ID");
    if (fromCgroup === undefined && invocation === undefined) return undefined;
    detectedBy = invocation !== undefined ? "INVOCATION_ID" : "the cgroup";
    name = fromCgroup ?? "this unit";
  }
  let limitNofile: number | undefined;
  if (name.endsWith(".service")) {
    const shown = reader.run("systemctl", ["show", "--property=LimitNOFILE", "--value", name]);
    const text = shown?.trim();
    if (text === "infinity") limitNofile = Number.POSITIVE_INFINITY;
    else if (text !== undefined && /^\d+$/.test(text)) limitNofile = Number(text);
  }
  return { unit: name, detectedBy, limitNofile };
}

function memAvailableBytes(meminfo: string | undefined): number | undefined {
  const match = /^MemAvailable:\s+(\d+) kB/m.exec(meminfo ?? "");
  return match === null ? undefined : Number(match[1]) * 1024;
}

/** Words of NODE_OPTIONS, quotes apart (Node allows "..." around a value with spaces). */
function nodeOptionsWords(text: string | undefined): string[] {
  return (text ?? "").match(/(?:[^\s"]+|"[^"]*")+/g)?.map((word) => word.replaceAll('"', "")) ?? [];
}

/**
 * Reads every fact the preflight needs through `reader`.
 * @param unit a systemd unit to read `LimitNOFILE` from (`--unit`); by default the unit doctor
 *   itself runs in, when it runs under systemd
 */
export function readHostFacts(reader: HostReader, unit?: string): HostFacts {
  const status = reader.readFile("/proc/self/status");
  const ports = sysctlNumbers(reader, "net.ipv4.ip_local_port_range");
  return {
    openFiles: parseOpenFilesLimit(reader.readFile("/proc/self/limits") ?? ""),
    canRaiseHardLimit: status === undefined ? undefined : hasSysResource(status),
    fileMax: sysctlNumber(reader, "fs.file-max"),
    filesAllocated: sysctlNumber(reader, "fs.file-nr"),
    nrOpen: sysctlNumber(reader, "fs.nr_open"),
    systemd: systemdFacts(reader, unit),
    somaxconn: sysctlNumber(reader, "net.core.somaxconn"),
    tcpMaxSynBacklog: sysctlNumber(reader, "net.ipv4.tcp_max_syn_backlog"),
    ephemeralPorts: ports?.length === 2 ? [ports[0]!, ports[1]!] : undefined,
    tcpMemPages: sysctlTriple(reader, "net.ipv4.tcp_mem"),
    tcpRmem: sysctlTriple(reader, "net.ipv4.tcp_rmem"),
    tcpWmem: sysctlTriple(reader, "net.ipv4.tcp_wmem"),
    conntrackMax: sysctlNumber(reader, "net.netfilter.nf_conntrack_max"),
    conntrackCount: sysctlNumber(reader, "net.netfilter.nf_conntrack_count"),
    keepaliveTimeSeconds: sysctlNumber(reader, "net.ipv4.tcp_keepalive_time"),
    keepaliveIntervalSeconds: sysctlNumber(reader, "net.ipv4.tcp_keepalive_intvl"),
    keepaliveProbes: sysctlNumber(reader, "net.ipv4.tcp_keepalive_probes"),
    tcpRetries2: sysctlNumber(reader, "net.ipv4.tcp_retries2"),
    memAvailableBytes: memAvailableBytes(reader.readFile("/proc/meminfo")),
    // TCP memory is counted in pages of 4 KiB on x86-64 and arm64 with 4 KiB pages.
    pageBytes: 4096,
    nodeVersion: reader.nodeVersion,
    nodeFlags: [...reader.execArgv, ...nodeOptionsWords(reader.env("NODE_OPTIONS"))],
    heapSizeLimitBytes: reader.heapSizeLimitBytes,
  };
}
