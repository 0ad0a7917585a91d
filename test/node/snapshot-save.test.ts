// A snapshot taken while orders keep arriving, encoded between commands and saved on the
// store's writer thread, hydrates to exactly the ledger that replaying the whole log builds.
import { expect, test } from "bun:test";
import { join } from "node:path";
import { encodeLedger } from "../../src/core/ledger-codec.ts";
import { OrderType, Side, TimeInForce } from "../../src/gen/oms/v1/trading_pb.ts";
import { SqliteEventLog } from "../../src/log/sqlite-event-log.ts";
import { recoverShard } from "../../src/node/recovery.ts";
import { SNAPSHOT_BYTES_PER_RECORD } from "../../src/node/oms-node.ts";
import { nodeMetrics } from "../../src/metrics/node-metrics.ts";
import { sampleOf } from "../metrics/scrape.ts";
import { SqliteSnapshotStore } from "../../src/snapshot/sqlite-snapshot-store.ts";
import { SHARD_COUNT, startNodeHarness } from "./node-harness.ts";

// The harness shards by name length: two accounts in each of its four shards.
const ACCOUNTS = ["al", "bea", "cleo", "bruno", "ed", "flo", "gwen", "i"];

test("a snapshot saved off-thread during order flow plus the log after it rebuilds the ledger the whole log builds", async () => {
  const h = await startNodeHarness();
  for (const accountId of ACCOUNTS) {
    await h.run({ case: "createAccount", value: { accountId } });
    await h.run({ case: "deposit", value: { accountId, amount: "1000000" } });
  }
  const limitBuy = (accountId: string, i: number) =>
    h.run({
      case: "submitOrder",
      value: { accountId, symbol: "AAPL", side: Side.BUY, type: OrderType.LIMIT, timeInForce: TimeInForce.GTC, qty: String(1 + (i % 7)), limitPrice: "1" },
    });
  const before = ACCOUNTS.flatMap((accountId, i) => [limitBuy(accountId, i), limitBuy(accountId, i + 1)]);
  // Snapshots begin with orders in flight, and more arrive while they are encoded and saved.
  const snapshots = h.node.snapshotAll();
  const during = ACCOUNTS.flatMap((accountId, i) => [limitBuy(accountId, i + 2), limitBuy(accountId, i + 3)]);
  for (const result of await Promise.all([...before, ...during])) expect(result.result.case).toBe("submitOrder");
  await snapshots;
  await h.stop();

  const log = SqliteEventLog.open(join(h.dir, "wal.sqlite"));
  const saved = SqliteSnapshotStore.open(join(h.dir, "snapshots.sqlite"));
  const none = SqliteSnapshotStore.open(join(h.dir, "no-snapshots.sqlite"));
  let fromSnapshots = 0;
  for (let shard = 0; shard < SHARD_COUNT; shard++) {
    const snapshot = await saved.load(shard);
    expect(snapshot).not.toBeNull();
    const withSnapshot = await recoverShard(shard, log, saved, () => {});
    const wholeLog = await recoverShard(shard, log, none, () => {});
    expect(withSnapshot.stats.snapshotOffset).toBe(snapshot?.nextOffset as bigint);
    if ((snapshot?.nextOffset ?? 0n) > 1n) fromSnapshots += 1;
    expect(encodeLedger(withSnapshot.ledger.ledger)).toEqual(encodeLedger(wholeLog.ledger.ledger));
    expect(wholeLog.ledger.ledger.size).toBeGreaterThan(0);
  }
  expect(fromSnapshots).toBeGreaterThan(0); // some shard's snapshot held records, not just a marker
  await log.close();
  await saved.close();
  await none.close();
});

test("a large shard's snapshots are paced by its last snapshot's size: a record pays for at most SNAPSHOT_BYTES_PER_RECORD of the next", async () => {
  const h = await startNodeHarness(undefined, 2);
  const shard = "al".length % SHARD_COUNT;
  const buy = () => h.run({ case: "submitOrder", value: { accountId: "al", symbol: "AAPL", side: Side.BUY, type: OrderType.LIMIT, timeInForce: TimeInForce.GTC, qty: "1", limitPrice: "1" } });
  await h.run({ case: "createAccount", value: { accountId: "al" } });
  await h.run({ case: "deposit", value: { accountId: "al", amount: "1000000" } });
  for (let i = 0; i < 60; i++) expect((await buy()).result.case).toBe("submitOrder");
  await h.node.snapshotAll();
  const bytes = (await h.snapshots.load(shard))?.state.byteLength ?? 0;
  const due = Math.max(2, Math.ceil(bytes / SNAPSHOT_BYTES_PER_RECORD));
  // Sixty resting orders make a snapshot of kilobytes: far more records than snapshot.everyRecords (2).
  expect(due).toBeGreaterThan(20);
  const saved = async () => sampleOf(await nodeMetrics.registry().metrics(), 'oms_snapshots_total{outcome="saved"}') ?? 0;
  const before = await saved();
  for (let i = 0; i < due - 1; i++) await buy();
  expect(await saved()).toBe(before);
  await buy();
  // The due record started one; snapshotAll waits for it, then takes one of each shard.
  await h.node.snapshotAll();
  expect(await saved()).toBe(before + 1 + SHARD_COUNT);
  await h.stop();
});
