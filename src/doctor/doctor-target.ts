/**
 * The target `ssehub doctor` checks a host against: how many connections, over how many
 * processes, and the cost figures measured on our machines that turn connections into file
 * descriptors, bytes and pages.
 * @module
 */
import { SsehubError } from "../errors.js";

/**
 * Server RSS per idle subscriber, in bytes: 4.80 KiB measured for one process at 10,000
 * subscribers (docs/BENCHMARKS.md, "idle: 10,000 subscribers held 5 s"); 3.95 KiB with six
 * workers at 100,000. The larger figure, so that the estimate errs on the safe side.
 */
export const RSS_BYTES_PER_CONNECTION = 4.8 * 1024;

/**
 * Kernel memory per idle TCP socket, outside any RSS: 4.1 KiB, the median of three runs of
 * `node scripts/socket-kernel-cost.mjs` (18,000 loopback sockets, Slab of /proc/meminfo before
 * and after; 3.9 to 4.9 KiB; the TCP socket alone is 2.3 KiB of slab). docs/operations.md says how.
 */
export const KERNEL_BYTES_PER_SOCKET = 4.1 * 1024;

/** V8 heap per idle subscriber, in bytes, with room for the collector (1.5 KiB in a heap snapshot, docs/principles.md). */
export const HEAP_BYTES_PER_CONNECTION = 2 * 1024;

/** The heap a process uses before its first subscriber: modules, buffers, history. */
export const HEAP_BASE_BYTES = 64 * 1024 * 1024;

/** The RSS a process of the hub uses before its first subscriber. */
export const PROCESS_BASE_BYTES = 64 * 1024 * 1024;

/**
 * File descriptors a process holds besides its subscribers: stdio, the listening socket, epoll,
 * the cluster channel, Redis connections, log files.
 */
export const FD_BASE = 100;

/**
 * Extra descriptors per subscriber: a client that comes back from another network before its old
 * socket is found dead holds two for a while, as do reconnect storms after a restart.
 */
export const FD_MARGIN_RATIO = 0.1;

/** What doctor checks the host against. */
export interface DoctorTargetInput {
  /** Concurrent connections (subscribers) the host must hold. @default 10000 */
  readonly connections?: number | undefined;
  /** Processes of the hub (`ssehub serve --workers N`). @default 1 */
  readonly workers?: number | undefined;
  /**
   * Kernel bytes each connection may hold in its send buffer during a burst of events, counted
   * against `net.ipv4.tcp_mem`. @default 4096
   */
  readonly socketBufferBytes?: number | undefined;
}

/** A checked target with what follows from it. */
export interface DoctorTarget {
  readonly connections: number;
  readonly workers: number;
  readonly socketBufferBytes: number;
  /** Connections each process holds: connections / workers, rounded up. */
  readonly connectionsPerProcess: number;
  /** Open files each process needs: its connections, the margin and FD_BASE. */
  readonly filesPerProcess: number;
}

/** Open files one process needs to hold `connections`. */
export function filesFor(connections: number): number {
  return Math.ceil(connections * (1 + FD_MARGIN_RATIO)) + FD_BASE;
}

/** Connections one process can hold under an open-files limit (filesFor's inverse). */
export function connectionsUnder(filesLimit: number): number {
  return Math.max(0, Math.floor((filesLimit - FD_BASE) / (1 + FD_MARGIN_RATIO)));
}

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new SsehubError(
      "SSEHUB_ERR_OPTIONS_INVALID",
      `Cannot check a host for --${name} ${value}: give a whole number of at least 1`,
    );
  }
  return value;
}

/** Checks `input` and derives what each process needs. Throws SSEHUB_ERR_OPTIONS_INVALID. */
export function resolveDoctorTarget(input: DoctorTargetInput = {}): DoctorTarget {
  const connections = positiveInteger("connections", input.connections, 10_000);
  const workers = positiveInteger("workers", input.workers, 1);
  const socketBufferBytes = positiveInteger("socket-buffer-bytes", input.socketBufferBytes, 4096);
  if (workers > connections) {
    throw new SsehubError(
      "SSEHUB_ERR_OPTIONS_INVALID",
      `Cannot spread ${connections} connections over --workers ${workers}: give fewer workers than connections`,
    );
  }
  const connectionsPerProcess = Math.ceil(connections / workers);
  return {
    connections,
    workers,
    socketBufferBytes,
    connectionsPerProcess,
    filesPerProcess: filesFor(connectionsPerProcess),
  };
}
