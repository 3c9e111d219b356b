/**
 * A stream held by its TCP handle alone: once a socket is taken over from node:http (see
 * socket-takeover.ts), the hub can let go of the `net.Socket` too and write to the libuv handle
 * under it, the way node:net itself does (lib/internal/stream_base_commons.js).
 *
 * Why: an idle `net.Socket` is about 1 KiB of V8 heap of its own (the socket, its readable and
 * writable states, its listener table, the `onwrite` function every Writable binds), for a
 * stream that only ever writes bytes the hub encoded and reads nothing. The TCP handle object
 * and its native part stay (they are the connection); everything above them goes.
 *
 * ```
 * taken-over stream:  hub -> SocketSink -> net.Socket (+ states, listeners) -> TCP handle -> fd
 * handle stream:      hub -> TcpHandleStream ------------------------------> TCP handle -> fd
 * ```
 *
 * What it does in place of node:net: writes a Buffer or string with the handle's `writeBuffer`
 * / `writeUtf8String` and a `WriteWrap` (kept until libuv is done when the write went async);
 * counts the bytes libuv still holds (`writeQueueSize`) as the sink's backlog; reads and drops
 * what the peer sends, and closes on end or error; ends gracefully with a `ShutdownWrap` (FIN
 * once the queued bytes are out) then closes; and counts the connection out of its
 * `net.Server` (`_connections`), as a socket's destroy does, so that `getConnections()` and
 * `server.close()` stay right.
 *
 * These are Node internals (`process.binding('stream_wrap')`, allowed and not deprecated at
 * run time on Node 20 and 24, and the handle's methods), so everything is checked once per
 * process, and per socket before anything changes; when a check fails the stream stays on its
 * `net.Socket` (SocketSink) and the fallback is reported on INTERNALS_FALLBACK_CHANNEL (feature
 * `tcp-handle`).
 * @module
 */
import type { Server, Socket } from "node:net";
import type { Sink } from "../../hub/sink.js";
import { reportInternalsFallback } from "./internals-fallback.js";

/**
 * Set to `off` (or `0`, `false`, `no`) to keep taken-over streams on their `net.Socket`: for
 * comparisons (bench/scenarios/idle-footprint.ts) and tests. Read at each stream.
 */
export const TCP_HANDLE_STREAM_ENV = "SSEHUB_TCP_HANDLE_STREAM";

/** Why a taken-over stream keeps its `net.Socket`. */
export type HandleStreamFallbackReason = "disabled" | "unsupported" | "handle";

/** A libuv request object of node's stream_wrap binding (WriteWrap, ShutdownWrap). */
interface ReqWrap {
  handle: TcpHandle;
  oncomplete: (this: ReqWrap, status: number) => void;
  /** The stream that sent it. */
  stream?: TcpHandleStream;
  /** The Buffer of an async write, kept alive until libuv is done with it. */
  buffer?: Buffer | undefined;
  bytes?: number;
}

/** What the takeover uses of node's stream_wrap binding. */
interface StreamWrapBinding {
  WriteWrap: new () => ReqWrap;
  ShutdownWrap: new () => ReqWrap;
  streamBaseState: Int32Array;
  kReadBytesOrError: number;
  kLastWriteWasAsync: number;
}

/** A libuv TCP handle (node's tcp_wrap `TCP`) as a stream. */
interface TcpHandle {
  onread: (this: TcpHandle, buffer?: ArrayBuffer) => unknown;
  readonly writeQueueSize: number;
  readonly bytesWritten: number;
  writeBuffer(req: ReqWrap, data: Buffer): number;
  writeUtf8String(req: ReqWrap, data: string): number;
  readStart(): number;
  shutdown(req: ReqWrap): number;
  close(callback: () => void): void;
  [key: symbol]: unknown;
}

/** The socket fields node:net sets that the handover reads and clears. */
interface NetSocket extends Socket {
  _handle: TcpHandle | null;
  _server: Server | null;
  server?: Server | null;
  _pendingData?: unknown;
}

/** The net.Server fields a closing connection updates (lib/net.js `_destroy`). */
interface CountingServer extends Server {
  _connections: number;
  _emitCloseIfDrained?: () => void;
}

/** node:net's binding when this Node has everything used here, else undefined. */
function detectBinding(): StreamWrapBinding | undefined {
  try {
    const binding = (
      process as unknown as { binding?: (name: string) => Partial<StreamWrapBinding> }
    ).binding?.("stream_wrap");
    if (
      binding === undefined ||
      typeof binding.WriteWrap !== "function" ||
      typeof binding.ShutdownWrap !== "function" ||
      !(binding.streamBaseState instanceof Int32Array) ||
      typeof binding.kReadBytesOrError !== "number" ||
      typeof binding.kLastWriteWasAsync !== "number"
    ) {
      return undefined;
    }
    return binding as StreamWrapBinding;
  } catch {
    // A Node without process.binding or this binding: sockets it is.
    return undefined;
  }
}

