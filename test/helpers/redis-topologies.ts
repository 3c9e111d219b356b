/**
 * Redis topologies for tests, built from the real servers of redis-server.ts: a Redis Cluster of
 * masters joined by `redis-cli --cluster create`, and a master (with replicas if asked) watched
 * by sentinels (`redis-server <conf> --sentinel`). Every process listens on 127.0.0.1 on a free
 * port, in a temporary folder of its own; all are killed by pid, and their folders removed,
 * after the test.
 *
 * Each helper returns once the topology is usable: every cluster node says `cluster_state:ok`;
 * every sentinel reports the master as `status=ok` with its replicas and the other sentinels.
 * @module
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { type RedisServer, redisCommand, startRedis } from "./redis-server.js";
import { findTool, requireTools } from "./require-tool.js";
import { HUNG_AFTER_MS } from "./wait-for.js";

const execFileAsync = promisify(execFile);

interface TestContext {
  after(fn: () => unknown): void;
}

/**
 * Longest wait for a topology to settle (cluster state, sentinel discovery), in ms: only
 * against a hung test, since a loaded machine may take long and that is no failure.
 */
const SETTLE_TIMEOUT_MS = HUNG_AFTER_MS;

/** Polls `check` every 50 ms until it returns true; fails with `what` and the last answer. */
async function waitFor(
  what: string,
  check: () => Promise<boolean | string>,
  timeoutMs = SETTLE_TIMEOUT_MS,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  for (;;) {
    try {
      const result = await check();
      if (result === true) return;
      last = String(result);
    } catch (error) {
      last = (error as Error).message;
    }
    if (Date.now() > deadline) {
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what} (last: ${last})`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A bulk-string reply (INFO, CLUSTER INFO) as text; fails on any other reply. */
async function textOf(port: number, args: readonly string[]): Promise<string> {
  const reply = await redisCommand(port, args);
  if (typeof reply !== "string") throw new Error(`${args.join(" ")} answered ${String(reply)}`);
  return reply;
}

/** The `field:value` lines of an INFO-like reply, as a map. */
function infoFields(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 1));
  }
  return fields;
}

/**
 * Waits until the replica on `replicaPort` holds every write the master on `masterPort` had
 * taken when called: its replication offset reaches the master's. (`WAIT` on a connection of
 * its own would not do: it waits only for that connection's writes.)
 */
export async function waitForReplicaToCatchUp(
  masterPort: number,
  replicaPort: number,
): Promise<void> {
  const masterInfo = infoFields(await textOf(masterPort, ["INFO", "replication"]));
  const target = Number(masterInfo.get("master_repl_offset"));
  await waitFor(`the replica on port ${replicaPort} to reach offset ${target}`, async () => {
    const info = infoFields(await textOf(replicaPort, ["INFO", "replication"]));
    const offset = Number(info.get("slave_repl_offset"));
    return offset >= target || `slave_repl_offset:${offset}`;
  });
}

export interface RedisClusterOptions {
  /** Masters, each owning an equal share of the 16384 slots (default 3, the fewest Redis
   * accepts). No replicas. */
  readonly masters?: number;
}

/** A Redis Cluster of a test. */
export interface RedisCluster {
  /** `redis+cluster://127.0.0.1:p1,127.0.0.1:p2,...`, what `ssehub serve --redis` takes. */
  readonly url: string;
  readonly ports: readonly number[];
  /** The pids of the nodes, in the order of `ports`. */
  readonly pids: readonly number[];
  readonly nodes: readonly RedisServer[];
}

/**
 * Starts `masters` cluster-enabled redis-servers (no persistence, the node table in their own
 * folder), joins them into one cluster with `redis-cli --cluster create`, and waits until every
 * node says `cluster_state:ok`.
 */
export async function startRedisCluster(
  t: TestContext,
  options: RedisClusterOptions = {},
): Promise<RedisCluster> {
  const masters = options.masters ?? 3;
  const cli = findTool("redis-cli");
  if (cli === undefined) {
    throw new Error(
      `Cannot start a Redis Cluster: ${requireTools(["redis-cli"]) || "redis-cli is not on PATH"}`,
    );
  }
  const nodes = await Promise.all(
    Array.from({ length: masters }, () =>
      startRedis(t, {
        args: [
          "--cluster-enabled",
          "yes",
          "--cluster-config-file",
          "nodes.conf", // in the node's own folder (its --dir)
          "--cluster-node-timeout",
          "5000",
          "--appendonly",
          "no",
          "--save",
          "",
        ],
      }),
    ),
  );
  const ports = nodes.map((node) => node.port);
  const addresses = ports.map((port) => `127.0.0.1:${port}`);
  try {
    await execFileAsync(
      cli,
      ["--cluster", "create", ...addresses, "--cluster-replicas", "0", "--cluster-yes"],
      { timeout: SETTLE_TIMEOUT_MS },
    );
  } catch (error) {
    const { stdout = "", stderr = "" } = error as { stdout?: string; stderr?: string };
    throw new Error(
      `redis-cli --cluster create ${addresses.join(" ")} failed: ${(error as Error).message} ` +
        `${stdout} ${stderr}`,
    );
  }
  for (const port of ports) {
    await waitFor(`cluster_state:ok on 127.0.0.1:${port}`, async () => {
      const state = infoFields(await textOf(port, ["CLUSTER", "INFO"])).get("cluster_state");
      return state === "ok" || `cluster_state:${state}`;
    });
  }
  return {
    url: `redis+cluster://${addresses.join(",")}`,
    ports,
    pids: nodes.map((node) => node.pid!),
    nodes,
  };
}

export interface RedisSentinelOptions {
  /** Sentinels watching the master (default 1); the quorum is 1 whatever their number. */
  readonly sentinels?: number;
  /** Replicas of the master (default 0); a failover needs at least one. */
  readonly replicas?: number;
  /** The name the sentinels know the master by (default `mymaster`). */
  readonly masterName?: string;
}

/** A master watched by sentinels, for a test. */
export interface RedisSentinel {
  /** `redis+sentinel://127.0.0.1:s1[,127.0.0.1:s2...]/<masterName>`. */
  readonly url: string;
  readonly masterName: string;
  readonly master: RedisServer;
  readonly masterPort: number;
  readonly replicas: readonly RedisServer[];
  readonly sentinels: readonly RedisServer[];
  readonly sentinelPorts: readonly number[];
  /** The pids of the master, the replicas, then the sentinels. */
  readonly pids: readonly number[];
}

/** How long a sentinel waits before it deems an unanswering master down, in ms. */
const SENTINEL_DOWN_AFTER_MS = 1000;
/** How long a sentinel gives one failover before trying again, in ms. */
const SENTINEL_FAILOVER_TIMEOUT_MS = 5000;

/**
 * Starts a master (no persistence), its replicas, and sentinels that monitor it with a quorum of
 * 1, each sentinel's config written to a temporary folder of its own (a sentinel rewrites it).
 * Resolves once every sentinel reports the master `status=ok` with all its replicas and the
 * other sentinels.
 */
export async function startRedisSentinel(
  t: TestContext,
  options: RedisSentinelOptions = {},
): Promise<RedisSentinel> {
  const sentinelCount = options.sentinels ?? 1;
  const replicaCount = options.replicas ?? 0;
  const masterName = options.masterName ?? "mymaster";
  const noPersistence = ["--appendonly", "no", "--save", ""];
  // A replica's first sync would wait 5 s (repl-diskless-sync-delay) for more replicas to join.
  const master = await startRedis(t, {
    args: [...noPersistence, "--repl-diskless-sync-delay", "0"],
  });
  const replicas = await Promise.all(
    Array.from({ length: replicaCount }, () =>
      startRedis(t, {
        args: [...noPersistence, "--replicaof", "127.0.0.1", String(master.port)],
      }),
    ),
  );
  for (const replica of replicas) {
    await waitFor(`the replica on port ${replica.port} to sync`, async () => {
      const link = infoFields(await textOf(replica.port, ["INFO", "replication"])).get(
        "master_link_status",
      );
      return link === "up" || `master_link_status:${link}`;
    });
  }
  const sentinels = await Promise.all(
    Array.from({ length: sentinelCount }, async () => {
      const dir = await mkdtemp(join(tmpdir(), "ssehub-sentinel-conf-"));
      t.after(() => rm(dir, { recursive: true, force: true }));
      const config = join(dir, "sentinel.conf");
      await writeFile(
        config,
        [
          `sentinel monitor ${masterName} 127.0.0.1 ${master.port} 1`,
          `sentinel down-after-milliseconds ${masterName} ${SENTINEL_DOWN_AFTER_MS}`,
          `sentinel failover-timeout ${masterName} ${SENTINEL_FAILOVER_TIMEOUT_MS}`,
          "",
        ].join("\n"),
      );
      return startRedis(t, { config, args: ["--sentinel", ...noPersistence] });
    }),
  );
  for (const sentinel of sentinels) {
    await waitFor(`the sentinel on port ${sentinel.port} to report ${masterName}`, async () => {
      const status = sentinelMasterStatus(
        await textOf(sentinel.port, ["INFO", "sentinel"]),
        masterName,
      );
      return (
        (status?.status === "ok" &&
          status.port === master.port &&
          status.replicas === replicaCount &&
          status.sentinels === sentinelCount) ||
        JSON.stringify(status)
      );
    });
  }
  const sentinelPorts = sentinels.map((sentinel) => sentinel.port);
  return {
    url: `redis+sentinel://${sentinelPorts.map((port) => `127.0.0.1:${port}`).join(",")}/${masterName}`,
    masterName,
    master,
    masterPort: master.port,
    replicas,
    sentinels,
    sentinelPorts,
    pids: [master, ...replicas, ...sentinels].map((server) => server.pid!),
  };
}

/** What a sentinel's `INFO sentinel` says of one master. */
export interface SentinelMasterStatus {
  readonly status: string;
  readonly host: string;
  readonly port: number;
  readonly replicas: number;
  readonly sentinels: number;
}

/** Reads `masterN:name=...,status=...,address=host:port,slaves=N,sentinels=N` for `name`. */
function sentinelMasterStatus(info: string, name: string): SentinelMasterStatus | undefined {
  for (const value of infoFields(info).values()) {
    const fields = new Map(
      value.split(",").map((pair) => {
        const equals = pair.indexOf("=");
        return [pair.slice(0, equals), pair.slice(equals + 1)] as const;
      }),
    );
    if (fields.get("name") !== name) continue;
    const address = fields.get("address") ?? "";
    const colon = address.lastIndexOf(":");
    return {
      status: fields.get("status") ?? "",
      host: address.slice(0, colon),
      port: Number(address.slice(colon + 1)),
      replicas: Number(fields.get("slaves")),
      sentinels: Number(fields.get("sentinels")),
    };
  }
  return undefined;
}

/** What the sentinel on `port` says of the master `name` now (undefined if it knows none). */
export async function sentinelMaster(
  port: number,
  name: string,
): Promise<SentinelMasterStatus | undefined> {
  return sentinelMasterStatus(await textOf(port, ["INFO", "sentinel"]), name);
}
