/**
 * `ssehub bench` against a port where nothing listens stops right after its connect phase with
 * one clear error (it does not publish or hold for the whole --duration or --hold), and a
 * memory figure that fell below its baseline is never reported as a negative size.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import net from "node:net";
import { describe, test } from "node:test";
import { runBench } from "../../src/loadgen/bench.js";
import { type KernelSample, kernelSummary } from "../../src/loadgen/kernel-memory.js";
import { perConnectionBytes, perConnectionText } from "../../src/loadgen/per-connection.js";
import { MAIN } from "../helpers/ssehub-process.js";

/** A loopback port that was just free: bound, then released, so connects to it are refused. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A duration no test would wait for: the run ends only if it stops early. */
const HOUR_SECONDS = 3600;

describe("ssehub bench against a closed port", () => {
  test("runBench() rejects with SSEHUB_ERR_BENCH_UNREACHABLE after the connect phase, not after --duration", async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    await assert.rejects(
      runBench({
        scenario: "fanout",
        url,
        subscribers: 4,
        rate: 10,
        durationSeconds: HOUR_SECONDS,
      }),
      (error: Error & { code?: string }) => {
        assert.equal(error.code, "SSEHUB_ERR_BENCH_UNREACHABLE");
        assert.equal(
          error.message,
          `Cannot bench ${url}: no subscriber could connect (4 of 4 failed: ECONNREFUSED 4, nothing listens there): start the server, or check --url`,
        );
        return true;
      },
    );
  });

  test("ssehub bench idle exits 1 with one error line instead of holding for --hold", async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const child = spawn(
      process.execPath,
      [MAIN, "bench", "idle", "--url", url, "--subscribers", "3", "--hold", String(HOUR_SECONDS)],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const [code] = await once(child, "close");
    assert.equal(code, 1);
    assert.equal(stdout, "");
    assert.equal(
      stderr,
      `ssehub: SSEHUB_ERR_BENCH_UNREACHABLE: Cannot bench ${url}: no subscriber could connect (3 of 3 failed: ECONNREFUSED 3, nothing listens there): start the server, or check --url\n`,
    );
  });
});

describe("memory per connection", () => {
  const sample = (bytes: number): KernelSample => ({
    slabBytes: bytes,
    slabUnreclaimableBytes: bytes,
    tcpBufferBytes: bytes,
    tcpSockets: 0,
    tcpTimeWait: 0,
  });

  test("a figure that fell below its baseline is not meaningful (null), never negative", () => {
    assert.equal(perConnectionBytes(12_000, 2_000, 10), 1000);
    assert.equal(perConnectionBytes(1_000, 2_000, 10), null);
    assert.equal(perConnectionBytes(3_000, 2_000, 0), null);
    const shrunk = kernelSummary(sample(2_000_000), sample(1_000_000), 100);
    assert.equal(shrunk.slabPerConnectionBytes, null);
    assert.equal(shrunk.tcpBufferPerConnectionBytes, null);
    const grown = kernelSummary(sample(1_000_000), sample(2_000_000), 100);
    assert.equal(grown.slabPerConnectionBytes, 10_000);
  });

  test("the text report says why a per-connection figure is missing", () => {
    const kib = (bytes: number): string => `${bytes / 1024} KiB`;
    assert.equal(perConnectionText(2048, 10, kib), "2 KiB per connection");
    assert.equal(
      perConnectionText(null, 10, kib),
      "per connection not meaningful (below its baseline)",
    );
    assert.equal(perConnectionText(null, 0, kib), "");
  });
});
