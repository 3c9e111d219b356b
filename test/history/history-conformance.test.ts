import { type DurableEngine, openDurableEngine } from "../../src/bus/durable-engine.js";
import { LocalBus } from "../../src/bus/local-bus.js";
import { connectRedisEngine, type RedisEngine } from "../../src/bus/redis-engine.js";
import type { StoredEvent } from "../../src/history/history-store.js";
import { MemoryHistory } from "../../src/history/memory-history.js";
import type { SequencedEvent } from "../../src/history/stored-event.js";
import { toStoredEvent } from "../../src/history/stored-event.js";
import { type HistoryFixture, runHistoryConformance } from "../conformance/history.suite.js";
import { startRedis } from "../helpers/redis-server.js";
import { requireTools } from "../helpers/require-tool.js";
import { tempDir } from "../helpers/temp-dir.js";
import { HUNG_AFTER_MS } from "../helpers/wait-for.js";

runHistoryConformance("MemoryHistory", async (limits): Promise<HistoryFixture> => {
  const bus = new LocalBus("m1");
  const history = new MemoryHistory(limits);
  const stored: StoredEvent[] = [];
  bus.start((events: readonly SequencedEvent[]) => {
    for (const event of events) {
      const kept = toStoredEvent("m1", event);
      history.append(kept);
      stored.push(kept);
    }
  });
  return {
    async publish(events) {
      const first = bus.publishNow(events);
      return stored.filter((e) => e.seq >= first);
    },
    readers: async () => [history],
    close: () => bus.close(),
  };
});

runHistoryConformance(
  "RedisHistory (through the node that published, and through one that joined later)",
  async (limits, t): Promise<HistoryFixture> => {
    const redis = await startRedis(t);
    const options = {
      url: redis.url,
      prefix: "history",
      historyMaxEvents: limits.maxEvents,
      historyMaxAgeMs: limits.maxAgeMs,
      logMaxEvents: 10_000,
      connectTimeoutMs: HUNG_AFTER_MS, // only against a hung test
    };
    const engines: RedisEngine[] = [await connectRedisEngine(options)];
    const publisher = engines[0]!;
    const stored: StoredEvent[] = [];
    publisher.bus.start((events) => {
      for (const event of events) {
        const kept = toStoredEvent(publisher.bus.epoch, event);
        publisher.history.append(kept);
        stored.push(kept);
      }
    });
    return {
      async publish(events) {
        const first = await publisher.bus.publish(events);
        return stored.filter((e) => e.seq >= first);
      },
      async readers() {
        const late = await connectRedisEngine(options);
        engines.push(late);
        return [publisher.history, late.history];
      },
      close: async () => {
        await Promise.all(engines.map((engine) => engine.close()));
      },
    };
  },
  { skip: requireTools(["redis-server"]) },
);

runHistoryConformance(
  "DurableHistory (before a restart, and read back from its data directory after one)",
  async (limits, t): Promise<HistoryFixture> => {
    const dataDir = tempDir(t);
    let stored: StoredEvent[] = [];
    /** Opens the directory as `ssehub serve --data-dir` does, taking events as the hub does. */
    const open = (): DurableEngine => {
      const engine = openDurableEngine({
        dataDir,
        dataMaxBytes: 64 * 1024 * 1024,
        dataSyncMs: 1000,
        historyMaxEvents: limits.maxEvents,
        historyMaxAgeMs: limits.maxAgeMs,
      });
      const { epoch } = engine.bus.start((events) => {
        for (const event of events) {
          const kept = toStoredEvent(epoch, event);
          engine.history.append(kept);
          stored.push(kept);
        }
        engine.history.flush();
      });
      return engine;
    };
    let engine = open();
    return {
      async publish(events) {
        const first = engine.bus.publishNow(events);
        return stored.filter((e) => e.seq >= first);
      },
      async readers() {
        // A restart: the store that wrote the events, and the one reopened from its files.
        const before = engine;
        before.bus.close();
        before.close();
        stored = [...stored];
        engine = open();
        return [before.history, engine.history];
      },
      close: () => {
        engine.bus.close();
        engine.close();
      },
    };
  },
);
