/**
 * Memory and CPU of a set of processes and all their descendants, read from Linux's /proc:
 * VmRSS from `/proc/<pid>/status`, utime + stime from `/proc/<pid>/stat` (in clock ticks of
 * 1/100 s, the CLK_TCK of every Linux on x86 and arm64). Children are found by walking /proc
 * for parent pids, because `/proc/<pid>/task/<tid>/children` is missing from kernels built
 * without CONFIG_PROC_CHILDREN.
 *
 * Also finds the processes that listen on a TCP port (the server, when no pid is given): the
 * socket inodes in LISTEN state from /proc/net/tcp and tcp6, then the processes holding them
 * among those whose /proc/<pid>/fd this user may read.
 * @module
 */
import { readdirSync, readFileSync, readlinkSync } from "node:fs";

/** Clock ticks per second of utime/stime in /proc/<pid>/stat. */
const CLOCK_TICKS_PER_SECOND = 100;
/** TCP state LISTEN in /proc/net/tcp. */
const TCP_LISTEN = "0A";

/** One reading of a set of processes. */
export interface ProcessSample {
  /** The processes read (the roots and their descendants alive at that moment). */
  readonly pids: readonly number[];
  /** VmRSS summed, in bytes. */
  readonly rssBytes: number;
  /** utime + stime summed, in seconds. */
  readonly cpuSeconds: number;
  /** CPU seconds per pid, to find the busiest process. */
  readonly cpuByPid: ReadonlyMap<number, number>;
  /** When it was read, `performance.now()` in ms. */
  readonly atMs: number;
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, "latin1");
  } catch {
    return undefined;
  }
}

/** Fields of /proc/<pid>/stat after the command name (which may hold spaces and parens). */
function statFields(pid: number): string[] | undefined {
  const text = readText(`/proc/${pid}/stat`);
  if (text === undefined) return undefined;
  return text.slice(text.lastIndexOf(")") + 2).split(" ");
}

/** Numeric entries of /proc. */
function allPids(): number[] {
  try {
    return readdirSync("/proc")
      .filter((name) => /^\d+$/.test(name))
      .map(Number);
  } catch {
    return [];
  }
}

/** True where /proc can be read (Linux). */
export function hasProcfs(): boolean {
  return readText("/proc/self/stat") !== undefined;
}

/** `roots` and every descendant of them, alive now. */
export function processTree(roots: readonly number[]): number[] {
  const children = new Map<number, number[]>();
  for (const pid of allPids()) {
    // Field 2 after the name is the parent pid (field 4 of the line).
    const ppid = Number(statFields(pid)?.[1]);
    if (!Number.isInteger(ppid)) continue;
    let list = children.get(ppid);
    if (list === undefined) {
      list = [];
      children.set(ppid, list);
    }
    list.push(pid);
  }
  const found = new Set<number>();
  const queue = roots.filter((pid) => readText(`/proc/${pid}/stat`) !== undefined);
  while (queue.length > 0) {
    const pid = queue.pop()!;
    if (found.has(pid)) continue;
    found.add(pid);
    for (const child of children.get(pid) ?? []) queue.push(child);
  }
  return [...found].sort((a, b) => a - b);
}

/** The parent pid of `pid`, or undefined when it is gone. */
export function parentPidOf(pid: number): number | undefined {
  const ppid = Number(statFields(pid)?.[1]);
  return Number.isInteger(ppid) ? ppid : undefined;
}

/** The direct children of `pid` alive now, in pid order. */
export function childPidsOf(pid: number): number[] {
  return allPids()
    .filter((child) => parentPidOf(child) === pid)
    .sort((a, b) => a - b);
}

/** The command line of `pid` as its arguments (argv), or undefined when it is gone. */
export function commandLineOf(pid: number): string[] | undefined {
  const text = readText(`/proc/${pid}/cmdline`);
  if (text === undefined) return undefined;
  const args = text.split("\0");
  if (args.at(-1) === "") args.pop();
  return args;
}

/** The name of the program of `pid` (/proc/<pid>/comm), or undefined when it is gone. */
export function programNameOf(pid: number): string | undefined {
  return readText(`/proc/${pid}/comm`)?.trim();
}

/** CPU seconds (utime + stime) of one process, or undefined when it is gone. */
export function cpuSecondsOf(pid: number): number | undefined {
  const fields = statFields(pid);
  if (fields === undefined) return undefined;
  // utime and stime are fields 14 and 15 of the line: 12 and 13 after the name.
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}

