/**
 * How ssehub lays out a hub in Redis, shared by the Redis bus and the Redis history.
 *
 * Every key of a hub starts with the hash tag `{<prefix>}`, so all of them live in one slot of
 * a Redis Cluster and one Lua step may touch any of them (ids are hub-wide: one sequencer).
 *
 * | key | type | holds |
 * |---|---|---|
 * | `{p}:meta` | hash | `epoch` of the ids, `seq` (newest seq given), `ms` (newest publish time) |
 * | `{p}:log` | stream | every event, in seq order: the bus every node reads (bounded) |
 * | `{p}:t:<topic>` | stream | the events of one topic: its history (count and age limits) |
 * | `{p}:i:<key>` | string | an idempotency key: `<first seq> <fingerprint>`, expiring with its window (bus/idempotency.ts) |
 *
 * Stream entry ids are `<publishedAt ms>-<seq>`: seqs increase and publish times never go back
 * (the publish script keeps `ms` from decreasing), so ids increase in every stream, a range up
 * to `<cutoff ms>` holds what is too old, and the seq is read back from the id. Entry fields:
 * `t` topics (JSON list), `d` data, and only when set `e` event type, `r` retry, `k` key, `p`
 * private (`1`), `i` the id the publisher gave, `tp` and `ts` the publish's W3C `traceparent`
 * and `tracestate` (docs/tracing.md).
 *
 * Topic streams are trimmed with XDEL (EVICT_LUA), not XTRIM or XADD MAXLEN: only XDEL moves
 * the stream's `max-deleted-entry-id` (Redis 7), which is how a reader learns that an event
 * after its point was evicted, and so must get a reset rather than a silent gap.
 * @module
 */
import type { PreparedEvent, SequencedEvent } from "./stored-event.js";

/** The keys of the hub whose prefix is `prefix`. */
export class RedisKeys {
  readonly meta: string;
  readonly log: string;
  readonly #topicPrefix: string;
  readonly #idempotencyPrefix: string;

  constructor(prefix: string) {
    this.meta = `{${prefix}}:meta`;
    this.log = `{${prefix}}:log`;
    this.#topicPrefix = `{${prefix}}:t:`;
    this.#idempotencyPrefix = `{${prefix}}:i:`;
  }

  /** Where the publish script remembers the idempotency key `key`. */
  idempotency(key: string): string {
    return this.#idempotencyPrefix + key;
  }

  /** The history stream of `topic`. */
  topic(topic: string): string {
    return this.#topicPrefix + topic;
  }
}

/** Key prefixes allowed: they go inside a hash tag, so no braces. */
export const REDIS_PREFIX_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;

/**
 * The fields of a stream entry (see the module comment), as XADD arguments: the serialized
 * form of a PreparedEvent, whose seq and publish time the entry's id carries.
 */
export function entryFields(event: PreparedEvent): string[] {
  const fields = ["t", JSON.stringify(event.topics), "d", event.data];
  if (event.event !== undefined) fields.push("e", event.event);
  if (event.retry !== undefined) fields.push("r", String(event.retry));
  if (event.key !== undefined) fields.push("k", event.key);
  if (event.private === true) fields.push("p", "1");
  if (event.id !== undefined) fields.push("i", event.id);
  const trace = event.trace;
  if (trace !== undefined) {
    fields.push("tp", trace.traceparent);
    if (trace.tracestate !== undefined) fields.push("ts", trace.tracestate);
  }
  return fields;
}

