/**
 * `ssehub serve --workers 2`: one scrape of /metrics sees the whole hub, whichever worker
 * answers it: totals count the streams of both workers, and per-process figures come once per
 * worker.
 */
import assert from "node:assert/strict";
import http from "node:http";
import { describe, it } from "node:test";
import { listeningUrl, logLine, ssehub } from "../helpers/ssehub-process.js";

/** GET on a new connection (so that the cluster hands it to the next worker). */
function get(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
      })
      .on("error", reject);
  });
}

/** Opens a stream on a new connection; resolves once its first bytes arrived. */
function openStream(url: string): Promise<http.ClientRequest> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { agent: false }, (res) => {
      res.once("data", () => resolve(request));
    });
    request.on("error", reject);
  });
}

function seriesValue(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe("/metrics of ssehub serve --workers 2", () => {
  it("counts every stream of every worker in one scrape, with per-worker series", async (t) => {
    const run = ssehub(t, ["serve", "--port", "0", "--workers", "2"]);
    const url = await listeningUrl(run);
    await logLine(run, (e) => e.msg?.includes("cluster of 2 workers") === true);

    // Open streams until both workers hold some, as each worker's own /admin/stats says.
    const streams: http.ClientRequest[] = [];
    t.after(() => {
      for (const stream of streams) stream.destroy();
    });
    const held = new Map<number, number>();
    while (held.size < 2 || [...held.values()].some((count) => count === 0)) {
      assert.ok(streams.length < 40, `streams stay on one worker: ${[...held]}`);
      streams.push(await openStream(`${url}/events/orders`));
      for (let i = 0; i < 4; i++) {
        const stats = JSON.parse(await get(`${url}/admin/stats`)) as {
          pid: number;
          hub: { subscribers: number };
        };
        held.set(stats.pid, stats.hub.subscribers);
      }
    }

    const text = await get(`${url}/metrics`);
    assert.equal(seriesValue(text, "ssehub_subscribers"), streams.length, text);
    assert.equal(seriesValue(text, "ssehub_subscriptions"), streams.length);
    assert.equal(seriesValue(text, "ssehub_workers"), 2);
    const workers = [...text.matchAll(/^ssehub_worker_info\{worker="(\d+)",pid="(\d+)"\} 1$/gm)];
    assert.deepEqual(
      workers.map((match) => Number(match[2])).sort(),
      [...held.keys()].sort(),
      "both workers answered, under their pids",
    );
    let socketStreams = 0;
    let connections = 0;
    for (const [, worker] of workers) {
      const streamsOfWorker = seriesValue(
        text,
        `ssehub_streams{transport="socket",worker="${worker}"}`,
      );
      assert.ok(streamsOfWorker !== undefined && streamsOfWorker > 0, `worker ${worker}: ${text}`);
      socketStreams += streamsOfWorker;
      connections += seriesValue(text, `ssehub_connections{worker="${worker}"}`) ?? 0;
      for (const series of [
        `ssehub_event_loop_utilization{worker="${worker}"}`,
        `ssehub_process_memory_bytes{kind="rss",worker="${worker}"}`,
        `process_resident_memory_bytes{worker="${worker}"}`,
      ]) {
        assert.ok(seriesValue(text, series) !== undefined, `${series} is missing`);
      }
    }
    assert.equal(socketStreams, streams.length);
    // Every stream, and the scrape itself.
    assert.ok(connections >= streams.length + 1, `${connections} connections`);

    run.child.kill("SIGTERM");
    assert.equal(await run.exited, 0, run.stderr.join("\n"));
  });
});
