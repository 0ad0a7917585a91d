// The archive on disk: batches written by size or on flush, rows found by id, client order id
// and list position, the same rows again on replay, and old rows purged by the retention.
import { expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ARCHIVE_SLICE_ORDERS, SqliteOrderArchive } from "../../src/archive/sqlite-order-archive.ts";
import type { Order } from "../../src/core/order.ts";

function closedOrder(accountId: string, listPosition: number, updatedAtMs: number, clientOrderId = `ord-${listPosition}`): Order {
  return {
    id: `ord-${listPosition}`, clientOrderId, symbol: "AAPL", side: "buy", type: "limit", timeInForce: "day", qty: 1n,
    limitPrice: 100n, stopPrice: null, collarPrice: 100n, replaces: null, accountId, listPosition, status: "canceled",
    filledQty: 0n, filledNotional: 0n, holdCash: 0n, holdQty: 0n, lastExecutionSeq: 0, pendingReplace: null, replacedBy: null,
    rejectReason: "", createdAtMs: updatedAtMs - 1, updatedAtMs,
  };
}

test("orders come back exactly, by id, by client order id, and below a position newest first", () => {
  const archive = SqliteOrderArchive.open(":memory:");
  const orders = Array.from({ length: 10 }, (_, index) => closedOrder("a", index, 1_000 + index, index === 3 ? "mine" : `ord-${index}`));
  archive.add(orders);
  archive.add([closedOrder("b", 0, 5_000)]);
  expect(archive.findById("a", "ord-3")).toEqual(orders[3]!);
  expect(archive.findByClientOrderId("a", "mine")).toEqual(orders[3]!);
  expect(archive.findById("c", "ord-3")).toBeUndefined();
  expect(archive.listBelow("a", 7, 3).map((order) => order.listPosition)).toEqual([6, 5, 4]);
  expect(archive.listBelow("a", 0, 3)).toEqual([]);
  expect(archive.listBelow("b", 99, 3)).toHaveLength(1);
  archive.close();
});

test("held orders are written a slice per event-loop turn, off the caller's path; flush writes the rest at once", async () => {
  const path = join(mkdtempSync(join(tmpdir(), "oms-archive-")), "archive.sqlite");
  const archive = SqliteOrderArchive.open(path);
  const reader = SqliteOrderArchive.open(path);
  archive.add(Array.from({ length: 3 * ARCHIVE_SLICE_ORDERS + 1 }, (_, index) => closedOrder("a", index, 1_000)));
  expect(reader.size()).toBe(0);
  expect(archive.pendingCount()).toBe(3 * ARCHIVE_SLICE_ORDERS + 1);
  await new Promise((resolve) => setImmediate(resolve));
  expect(reader.size()).toBe(ARCHIVE_SLICE_ORDERS);
  archive.flushToDisk();
  expect(archive.pendingCount()).toBe(0);
  expect(reader.size()).toBe(3 * ARCHIVE_SLICE_ORDERS + 1);
  archive.close();
  reader.close();
});

test("replay archiving the same orders again leaves the same rows", () => {
  const archive = SqliteOrderArchive.open(":memory:");
  const orders = Array.from({ length: 5 }, (_, index) => closedOrder("a", index, 1_000));
  archive.add(orders);
  archive.add(orders);
  expect(archive.size()).toBe(5);
  archive.close();
});

test("orders closed keptMs before the newest archived one are purged", () => {
  const archive = SqliteOrderArchive.open(":memory:", { keptMs: 60_000 });
  archive.add(Array.from({ length: 10 }, (_, index) => closedOrder("a", index, index * 20_000)));
  archive.flush();
  // The newest closed at 180 s: those before 120 s are gone.
  expect(archive.listBelow("a", 99, 99).map((order) => order.updatedAtMs)).toEqual([180_000, 160_000, 140_000, 120_000]);
  expect(() => SqliteOrderArchive.open(":memory:", { keptMs: 0 })).toThrow("archive: keptMs must be a positive integer, got 0");
  archive.close();
});
