/**
 * Memory and Node: what the target costs in RAM (the hub's RSS per connection, the kernel's
 * socket, a burst in the send buffers) against what the host has free, and the Node version and
 * V8 heap flags each process runs with.
 * @module
 */
import { bytes, count, counted, type DoctorCheck } from "./check.js";
import {
  type DoctorTarget,
  HEAP_BASE_BYTES,
  HEAP_BYTES_PER_CONNECTION,
  KERNEL_BYTES_PER_SOCKET,
  PROCESS_BASE_BYTES,
  RSS_BYTES_PER_CONNECTION,
} from "./doctor-target.js";
import type { HostFacts } from "./host-facts.js";

const MIB = 1024 * 1024;

/** Node majors the project is built and tested on. */
export const SUPPORTED_NODE_MAJORS: readonly number[] = [20, 24];

/** Bytes the target takes: per connection RSS, kernel socket and burst buffer, per process base. */
export function memoryNeeded(target: DoctorTarget): number {
  const perConnection =
    RSS_BYTES_PER_CONNECTION + KERNEL_BYTES_PER_SOCKET + target.socketBufferBytes;
  return target.connections * perConnection + target.workers * PROCESS_BASE_BYTES;
}

function memoryCheck(facts: HostFacts, target: DoctorTarget): DoctorCheck {
  const id = "memory";
  const title = "memory available (MemAvailable)";
  const needed = memoryNeeded(target);
  const available = facts.memAvailableBytes;
  if (available === undefined) {
    return {
      id,
      title,
      found: "unreadable",
      needs: `>= ${bytes(needed)}`,
      status: "warn",
      note: "Could not read /proc/meminfo.",
      fix: [],
    };
  }
  const base = { id, title, found: bytes(available), needs: `>= ${bytes(needed)}` };
  const why = `Each connection costs ${(RSS_BYTES_PER_CONNECTION / 1024).toFixed(1)} KiB of the hub's RSS, ${(KERNEL_BYTES_PER_SOCKET / 1024).toFixed(1)} KiB of kernel memory for its socket and up to ${bytes(target.socketBufferBytes)} of send buffer in a burst; each process ${bytes(PROCESS_BASE_BYTES)} more. A load tool on the same host adds its own sockets.`;
  if (needed <= available * 0.8) return { ...base, status: "pass", note: why, fix: [] };
  return {
    ...base,
    status: needed <= available ? "warn" : "fail",
    note: `${why} Leave a fifth of the memory for history, bursts and the rest of the host: add memory, or spread the target over several hosts (ssehub serve --redis).`,
    fix: [],
  };
}

function nodeVersionCheck(facts: HostFacts): DoctorCheck {
  const major = Number(/^v(\d+)/.exec(facts.nodeVersion)?.[1]);
  const base = {
    id: "node.version",
    title: "Node.js version",
    found: facts.nodeVersion,
    needs: SUPPORTED_NODE_MAJORS.map((m) => `${m}.x`).join(" or "),
  };
  if (SUPPORTED_NODE_MAJORS.includes(major)) return { ...base, status: "pass", note: "", fix: [] };
  if (major > 20) {
    return {
      ...base,
      status: "warn",
      note: "ssehub is tested on Node 20 and 24; its socket takeover is checked per major and falls back to the slower plain path where it does not match.",
      fix: [],
    };
  }
  return { ...base, status: "fail", note: "ssehub needs Node 20 or later.", fix: [] };
}

/** The value of a V8 flag in MiB (`--max-old-space-size=4096` or `--max_old_space_size 4096`). */
export function flagMiB(flags: readonly string[], name: string): number | undefined {
  const spellings = [name, name.replaceAll("-", "_")].flatMap((n) => [n, `-${n.slice(2)}`]);
  let value: number | undefined;
  flags.forEach((flag, index) => {
    for (const spelling of spellings) {
      if (flag.startsWith(`${spelling}=`)) value = Number(flag.slice(spelling.length + 1));
      else if (flag === spelling) value = Number(flags[index + 1]);
    }
  });
  return value !== undefined && Number.isFinite(value) ? value : undefined;
}

function heapCheck(facts: HostFacts, target: DoctorTarget): DoctorCheck {
  const needed = HEAP_BASE_BYTES + target.connectionsPerProcess * HEAP_BYTES_PER_CONNECTION;
  const flag = flagMiB(facts.nodeFlags, "--max-old-space-size");
  const base = {
    id: "node.max-old-space-size",
    title: "V8 heap limit of a process",
    found: `${bytes(facts.heapSizeLimitBytes)}${flag === undefined ? " (default)" : ` (--max-old-space-size=${flag})`}`,
    needs: `>= ${bytes(needed)}`,
  };
  const why = `Each idle connection keeps about 1.5 KiB on the V8 heap (counted as ${bytes(HEAP_BYTES_PER_CONNECTION)} with room for the collector), ${count(target.connectionsPerProcess)} per process. Doctor reads its own heap limit: run it with the NODE_OPTIONS of the hub.`;
  if (facts.heapSizeLimitBytes >= needed) return { ...base, status: "pass", note: why, fix: [] };
  const mib = Math.ceil(needed / MIB / 256) * 256;
  return {
    ...base,
    status: "fail",
    note: `${why} Past the limit the process dies with "JavaScript heap out of memory".`,
    fix: [`NODE_OPTIONS=--max-old-space-size=${mib} ssehub serve ...`],
  };
}

/** V8's largest semi-space on 64-bit Node 20 when no flag sets it, in MiB. */
export const DEFAULT_SEMI_SPACE_MIB = 16;

function semiSpaceCheck(facts: HostFacts, target: DoctorTarget): DoctorCheck {
  const flag = flagMiB(facts.nodeFlags, "--max-semi-space-size");
  const semiSpaceMiB = flag ?? DEFAULT_SEMI_SPACE_MIB;
  // The young generation is three semi-spaces: two that take turns, and the one objects are
  // promoted through.
  const young = target.workers * 3 * semiSpaceMiB * MIB;
  const budget = (facts.memAvailableBytes ?? Number.POSITIVE_INFINITY) / 10;
  const base = {
    id: "node.max-semi-space-size",
    title: "V8 young generation (semi-space) of a process",
    found:
      flag === undefined
        ? `V8 default (${DEFAULT_SEMI_SPACE_MIB} MiB)`
        : `--max-semi-space-size=${flag}`,
    needs: `workers x 3 x semi-space <= ${bytes(budget)}`,
  };
  const why = `The young generation grows to three semi-spaces per process: ${counted(target.workers, "process", "processes")} hold up to ${bytes(young)} of it even when idle. A smaller one trades a little CPU for RSS: --max-semi-space-size=2 cut RSS per idle subscriber from 3.95 to 2.36 KiB with 6 workers (docs/BENCHMARKS.md).`;
  if (young <= budget) return { ...base, status: "pass", note: why, fix: [] };
  return {
    ...base,
    status: "warn",
    note: `${why} That is over a tenth of the memory available.`,
    fix: ["NODE_OPTIONS=--max-semi-space-size=2 ssehub serve ..."],
  };
}

/** The memory and Node checks. */
export function memoryChecks(facts: HostFacts, target: DoctorTarget): DoctorCheck[] {
  return [
    memoryCheck(facts, target),
    nodeVersionCheck(facts),
    heapCheck(facts, target),
    semiSpaceCheck(facts, target),
  ];
}