const binding = detectBinding();
const HANDLE_METHODS = ["writeBuffer", "writeUtf8String", "readStart", "shutdown", "close"];

/** True when this Node offers what handle streams use (checked once, at load). */
export const tcpHandleStreamSupported: boolean = binding !== undefined;

/** False when TCP_HANDLE_STREAM_ENV turns handle streams off. */
function isEnabled(): boolean {
  const value = process.env[TCP_HANDLE_STREAM_ENV];
  return value === undefined || !/^(?:off|0|false|no)$/i.test(value.trim());
}

/** node:net's `owner_symbol`, found on the first handle adopted. */
let ownerSymbol: symbol | undefined;

/** The symbol under which node:net links a handle to its socket (`owner_symbol`). */
function ownerSymbolOf(handle: TcpHandle): symbol | undefined {
  ownerSymbol ??= Object.getOwnPropertySymbols(handle).find(
    (symbol) => symbol.description === "owner_symbol",
  );
  return ownerSymbol;
}

/** The handle of `socket` when it has everything a handle stream uses, else undefined. */
function usableHandle(socket: NetSocket): TcpHandle | undefined {
  const handle = socket._handle;
  if (handle === null || handle === undefined || handle.constructor?.name !== "TCP") {
    return undefined;
  }
  const methods = handle as unknown as Record<string, unknown>;
  if (!HANDLE_METHODS.every((name) => typeof methods[name] === "function")) return undefined;
  if (typeof handle.writeQueueSize !== "number" || !("onread" in handle)) return undefined;
  return handle;
}

/**
 * Moves the taken-over `socket` onto a TcpHandleStream, or returns why not and changes nothing
 * (the stream then goes on over the socket). Call it before anything is written to the
 * socket: node:net must hold no byte of it. Afterwards the socket object is inert (no handle,
 * no server) and garbage once the caller drops it; the handle reads on, into the new stream.
 */
export function adoptTcpHandle(socket: Socket): TcpHandleStream | HandleStreamFallbackReason {
  if (!isEnabled()) return "disabled";
  if (binding === undefined) {
    reportInternalsFallback("tcp-handle", "node's stream_wrap binding missing");
    return "unsupported";
  }
  const netSocket = socket as NetSocket;
  const handle = usableHandle(netSocket);
  const owner = handle === undefined ? undefined : ownerSymbolOf(handle);
  const server = netSocket._server ?? null;
  if (
    handle === undefined ||
    owner === undefined ||
    handle[owner] !== socket ||
    server === null ||
    typeof (server as CountingServer)._connections !== "number" ||
    socket.destroyed ||
    socket.writableLength !== 0 ||
    netSocket._pendingData != null ||
    socket.connecting
  ) {
    reportInternalsFallback("tcp-handle", "the socket's TCP handle is not as expected");
    return "handle";
  }
  const stream = new TcpHandleStream(handle, server as CountingServer);
  handle[owner] = stream;
  handle.onread = onHandleRead;
  // The socket lets go: a stray destroy() of it no longer closes the handle or counts the
  // connection out of the server a second time.
  netSocket._handle = null;
  netSocket._server = null;
  // Reading goes on (the takeover resumed the socket); start it in case it was paused.
  handle.readStart();
  return stream;
}

/** The owner of a handle, set by adoptTcpHandle under node:net's owner symbol. */
function streamOf(handle: TcpHandle): TcpHandleStream | undefined {
  const stream = ownerSymbol === undefined ? undefined : handle[ownerSymbol];
  return stream instanceof TcpHandleStream ? stream : undefined;
}

/**
 * Bytes from the peer: dropped, as a taken-over socket drops them; the end of the stream or an
 * error closes it. One function for every handle (node calls it with the handle as `this`).
 */
function onHandleRead(this: TcpHandle): void {
  const nread = binding!.streamBaseState[binding!.kReadBytesOrError] ?? 0;
  if (nread >= 0) return;
  streamOf(this)?.destroy();
}

/** Reads after close: nothing to do. */
function ignoreRead(): void {}

/** An async write is done (its bytes left the backlog), or failed: then close. */
function onWriteComplete(this: ReqWrap, status: number): void {
  this.buffer = undefined;
  if (status < 0) this.stream?.destroy();
}

/** The FIN left after the queued bytes: close. */
function onShutdownComplete(this: ReqWrap): void {
  this.stream?.destroy();
}

/** Who is told when a handle stream closes (the takeover's tracker, the access log). */
type CloseListener = (this: TcpHandleStream) => void;

/**
 * The hub's Sink over a bare TCP handle (see the module comment). Also offers the few socket
 * members the stream route uses: `cork`/`uncork` (the head and the first bytes leave in one
 * write), `on`/`once("close")`, `bytesWritten` and `server`.
 *
 * Per-connection object: a handful of fields and no closure; its listeners array exists only
 * while someone listens beyond the tracker.
 */
