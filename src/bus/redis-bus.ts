/**
 * The bus of several nodes (machines or processes) joined by Redis.
 *
 *   node A --publish (one Lua step per turn)--> Redis: next seqs, append to {p}:log and to
 *   node B --publish-->                                each topic's stream ({p}:t:<topic>)
 *   every node <--XREAD BLOCK {p}:log, from the last entry it took-- Redis
 *
 * Ordering: the publish step (PUBLISH_SCRIPT) takes the next seqs from `{p}:meta` and appends
 * each event, under the stream id `<ms>-<seq>`, to the log and to its topics' streams in one
 * atomic step, so ids increase hub-wide and history is written with its ids. Fan-out: every
 * node reads the log from where it stopped with one blocking XREAD (a batch per reply, however
 * many events), and hands the events to its hub in seq order, its own included; a publish
 * resolves once this node has been handed its events (read-your-writes). The publishes of one
 * turn go in one step: one round trip per turn, not per event.
 *
 * Continuity: the log is read by position, so a node that lost Redis for a while catches up
 * from where it stopped. If the log was trimmed past that point (away longer than
 * `logMaxEvents` allows) or Redis lost its data (new epoch), the node cannot be handed the
 * events between: the bus calls `restart` and the hub ends its streams, whose clients resume
 * through history (Redis streams) or get a reset. Nothing is skipped silently.
 *
 * Failures: publishes while Redis is unreachable fail at once with SSEHUB_ERR_BUS_UNAVAILABLE
 * (503); `isReady` is false until both connections are back. A Redis that hangs with its
 * connections open gets the same answer past a deadline (`timeoutMs`): a publish not handed back
 * within it fails with 503, and so does every publish while the bus waits for Redis to answer a
 * PING again; the reader's blocking XREAD has a deadline too (its block time plus `timeoutMs`),
 * past which it rejoins and reads on from where it stopped, as after a disconnect.
 *
 * Replication: with `waitReplicas` N > 0, each publish step is followed by `WAIT N`, and the
 * publishes of the step resolve only once N replicas hold them (else 503 at the deadline: the
 * events are published on the master, but a failover may lose them).
 * @module
 */
import { activity, PHASE_BUS_CATCH_UP } from "../diagnostics/activity.js";
import { SsehubError } from "../errors.js";
import { EVICT_LUA, entryFields, parseEntry, type RedisKeys } from "../history/redis-streams.js";
import type { PreparedEvent, SequencedEvent } from "../history/stored-event.js";
import { newEpoch } from "../protocol/event-id.js";
import type { Bus, BusMetricsSource, BusRestartReason, BusStart } from "./bus.js";
import { idempotencyKeyReused } from "./idempotency.js";

/**
 * The ordering step. KEYS: meta, log, then the topic streams and idempotency keys of the batch
 * (each once). ARGV: epoch to create if the hub has none, events kept per topic, max age ms,
 * log length, event count, idempotency claim count; then per claim: the index (1-based) of the
 * first event of its publish, its key's KEYS index, fingerprint, window ms and event count;
 * then per event: its topic keys' count and KEYS indexes, its field count and fields.
 * Returns {epoch, first seq given, publish ms, then per claim: "" when the key is new (it is
 * now remembered with the seq of its first event), else what the key holds ("<seq>
 * <fingerprint>"; the events of that publish were not ordered)}.
 */
