/**
 * Hub nodes as separate processes (`ssehub serve --redis <url>` on ports of their own), and the
 * plain JSON requests the behaviour tests send them: started, polled until ready, asked.
 */
import assert from "node:assert/strict";
import http from "node:http";
import type { TestContext } from "node:test";
import { listeningUrl, type Run, ssehub } from "./ssehub-process.js";
import { HUNG_AFTER_MS, waitFor } from "./wait-for.js";

/** One ssehub process. */
export interface HubNode {
  readonly name: string;
  /** http://127.0.0.1:<port> */
  readonly url: string;
  readonly run: Run;
}

/** An answer, its body read as JSON (`{ unparsed }` when it is not). */
export interface Answer {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly json: Record<string, unknown>;
}

/** The end of a node's output, for failure messages. */
export function tail(node: HubNode): string {
  return `${node.name} stderr: ${node.run.stderr.slice(-5).join(" | ")}; stdout: ${node.run.stdout
    .slice(-5)
    .join(" | ")}`;
}

/**
 * One request on a new connection; rejects when no answer came within `timeoutMs`, which only
 * stops a hung test.
 */
export function request(
  url: string,
  method: string,
  body?: unknown,
  timeoutMs = HUNG_AFTER_MS,
): Promise<Answer> {
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  return new Promise<Answer>((resolve, reject) => {
    const req = http.request(
      url,
      {
        method,
        agent: false,
        headers: payload ? { "content-type": "application/json" } : {},
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => {
          clearTimeout(timer);
          const text = Buffer.concat(chunks).toString("utf8");
          let json: Record<string, unknown>;
          try {
            json = text === "" ? {} : (JSON.parse(text) as Record<string, unknown>);
          } catch {
            json = { unparsed: text };
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, json });
        });
        res.on("error", reject);
      },
    );
    const timer = setTimeout(
      () => req.destroy(new Error(`${method} ${url} got no answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
    req.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    req.end(payload);
  });
}

/**
 * Polls `GET node.url + path` until it answers `status` and answers how long that took; fails
 * with the last answer only when the test is taken for hung.
 */
export async function waitForStatus(node: HubNode, path: string, status: number): Promise<number> {
  const started = Date.now();
  let last = "no answer";
  try {
    await waitFor(
      async () => {
        try {
          const answer = await request(`${node.url}${path}`, "GET");
          last = `${answer.status} ${JSON.stringify(answer.json)}`;
          return answer.status === status;
        } catch (error) {
          last = (error as Error).message;
          return false;
        }
      },
      `GET ${path} on ${node.name} to answer ${status}`,
      { intervalMs: 50 },
    );
  } catch (error) {
    assert.fail(`${(error as Error).message} (last: ${last}); ${tail(node)}`);
  }
  return Date.now() - started;
}

/**
 * Starts one node per Redis URL (`ssehub serve --redis <url>` on a port of its own, with a short
 * retry hint and `extraArgs`), named node A, B, ..., and waits until each is listening and ready.
 */
export async function startRedisNodes(
  t: TestContext,
  redisUrls: readonly string[],
  extraArgs: readonly string[] = [],
): Promise<HubNode[]> {
  const nodes = redisUrls.map((redisUrl, i) => {
    const run = ssehub(t, [
      "serve",
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      "--redis",
      redisUrl,
      "--retry-ms",
      "50",
      ...extraArgs,
    ]);
    return { name: `node ${String.fromCharCode(65 + i)}`, run };
  });
  const urls = await Promise.all(nodes.map(({ run }) => listeningUrl(run)));
  const started = nodes.map((node, i) => ({ ...node, url: urls[i]! }));
  await Promise.all(started.map((node) => waitForStatus(node, "/readyz", 200)));
  return started;
}
