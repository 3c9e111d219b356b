/**
 * The test helper that runs a real redis-server: it answers on its own port, keeps its data
 * across a stop and a start, and is gone once stopped or killed.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { redisCommand, startRedis } from "./redis-server.js";
import { requireTools } from "./require-tool.js";

const skip = requireTools(["redis-server"]);

/** Resolves with the error of a connection to 127.0.0.1:port, or rejects if it connects. */
async function refused(port: number): Promise<string> {
  try {
    await redisCommand(port, ["PING"]);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code ?? (error as Error).message;
  }
  throw new Error(`Something still answers on port ${port}`);
}

describe("startRedis()", { skip }, () => {
  it("starts redis-server on a free loopback port, apart from any system Redis", async (t) => {
    const redis = await startRedis(t);
    assert.match(redis.url, /^redis:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(redis.url, `redis://127.0.0.1:${redis.port}`);
    assert.notEqual(redis.port, 6379, "never the port of a Redis installed as a service");
    assert.equal(redis.isRunning, true);
    assert.equal(typeof redis.pid, "number");
    assert.equal(await redisCommand(redis.port, ["PING"]), "PONG");
    assert.equal(await redisCommand(redis.port, ["DBSIZE"]), 0, "a fresh, empty Redis");
  });

  it("keeps its data across stop() and start() on the same port", async (t) => {
    const redis = await startRedis(t);
    const { port } = redis;
    assert.equal(await redisCommand(port, ["SET", "greeting", "hello"]), "OK");
    assert.equal(await redisCommand(port, ["INCR", "counter"]), 1);
    const firstPid = redis.pid;

    await redis.stop();
    assert.equal(redis.isRunning, false);
    assert.equal(redis.pid, undefined);
    assert.equal(await refused(port), "ECONNREFUSED");

    await redis.start();
    assert.equal(redis.port, port);
    assert.notEqual(redis.pid, firstPid, "a new process");
    assert.equal(await redisCommand(port, ["GET", "greeting"]), "hello");
    assert.equal(await redisCommand(port, ["INCR", "counter"]), 2);
  });

  it("keeps every acknowledged write across kill() (SIGKILL) and start()", async (t) => {
    const redis = await startRedis(t);
    for (let i = 1; i <= 50; i++) assert.equal(await redisCommand(redis.port, ["INCR", "n"]), i);
    await redis.kill();
    assert.equal(await refused(redis.port), "ECONNREFUSED");
    await redis.start();
    assert.equal(await redisCommand(redis.port, ["GET", "n"]), "50");
  });

  it("gives two Redis of one test two ports and two folders", async (t) => {
    const [a, b] = await Promise.all([startRedis(t), startRedis(t)]);
    assert.notEqual(a.port, b.port);
    assert.notEqual(a.dir, b.dir);
    await redisCommand(a.port, ["SET", "where", "a"]);
    assert.equal(await redisCommand(b.port, ["GET", "where"]), null);
  });
});