export const PUBLISH_SCRIPT = `${EVICT_LUA}
local meta, log = KEYS[1], KEYS[2]
local epoch = redis.call('HGET', meta, 'epoch')
if not epoch then
  epoch = ARGV[1]
  redis.call('HSET', meta, 'epoch', epoch)
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local last = tonumber(redis.call('HGET', meta, 'ms') or '0')
if now < last then now = last end
local n = tonumber(ARGV[5])
local seq = tonumber(redis.call('HGET', meta, 'seq') or '0')
redis.call('HSET', meta, 'ms', string.format('%.0f', now))
local first = seq + 1
local maxEvents = tonumber(ARGV[2])
local cutoff = now - tonumber(ARGV[3])
local logMax = ARGV[4]
local claims = {}
local at = 7
for _ = 1, tonumber(ARGV[6]) do
  claims[tonumber(ARGV[at])] = {KEYS[tonumber(ARGV[at + 1])], ARGV[at + 2], ARGV[at + 3], tonumber(ARGV[at + 4])}
  at = at + 5
end
local recalled = {}
local skip = 0
local touched = {}
for i = 1, n do
  local claim = claims[i]
  if claim then
    local prior = redis.call('GET', claim[1])
    if prior then
      skip = claim[4]
      recalled[#recalled + 1] = prior
    else
      redis.call('SET', claim[1], string.format('%.0f', seq + 1) .. ' ' .. claim[2], 'PX', claim[3])
      recalled[#recalled + 1] = ''
    end
  end
  local m = tonumber(ARGV[at])
  local keys = {}
  for j = 1, m do keys[j] = KEYS[tonumber(ARGV[at + j])] end
  at = at + m + 1
  local f = tonumber(ARGV[at])
  local fields = {}
  for j = 1, f do fields[j] = ARGV[at + j] end
  at = at + f + 1
  if skip > 0 then
    skip = skip - 1
  else
    seq = seq + 1
    local id = string.format('%.0f-%.0f', now, seq)
    redis.call('XADD', log, 'MAXLEN', '~', logMax, id, unpack(fields))
    for j = 1, m do
      redis.call('XADD', keys[j], id, unpack(fields))
      touched[keys[j]] = true
    end
  end
end
if seq >= first then redis.call('HSET', meta, 'seq', string.format('%.0f', seq)) end
for key in pairs(touched) do evict(key, maxEvents, cutoff) end
local out = {epoch, first, now}
for j = 1, #recalled do out[3 + j] = recalled[j] end
return out
`;

/**
 * Where a node joins. KEYS: meta. ARGV: epoch to create if the hub has none. Returns
 * {epoch, newest seq, its publish ms}.
 */
export const JOIN_SCRIPT = `
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if not epoch then
  epoch = ARGV[1]
  redis.call('HSET', KEYS[1], 'epoch', epoch)
end
local h = redis.call('HMGET', KEYS[1], 'seq', 'ms')
return {epoch, tonumber(h[1] or '0'), tonumber(h[2] or '0')}
`;

/** The commands of a connection the bus uses (ioredis `defineCommand` adds the scripts). */
export interface RedisBusConnection {
  readonly status: string;
  ssehubPublish(
    ...args: (string | number)[]
  ): Promise<[epoch: string, first: number, ms: number, ...recalled: string[]]>;
  ssehubJoin(...args: (string | number)[]): Promise<[string, number, number]>;
  xread(...args: (string | number)[]): Promise<[string, [string, string[]][]][] | null>;
  ping(): Promise<string>;
  /** Waits until `replicas` replicas hold this connection's writes, or `timeoutMs`; answers how many do. */
  wait(replicas: number, timeoutMs: number): Promise<number>;
  on(event: "ready" | "close", listener: () => void): unknown;
}

/** Defines the Lua commands the bus uses on `connection`. */
export function defineBusCommands(connection: {
  defineCommand(name: string, definition: { lua: string }): void;
}): void {
  connection.defineCommand("ssehubPublish", { lua: PUBLISH_SCRIPT });
  connection.defineCommand("ssehubJoin", { lua: JOIN_SCRIPT });
}

/** Where a node is in the hub's order, from the join step. */
export interface RedisJoinPoint {
  readonly epoch: string;
  readonly seq: number;
  readonly ms: number;
}

/** Runs the join step: the epoch (created when the hub has none) and the newest seq. */
export async function joinRedisHub(
  connection: Pick<RedisBusConnection, "ssehubJoin">,
  keys: RedisKeys,
): Promise<RedisJoinPoint> {
  const [epoch, seq, ms] = await connection.ssehubJoin(1, keys.meta, newEpoch());
  return { epoch, seq, ms };
}

/** Limits and place of a Redis bus. */
export interface RedisBusOptions {
  readonly keys: RedisKeys;
  /** Events kept per topic stream; 0 keeps none. */
  readonly historyMaxEvents: number;
  /** Age after which an event leaves the topic streams, in ms. */
  readonly historyMaxAgeMs: number;
  /** Entries the log keeps (about): how far behind a node may fall and still catch up. */
  readonly logMaxEvents: number;
  /**
   * Deadline of a publish (from its step sent to Redis to its events handed back), in ms; the
   * reader's XREAD gets READ_BLOCK_MS more. Past it the publish fails with 503.
   */
  readonly timeoutMs: number;
  /** Replicas that must hold a publish before it resolves (WAIT); 0 waits for none. */
  readonly waitReplicas?: number;
  /** Called when the bus starts over (also after the hub's own `restart` callback). */
  readonly onRestart?: (epoch: string, afterSeq: number, reason: BusRestartReason) => void;
  /** Called with a message when a connection problem is noticed (for the log). */
  readonly onProblem?: (message: string) => void;
}

