// The archive on disk: orders found at once (held in memory until the writer thread has them),
// by id, client order id and list position; the same rows again on replay; old rows purged
// by the retention; what flushToDisk confirmed is there for the next process.
import { Database } from "bun:sqlite";
import { expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ARCHIVE_BATCH_ORDERS_MAX, ARCHIVE_WRITE_GAP_MS, SqliteOrderArchive } from "../../src/archive/sqlite-order-archive.ts";
import type { Order } from "../../src/core/order.ts";

function closedOrder(accountId: string, listPosition: number, updatedAtMs: number, clientOrderId = `ord-${accountId}-${listPosition}`): Order {
  return {
    id: `ord-${accountId}-${listPosition}`, clientOrderId, symbol: "AAPL", side: "buy", type: "limit", timeInForce: "day", qty: 1n,
    limitPrice: 100n, stopPrice: null, collarPrice: 100n, replaces: null, accountId, listPosition, status: "canceled",
    filledQty: 0n, filledNotional: 0n, holdCash: 0n, holdQty: 0n, lastExecutionSeq: 0, pendingReplace: null, replacedBy: null,
    rejectReason: "", createdAtMs: updatedAtMs - 1, updatedAtMs,
  };
}

const archivePath = () => join(mkdtempSync(join(tmpdir(), "oms-archive-")), "archive.sqlite");

test("orders come back exactly, by id, by client order id, and below a position newest first: held, then written", async () => {
  const archive = SqliteOrderArchive.open(archivePath());
  const orders = Array.from({ length: 10 }, (_, index) => closedOrder("a", index, 1_000 + index, index === 3 ? "mine" : undefined));
  archive.add(orders);
  archive.add([closedOrder("b", 0, 5_000)]);
  for (const stage of ["held", "written"]) {
    expect(archive.heldCount()).toBe(stage === "held" ? 11 : 0);
    expect(archive.findById("a", "ord-a-3")).toEqual(orders[3]!);
    expect(archive.findByClientOrderId("a", "mine")).toEqual(orders[3]!);
    expect(archive.findByClientOrderId("a", "ord-a-4")).toEqual(orders[4]!);
    expect(archive.findByClientOrderId("a", "ord-a-3")).toBeUndefined();
    expect(archive.findById("b", "ord-a-3")).toBeUndefined();
    expect(archive.listBelow("a", 7, 3).map((order) => order.listPosition)).toEqual([6, 5, 4]);
    expect(archive.listBelow("a", 0, 3)).toEqual([]);
    expect(archive.listBelow("b", 99, 3)).toHaveLength(1);
    await archive.flushToDisk();
  }
  await archive.close();
});

test("orders are written off the caller's path in batches, and what flushToDisk confirmed is there after a reopen", async () => {
  const path = archivePath();
  const archive = SqliteOrderArchive.open(path);
  archive.add(Array.from({ length: 2 * ARCHIVE_BATCH_ORDERS_MAX + 1 }, (_, index) => closedOrder("a", index, 1_000)));
  expect(archive.heldCount()).toBe(2 * ARCHIVE_BATCH_ORDERS_MAX + 1);
  await archive.flushToDisk();
  expect(archive.heldCount()).toBe(0);
  const again = SqliteOrderArchive.open(path);
  expect(await again.size()).toBe(2 * ARCHIVE_BATCH_ORDERS_MAX + 1);
  expect(again.findById("a", "ord-a-0")?.listPosition).toBe(0);
  await again.close();
  await archive.close();
});

test("replay archiving the same orders again leaves the same rows", async () => {
  const archive = SqliteOrderArchive.open(archivePath());
  const orders = Array.from({ length: 5 }, (_, index) => closedOrder("a", index, 1_000));
  archive.add(orders);
  await archive.flushToDisk();
  archive.add(orders);
  expect(archive.listBelow("a", 99, 99)).toHaveLength(5);
  expect(await archive.size()).toBe(5);
  await archive.close();
});

test("orders closed keptMs before the newest archived one are purged", async () => {
  const archive = SqliteOrderArchive.open(archivePath(), { keptMs: 60_000 });
  archive.add(Array.from({ length: 10 }, (_, index) => closedOrder("a", index, index * 20_000)));
  await archive.flushToDisk();
  // The newest closed at 180 s: those before 120 s are gone.
  expect(archive.listBelow("a", 99, 99).map((order) => order.updatedAtMs)).toEqual([180_000, 160_000, 140_000, 120_000]);
  expect(() => SqliteOrderArchive.open(archivePath(), { keptMs: 0 })).toThrow("archive: keptMs must be a positive integer, got 0");
  await archive.close();
});

test("one write is with the thread at a time: what is added meanwhile waits in memory, found by reads, and goes as the next write", async () => {
  const path = archivePath();
  const archive = SqliteOrderArchive.open(path);
  await archive.flushToDisk();
  // Another connection holds the file's write lock: the thread's first write waits for it
  // (busy_timeout), so it is certainly still with the thread while more orders come.
  const blocker = new Database(path);
  blocker.run("BEGIN IMMEDIATE");
  archive.add([closedOrder("a", 0, 1_000)]);
  await Bun.sleep(20);
  for (let turn = 1; turn <= 5; turn += 1) {
    archive.add([closedOrder("a", turn, 1_000 + turn)]);
    await Bun.sleep(5);
  }
  expect(archive.writeCount()).toBe(1);
  expect(archive.heldCount()).toBe(6);
  expect(archive.findById("a", "ord-a-5")?.listPosition).toBe(5);
  blocker.run("COMMIT");
  blocker.close();
  await archive.flushToDisk();
  expect(archive.writeCount()).toBe(2);
  expect(archive.heldCount()).toBe(0);
  expect(await archive.size()).toBe(6);
  await archive.close();
});

test("flushToDisk waits for what was handed over before it, not for orders that keep coming", async () => {
  const archive = SqliteOrderArchive.open(archivePath());
  archive.add([closedOrder("a", 0, 1_000)]);
  let stop = false;
  let next = 1;
  // A steady flow: every turn closes another order, so there is always a next write.
  const flow = (async () => {
    while (!stop) {
      archive.add([closedOrder("a", next, 1_000 + next)]);
      next += 1;
      await new Promise((resolve) => setImmediate(resolve));
    }
  })();
  await archive.flushToDisk();
  expect(archive.findById("a", "ord-a-0")).toBeDefined();
  stop = true;
  await flow;
  await archive.close();
  expect(next).toBeGreaterThan(1);
});

test("writes are ARCHIVE_WRITE_GAP_MS apart: orders closing in many turns within one gap go as one write", async () => {
  const archive = SqliteOrderArchive.open(archivePath());
  await archive.flushToDisk();
  const firstAddAt = performance.now();
  let turns = 0;
  // Turn after turn, each closing an order, for half a gap: the thread confirms the first write
  // long before (a commit takes well under a millisecond here), and the rest must still wait.
  while (performance.now() - firstAddAt < ARCHIVE_WRITE_GAP_MS / 2) {
    archive.add([closedOrder("a", turns, 1_000 + turns)]);
    turns += 1;
    await Bun.sleep(1);
  }
  expect(turns).toBeGreaterThan(1);
  expect(archive.writeCount()).toBe(1);
  expect(archive.findById("a", `ord-a-${turns - 1}`)?.listPosition).toBe(turns - 1);
  await archive.flushToDisk();
  expect(archive.writeCount()).toBe(2);
  expect(await archive.size()).toBe(turns);
  await archive.close();
});
