// A batch of log rows packed into one buffer, so that the writer thread reads thousands of
// records from one place instead of cloning thousands of small objects (the clone was ~7% of a
// loaded node's main thread): the thread writer packs them straight into the buffer it shares
// with its thread. Per row, little-endian: shard u32, offset u64, record length u32, then the
// record's bytes.

/** Written out as 16 in forEachPackedRow, whose source must stand alone. */
const ROW_HEAD_BYTES = 16;

export interface PackedRows {
  bytes: Uint8Array;
  rows: number;
}

/** One row of a batch, as the log hands it to its writer. */
export interface LogRow {
  readonly shard: number;
  readonly offset: bigint;
  readonly bytes: Uint8Array;
}

/** The bytes a row whose record takes recordBytes takes packed. */
export function packedRowBytes(recordBytes: number): number {
  return ROW_HEAD_BYTES + recordBytes;
}

/** Packs rows at the start of target, which must hold them (packedRowBytes each). */
export function packRowsInto(target: Uint8Array, rows: readonly LogRow[]): PackedRows {
  let length = 0;
  for (const row of rows) length += packedRowBytes(row.bytes.byteLength);
  if (length > target.byteLength) throw new Error(`packed batch: ${length} bytes do not fit in ${target.byteLength}`);
  const bytes = target.subarray(0, length);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  for (const row of rows) {
    view.setUint32(at, row.shard, true);
    view.setBigUint64(at + 4, row.offset, true);
    view.setUint32(at + 12, row.bytes.byteLength, true);
    bytes.set(row.bytes, at + ROW_HEAD_BYTES);
    at += ROW_HEAD_BYTES + row.bytes.byteLength;
  }
  return { bytes, rows: rows.length };
}

/**
 * Calls insert for each packed row, in order; each record is a view into the packed bytes.
 * Self-contained (no names from outside it), because the writer thread runs its source text.
 */
export function forEachPackedRow(packed: PackedRows, insert: (shard: number, offset: bigint, record: Uint8Array) => void): void {
  const { bytes, rows } = packed;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  for (let row = 0; row < rows; row++) {
    if (at + 16 > bytes.byteLength) throw new Error(`packed batch: row ${row} of ${rows} runs past the end`);
    const length = view.getUint32(at + 12, true);
    if (at + 16 + length > bytes.byteLength) throw new Error(`packed batch: row ${row} of ${rows} runs past the end`);
    insert(view.getUint32(at, true), view.getBigUint64(at + 4, true), bytes.subarray(at + 16, at + 16 + length));
    at += 16 + length;
  }
  if (at !== bytes.byteLength) throw new Error(`packed batch: ${bytes.byteLength - at} bytes left after ${rows} rows`);
}