/** Entries one XREAD takes at most. */
const READ_COUNT = 1000;
/** How long one XREAD blocks, in ms: also how soon a closed bus stops reading. */
export const READ_BLOCK_MS = 1000;
/** Pause before reading again after a failed read, in ms. */
const READ_RETRY_MS = 100;

interface PendingPublish {
  readonly events: readonly PreparedEvent[];
  readonly resolve: (firstSeq: number) => void;
  readonly reject: (error: Error) => void;
  /** Seq of the last event, once ordered. */
  lastSeq: number;
  firstSeq: number;
  /** The epoch Redis ordered the events in. */
  epoch: string;
  /** Resolved or rejected already (by its step, its deadline, a restart or close). */
  settled: boolean;
  /** The step that carries it, once sent. */
  flight: Flight | undefined;
}

/** One publish step sent to Redis: its publishes share one deadline timer. */
interface Flight {
  readonly publishes: readonly PendingPublish[];
  timer: NodeJS.Timeout | undefined;
  /** Publishes of the step not settled yet; the timer is cleared when none is left. */
  unsettled: number;
  /** Redis answered the step (and WAIT, if asked): a deadline missed after it is the reader's. */
  answered: boolean;
  /** Redis ran the step and the bus waits for replicas (WAIT) to acknowledge it. */
  waitingForReplicas: boolean;
}

/** A bus over Redis. Build it with connectRedisEngine (redis-engine.ts). */
export class RedisBus implements Bus, BusMetricsSource {
  readonly isDistributed = true;
  readonly #commands: RedisBusConnection;
  readonly #reader: RedisBusConnection;
  readonly #options: RedisBusOptions;
  #epoch: string;
  /** Seq of the newest event handed to the hub. */
  #seq: number;
  /** Stream id to read the log after. */
  #readFrom: string;
  #outbox: PendingPublish[] = [];
  /** Ordered by Redis, waiting for this node to be handed their events. */
  #ordered: PendingPublish[] = [];
  #scheduled = false;
  #backlog = 0;
  #deliver: ((events: readonly SequencedEvent[]) => void) | undefined;
  #restart: ((start: BusStart, reason: BusRestartReason) => void) | undefined;
  #closed = false;
  #readerHealthy = true;
  /** Steps sent and not yet settled. */
  readonly #flights = new Set<Flight>();
  /** A step missed its deadline: publishes are refused until Redis answers a PING again. */
  #stalled = false;
  #disconnects = 0;
  #lagSeconds = 0;
  onPublishRoundTrip: ((seconds: number) => void) | undefined;
  readonly #flushBound = (): void => void this.#flush();