/** Reads one entry `[id, [field, value, ...]]` as XRANGE/XREAD return it. */
export function parseEntry(id: string, fields: readonly string[]): SequencedEvent {
  const dash = id.indexOf("-");
  let topics: readonly string[] = [];
  let data = "";
  let event: string | undefined;
  let retry: number | undefined;
  let key: string | undefined;
  let isPrivate = false;
  let publisherId: string | undefined;
  let traceparent: string | undefined;
  let tracestate: string | undefined;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const value = fields[i + 1]!;
    switch (fields[i]) {
      case "t":
        topics = JSON.parse(value) as string[];
        break;
      case "d":
        data = value;
        break;
      case "e":
        event = value;
        break;
      case "r":
        retry = Number(value);
        break;
      case "k":
        key = value;
        break;
      case "p":
        isPrivate = value === "1";
        break;
      case "i":
        publisherId = value;
        break;
      case "tp":
        traceparent = value;
        break;
      case "ts":
        tracestate = value;
        break;
    }
  }
  return {
    seq: Number(id.slice(dash + 1)),
    publishedAt: Number(id.slice(0, dash)),
    topics,
    data,
    event,
    retry,
    key,
    private: isPrivate,
    id: publisherId,
    trace:
      traceparent === undefined
        ? undefined
        : tracestate === undefined
          ? { traceparent }
          : { traceparent, tracestate },
  };
}

/**
 * Lua: `evict(key, maxEvents, cutoff)` deletes, oldest first, the entries of a topic stream past
 * `maxEvents` and those published before `cutoff` (ms), at most 1000 per call by age (later
 * calls take the rest; readers skip old entries meanwhile).
 */
export const EVICT_LUA = `
local function evict(key, maxEvents, cutoff)
  local excess = redis.call('XLEN', key) - maxEvents
  while excess > 0 do
    local old = redis.call('XRANGE', key, '-', '+', 'COUNT', math.min(excess, 1000))
    local ids = {}
    for i, entry in ipairs(old) do ids[i] = entry[1] end
    redis.call('XDEL', key, unpack(ids))
    excess = excess - #ids
  end
  local aged = redis.call('XRANGE', key, '-', string.format('%.0f', cutoff - 1), 'COUNT', 1000)
  if #aged > 0 then
    local ids = {}
    for i, entry in ipairs(aged) do ids[i] = entry[1] end
    redis.call('XDEL', key, unpack(ids))
  end
end
`;

/** Trims topic streams by count and age. KEYS: the streams. ARGV: max events, cutoff ms. */
export const EVICT_SCRIPT = `${EVICT_LUA}
for _, key in ipairs(KEYS) do evict(key, tonumber(ARGV[1]), tonumber(ARGV[2])) end
return #KEYS
`;

/**
 * Reads the history of several topics after a seq, in one round trip.
 *
 * KEYS: the topic streams. ARGV: after seq, cutoff ms (older entries count as evicted). Returns, per key, `{complete, entries}` flattened as
 * `[complete (1|0), n, id1, fields1, ..., idn, fieldsn]`, newest last. Reads each stream
 * backwards in pages until it reaches `afterSeq`, so the cost follows what is returned.
 * A topic is incomplete when an entry after `afterSeq` was deleted (evicted by count or age:
 * XINFO's max-deleted-entry-id, Redis 7) or is older than the cutoff.
 */
export const READ_AFTER_SCRIPT = `
local after = tonumber(ARGV[1])
local cutoff = tonumber(ARGV[2])
local out = {}
local function seq_of(id) return tonumber(string.match(id, '-(%d+)$')) end
local function ms_of(id) return tonumber(string.match(id, '^(%d+)-')) end
for _, key in ipairs(KEYS) do
  local complete = 1
  local picked = {}
  if redis.call('EXISTS', key) == 1 then
    local info = redis.call('XINFO', 'STREAM', key)
    for i = 1, #info, 2 do
      if info[i] == 'max-deleted-entry-id' then
        if seq_of(info[i + 1]) > after then complete = 0 end
      end
    end
    local upper = '+'
    local done = false
    while not done do
      local page = redis.call('XREVRANGE', key, upper, '-', 'COUNT', 100)
      if #page == 0 then break end
      for _, entry in ipairs(page) do
        local id = entry[1]
        if seq_of(id) <= after then done = true break end
        if ms_of(id) < cutoff then complete = 0 done = true break end
        picked[#picked + 1] = entry
      end
      if #page < 100 then break end
      upper = '(' .. page[#page][1]
    end
  end
  out[#out + 1] = complete
  out[#out + 1] = #picked
  for i = #picked, 1, -1 do
    out[#out + 1] = picked[i][1]
    out[#out + 1] = picked[i][2]
  end
end
return out
`;
