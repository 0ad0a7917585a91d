import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { LogRecord, RecordHeader } from "../../src/log/event-log.ts";
import { SqliteEventLog } from "../../src/log/sqlite-event-log.ts";

let directory = "";
let path = "";

beforeEach(() => {
  directory = mkdtempSync(join(tmpdir(), "oms-wal-"));
  path = join(directory, "wal.sqlite");
});

afterEach(() => {
  rmSync(directory, { recursive: true, force: true });
});

/** The stamp a shard owner puts on a record; the SQLite log stores it as given. */
function at(shard: number, sequence = 0n): RecordHeader {
  return { shard, epoch: 0n, sequence };
}

function deposit(accountId: string, amount: bigint): LogRecord {
  return { accountId, events: [{ kind: "cash_deposited", amount, atMs: 1_700_000_000_000 }] };
}

/** Runs SQL on the log's file through a second connection, as an outside tool would. */
function tamper(sql: string): void {
  const db = new Database(path);
  db.run(sql);
  db.close();
}

describe("SqliteEventLog offsets", () => {
  test("each shard's offsets start at 0 and count up without gaps", async () => {
    const log = SqliteEventLog.open(path);
    expect(await log.append(at(4), deposit("a", 1n))).toBe(0n);
    expect(await log.append(at(4), deposit("a", 2n))).toBe(1n);
    expect(await log.append(at(9), deposit("b", 3n))).toBe(0n);
    expect(await log.append(at(4), deposit("a", 4n))).toBe(2n);
    expect(await log.endOffset(4)).toBe(3n);
    expect(await log.endOffset(9)).toBe(1n);
    expect(await log.endOffset(5)).toBe(0n);
    await log.close();
  });

  test("offsets continue from what is on disk after reopening", async () => {
    const first = SqliteEventLog.open(path);
    await Promise.all([first.append(at(1, 0n), deposit("a", 1n)), first.append(at(1, 1n), deposit("a", 2n)), first.append(at(2), deposit("b", 3n))]);
    await first.close();

    const second = SqliteEventLog.open(path);
    expect(await second.endOffset(1)).toBe(2n);
    expect(await second.append({ shard: 1, epoch: 7n, sequence: 2n }, deposit("a", 4n))).toBe(2n);
    expect(await second.append(at(2), deposit("b", 5n))).toBe(1n);
    const stored = await second.read(1, 0n, 10);
    expect(stored).toEqual([
      { offset: 0n, header: at(1, 0n), record: deposit("a", 1n) },
      { offset: 1n, header: at(1, 1n), record: deposit("a", 2n) },
      // The header comes back exactly as the owner stamped it.
      { offset: 2n, header: { shard: 1, epoch: 7n, sequence: 2n }, record: deposit("a", 4n) },
    ]);
    await second.close();
  });

  test("a record the codec refuses is rejected without taking an offset", async () => {
    const log = SqliteEventLog.open(path);
    await expect(log.append(at(1), deposit("a", 1n << 63n))).rejects.toThrow("does not fit int64");
    expect(await log.append(at(1), deposit("a", 1n))).toBe(0n);
    await log.close();
  });

  test("a shard id outside uint32 is rejected", async () => {
    const log = SqliteEventLog.open(path);
    await expect(log.append(at(2 ** 32), deposit("a", 1n))).rejects.toThrow("shard must be an integer from 0 to 4294967295");
    await log.close();
  });
});

