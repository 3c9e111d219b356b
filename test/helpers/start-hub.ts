/**
 * Starts real hub servers on 127.0.0.1, port 0, silent, closed after the test.
 */
import http from "node:http";
import { connectRedisEngine } from "../../src/bus/redis-engine.js";
import {
  type CreateServerOptions,
  createServer,
  type SsehubServer,
} from "../../src/http/server.js";
import { HUNG_AFTER_MS } from "./wait-for.js";

export interface StartedHub {
  readonly server: SsehubServer;
  /** http://127.0.0.1:<port> */
  readonly url: string;
}

export async function startHub(
  t: { after(fn: () => unknown): void },
  options: CreateServerOptions = {},
): Promise<StartedHub> {
  const server = createServer({ host: "127.0.0.1", port: 0, logLevel: "silent", ...options });
  const { url } = await server.listen();
  t.after(() => server.close());
  return { server, url };
}

/**
 * Starts a real hub server on 127.0.0.1, port 0, silent, whose bus and history are Redis at
 * `redisUrl` under `prefix` (history 60 s deep, `historyMaxEvents` per topic); the server and
 * the engine are closed after the test.
 */
export async function startRedisHub(
  t: { after(fn: () => unknown): void },
  redisUrl: string,
  { prefix, historyMaxEvents }: { readonly prefix: string; readonly historyMaxEvents: number },
): Promise<StartedHub> {
  const engine = await connectRedisEngine({
    url: redisUrl,
    prefix,
    historyMaxEvents,
    historyMaxAgeMs: 60_000,
    logMaxEvents: 1000,
    connectTimeoutMs: HUNG_AFTER_MS, // only against a hung test
  });
  const server = createServer(
    { host: "127.0.0.1", port: 0, logLevel: "silent" },
    { bus: engine.bus, history: engine.history },
  );
  t.after(async () => {
    await server.close();
    await engine.close();
  });
  const { url } = await server.listen();
  return { server, url };
}

const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 8 });

/**
 * POSTs JSON to the hub and returns the status and parsed answer. The connection comes from a
 * keep-alive pool, unless `newConnection` (after the server dropped every connection, a pooled
 * socket may be dead before the pool has heard of it).
 */
export function postJson(
  url: string,
  body: unknown,
  { newConnection = false }: { readonly newConnection?: boolean } = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const payload = Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const request = http.request(
      url,
      {
        method: "POST",
        agent: newConnection ? false : keepAlive,
        headers: { "content-type": "application/json", "content-length": payload.length },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          resolve({ status: response.statusCode ?? 0, body: text ? JSON.parse(text) : {} });
        });
        response.on("error", reject);
      },
    );
    request.on("error", reject);
    request.end(payload);
  });
}
