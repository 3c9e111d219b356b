/**
 * The kernel's TCP settings that a hub of many long-lived connections meets: the accept queue
 * during reconnect storms, ephemeral ports of whatever connects to it from one address, TCP
 * memory, connection tracking, and how long a dead client keeps its socket.
 * @module
 */
import { bytes, count, counted, type DoctorCheck, sysctlFix, unreadable } from "./check.js";
import { roundUpThousands } from "./checks-open-files.js";
import type { DoctorTarget } from "./doctor-target.js";
import type { HostFacts } from "./host-facts.js";

/** The backlog Node passes to listen() when none is given, as ssehub does. */
export const NODE_LISTEN_BACKLOG = 511;

/**
 * Connections one process accepts per second: 7,000 measured on loopback with the load tool on
 * the same 2 cores (docs/BENCHMARKS.md, "idle", ssehub 1 process: 6,991 connects/s).
 */
export const ACCEPTS_PER_SECOND = 7_000;

/** ssehub's default spread of reconnects after a graceful stop (shutdownRetryJitterMs). */
export const DEFAULT_RETRY_JITTER_MS = 5_000;

/** The ephemeral range doctor proposes: leaves the ports below 10000 to listeners. */
export const WIDE_PORT_RANGE: readonly [number, number] = [10_000, 65_535];

/** tcp_retries2 above this keeps a dead client's socket for minutes (8: about 100 s). */
export const MAX_TCP_RETRIES2 = 8;

function somaxconnCheck(facts: HostFacts): DoctorCheck {
  const id = "net.core.somaxconn";
  const title = "cap of every listen backlog";
  if (facts.somaxconn === undefined) return unreadable(id, title, "/proc/sys/net/core/somaxconn");
  const base = { id, title, found: count(facts.somaxconn), needs: `>= ${NODE_LISTEN_BACKLOG}` };
  if (facts.somaxconn >= NODE_LISTEN_BACKLOG) return { ...base, status: "pass", note: "", fix: [] };
  return {
    ...base,
    status: "warn",
    note: `The kernel cuts Node's backlog of ${NODE_LISTEN_BACKLOG} to ${facts.somaxconn}: in a reconnect storm, connections past it are dropped and the clients wait 1 s, then 3 s, to try again.`,
    fix: sysctlFix(id, 4096),
  };
}

function backlogCheck(facts: HostFacts, target: DoctorTarget): DoctorCheck {
  const effective = Math.min(NODE_LISTEN_BACKLOG, facts.somaxconn ?? NODE_LISTEN_BACKLOG);
  const stormSeconds = target.connectionsPerProcess / ACCEPTS_PER_SECOND;
  const base = {
    id: "listen.backlog",
    title: "listen backlog of the hub (Node's default)",
    found: count(effective),
    needs: `spread >= ${stormSeconds.toFixed(1)} s`,
  };
  const why = `After a restart, each process takes back ${count(target.connectionsPerProcess)} connections at about ${count(ACCEPTS_PER_SECOND)} per second, so about ${stormSeconds.toFixed(1)} s; the backlog of ${effective} holds only what arrives faster.`;
  if (stormSeconds * 1000 <= DEFAULT_RETRY_JITTER_MS) {
    return {
      ...base,
      status: "pass",
      note: `${why} The default spread of reconnects, ${DEFAULT_RETRY_JITTER_MS / 1000} s (shutdownRetryJitterMs), covers it.`,
      fix: [],
    };
  }
  const jitterMs = Math.ceil(stormSeconds) * 1000;
  return {
    ...base,
    status: "warn",
    note: `${why} Spread the reconnects after a graceful stop over that time, or run more workers; past the backlog, clients retry after 1 s, 3 s, 7 s.`,
    fix: [`ssehub serve --shutdown-retry-jitter-ms ${jitterMs}`],
  };
}

function synBacklogCheck(facts: HostFacts): DoctorCheck {
  const id = "net.ipv4.tcp_max_syn_backlog";
  const title = "half-open connections kept per listener";
  const value = facts.tcpMaxSynBacklog;
  if (value === undefined) return unreadable(id, title, `/proc/sys/${id.replaceAll(".", "/")}`);
  const base = { id, title, found: count(value), needs: `>= ${NODE_LISTEN_BACKLOG}` };
  if (value >= NODE_LISTEN_BACKLOG) return { ...base, status: "pass", note: "", fix: [] };
  return {
    ...base,
    status: "warn",
    note: "A SYN queue shorter than the accept backlog drops handshakes first in a reconnect storm (or answers them with SYN cookies).",
    fix: sysctlFix(id, 4096),
  };
}

