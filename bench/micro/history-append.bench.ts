/**
 * Micro benchmark of keeping one published event on disk, the step `ssehub serve --data-dir`
 * adds to a publish (src/history/durable-history.ts), beside the store it was weighed against:
 *   - segment log (ssehub): encode the record (JSON, CRC-32), one writev to the open segment,
 *     the memory index; forced to disk every second (`--data-sync-ms 1000`), or before each
 *     answer (`--data-sync-ms 0`, one fdatasync per event).
 *   - node:sqlite (where this Node has it: Node 22.5 and later; Node 20 does not): one INSERT
 *     per event into a table keyed by seq, in WAL mode, `synchronous = NORMAL` (what survives a
 *     killed process, as the log's default) and `synchronous = FULL` (an fsync per commit, as
 *     `--data-sync-ms 0`). The reads would still come from memory, as the log's do.
 * Events are 100 bytes of JSON data on one topic, one event per publish (one flush each).
 *
 *   npm run build && node dist/bench/micro/history-append.bench.js
 *
 * A second table times a start: opening a directory of RECOVER events (default 100,000 and
 * 1,000,000, 100 topics) and reading them back into memory, as `ssehub serve` does before it
 * listens.
 *
 * Sized by env: EVENTS (events per round, default 5000), ROUNDS, WARMUP_ROUNDS (harness.ts).
 * Files go to a temporary directory (TMPDIR), removed at the end. Not run by the tests.
 * @module
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DurableHistory } from "../../src/history/durable-history.js";
import { toStoredEvent } from "../../src/history/stored-event.js";
import { formatNs, formatRatio, measure, printPreamble, printTable } from "./harness.js";

const EVENTS = Number(process.env.EVENTS ?? 5000);
/** Events per round of the cases that force each event to disk (each costs the disk's flush). */
const FORCED_EVENTS = Math.max(1, Math.round(EVENTS / 20));
const DATA = JSON.stringify({ n: 12345, sentAt: 1_796_608_000_000, pad: "x".repeat(56) });

interface SqliteStatement {
  run(...values: unknown[]): unknown;
}
interface SqliteDatabase {
  exec(sql: string): void;
  prepare(sql: string): SqliteStatement;
  close(): void;
}

/** node:sqlite's DatabaseSync, or undefined on a Node without it. */
function sqlite(): (new (path: string) => SqliteDatabase) | undefined {
  try {
    const require = createRequire(import.meta.url);
    return (require("node:sqlite") as { DatabaseSync: new (path: string) => SqliteDatabase })
      .DatabaseSync;
  } catch {
    return undefined;
  }
}

const root = mkdtempSync(join(tmpdir(), "ssehub-history-bench-"));
let dirs = 0;

function newDir(): string {
  return join(root, String(dirs++));
}

/** A durable history in `dir` as the bench opens every one: 1 GiB bound, epoch "bench". */
function openHistory(dir: string, maxEvents: number, syncMs: number): DurableHistory {
  return DurableHistory.open({
    dir,
    maxEvents,
    maxAgeMs: 3_600_000,
    maxBytes: 1024 * 1024 * 1024,
    syncMs,
    newEpoch: () => "bench",
  });
}

/** The bench's event `seq` on `topic`, as the hub keeps it. */
function benchEvent(seq: number, topic: string) {
  return toStoredEvent("bench", {
    seq,
    topics: [topic],
    data: DATA,
    event: undefined,
    retry: undefined,
    publishedAt: Date.now(),
  });
}

/** The segment log with `syncMs`, appending EVENTS events per round, one flush each. */
function segmentLogCase(syncMs: number, events: number): () => number {
  const history = openHistory(newDir(), 1000, syncMs);
  let seq = 0;
  return () => {
    for (let i = 0; i < events; i++) {
      seq++;
      history.append(benchEvent(seq, "ticks"));
      history.flush();
    }
    return seq;
  };
}

/** node:sqlite in WAL mode with `synchronous`, one INSERT (one commit) per event. */
function sqliteCase(
  DatabaseSync: new (path: string) => SqliteDatabase,
  synchronous: "NORMAL" | "FULL",
  events: number,
): () => number {
  const db = new DatabaseSync(`${newDir()}.sqlite`);
  db.exec(`PRAGMA journal_mode = WAL; PRAGMA synchronous = ${synchronous};`);
  db.exec(
    "CREATE TABLE events (seq INTEGER PRIMARY KEY, published_at INTEGER, topics TEXT, data TEXT)",
  );
  const insert = db.prepare("INSERT INTO events VALUES (?, ?, ?, ?)");
  let seq = 0;
  return () => {
    for (let i = 0; i < events; i++) {
      seq++;
      insert.run(seq, Date.now(), JSON.stringify(["ticks"]), DATA);
    }
    return seq;
  };
}

printPreamble("history-append");
const DatabaseSync = sqlite();
const cases: { name: string; events: number; run: () => number }[] = [
  { name: "segment log, forced every 1 s", events: EVENTS, run: segmentLogCase(1000, EVENTS) },
  {
    name: "segment log, forced per event",
    events: FORCED_EVENTS,
    run: segmentLogCase(0, FORCED_EVENTS),
  },
];
if (DatabaseSync !== undefined) {
  cases.push(
    {
      name: "node:sqlite WAL, synchronous NORMAL",
      events: EVENTS,
      run: sqliteCase(DatabaseSync, "NORMAL", EVENTS),
    },
    {
      name: "node:sqlite WAL, synchronous FULL",
      events: FORCED_EVENTS,
      run: sqliteCase(DatabaseSync, "FULL", FORCED_EVENTS),
    },
  );
}
const rows: string[][] = [];
let first = 0;
for (const c of cases) {
  const ns = (await measure({ run: c.run })) / c.events;
  if (first === 0) first = ns;
  rows.push([c.name, formatNs(ns), formatRatio(ns, first)]);
}
printTable(
  `one event kept per publish, ${EVENTS} per round (${FORCED_EVENTS} when forced each)${DatabaseSync === undefined ? " (no node:sqlite on this Node)" : ""}`,
  ["case", "ns/event", "vs first"],
  rows,
);

/** Writes `count` events over 100 topics into a new directory, in batches of 100; returns it. */
function filledDir(count: number): string {
  const dir = newDir();
  const history = openHistory(dir, count, 1000);
  for (let seq = 1; seq <= count; seq++) {
    history.append(benchEvent(seq, `topic-${seq % 100}`));
    if (seq % 100 === 0) history.flush();
  }
  history.flush();
  history.close();
  return dir;
}

const recoverCounts = (process.env.RECOVER ?? "100000,1000000").split(",").map(Number);
const startRows: string[][] = [];
for (const count of recoverCounts) {
  const dir = filledDir(count);
  let bytes = 0;
  const ms =
    (await measure({
      run: () => {
        const history = openHistory(dir, count, 1000);
        bytes = history.diskBytes;
        const recovered = history.start.recovered;
        history.close();
        return recovered;
      },
    })) / 1e6;
  startRows.push([
    count.toLocaleString("en-US"),
    (bytes / 1024 / 1024).toFixed(1),
    ms.toFixed(0),
    formatNs((ms * 1e6) / count),
  ]);
}
printTable(
  "a start: opening a data directory and reading its events back (100 topics)",
  ["events", "MiB on disk", "ms", "ns/event"],
  startRows,
);
rmSync(root, { recursive: true, force: true });