  /**
   * @param commands the connection for publishes
   * @param reader a second connection, for the blocking reads of the log
   * @param join where this node starts (joinRedisHub)
   */
  constructor(
    commands: RedisBusConnection,
    reader: RedisBusConnection,
    options: RedisBusOptions,
    join: RedisJoinPoint,
  ) {
    this.#commands = commands;
    this.#reader = reader;
    this.#options = options;
    this.#epoch = join.epoch;
    this.#seq = join.seq;
    this.#readFrom = `${join.ms}-${join.seq}`;
    commands.on("close", () => this.#disconnects++);
  }

  get isReady(): boolean {
    return (
      !this.#closed && this.#commands.status === "ready" && this.#readerHealthy && !this.#stalled
    );
  }

  get connected(): boolean {
    return this.isReady;
  }

  get disconnects(): number {
    return this.#disconnects;
  }

  get lagSeconds(): number {
    return this.#lagSeconds;
  }

  get metrics(): BusMetricsSource {
    return this;
  }

  get backlog(): number {
    return this.#backlog;
  }

  /** The epoch of the ids now. */
  get epoch(): string {
    return this.#epoch;
  }

  start(
    deliver: (events: readonly SequencedEvent[]) => void,
    restart?: (start: BusStart, reason: BusRestartReason) => void,
  ): BusStart {
    this.#deliver = deliver;
    this.#restart = restart;
    void this.#readLoop();
    return { epoch: this.#epoch, joinedAfterSeq: this.#seq, historyFloor: 0 };
  }

  publish(events: readonly PreparedEvent[]): Promise<number> {
    if (this.#closed) {
      return Promise.reject(
        new SsehubError("SSEHUB_ERR_HUB_CLOSED", "Cannot publish: the Redis bus is closed"),
      );
    }
    if (this.#commands.status !== "ready") return Promise.reject(this.#unavailable());
    if (this.#stalled) return Promise.reject(this.#unanswered());
    return new Promise((resolve, reject) => {
      this.#outbox.push({
        events,
        resolve,
        reject,
        lastSeq: 0,
        firstSeq: 0,
        epoch: "",
        settled: false,
        flight: undefined,
      });
      this.#backlog += events.length;
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(this.#flushBound);
      }
    });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#deliver = undefined;
    const error = new SsehubError(
      "SSEHUB_ERR_HUB_CLOSED",
      "Cannot publish: the Redis bus closed before the event was handed back",
    );
    for (const pending of this.#outbox) this.#settle(pending, error);
    for (const flight of this.#flights) {
      for (const pending of flight.publishes) this.#settle(pending, error);
    }
    this.#flights.clear();
    this.#outbox = [];
    this.#ordered = [];
  }

  #unavailable(cause?: unknown): SsehubError {
    const why = cause instanceof Error ? `: ${cause.message}` : "";
    return new SsehubError(
      "SSEHUB_ERR_BUS_UNAVAILABLE",
      `Cannot publish now: Redis is unreachable${why}; retry shortly`,
      { details: { retryAfterSeconds: 1 }, ...(cause === undefined ? {} : { cause }) },
    );
  }

  #unanswered(): SsehubError {
    return new SsehubError(
      "SSEHUB_ERR_BUS_UNAVAILABLE",
      `Cannot publish now: Redis did not answer within ${this.#options.timeoutMs} ms; retry shortly`,
      { details: { retryAfterSeconds: 1 } },
    );
  }

  /** A publish step that ran on the master but that fewer replicas than asked acknowledged. */
  #unreplicated(acknowledged: number | undefined): SsehubError {
    const replicas = this.#options.waitReplicas ?? 0;
    const count = acknowledged === undefined ? "not all" : `${acknowledged}`;
    return new SsehubError(
      "SSEHUB_ERR_BUS_UNAVAILABLE",
      `Cannot confirm the publish: ${count} of the ${replicas} replicas asked for (redisWaitReplicas) acknowledged it within ${this.#options.timeoutMs} ms; it is on the Redis master, and a failover may lose it`,
      { details: { retryAfterSeconds: 1 } },
    );
  }