function portRangeCheck(facts: HostFacts, target: DoctorTarget): DoctorCheck {
  const id = "net.ipv4.ip_local_port_range";
  const title = "ephemeral ports of one source address";
  const range = facts.ephemeralPorts;
  if (range === undefined) return unreadable(id, title, `/proc/sys/${id.replaceAll(".", "/")}`);
  const size = range[1] - range[0] + 1;
  const wide = WIDE_PORT_RANGE[1] - WIDE_PORT_RANGE[0] + 1;
  const needed = Math.min(target.connections, wide);
  const addresses = Math.ceil(target.connections / size);
  const base = {
    id,
    title,
    found: `${range[0]}-${range[1]} (${count(size)} ports)`,
    needs: `>= ${count(needed)} ports`,
  };
  const why = `One source address reaches at most ${count(size)} connections to one address and port: a load tool or a proxy in front of the hub needs ${counted(addresses, "source address", "source addresses")} for ${count(target.connections)} connections (ssehub bench --source-addresses ${count(addresses)}; several upstream addresses for a proxy). Clients from many addresses are not limited.`;
  if (size >= needed) return { ...base, status: "pass", note: why, fix: [] };
  return {
    ...base,
    status: "warn",
    note: `${why} Widen the range, and list listening ports above 10000 in net.ipv4.ip_local_reserved_ports.`,
    fix: sysctlFix(id, WIDE_PORT_RANGE),
  };
}

function tcpMemCheck(facts: HostFacts, target: DoctorTarget): DoctorCheck {
  const id = "net.ipv4.tcp_mem";
  const title = "TCP buffer memory of the system, in pages";
  const mem = facts.tcpMemPages;
  if (mem === undefined) return unreadable(id, title, `/proc/sys/${id.replaceAll(".", "/")}`);
  const neededPages = Math.ceil((target.connections * target.socketBufferBytes) / facts.pageBytes);
  const base = {
    id,
    title,
    found: `${mem.join(" ")} (pressure at ${bytes(mem[1] * facts.pageBytes)})`,
    needs: `pressure >= ${count(neededPages)}`,
  };
  const why = `A burst of events leaves up to ${bytes(target.socketBufferBytes)} (--socket-buffer-bytes) in each socket's send buffer: ${count(target.connections)} connections hold ${bytes(neededPages * facts.pageBytes)}. Past the pressure mark the kernel shrinks every buffer; past the high mark it refuses to buffer and writes stall.`;
  if (neededPages <= mem[1]) return { ...base, status: "pass", note: why, fix: [] };
  const raised = [
    Math.max(mem[0], neededPages),
    Math.max(mem[1], Math.ceil(neededPages * 1.25)),
    Math.max(mem[2], Math.ceil(neededPages * 1.5)),
  ];
  return {
    ...base,
    status: neededPages <= mem[2] ? "warn" : "fail",
    note: why,
    fix: sysctlFix(id, raised),
  };
}

function tcpWmemCheck(facts: HostFacts, target: DoctorTarget): DoctorCheck {
  const id = "net.ipv4.tcp_wmem";
  const title = "send buffer of a socket: min, default, max";
  const wmem = facts.tcpWmem;
  if (wmem === undefined) return unreadable(id, title, `/proc/sys/${id.replaceAll(".", "/")}`);
  const filled = wmem[1] * target.connections;
  const budget = (facts.memAvailableBytes ?? Number.POSITIVE_INFINITY) / 2;
  const base = {
    id,
    title,
    found: wmem.join(" "),
    needs: `default x connections <= ${bytes(budget)}`,
  };
  const why = `A subscriber that stops reading fills its send buffer (${bytes(wmem[1])} by default, autotuned up to ${bytes(wmem[2])}) before the hub's own queue (maxQueueBytes) sees it; every connection filling its default buffer takes ${bytes(filled)}.`;
  if (filled <= budget) return { ...base, status: "pass", note: why, fix: [] };
  const fitting = Math.max(4096, Math.floor(budget / target.connections / 4096) * 4096);
  return {
    ...base,
    status: "warn",
    note: `${why} That is over half the memory available: lower the default.`,
    fix: sysctlFix(id, [wmem[0], fitting, wmem[2]]),
  };
}

