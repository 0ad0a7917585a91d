// The log's writer thread, fed through shared memory: each batch is committed and answered in
// turn with when its commit ended, a batch the database refuses is answered with SQLite's
// reason and leaves nothing behind, and the writer goes on with the next.
import { afterEach, beforeEach, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ThreadBatchWriter } from "../../src/log/sqlite-batch-writer.ts";
import { openDurableDatabase } from "../../src/log/sqlite-durable-open.ts";
import { WAL_SHARD_TABLE_PREFIX } from "../../src/log/sqlite-wal-schema.ts";

let directory = "";
let path = "";

beforeEach(() => {
  directory = mkdtempSync(join(tmpdir(), "oms-thread-writer-"));
  path = join(directory, "wal.sqlite");
  // The file exists, as the log makes it before its writer opens; the shards' tables do not yet.
  openDurableDatabase(Database, path, { create: true, what: "test log" }).close();
});

afterEach(() => {
  rmSync(directory, { recursive: true, force: true });
});

const row = (shard: number, offset: bigint, ...bytes: number[]) => ({ shard, offset, bytes: Uint8Array.from(bytes) });

/** Every shard table's rows, by shard then offset. */
function stored(): { shard: bigint; offset: bigint; record: Uint8Array }[] {
  const db = new Database(path, { readonly: true, safeIntegers: true });
  try {
    const tables = db.query(`SELECT name FROM sqlite_schema WHERE type = 'table' AND name LIKE '${WAL_SHARD_TABLE_PREFIX}%'`).all() as { name: string }[];
    const shards = tables.map((table) => Number(table.name.slice(WAL_SHARD_TABLE_PREFIX.length))).sort((a, b) => a - b);
    return shards.flatMap((shard) =>
      (db.query(`SELECT "offset", record FROM "${WAL_SHARD_TABLE_PREFIX}${shard}" ORDER BY "offset"`).all() as { offset: bigint; record: Uint8Array }[]).map((row) => ({ shard: BigInt(shard), ...row })),
    );
  } finally {
    db.close();
  }
}

test("batches are committed in turn and answered with when their commit ended", async () => {
  const writer = new ThreadBatchWriter(path);
  const before = performance.now();
  const first = await writer.write([row(0, 0n, 1, 2), row(3, 0n, 3)]);
  const second = await writer.write([row(0, 1n, 4)]);
  expect(first).toBeGreaterThanOrEqual(before);
  expect(second).toBeGreaterThanOrEqual(first);
  expect(second).toBeLessThanOrEqual(performance.now());
  await writer.close();
  expect(stored().map((r) => [Number(r.shard), Number(r.offset), [...r.record]])).toEqual([
    [0, 0, [1, 2]],
    [0, 1, [4]],
    [3, 0, [3]],
  ]);
});

test("a batch the database refuses is answered with its reason, none of its rows stay, and the next batch is written", async () => {
  const writer = new ThreadBatchWriter(path);
  await writer.write([row(0, 0n, 1)]);
  // The second row repeats a key already written: the transaction rolls back whole.
  await expect(writer.write([row(0, 1n, 2), row(0, 0n, 9)])).rejects.toThrow("UNIQUE constraint failed");
  await writer.write([row(0, 1n, 5)]);
  await writer.close();
  expect(stored().map((r) => [Number(r.offset), [...r.record]])).toEqual([
    [0, [1]],
    [1, [5]],
  ]);
});

test("a shard's table is made outside its batch's transaction: a batch that fails leaves it for the next", async () => {
  const writer = new ThreadBatchWriter(path);
  await expect(writer.write([row(5, 0n, 1), row(5, 0n, 2)])).rejects.toThrow("UNIQUE constraint failed");
  await writer.write([row(5, 0n, 3)]);
  await writer.close();
  expect(stored().map((r) => [Number(r.shard), Number(r.offset), [...r.record]])).toEqual([[5, 0, [3]]]);
});

test("a batch larger than the feed holds is refused before it is sent", async () => {
  const writer = new ThreadBatchWriter(path);
  const huge = { shard: 0, offset: 0n, bytes: new Uint8Array(writer.batchBytesMax) };
  await expect(writer.write([huge])).rejects.toThrow(`is over the ${writer.batchBytesMax} a write may take`);
  await writer.write([row(0, 0n, 7)]);
  await writer.close();
  expect(stored()).toHaveLength(1);
});

test("a writer whose file cannot be opened refuses its batches with the reason", async () => {
  const writer = new ThreadBatchWriter(join(directory, "missing", "wal.sqlite"));
  await expect(writer.write([row(0, 0n, 1)])).rejects.toThrow("event log writer could not open");
  await writer.close();
});