  /** Resolves (no error) or rejects `pending` once, and frees its share of the backlog. */
  #settle(pending: PendingPublish, error?: Error): void {
    if (pending.settled) return;
    pending.settled = true;
    this.#backlog -= pending.events.length;
    const flight = pending.flight;
    if (flight !== undefined && --flight.unsettled === 0) {
      clearTimeout(flight.timer);
      this.#flights.delete(flight);
    }
    if (error === undefined) pending.resolve(pending.firstSeq);
    else pending.reject(error);
  }

  /**
   * A step's deadline passed: its publishes not settled yet fail with 503. If Redis never
   * answered the step, the bus refuses publishes until Redis answers a PING (#probe).
   */
  #expire(flight: Flight): void {
    flight.timer = undefined;
    const error = flight.waitingForReplicas ? this.#unreplicated(undefined) : this.#unanswered();
    for (const pending of flight.publishes) this.#settle(pending, error);
    this.#flights.delete(flight);
    this.#ordered = this.#ordered.filter((pending) => !pending.settled);
    if (!flight.answered && !this.#stalled && !this.#closed) {
      this.#stalled = true;
      this.#options.onProblem?.(
        `Redis did not answer a publish within ${this.#options.timeoutMs} ms; publishes are refused until it answers again`,
      );
      void this.#probe();
    }
  }

  /** PINGs Redis (each under the connection's deadline) until it answers, then takes publishes. */
  async #probe(): Promise<void> {
    while (!this.#closed) {
      try {
        await this.#commands.ping();
        this.#stalled = false;
        this.#options.onProblem?.("Redis answers again; publishes are taken");
        return;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, READ_RETRY_MS));
      }
    }
  }

  /** Sends the publishes of this turn in one step. */
  async #flush(): Promise<void> {
    this.#scheduled = false;
    const batch = this.#outbox;
    if (batch.length === 0) return;
    this.#outbox = [];
    const keys = this.#options.keys;
    const topicKeys = new Map<string, number>();
    const keyList = [keys.meta, keys.log];
    const perEvent: (string | number)[] = [];
    const claims: (string | number)[] = [];
    let count = 0;
    for (const pending of batch) {
      const claim = pending.events[0]?.idempotency;
      if (claim !== undefined) {
        keyList.push(keys.idempotency(claim.key));
        // Lua's KEYS and the event index are 1-based.
        claims.push(count + 1, keyList.length, claim.fingerprint, claim.windowMs);
        claims.push(pending.events.length);
      }
      for (const event of pending.events) {
        count++;
        perEvent.push(event.topics.length);
        for (const topic of event.topics) {
          const key = keys.topic(topic);
          let index = topicKeys.get(key);
          if (index === undefined) {
            keyList.push(key);
            index = keyList.length; // Lua's KEYS are 1-based
            topicKeys.set(key, index);
          }
          perEvent.push(index);
        }
        const fields = entryFields(event);
        perEvent.push(fields.length, ...fields);
      }
    }
    const flight: Flight = {
      publishes: batch,
      timer: undefined,
      unsettled: batch.length,
      answered: false,
      waitingForReplicas: false,
    };
    for (const pending of batch) pending.flight = flight;
    this.#flights.add(flight);
    const timeoutMs = this.#options.timeoutMs;
    flight.timer = setTimeout(() => this.#expire(flight), timeoutMs);
    const started = performance.now();
    try {
      const [epoch, first, , ...recalled] = await this.#commands.ssehubPublish(
        keyList.length,
        ...keyList,
        newEpoch(),
        this.#options.historyMaxEvents,
        this.#options.historyMaxAgeMs,
        this.#options.logMaxEvents,
        count,
        claims.length / 5,
        ...claims,
        ...perEvent,
      );
      this.onPublishRoundTrip?.((performance.now() - started) / 1000);
      let seq = first;
      let claimIndex = 0;
      for (const pending of batch) {
        const claim = pending.events[0]?.idempotency;
        const prior = claim === undefined ? "" : (recalled[claimIndex++] ?? "");
        if (prior === "") {
          pending.firstSeq = seq;
          seq += pending.events.length;
        } else {
          // Ordered before, under this key: answer its first seq, or refuse other events.
          const [priorSeq = "", fingerprint] = prior.split(" ");
          if (fingerprint !== claim?.fingerprint) {
            this.#backlog -= pending.events.length;
            pending.reject(idempotencyKeyReused(claim?.key));
            continue;
          }
          pending.firstSeq = Number(priorSeq);
        }
        pending.lastSeq = pending.firstSeq + pending.events.length - 1;
        pending.epoch = epoch;
      }
      // Redis lost its data and began a new epoch: these publishes resolve once the reader has
      // started over in it (so their ids carry the new epoch); make it check now.
      if (epoch !== this.#epoch) this.#readerHealthy = false;
      const replicas = this.#options.waitReplicas ?? 0;
      if (replicas > 0 && flight.unsettled > 0) {
        flight.waitingForReplicas = true;
        const left = Math.max(1, Math.floor(timeoutMs - (performance.now() - started)));
        const acknowledged = await this.#commands.wait(replicas, left);
        if (acknowledged < replicas) {
          flight.answered = true;
          const error = this.#unreplicated(acknowledged);
          for (const pending of batch) this.#settle(pending, error);
          return;
        }
      }
      flight.answered = true;
      for (const pending of batch) if (!pending.settled) this.#ordered.push(pending);
      this.#settleOrdered();
    } catch (error) {
      if (
        !this.#closed &&
        !flight.answered &&
        !flight.waitingForReplicas &&
        /timed out/i.test(String(error))
      ) {
        // The connection's own deadline (the same length) fired before the step's.
        clearTimeout(flight.timer);
        this.#expire(flight);
        return;
      }
      const refused = this.#closed
        ? new SsehubError("SSEHUB_ERR_HUB_CLOSED", "Cannot publish: the Redis bus is closed")
        : this.#unavailable(error);
      for (const pending of batch) this.#settle(pending, refused);
    }
  }

  /** Resolves the publishes whose events this node has been handed. */
  #settleOrdered(): void {
    if (this.#ordered.length === 0) return;
    const waiting: PendingPublish[] = [];
    for (const pending of this.#ordered) {
      if (pending.settled) continue;
      if (pending.epoch === this.#epoch && pending.lastSeq <= this.#seq) {
        this.#settle(pending);
      } else {
        waiting.push(pending);
      }
    }
    this.#ordered = waiting;
  }

  async #readLoop(): Promise<void> {
    const logKey = this.#options.keys.log;
    while (!this.#closed) {
      let reply: Awaited<ReturnType<RedisBusConnection["xread"]>>;
      try {
        if (!this.#readerHealthy) await this.#rejoin();
        reply = await this.#reader.xread(
          "COUNT",
          READ_COUNT,
          "BLOCK",
          READ_BLOCK_MS,
          "STREAMS",
          logKey,
          this.#readFrom,
        );
      } catch (error) {
        if (this.#closed) return;
        if (this.#readerHealthy) {
          this.#readerHealthy = false;
          this.#options.onProblem?.(
            `Lost the Redis log reader: ${error instanceof Error ? error.message : String(error)}`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, READ_RETRY_MS));
        continue;
      }
      if (reply === null || this.#closed) continue;
      const entries = reply[0]?.[1] ?? [];
      if (entries.length === 0) continue;
      // Timed for the stall watcher: a node catching up hands many events over in one turn.
      activity.begin(PHASE_BUS_CATCH_UP, "", entries.length);
      try {
        this.#take(entries);
      } finally {
        activity.end();
      }
    }
  }

  /** After the reader was away: checks the epoch before reading on from where it stopped. */
  async #rejoin(): Promise<void> {
    const join = await joinRedisHub(this.#reader, this.#options.keys);
    // Another epoch, or seqs behind ours: Redis lost its data since this node last read.
    if (join.epoch !== this.#epoch || join.seq < this.#seq) this.#startOver(join, "new-epoch");
    this.#readerHealthy = true;
  }

  /** Hands log entries to the hub in seq order; starts over on a discontinuity. */
  #take(entries: readonly [string, string[]][]): void {
    const events: SequencedEvent[] = [];
    for (const [id, fields] of entries) {
      const entry = parseEntry(id, fields);
      if (entry.seq !== this.#seq + 1) {
        this.#handOver(events);
        events.length = 0;
        if (entry.seq <= this.#seq) {
          // The seqs went back: Redis lost its data. The next read starts over (#rejoin).
          this.#readerHealthy = false;
          return;
        }
        this.#startOver({ epoch: this.#epoch, seq: entry.seq - 1, ms: entry.publishedAt }, "gap");
      }
      this.#seq = entry.seq;
      this.#readFrom = id;
      events.push(entry);
    }
    this.#handOver(events);
  }

  #handOver(events: readonly SequencedEvent[]): void {
    if (events.length === 0) return;
    this.#lagSeconds = Math.max(0, (Date.now() - events[events.length - 1]!.publishedAt) / 1000);
    this.#deliver?.(events);
    this.#settleOrdered();
  }

  /** Continues after `join` (a new epoch, or past a gap): tells the hub, then settles publishes. */
  #startOver(join: RedisJoinPoint, reason: BusRestartReason): void {
    this.#options.onProblem?.(
      reason === "gap"
        ? `Fell behind the Redis log: events after seq ${this.#seq} up to ${join.seq} were trimmed before this node read them; streams restart`
        : `Redis began a new epoch ${join.epoch} (was ${this.#epoch}): its data was lost; streams restart`,
    );
    if (reason === "new-epoch") {
      // Publishes ordered under the old epoch were lost with Redis's data.
      const kept: PendingPublish[] = [];
      for (const pending of this.#ordered) {
        if (pending.epoch === join.epoch) {
          kept.push(pending);
        } else {
          this.#settle(pending, this.#unavailable(new Error("Redis lost the event with its data")));
        }
      }
      this.#ordered = kept;
    }
    this.#epoch = join.epoch;
    this.#seq = join.seq;
    this.#readFrom = `${join.ms}-${join.seq}`;
    const start: BusStart = { epoch: join.epoch, joinedAfterSeq: join.seq, historyFloor: 0 };
    this.#restart?.(start, reason);
    this.#options.onRestart?.(join.epoch, join.seq, reason);
    this.#settleOrdered();
  }
}