describe("SqliteEventLog group commit", () => {
  test("appends made in one tick commit in one transaction and resolve together after it", async () => {
    const batchSizes: number[] = [];
    const log = SqliteEventLog.open(path, { onBatchCommitted: (recordCount) => batchSizes.push(recordCount) });
    const appends = Array.from({ length: 1000 }, (_, index) =>
      log.append(at(index % 4), deposit(`acct-${index}`, BigInt(index))).then((offset) => ({ offset, batchesSeen: batchSizes.length })),
    );
    const results = await Promise.all(appends);
    expect(batchSizes).toEqual([1000]);
    // No append resolved before the commit: each saw the batch already committed.
    expect(results.every((result) => result.batchesSeen === 1)).toBe(true);
    expect(results.map((result) => result.offset)).toEqual(Array.from({ length: 1000 }, (_, index) => BigInt(Math.floor(index / 4))));
    await log.close();

    const reopened = SqliteEventLog.open(path);
    for (let shard = 0; shard < 4; shard += 1) {
      const stored = await reopened.read(shard, 0n, 1000);
      expect(stored.map((entry) => entry.record)).toEqual(
        Array.from({ length: 250 }, (_, k) => deposit(`acct-${k * 4 + shard}`, BigInt(k * 4 + shard))),
      );
    }
    await reopened.close();
  });

  test("a batch is written as soon as it holds batchRecordsMax records", async () => {
    const batchSizes: number[] = [];
    const log = SqliteEventLog.open(path, { batchRecordsMax: 100, onBatchCommitted: (count) => batchSizes.push(count) });
    const appends: Promise<bigint>[] = [];
    // Only microtasks run between these checks, never the tick's flush: a full batch went on its own.
    const microtasks = async () => {
      for (let turn = 0; turn < 5; turn += 1) await null;
    };
    for (let index = 0; index < 100; index += 1) appends.push(log.append(at(0), deposit("a", BigInt(index))));
    await microtasks();
    expect(batchSizes).toEqual([100]);
    for (let index = 100; index < 250; index += 1) appends.push(log.append(at(0), deposit("a", BigInt(index))));
    await microtasks();
    // The second full batch went on its own; the rest may follow it at once, on its completion.
    expect(batchSizes.slice(0, 2)).toEqual([100, 100]);
    expect(await Promise.all(appends)).toEqual(Array.from({ length: 250 }, (_, index) => BigInt(index)));
    expect(batchSizes).toEqual([100, 100, 50]);
    await log.close();
  });

  test("appends made while a batch is written go as the next batch on its completion, not a turn later", async () => {
    const batchSizes: number[] = [];
    let during: Promise<bigint>[] = [];
    const log = SqliteEventLog.open(path, {
      onBatchCommitted: (count) => {
        batchSizes.push(count);
        // Made while the first batch is still being written (its commit not yet done with).
        if (batchSizes.length === 1) during = [log.append(at(0), deposit("a", 1n)), log.append(at(0), deposit("a", 2n))];
      },
    });
    await log.append(at(0), deposit("a", 0n));
    for (let turn = 0; turn < 5; turn += 1) await null;
    expect(batchSizes).toEqual([1, 2]);
    expect(await Promise.all(during)).toEqual([1n, 2n]);
    await log.close();
  });

  test("endOffset counts pending appends, and readers see only committed ones", async () => {
    const log = SqliteEventLog.open(path);
    const pending = [log.append(at(3), deposit("a", 1n)), log.append(at(3), deposit("a", 2n))];
    expect(await log.endOffset(3)).toBe(2n);
    expect(await log.read(3, 0n, 10)).toEqual([]);
    await Promise.all(pending);
    expect((await log.read(3, 0n, 10)).length).toBe(2);
    await log.close();
  });

  test("close writes pending appends before closing", async () => {
    const log = SqliteEventLog.open(path);
    const pending = log.append(at(1), deposit("a", 7n));
    await log.close();
    expect(await pending).toBe(0n);
    await expect(log.append(at(1), deposit("a", 8n))).rejects.toThrow("event log: append after close");

    const reopened = SqliteEventLog.open(path);
    expect(await reopened.read(1, 0n, 10)).toEqual([{ offset: 0n, header: at(1), record: deposit("a", 7n) }]);
    await reopened.close();
  });

  test("a failed write rejects every append of its batch and the log refuses more, asking for a restart", async () => {
    const log = SqliteEventLog.open(path);
    expect(await log.append(at(1), deposit("a", 1n))).toBe(0n);
    tamper(`CREATE TABLE wal_shard_9 ("offset" INTEGER PRIMARY KEY, record BLOB NOT NULL);
            CREATE TRIGGER refuse_shard_9 BEFORE INSERT ON wal_shard_9 BEGIN SELECT RAISE(ABORT, 'disk on fire'); END`);
    const sameBatch = await Promise.allSettled([log.append(at(1), deposit("a", 2n)), log.append(at(9), deposit("b", 3n))]);
    const reasons = sameBatch.map((outcome) => (outcome.status === "rejected" ? String(outcome.reason) : "resolved"));
    expect(reasons).toHaveLength(2);
    for (const reason of reasons) expect(reason).toMatch(/2 records failed.*node must restart.*disk on fire/);
    await expect(log.append(at(1), deposit("a", 4n))).rejects.toThrow("node must restart");
    await log.close();

    tamper("DROP TRIGGER refuse_shard_9");
    const reopened = SqliteEventLog.open(path);
    expect(await reopened.read(1, 0n, 10)).toEqual([{ offset: 0n, header: at(1), record: deposit("a", 1n) }]);
    expect(await reopened.endOffset(9)).toBe(0n);
    await reopened.close();
  });
});

