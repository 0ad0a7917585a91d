// A batch packed for the writer thread unpacks to the same rows, in order, byte for byte.
import { expect, test } from "bun:test";
import { forEachPackedRow, packedRowBytes, packRowsInto, type LogRow } from "../../src/log/sqlite-packed-batch.ts";

/** The rows packed into a buffer of exactly their size. */
function packRows(rows: readonly LogRow[]) {
  return packRowsInto(new Uint8Array(rows.reduce((sum, row) => sum + packedRowBytes(row.bytes.byteLength), 0)), rows);
}

const rows = [
  { shard: 0, offset: 0n, bytes: new Uint8Array([1, 2, 3]) },
  { shard: 0xffff_ffff, offset: 2n ** 63n + 5n, bytes: new Uint8Array() },
  { shard: 7, offset: 9_007_199_254_740_993n, bytes: Uint8Array.from({ length: 300 }, (_, i) => i % 256) },
];

test("packed rows unpack to the same shards, offsets and records, in order", () => {
  const packed = packRows(rows);
  expect(packed.rows).toBe(3);
  const unpacked: { shard: number; offset: bigint; bytes: Uint8Array }[] = [];
  forEachPackedRow(packed, (shard, offset, record) => unpacked.push({ shard, offset, bytes: record.slice() }));
  expect(unpacked).toEqual(rows);
});

// The writer thread unpacks inside the batch's transaction, so a throw rolls back the rows before it.
test("a packed batch cut short or with bytes left over throws, naming where", () => {
  const packed = packRows(rows);
  expect(() => forEachPackedRow({ bytes: packed.bytes.subarray(0, packed.bytes.byteLength - 1), rows: 3 }, () => {})).toThrow(
    "packed batch: row 2 of 3 runs past the end",
  );
  expect(() => forEachPackedRow({ bytes: packed.bytes, rows: 2 }, () => {})).toThrow("packed batch: 316 bytes left after 2 rows");
});

test("rows packed into a shared buffer (the thread writer's) unpack the same, and a buffer too small is refused", () => {
  const length = rows.reduce((sum, row) => sum + packedRowBytes(row.bytes.byteLength), 0);
  const shared = new Uint8Array(new SharedArrayBuffer(length + 100), 50);
  const packed = packRowsInto(shared, rows);
  expect(packed.bytes.byteLength).toBe(length);
  const unpacked: { shard: number; offset: bigint; bytes: Uint8Array }[] = [];
  forEachPackedRow(packed, (shard, offset, record) => unpacked.push({ shard, offset, bytes: record.slice() }));
  expect(unpacked).toEqual(rows);
  expect(() => packRowsInto(new Uint8Array(length - 1), rows)).toThrow(`packed batch: ${length} bytes do not fit in ${length - 1}`);
});