/** VmRSS of one process in bytes, or undefined when it is gone (or a kernel thread). */
export function rssBytesOf(pid: number): number | undefined {
  const text = readText(`/proc/${pid}/status`);
  const match = text === undefined ? null : /^VmRSS:\s+(\d+) kB/m.exec(text);
  return match === null ? undefined : Number(match[1]) * 1024;
}

/**
 * Reads RSS and CPU of `pids` (exactly these, or with `withDescendants` the tree under them).
 */
export function sampleProcesses(pids: readonly number[], withDescendants = true): ProcessSample {
  const list = withDescendants ? processTree(pids) : [...pids];
  let rssBytes = 0;
  let cpuSeconds = 0;
  const cpuByPid = new Map<number, number>();
  const alive: number[] = [];
  for (const pid of list) {
    const cpu = cpuSecondsOf(pid);
    if (cpu === undefined) continue;
    alive.push(pid);
    cpuSeconds += cpu;
    cpuByPid.set(pid, cpu);
    rssBytes += rssBytesOf(pid) ?? 0;
  }
  return { pids: alive, rssBytes, cpuSeconds, cpuByPid, atMs: performance.now() };
}

/** Machine-wide TCP counters that explain slow connects. */
export interface TcpCounters {
  /** SYNs dropped because a listener's accept queue was full (TcpExt ListenOverflows). */
  readonly listenOverflows: number;
  /** SYNs sent again after a timeout (TcpExt TCPSynRetrans). */
  readonly synRetransmits: number;
}

/** The TcpExt counters of /proc/net/netstat, or null where they cannot be read. */
export function readTcpCounters(): TcpCounters | null {
  const text = readText("/proc/net/netstat");
  if (text === undefined) return null;
  const lines = text.split("\n").filter((line) => line.startsWith("TcpExt:"));
  const names = lines[0]?.split(" ");
  const values = lines[1]?.split(" ");
  if (names === undefined || values === undefined) return null;
  const value = (name: string): number => {
    const at = names.indexOf(name);
    return at < 0 ? 0 : Number(values[at]);
  };
  return { listenOverflows: value("ListenOverflows"), synRetransmits: value("TCPSynRetrans") };
}

/**
 * True for a local address of /proc/net/tcp or tcp6 (hex, as the kernel prints it) that a
 * loopback client reaches: 127.0.0.0/8, ::1, ::ffff:127.x.y.z, or the wildcard of either family.
 */
export function isLoopbackOrWildcardHex(address: string): boolean {
  if (address.length === 8) {
    // IPv4 in host byte order (little-endian here): the first octet is the last two digits.
    return address === "00000000" || address.slice(6, 8) === "7F";
  }
  const v6 = address.toUpperCase();
  return (
    v6 === "00000000000000000000000000000000" ||
    v6 === "00000000000000000000000001000000" ||
    (v6.startsWith("0000000000000000FFFF0000") && v6.slice(30, 32) === "7F")
  );
}

/**
 * Socket inodes in LISTEN state on `port`, from /proc/net/tcp and /proc/net/tcp6; with
 * `loopbackOnly`, only sockets that listen on a loopback address or the wildcard.
 */
function listeningInodes(port: number, loopbackOnly = false): Set<string> {
  const inodes = new Set<string>();
  const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    const text = readText(file);
    if (text === undefined) continue;
    for (const line of text.split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/);
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
      const local = fields[1];
      if (local === undefined || fields[3] !== TCP_LISTEN) continue;
      const colon = local.lastIndexOf(":");
      if (loopbackOnly && !isLoopbackOrWildcardHex(local.slice(0, colon))) continue;
      if (local.slice(colon + 1) === hexPort && fields[9] !== undefined) {
        inodes.add(fields[9]);
      }
    }
  }
  return inodes;
}

/**
 * The processes that hold a listening socket on `port`, among those this user may inspect,
 * without `exclude` (the load tool itself). Empty when none is found.
 */
export function findListeningPids(
  port: number,
  exclude: ReadonlySet<number>,
  loopbackOnly = false,
): number[] {
  const inodes = listeningInodes(port, loopbackOnly);
  if (inodes.size === 0) return [];
  const found: number[] = [];
  for (const pid of allPids()) {
    if (exclude.has(pid)) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let link: string;
      try {
        link = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      if (link.startsWith("socket:[") && inodes.has(link.slice(8, -1))) {
        found.push(pid);
        break;
      }
    }
  }
  return found;
}
