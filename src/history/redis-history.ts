/**
 * History in Redis Streams, one stream per topic (see redis-streams.ts), read by every node, with
 * a cache in this process so that most resumes do not touch Redis.
 *
 * Writes to the streams happen in the Redis bus's publish step, atomically with the seq they
 * get; `append` here only feeds the cache with what the bus hands this node. The cache is a
 * MemoryHistory under the same limits; it answers a read when it holds everything asked for:
 * the read starts at or after the first event this node was handed (`cacheFloor`) and nothing
 * the read needs was evicted from it. Otherwise the read goes to Redis, one round trip for all
 * topics. `topics()`, `topicInfo()` and `totalEvents` describe the cache: what this node has
 * seen, not the whole of Redis.
 * @module
 */
import type { HistoryRead, HistoryStore, StoredEvent, TopicHistoryInfo } from "./history-store.js";
import { mergeBySeq } from "./history-store.js";
import { MemoryHistory } from "./memory-history.js";
import { EVICT_SCRIPT, parseEntry, READ_AFTER_SCRIPT, type RedisKeys } from "./redis-streams.js";
import { toStoredEvent } from "./stored-event.js";

/** The commands of a connection that the history uses (ioredis defines `ssehubReadAfter`). */
export interface RedisHistoryConnection {
  ssehubReadAfter(...args: (string | number)[]): Promise<unknown[]>;
  ssehubEvict(...args: (string | number)[]): Promise<number>;
}

/** Limits and place of a Redis history. */
export interface RedisHistoryOptions {
  readonly keys: RedisKeys;
  /** Events kept per topic; 0 keeps none. */
  readonly maxEvents: number;
  /** Age after which an event leaves, in ms. */
  readonly maxAgeMs: number;
  /** Bytes the node's cache spends remembering dropped topics (MemoryHistoryOptions). */
  readonly maxDroppedTopicBytes?: number;
}

/** Defines the Lua commands the history uses on `connection` (ioredis `defineCommand`). */
export function defineHistoryCommands(connection: {
  defineCommand(name: string, definition: { lua: string }): void;
}): void {
  connection.defineCommand("ssehubReadAfter", { lua: READ_AFTER_SCRIPT });
  connection.defineCommand("ssehubEvict", { lua: EVICT_SCRIPT });
}

/** A history store shared by every node of a hub, through Redis. */
export class RedisHistory implements HistoryStore {
  readonly #connection: RedisHistoryConnection;
  readonly #options: RedisHistoryOptions;
  #cache: MemoryHistory;
  #epoch: string;
  /** Reads after a seq below this one cannot be answered by the cache. */
  #cacheFloor: number;

  /**
   * @param epoch the epoch of the ids (from the bus)
   * @param cacheFloor the seq after which this node is handed every event (from the bus)
   */
  constructor(
    connection: RedisHistoryConnection,
    options: RedisHistoryOptions,
    epoch: string,
    cacheFloor: number,
  ) {
    this.#connection = connection;
    this.#options = options;
    this.#cache = new MemoryHistory(options);
    this.#epoch = epoch;
    this.#cacheFloor = cacheFloor;
  }

  /**
   * Starts the cache over: from now on it holds the events after `afterSeq` of `epoch` (the bus
   * lost continuity, or Redis began a new epoch).
   */
  restart(epoch: string, afterSeq: number): void {
    this.#epoch = epoch;
    this.#cacheFloor = afterSeq;
    this.#cache = new MemoryHistory(this.#options);
  }

  get totalEvents(): number {
    return this.#cache.totalEvents;
  }

  append(event: StoredEvent): void {
    this.#cache.append(event);
  }

  readAfter(topics: readonly string[], afterSeq: number): HistoryRead | Promise<HistoryRead> {
    if (afterSeq >= this.#cacheFloor) {
      const cached = this.#cache.readAfter(topics, afterSeq);
      if (cached.complete) return cached;
    }
    return this.readFromRedis(topics, afterSeq);
  }

  /** Reads from the streams, skipping the cache. */
  async readFromRedis(topics: readonly string[], afterSeq: number): Promise<HistoryRead> {
    if (topics.length === 0) return { events: [], complete: true };
    const keys = topics.map((topic) => this.#options.keys.topic(topic));
    const cutoff = Date.now() - this.#options.maxAgeMs;
    const reply = await this.#connection.ssehubReadAfter(keys.length, ...keys, afterSeq, cutoff);
    const epoch = this.#epoch;
    const lists: StoredEvent[][] = [];
    let complete = true;
    let at = 0;
    for (let k = 0; k < keys.length; k++) {
      if (reply[at++] !== 1) complete = false;
      const count = reply[at++] as number;
      const list: StoredEvent[] = new Array(count);
      for (let i = 0; i < count; i++) {
        const id = reply[at++] as string;
        const fields = reply[at++] as string[];
        list[i] = toStoredEvent(epoch, parseEntry(id, fields));
      }
      if (count > 0) lists.push(list);
    }
    return { events: mergeBySeq(lists), complete };
  }

  expire(now: number): readonly string[] {
    const emptied = this.#cache.expire(now);
    // Streams of topics published to are trimmed by age in the publish step; the ones that
    // went quiet here are trimmed now (best effort: the read step skips old entries anyway).
    if (emptied.length > 0) {
      const keys = emptied.map((topic) => this.#options.keys.topic(topic));
      this.#connection
        .ssehubEvict(keys.length, ...keys, this.#options.maxEvents, now - this.#options.maxAgeMs)
        .catch(() => {});
    }
    return emptied;
  }

  /** Publisher-given ids resume from this node's cache (see docs/redis.md). */
  seqOfId(id: string): number | undefined {
    return this.#cache.seqOfId(id);
  }

  topicInfo(topic: string): TopicHistoryInfo | undefined {
    return this.#cache.topicInfo(topic);
  }

  topics(): IterableIterator<string> {
    return this.#cache.topics();
  }
}