describe("SqliteEventLog reads", () => {
  test("reads page through a shard in order", async () => {
    const log = SqliteEventLog.open(path);
    await Promise.all(Array.from({ length: 10 }, (_, index) => log.append(at(2), deposit("a", BigInt(index)))));
    const offsets = async (from: bigint, max: number) => (await log.read(2, from, max)).map((stored) => stored.offset);
    expect(await offsets(0n, 3)).toEqual([0n, 1n, 2n]);
    expect(await offsets(3n, 3)).toEqual([3n, 4n, 5n]);
    expect(await offsets(9n, 5)).toEqual([9n]);
    expect(await offsets(10n, 5)).toEqual([]);
    expect(await offsets(0n, 0)).toEqual([]);
    expect((await log.read(2, 4n, 1))[0]?.record).toEqual(deposit("a", 4n));
    await log.close();
  });

  test("a record stored in another shard than its writer's is refused, naming shard and offset", async () => {
    const log = SqliteEventLog.open(path);
    await log.append(at(1), deposit("a", 1n));
    await log.close();
    tamper(`CREATE TABLE wal_shard_2 ("offset" INTEGER PRIMARY KEY, record BLOB NOT NULL);
            INSERT INTO wal_shard_2 ("offset", record) SELECT 0, record FROM wal_shard_1`);

    const reopened = SqliteEventLog.open(path);
    await expect(reopened.read(2, 0n, 10)).rejects.toThrow("event log: shard 2 offset 0 holds a record written for shard 1");
    await reopened.close();
  });

  test("damaged bytes are refused, naming shard and offset", async () => {
    const log = SqliteEventLog.open(path);
    await log.append(at(5), deposit("a", 1n));
    await log.close();
    tamper(`UPDATE wal_shard_5 SET record = X'FFFFFF'`);

    const reopened = SqliteEventLog.open(path);
    await expect(reopened.read(5, 0n, 10)).rejects.toThrow(/^event log: shard 5 offset 0: .*not a valid oms\.log\.v1\.Record/);
    await reopened.close();
  });

  test("a missing offset is refused as a gap", async () => {
    const log = SqliteEventLog.open(path);
    await Promise.all([0n, 1n, 2n].map((amount) => log.append(at(1), deposit("a", amount))));
    await log.close();
    tamper(`DELETE FROM wal_shard_1 WHERE "offset" = 1`);

    const reopened = SqliteEventLog.open(path);
    await expect(reopened.read(1, 0n, 10)).rejects.toThrow("event log: shard 1 has a gap: offset 1 is missing (next is 2)");
    await reopened.close();
  });

  test("the log file uses WAL journaling", async () => {
    const log = SqliteEventLog.open(path);
    await log.close();
    const db = new Database(path, { readonly: true });
    expect(db.query("PRAGMA journal_mode").get()).toEqual({ journal_mode: "wal" });
    db.close();
  });
});

describe("SqliteEventLog written before its split by shard", () => {
  test("a log written as one table of all shards is moved into the shards' tables at open, whole", async () => {
    const records = [deposit("a", 1n), deposit("b", 2n), deposit("a", 3n)];
    const { encodeRecord } = await import("../../src/log/record-codec.ts");
    tamper(`CREATE TABLE wal_records (shard INTEGER NOT NULL, "offset" INTEGER NOT NULL, record BLOB NOT NULL, PRIMARY KEY (shard, "offset")) WITHOUT ROWID`);
    const db = new Database(path);
    const insert = db.prepare(`INSERT INTO wal_records (shard, "offset", record) VALUES (?, ?, ?)`);
    insert.run(1, 0, encodeRecord(at(1), records[0]!));
    insert.run(7, 0, encodeRecord(at(7), records[1]!));
    insert.run(1, 1, encodeRecord(at(1), records[2]!));
    insert.finalize();
    db.close();

    const log = SqliteEventLog.open(path);
    expect(await log.read(1, 0n, 10)).toEqual([
      { offset: 0n, header: at(1), record: records[0]! },
      { offset: 1n, header: at(1), record: records[2]! },
    ]);
    expect(await log.read(7, 0n, 10)).toEqual([{ offset: 0n, header: at(7), record: records[1]! }]);
    expect(await log.append(at(1), deposit("c", 4n))).toBe(2n);
    expect(await log.endOffset(7)).toBe(1n);
    await log.close();
    const after = new Database(path, { readonly: true });
    expect(after.query(`SELECT name FROM sqlite_schema WHERE name = 'wal_records'`).get()).toBeNull();
    after.close();
  });

  test("a move that fails leaves the one table as it was, and the log unopened", async () => {
    tamper(`CREATE TABLE wal_records (shard INTEGER NOT NULL, "offset" INTEGER NOT NULL, record BLOB NOT NULL, PRIMARY KEY (shard, "offset")) WITHOUT ROWID;
            INSERT INTO wal_records VALUES (1, 0, X'01');
            CREATE TABLE wal_shard_1 ("offset" INTEGER PRIMARY KEY, record BLOB NOT NULL);
            INSERT INTO wal_shard_1 VALUES (0, X'02')`);
    expect(() => SqliteEventLog.open(path)).toThrow("UNIQUE constraint failed");
    const db = new Database(path, { readonly: true });
    expect(db.query(`SELECT count(*) AS n FROM wal_records`).get()).toEqual({ n: 1 });
    expect(db.query(`SELECT hex(record) AS bytes FROM wal_shard_1`).all()).toEqual([{ bytes: "02" }]);
    db.close();
  });
});
