// The thread that commits the SQLite log's batches, so that the node's event loop keeps
// deciding commands while a commit waits for fsync. One batch at a time: a batch is answered
// only after its transaction has committed with synchronous=FULL.
//
// The worker's code is a string that WorkerCalls runs from a Blob URL (see there why). It is
// covered by the EventLog contract tests run with the thread writer, the kill -9 tests
// and the compiled-binary test.
import { forEachPackedRow, type PackedRows } from "./sqlite-packed-batch.ts";
import { DURABLE_PRAGMAS, WAL_SCHEMA } from "./sqlite-wal-schema.ts";

export interface WriteBatch {
  packed: PackedRows;
}

/** Asks the thread to close its connection before it is terminated (see the close branch). */
export interface CloseWriter {
  close: true;
}

/** The writer thread's code, run by WorkerCalls; it answers every message with a WorkerAnswer. */
export const WAL_WRITER_SOURCE = `
import { Database } from "bun:sqlite";
const forEachPackedRow = ${forEachPackedRow.toString()};
let db = null;
let insert = null;
let insertAll = null;
self.onmessage = (message) => {
  const data = message.data;
  try {
    if (data.open !== undefined) {
      db = new Database(data.open, { create: true, readwrite: true, strict: true, safeIntegers: true });
      for (const pragma of ${JSON.stringify(DURABLE_PRAGMAS)}) db.run(pragma);
      const synchronous = db.query("PRAGMA synchronous").get();
      if (synchronous.synchronous !== 2n) throw new Error("synchronous = FULL was not accepted");
      db.run(${JSON.stringify(WAL_SCHEMA)});
      insert = db.prepare('INSERT INTO wal_records (shard, "offset", record) VALUES (?, ?, ?)');
      insertAll = db.transaction((packed) => {
        forEachPackedRow(packed, (shard, offset, record) => insert.run(shard, offset, record));
      }).immediate;
    } else if (data.close !== undefined) {
      // Closed here rather than left to terminate(): a connection dropped with the thread
      // would close (and checkpoint) at some later moment, when the file may be opened again.
      insertAll = null;
      insert?.finalize();
      db?.close();
      db = null;
    } else {
      if (insertAll === null) throw new Error("writer used before it was opened");
      insertAll(data.packed);
    }
    postMessage({ ok: true });
  } catch (error) {
    postMessage({ ok: false, error: String(error) });
  }
};
`;