export class TcpHandleStream implements Sink {
  readonly #handle: TcpHandle;
  /** The server that accepted the connection: it counts the connection until close. */
  readonly server: Server;
  #listeners: CloseListener | CloseListener[] | undefined;
  /** Chunks written while corked, joined into one write at uncork. */
  #corked: (Buffer | string)[] | undefined;
  /** 0 open, 1 ending (FIN once queued bytes are out), 2 closing or closed. */
  #state = 0;
  #bytesWritten = 0;

  constructor(handle: TcpHandle, server: Server) {
    this.#handle = handle;
    this.server = server;
  }

  /** True once `close`/`destroy` ran or the peer went away. */
  get isClosed(): boolean {
    return this.#state !== 0;
  }

  /** Same as isClosed, named as on a socket. */
  get destroyed(): boolean {
    return this.#state === 2;
  }

  /** Bytes written but not yet handed to the kernel. */
  get queuedBytes(): number {
    if (this.#state === 2) return 0;
    let corked = 0;
    if (this.#corked !== undefined) {
      for (const chunk of this.#corked) corked += Buffer.byteLength(chunk);
    }
    return this.#handle.writeQueueSize + corked;
  }

  /** Bytes handed to the handle so far. */
  get bytesWritten(): number {
    return this.#bytesWritten;
  }

  /** Holds the next writes until uncork(), which sends them in one write. */
  cork(): void {
    this.#corked ??= [];
  }

  uncork(): void {
    const chunks = this.#corked;
    if (chunks === undefined) return;
    this.#corked = undefined;
    if (chunks.length === 0) return;
    this.write(
      chunks.length === 1
        ? chunks[0]!
        : Buffer.concat(
            chunks.map((chunk) => (typeof chunk === "string" ? Buffer.from(chunk) : chunk)),
          ),
    );
  }

  /** Queues bytes; does nothing once closed. A failed write closes the stream. */
  write(chunk: Buffer | string): void {
    if (this.#state !== 0) return;
    if (this.#corked !== undefined) {
      this.#corked.push(chunk);
      return;
    }

    const wrap = binding!;
    const req = new wrap.WriteWrap();
    req.handle = this.#handle;
    req.oncomplete = onWriteComplete;
    req.stream = this;
    const error =
      typeof chunk === "string"
        ? this.#handle.writeUtf8String(req, chunk)
        : this.#handle.writeBuffer(req, chunk);
    if (error !== 0) {
      this.destroy();
      return;
    }
    this.#bytesWritten += typeof chunk === "string" ? Buffer.byteLength(chunk) : chunk.length;
    // libuv writes what the kernel takes at once; the rest stays in the Buffer until done.
    if (wrap.streamBaseState[wrap.kLastWriteWasAsync] !== 0 && typeof chunk !== "string") {
      req.buffer = chunk;
    }
  }

  /**
   * Ends the stream once the queued bytes have left (a FIN after them), then closes. A peer
   * that never takes them keeps the stream until `destroy()` (the server's
   * `closeAllConnections()`, see socket-takeover.ts).
   */
  close(): void {
    if (this.#state !== 0) return;
    this.uncork();
    this.#state = 1;

    const req = new binding!.ShutdownWrap();
    req.handle = this.#handle;
    req.oncomplete = onShutdownComplete;
    req.stream = this;
    if (this.#handle.shutdown(req) !== 0) this.destroy();
  }

  /** Ends the stream now, discarding queued bytes. */
  destroy(): void {
    if (this.#state === 2) return;
    this.#state = 2;
    this.#corked = undefined;
    // A function, never null: node's accessor asserts it (lib/net.js sets a noop too).
    this.#handle.onread = ignoreRead;
    this.#handle.close(() => this.#closed());
  }

  /** Calls `listener` (with the stream as `this`) when the stream has closed. */
  on(event: "close", listener: CloseListener): this {
    if (event !== "close") return this;
    const current = this.#listeners;
    if (current === undefined) this.#listeners = listener;
    else if (typeof current === "function") this.#listeners = [current, listener];
    else current.push(listener);
    return this;
  }

  /** The same as on(): the stream closes once. */
  once(event: "close", listener: CloseListener): this {
    return this.on(event, listener);
  }

  /** Forgets a listener given to on(). */
  removeListener(event: "close", listener: CloseListener): this {
    const current = this.#listeners;
    if (event !== "close" || current === undefined) return this;
    if (current === listener) this.#listeners = undefined;
    else if (typeof current !== "function") {
      const index = current.indexOf(listener);
      if (index !== -1) current.splice(index, 1);
    }
    return this;
  }

  /** The handle closed: count the connection out of the server, tell the listeners. */
  #closed(): void {
    const server = this.server as CountingServer;
    server._connections--;
    server._emitCloseIfDrained?.();
    const listeners = this.#listeners;
    this.#listeners = undefined;
    if (typeof listeners === "function") listeners.call(this);
    else if (listeners !== undefined) for (const listener of listeners) listener.call(this);
  }
}
