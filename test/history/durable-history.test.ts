/**
 * The durable history's own promises, beyond the history contract: a restart goes on with the
 * same epoch, seq and frames; a torn tail is cut and damage never served; retention by count,
 * age and bytes deletes whole segments on disk and the same events in memory; one owner per
 * directory. Real files in a temporary directory; clocks injected.
 */
import assert from "node:assert/strict";
import { appendFileSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it, type TestContext } from "node:test";
import { crc32InJs } from "../../src/history/crc32.js";
import { DurableHistory, type DurableHistoryOptions } from "../../src/history/durable-history.js";
import type { StoredEvent } from "../../src/history/history-store.js";
import { encodeStoredRecord } from "../../src/history/log-record.js";
import { toStoredEvent } from "../../src/history/stored-event.js";
import { tempDir } from "../helpers/temp-dir.js";

const EPOCH = "e1";

function event(seq: number, topics: string[], data = `d${seq}`, publishedAt = 1000): StoredEvent {
  return toStoredEvent(EPOCH, {
    seq,
    topics,
    data,
    event: undefined,
    retry: undefined,
    publishedAt,
  });
}

function openIn(dir: string, options: Partial<DurableHistoryOptions> = {}): DurableHistory {
  return DurableHistory.open({
    dir,
    maxEvents: 1000,
    maxAgeMs: 3_600_000,
    maxBytes: 64 * 1024 * 1024,
    syncMs: 1000,
    newEpoch: () => EPOCH,
    now: () => 2000,
    ...options,
  });
}

/** Appends and flushes `events` as the hub does with one batch. */
function keep(history: DurableHistory, events: StoredEvent[]): void {
  for (const e of events) history.append(e);
  history.flush();
}

function segments(dir: string): string[] {
  return readdirSync(dir)
    .filter((name) => name.endsWith(".seg"))
    .sort();
}

function opened(t: TestContext, dir: string, options?: Partial<DurableHistoryOptions>) {
  const history = openIn(dir, options);
  t.after(() => history.close());
  return history;
}

