/**
 * What the kernel spends on the connections of a run: slab memory (socket structures, dentries
 * of sockets, TCP request and TIME_WAIT records) from /proc/meminfo, and TCP buffer pages and
 * socket counts from /proc/net/sockstat. Machine-wide: every other program's share counts too,
 * so the figures mean something on a quiet machine, read as the difference from a baseline
 * taken before the first connect. Server and load tool run on the same host here, so each
 * subscriber counts both ends of its connection.
 * @module
 */
import { readFileSync } from "node:fs";
import { perConnectionBytes } from "./per-connection.js";

/** One reading of the kernel's memory for sockets. */
export interface KernelSample {
  /** Slab (reclaimable and not), in bytes. */
  readonly slabBytes: number;
  /** Slab that cannot be reclaimed, in bytes: socket structures are here. */
  readonly slabUnreclaimableBytes: number;
  /** Pages of TCP socket buffers (`TCP: mem` of sockstat), in bytes. */
  readonly tcpBufferBytes: number;
  /** TCP sockets in use, and in TIME_WAIT. */
  readonly tcpSockets: number;
  readonly tcpTimeWait: number;
}

/** The kernel's memory above the baseline, per established subscriber. */
export interface KernelSummary {
  readonly baseline: KernelSample;
  readonly sample: KernelSample;
  readonly slabPerConnectionBytes: number | null;
  readonly slabUnreclaimablePerConnectionBytes: number | null;
  readonly tcpBufferPerConnectionBytes: number | null;
}

const PAGE_BYTES = 4096;

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

/** A `Name:  123 kB` field of /proc/meminfo, in bytes. */
function meminfoBytes(text: string, name: string): number | undefined {
  const match = new RegExp(`^${name}:\\s+(\\d+) kB$`, "m").exec(text);
  return match === null ? undefined : Number(match[1]) * 1024;
}

/** A `key value` pair of the `TCP:` line of /proc/net/sockstat. */
function sockstatField(line: string, key: string): number | undefined {
  const match = new RegExp(`\\b${key} (\\d+)`).exec(line);
  return match === null ? undefined : Number(match[1]);
}

/** Reads the kernel's figures now; null where /proc does not have them (not Linux). */
export function readKernelSample(): KernelSample | null {
  const meminfo = readText("/proc/meminfo");
  const sockstat = readText("/proc/net/sockstat");
  if (meminfo === undefined || sockstat === undefined) return null;
  const tcp = sockstat.split("\n").find((line) => line.startsWith("TCP:"));
  const slab = meminfoBytes(meminfo, "Slab");
  const unreclaimable = meminfoBytes(meminfo, "SUnreclaim");
  if (tcp === undefined || slab === undefined || unreclaimable === undefined) return null;
  return {
    slabBytes: slab,
    slabUnreclaimableBytes: unreclaimable,
    tcpBufferBytes: (sockstatField(tcp, "mem") ?? 0) * PAGE_BYTES,
    tcpSockets: sockstatField(tcp, "inuse") ?? 0,
    tcpTimeWait: sockstatField(tcp, "tw") ?? 0,
  };
}

/**
 * The growth of `sample` over `baseline` per connection (null without connections, or where a
 * figure fell below its baseline: see per-connection.ts).
 */
export function kernelSummary(
  baseline: KernelSample,
  sample: KernelSample,
  connections: number,
): KernelSummary {
  const per = (after: number, before: number): number | null =>
    perConnectionBytes(after, before, connections);
  return {
    baseline,
    sample,
    slabPerConnectionBytes: per(sample.slabBytes, baseline.slabBytes),
    slabUnreclaimablePerConnectionBytes: per(
      sample.slabUnreclaimableBytes,
      baseline.slabUnreclaimableBytes,
    ),
    tcpBufferPerConnectionBytes: per(sample.tcpBufferBytes, baseline.tcpBufferBytes),
  };
}
