#!/usr/bin/env node
// Measures what the kernel holds per idle TCP socket on this machine, outside any process's RSS:
// opens N loopback connections (2N sockets: both ends live in this process), lets each end send
// and read a few bytes the way an SSE handshake does, then compares the kernel's slab memory
// (/proc/meminfo Slab, and /proc/slabinfo per cache when readable) and TCP buffer pages
// (/proc/net/sockstat "mem") before and after. Prints one JSON object; docs/operations.md
// quotes its figure. Usage: node scripts/socket-kernel-cost.mjs [connections] (default: as many
// as the open-files limit allows, at most 9,000). Linux only; closes every socket it opened.
import { readFileSync } from "node:fs";
import { connect, createServer } from "node:net";

const PAGE_BYTES = 4096;

function meminfoKiB(field) {
  const line = readFileSync("/proc/meminfo", "utf8")
    .split("\n")
    .find((l) => l.startsWith(`${field}:`));
  return Number(line?.split(/\s+/)[1]);
}

/** Bytes held by each slab cache (num_objs x objsize), or undefined when slabinfo is unreadable. */
function slabBytes() {
  try {
    const caches = {};
    for (const line of readFileSync("/proc/slabinfo", "utf8").split("\n").slice(2)) {
      const [name, , numObjs, objSize] = line.split(/\s+/);
      if (name) caches[name] = Number(numObjs) * Number(objSize);
    }
    return caches;
  } catch {
    return undefined;
  }
}

function tcpMemPages() {
  const line = readFileSync("/proc/net/sockstat", "utf8")
    .split("\n")
    .find((l) => l.startsWith("TCP:"));
  return Number(/mem (\d+)/.exec(line ?? "")?.[1] ?? 0);
}

function snapshot() {
  return { slabKiB: meminfoKiB("Slab"), caches: slabBytes(), tcpPages: tcpMemPages() };
}

const softLimit = Number(
  /Max open files\s+(\d+)/.exec(readFileSync("/proc/self/limits", "utf8"))?.[1],
);
const connections = Number(process.argv[2] ?? Math.min(9_000, Math.floor((softLimit - 200) / 2)));
const server = createServer();
const accepted = [];
server.on("connection", (socket) => {
  accepted.push(socket);
  // What an SSE answer sends first: headers and a comment; the client reads them.
  socket.write("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n: ok\n\n");
  socket.on("data", () => {});
});
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const { port } = server.address();
await new Promise((resolve) => setTimeout(resolve, 500));
const before = snapshot();
const clients = [];
for (let opened = 0; opened < connections; opened += 500) {
  const batch = [];
  for (let i = opened; i < Math.min(connections, opened + 500); i++) {
    batch.push(
      new Promise((resolve, reject) => {
        const socket = connect(port, "127.0.0.1");
        clients.push(socket);
        socket.once("error", reject);
        socket.once("connect", () => socket.write("GET /events HTTP/1.1\r\nHost: x\r\n\r\n"));
        socket.once("data", resolve);
      }),
    );
  }
  await Promise.all(batch);
}
// Let the last ACKs land and the kernel settle.
await new Promise((resolve) => setTimeout(resolve, 1_000));
const after = snapshot();
const sockets = connections * 2;
const perCache = {};
if (before.caches && after.caches) {
  for (const [name, bytes] of Object.entries(after.caches)) {
    const delta = bytes - (before.caches[name] ?? 0);
    if (delta / sockets >= 16) perCache[name] = Math.round(delta / sockets);
  }
}
console.log(
  JSON.stringify(
    {
      connections,
      sockets,
      slabKiBPerSocket: Number(((after.slabKiB - before.slabKiB) / sockets).toFixed(2)),
      tcpBufferBytesPerSocket: Math.round(
        ((after.tcpPages - before.tcpPages) * PAGE_BYTES) / sockets,
      ),
      slabBytesPerSocketByCache: perCache,
      node: process.version,
    },
    null,
    2,
  ),
);
for (const socket of [...clients, ...accepted]) socket.destroy();
server.close();