describe("DurableHistory", () => {
  it("a restart goes on with the directory's epoch and seq, and serves the same frames", (t) => {
    const dir = tempDir(t);
    const first = openIn(dir, { newEpoch: () => "first" });
    assert.deepEqual([first.start.epoch, first.start.lastSeq, first.start.floor], ["first", 0, 0]);
    const written = [1, 2, 3].map((seq) =>
      toStoredEvent("first", {
        seq,
        topics: ["a", "b"],
        data: `line one\nline ${seq}`,
        event: "update",
        retry: 2500,
        key: "k",
        private: seq === 2,
        id: seq === 3 ? "order-42" : undefined,
        publishedAt: 1000 + seq,
      }),
    );
    keep(first, written);
    first.close();

    const again = opened(t, dir, { newEpoch: () => "never-used" });
    assert.deepEqual(
      [again.start.epoch, again.start.lastSeq, again.start.floor, again.start.recovered],
      ["first", 3, 0, 3],
    );
    const read = again.readAfter(["a"], 0);
    assert.equal(read.complete, true);
    assert.deepEqual(
      read.events.map((e) => [e.seq, e.id, e.private, e.retry, e.key, e.bytes.toString()]),
      written.map((e) => [e.seq, e.id, e.private, e.retry, e.key, e.bytes.toString()]),
    );
    assert.equal(again.seqOfId("order-42"), 3, "a publisher's id resumes after the restart");
  });

  it("a record torn by a crash is cut: the whole ones before it stay, the next follows them", (t) => {
    const dir = tempDir(t);
    const first = openIn(dir);
    keep(first, [event(1, ["a"]), event(2, ["a"])]);
    first.close();
    // What a process killed in the middle of a write leaves: part of a record.
    const torn = encodeStoredRecord(event(3, ["a"]));
    appendFileSync(join(dir, segments(dir).at(-1)!), torn.subarray(0, torn.length - 5));

    const second = openIn(dir);
    assert.equal(second.start.lastSeq, 2);
    assert.equal(second.start.repairs.length, 1);
    assert.match(second.start.repairs[0]!, /cut \d+ bytes after its last whole record \(torn\)/);
    keep(second, [event(3, ["a"], "the real third")]);
    second.close();

    const third = opened(t, dir);
    assert.deepEqual(third.start.repairs, [], "the file is whole again");
    assert.deepEqual(
      third.readAfter(["a"], 0).events.map((e) => e.data),
      ["d1", "d2", "the real third"],
    );
  });

  it("damage in an older segment drops it and the older ones: readers from before get a reset", (t) => {
    const dir = tempDir(t);
    const first = openIn(dir, { segmentBytes: 200 });
    for (let seq = 1; seq <= 12; seq++) keep(first, [event(seq, ["a"], "x".repeat(40))]);
    first.close();
    const names = segments(dir);
    assert.ok(names.length >= 4, `several segments: ${names}`);
    // Flip a byte inside the second segment's first record.
    const damaged = join(dir, names[1]!);
    const bytes = readFileSync(damaged);
    bytes[20] = bytes[20]! ^ 0xff;
    writeFileSync(damaged, bytes);

    const second = opened(t, dir, { segmentBytes: 200 });
    const floor = Number(names[2]!.slice(0, 20)) - 1;
    assert.equal(second.start.floor, floor);
    assert.equal(second.start.lastSeq, 12);
    assert.match(second.start.repairs.join(" "), /is damaged/);
    assert.deepEqual(segments(dir), names.slice(2));
    assert.equal(second.readAfter(["a"], 0).complete, false, "a reader from before gets a reset");
    assert.equal(second.readAfter(["new-topic"], 0).complete, false, "whatever its topic");
    const after = second.readAfter(["a"], floor);
    assert.equal(after.complete, true);
    assert.deepEqual(
      after.events.map((e) => e.seq),
      Array.from({ length: 12 - floor }, (_, i) => floor + 1 + i),
    );
  });

  it("a segment leaves once no topic keeps its events (count), and the seq survives it", (t) => {
    const dir = tempDir(t);
    const history = opened(t, dir, { maxEvents: 3, segmentBytes: 300 });
    for (let seq = 1; seq <= 40; seq++) keep(history, [event(seq, ["busy"], "y".repeat(40))]);
    assert.ok(history.segmentCount <= 3, `segments: ${segments(dir)}`);
    const kept = history.readAfter(["busy"], 37);
    assert.deepEqual(
      kept.events.map((e) => e.seq),
      [38, 39, 40],
    );
  });

  it("events leave by age (injected clock), and so do their segments", (t) => {
    const dir = tempDir(t);
    let now = 10_000;
    const history = opened(t, dir, { maxAgeMs: 1000, segmentBytes: 300, now: () => now });
    for (let seq = 1; seq <= 10; seq++) keep(history, [event(seq, ["a"], "z".repeat(40), 9_500)]);
    keep(history, [event(11, ["a"], "fresh", 10_000)]);
    const before = history.segmentCount;
    now = 10_600;
    history.expire(now);
    assert.ok(history.segmentCount < before, `${before} -> ${history.segmentCount}`);
    const read = history.readAfter(["a"], 0);
    assert.equal(read.complete, false);
    assert.deepEqual(
      read.events.map((e) => e.data),
      ["fresh"],
    );
  });

  it("past maxBytes the oldest segments leave, on disk and in memory alike, across a restart", (t) => {
    const dir = tempDir(t);
    const options = { maxBytes: 2000, segmentBytes: 500 };
    const first = openIn(dir, options);
    // A quiet topic's one event would hold its segment for an hour; the byte bound does not wait.
    keep(first, [event(1, ["quiet"])]);
    for (let seq = 2; seq <= 60; seq++) keep(first, [event(seq, ["busy"], "w".repeat(60))]);
    assert.ok(first.diskBytes <= 2000, `${first.diskBytes} bytes on disk`);
    const quiet = first.readAfter(["quiet"], 0);
    assert.deepEqual([quiet.events.length, quiet.complete], [0, false]);
    const oldestServed = first.readAfter(["busy"], 0).events[0]!.seq;
    first.close();

    const second = opened(t, dir, options);
    assert.equal(
      second.readAfter(["busy"], 0).events[0]!.seq,
      oldestServed,
      "the same after a restart",
    );
    assert.equal(second.start.floor, oldestServed - 1);
  });

  it("refuses a second owner of the directory, and takes over the lock of a process that is gone", (t) => {
    const dir = tempDir(t);
    const owner = openIn(dir);
    assert.throws(() => openIn(dir), { code: "SSEHUB_ERR_DATA_DIR_LOCKED" });
    owner.close();
    // A pid that no process has: what a hub killed with SIGKILL leaves behind, once reaped.
    writeFileSync(join(dir, "lock"), "4194303\n");
    const next = opened(t, dir);
    assert.equal(next.start.lastSeq, 0);
  });

  it("a directory holding something else is refused with a clear error", (t) => {
    const dir = tempDir(t);
    writeFileSync(join(dir, `${"1".padStart(20, "0")}.seg`), "not a segment at all");
    writeFileSync(join(dir, `${"5".padStart(20, "0")}.seg`), "SSEHLOG1");
    assert.throws(() => openIn(dir), {
      code: "SSEHUB_ERR_DATA_DIR_INVALID",
      message: /00000000000000000001\.seg is not a segment of this version/,
    });
  });

  it("a directory that cannot be made is a clear error, at once (never Node's endless mkdir loop)", (t) => {
    const dir = tempDir(t);
    writeFileSync(join(dir, "a-file"), "");
    for (const path of [join(dir, "a-file"), join(dir, "a-file", "below"), "/proc/ssehub-nope"]) {
      assert.throws(() => openIn(path), {
        code: "SSEHUB_ERR_DATA_DIR_INVALID",
        message: /cannot be created: E[A-Z]+/,
      });
    }
    const nested = opened(t, join(dir, "made", "with", "parents"));
    assert.equal(nested.start.lastSeq, 0);
  });

  it("the JavaScript CRC-32 gives zlib's values (the fallback of older Node 20 releases)", () => {
    assert.equal(crc32InJs(Buffer.from("")), 0);
    assert.equal(crc32InJs(Buffer.from("123456789")), 0xcbf43926);
    assert.equal(crc32InJs(Buffer.from("The quick brown fox jumps over the lazy dog")), 0x414fa339);
  });
});