function tcpRmemCheck(facts: HostFacts): DoctorCheck {
  const id = "net.ipv4.tcp_rmem";
  const title = "receive buffer of a socket: min, default, max";
  const rmem = facts.tcpRmem;
  if (rmem === undefined) return unreadable(id, title, `/proc/sys/${id.replaceAll(".", "/")}`);
  return {
    id,
    title,
    found: rmem.join(" "),
    needs: "-",
    status: "pass",
    note: "Subscribers send one request and then nothing, so their receive buffers stay empty; only publishers' bodies pass through them.",
    fix: [],
  };
}

function conntrackCheck(facts: HostFacts, target: DoctorTarget): DoctorCheck {
  const id = "net.netfilter.nf_conntrack_max";
  const title = "connections the firewall can track";
  const max = facts.conntrackMax;
  if (max === undefined) {
    return {
      id,
      title,
      found: "module not loaded",
      needs: "-",
      status: "pass",
      note: "Without nf_conntrack the kernel tracks no connection, so there is no table to fill.",
      fix: [],
    };
  }
  const inUse = facts.conntrackCount ?? 0;
  const needed = Math.ceil(target.connections * 1.1) + inUse;
  const base = { id, title, found: count(max), needs: `>= ${count(needed)}` };
  const why = `Each connection takes an entry (${count(inUse)} in use now); when the table is full the kernel drops new connections ("nf_conntrack: table full, dropping packet" in dmesg).`;
  if (max >= needed) return { ...base, status: "pass", note: why, fix: [] };
  return { ...base, status: "fail", note: why, fix: sysctlFix(id, roundUpThousands(needed)) };
}

function keepaliveCheck(facts: HostFacts): DoctorCheck {
  const id = "net.ipv4.tcp_keepalive_time";
  const title = "TCP keepalive: idle time, interval, probes";
  const time = facts.keepaliveTimeSeconds;
  const interval = facts.keepaliveIntervalSeconds;
  const probes = facts.keepaliveProbes;
  if (time === undefined || interval === undefined || probes === undefined) {
    return unreadable(id, title, "/proc/sys/net/ipv4/tcp_keepalive_*");
  }
  return {
    id,
    title,
    found: `${time} s, ${interval} s x ${probes}`,
    needs: "-",
    status: "pass",
    note: `Keepalive probes a socket only when nothing is in flight, and only where SO_KEEPALIVE is set: such a socket to a dead client is found after ${count(time + interval * probes)} s. ssehub does not rely on it: its heartbeat comments (heartbeatMs, 15 s) keep data in flight, so a dead client is found by TCP retransmission (net.ipv4.tcp_retries2).`,
    fix: [],
  };
}

/** Seconds TCP retransmits before it gives up, for tcp_retries2 (RTO from 200 ms doubling to 120 s). */
export function retransmitSeconds(retries: number): number {
  let total = 0;
  let timeout = 0.2;
  for (let attempt = 0; attempt <= retries; attempt++) {
    total += timeout;
    timeout = Math.min(timeout * 2, 120);
  }
  return total;
}

function retriesCheck(facts: HostFacts): DoctorCheck {
  const id = "net.ipv4.tcp_retries2";
  const title = "retransmissions before a dead peer is dropped";
  const retries = facts.tcpRetries2;
  if (retries === undefined) return unreadable(id, title, `/proc/sys/${id.replaceAll(".", "/")}`);
  const base = {
    id,
    title,
    found: `${retries} (about ${count(retransmitSeconds(retries))} s)`,
    needs: `<= ${MAX_TCP_RETRIES2}`,
  };
  const why =
    "A client that vanished without a FIN or RST (a phone that lost its network) keeps its socket, file descriptor and buffered events until TCP gives up retransmitting the heartbeat.";
  if (retries <= MAX_TCP_RETRIES2) return { ...base, status: "pass", note: why, fix: [] };
  return {
    ...base,
    status: "warn",
    note: `${why} Fewer retries free them in about ${count(retransmitSeconds(MAX_TCP_RETRIES2))} s; this applies to every TCP connection of the host.`,
    fix: sysctlFix(id, MAX_TCP_RETRIES2),
  };
}

/** The TCP checks, from accepting a connection to dropping a dead one. */
export function networkChecks(facts: HostFacts, target: DoctorTarget): DoctorCheck[] {
  return [
    somaxconnCheck(facts),
    backlogCheck(facts, target),
    synBacklogCheck(facts),
    portRangeCheck(facts, target),
    tcpMemCheck(facts, target),
    tcpWmemCheck(facts, target),
    tcpRmemCheck(facts),
    conntrackCheck(facts, target),
    keepaliveCheck(facts),
    retriesCheck(facts),
  ];
}
