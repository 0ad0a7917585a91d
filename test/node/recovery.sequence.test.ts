// Replay trusts the owner's stamps, not the storage offsets: a record written twice by a
// retried send is applied once, a gap stops recovery, and a fenced owner's records are ignored.
import { expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { LogRecord, RecordHeader } from "../../src/log/event-log.ts";
import { SqliteEventLog } from "../../src/log/sqlite-event-log.ts";
import { recoverShard, type ReplayProgress } from "../../src/node/recovery.ts";
import { SqliteSnapshotStore } from "../../src/snapshot/sqlite-snapshot-store.ts";

const created: LogRecord = { accountId: "acct", events: [{ kind: "account_created", atMs: 1 }] };
const deposit = (amount: bigint): LogRecord => ({ accountId: "acct", events: [{ kind: "cash_deposited", amount, atMs: 2 }] });
const stamp = (epoch: bigint, sequence: bigint): RecordHeader => ({ shard: 0, epoch, sequence });

async function recoverFrom(records: [RecordHeader, LogRecord][], onProgress?: (progress: ReplayProgress) => void) {
  const dir = mkdtempSync(join(tmpdir(), "oms-replay-"));
  const log = SqliteEventLog.open(join(dir, "wal.sqlite"));
  const snapshots = SqliteSnapshotStore.open(join(dir, "snapshots.sqlite"));
  for (const [header, record] of records) await log.append(header, record);
  try {
    return await recoverShard(0, log, snapshots, onProgress, 0);
  } finally {
    await log.close();
    await snapshots.close();
  }
}

test("a record stored twice (a retried send) is applied once and counted as skipped", async () => {
  const { ledger, stats } = await recoverFrom([
    [stamp(0n, 0n), created],
    [stamp(0n, 1n), deposit(100n)],
    [stamp(0n, 1n), deposit(100n)],
    [stamp(0n, 2n), deposit(5n)],
  ]);
  expect(ledger.ledger.get("acct")?.cash).toBe(105n);
  expect(ledger.nextSequence).toBe(3n);
  expect([stats.recordsReplayed, stats.recordsSkipped]).toEqual([3, 1]);
});

test("a missing sequence stops recovery with the shard, offset and sequences named", async () => {
  await expect(recoverFrom([[stamp(0n, 0n), created], [stamp(0n, 2n), deposit(1n)]])).rejects.toThrow(
    "shard 0 offset 1: record has sequence 2 but 1 was expected; the log has a gap",
  );
});

test("after a record of a newer epoch, records of older epochs are a fenced owner's and are ignored", async () => {
  const { ledger, stats } = await recoverFrom([
    [stamp(1n, 0n), created],
    [stamp(1n, 1n), deposit(10n)],
    [stamp(2n, 2n), deposit(20n)],
    [stamp(1n, 2n), deposit(999n)],
    [stamp(2n, 3n), deposit(30n)],
  ]);
  expect(ledger.ledger.get("acct")?.cash).toBe(60n);
  expect([ledger.epoch, ledger.nextSequence, stats.recordsSkipped]).toEqual([2n, 4n, 1]);
});

test("a replay reports its progress: where it is, what remains, events so far and their rate", async () => {
  const reports: ReplayProgress[] = [];
  const { stats } = await recoverFrom([[stamp(0n, 0n), created], [stamp(0n, 1n), deposit(1n)], [stamp(0n, 2n), deposit(2n)]], (p) => reports.push(p));
  expect(reports.map(({ shard, offset, endOffset, remainingRecords, eventsReplayed }) => ({ shard, offset, endOffset, remainingRecords, eventsReplayed }))).toEqual([
    { shard: 0, offset: 3n, endOffset: 3n, remainingRecords: 0n, eventsReplayed: 3 },
  ]);
  expect(reports[0]!.eventsPerSecond).toBeGreaterThan(0);
  expect([stats.endOffset, stats.eventsReplayed]).toEqual([3n, 3]);
});
