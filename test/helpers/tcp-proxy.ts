/**
 * A TCP proxy on 127.0.0.1 for failure tests: it forwards every connection to a target port
 * until the test cuts it, which is how one hub node is partitioned from Redis while the others
 * keep it; with `delayMs` it also holds every chunk back for a while, which makes a node lag
 * behind the others. Closed after the test.
 * @module
 */
import net from "node:net";

interface TestContext {
  after(fn: () => unknown): void;
}

export interface TcpProxy {
  /** The proxy's own port on 127.0.0.1: point the client here instead of the target. */
  readonly port: number;
  /** True between cut() and restore(). */
  readonly isCut: boolean;
  /** Connections forwarded now. */
  readonly openConnections: number;
  /** Connections accepted and forwarded since the start (refused ones not counted). */
  readonly forwardedConnections: number;
  /**
   * Destroys every forwarded connection (both sides) and refuses new ones until restore():
   * each new connection is accepted and destroyed at once, before a byte passes.
   */
  cut(): void;
  /** Forwards new connections again. */
  restore(): void;
  /** Destroys every connection and stops listening. */
  close(): Promise<void>;
}

export interface TcpProxyOptions {
  /** Default 127.0.0.1. */
  readonly targetHost?: string;
  /** Latency added to every chunk, both ways, in ms; order is kept (default 0). */
  readonly delayMs?: number;
}

/** Starts a proxy from a free port of 127.0.0.1 to `targetHost:targetPort`. */
export async function startTcpProxy(
  t: TestContext,
  targetPort: number,
  options: TcpProxyOptions = {},
): Promise<TcpProxy> {
  const { targetHost = "127.0.0.1", delayMs = 0 } = options;
  const pairs = new Set<readonly [net.Socket, net.Socket]>();
  let isCut = false;
  let forwarded = 0;

  const server = net.createServer((client) => {
    if (isCut) {
      client.destroy();
      return;
    }
    forwarded++;
    const upstream = net.connect(targetPort, targetHost);
    const pair = [client, upstream] as const;
    pairs.add(pair);
    const drop = (): void => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    for (const socket of pair) {
      socket.setNoDelay(true);
      socket.once("error", drop);
      socket.once("close", drop);
    }
    if (delayMs > 0) {
      forwardLate(client, upstream, delayMs);
      forwardLate(upstream, client, delayMs);
    } else {
      client.pipe(upstream);
      upstream.pipe(client);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as net.AddressInfo;

  const destroyAll = (): void => {
    for (const [client, upstream] of pairs) {
      client.destroy();
      upstream.destroy();
    }
    pairs.clear();
  };
  let closed: Promise<void> | undefined;
  const proxy: TcpProxy = {
    port,
    get isCut() {
      return isCut;
    },
    get openConnections() {
      return pairs.size;
    },
    get forwardedConnections() {
      return forwarded;
    },
    cut() {
      isCut = true;
      destroyAll();
    },
    restore() {
      isCut = false;
    },
    close() {
      closed ??= new Promise<void>((resolve) => {
        isCut = true;
        server.close(() => resolve());
        destroyAll();
      });
      return closed;
    },
  };
  t.after(() => proxy.close());
  return proxy;
}

/**
 * Writes each chunk read from `from` to `to` `delayMs` after it arrived, in order. One timer per
 * direction; no back-pressure (test-sized traffic).
 */
function forwardLate(from: net.Socket, to: net.Socket, delayMs: number): void {
  const queue: { readonly due: number; readonly chunk: Buffer }[] = [];
  let timer: NodeJS.Timeout | undefined;
  const drain = (): void => {
    timer = undefined;
    const now = performance.now();
    while (queue.length > 0 && queue[0]!.due <= now) {
      if (!to.destroyed) to.write(queue.shift()!.chunk);
      else queue.length = 0;
    }
    if (queue.length > 0) timer = setTimeout(drain, queue[0]!.due - now);
  };
  from.on("data", (chunk: Buffer) => {
    queue.push({ due: performance.now() + delayMs, chunk });
    timer ??= setTimeout(drain, delayMs);
  });
  from.once("close", () => {
    queue.length = 0;
    if (timer !== undefined) clearTimeout(timer);
  });
}
