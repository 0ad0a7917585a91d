// The thread that commits the SQLite log's batches, so that the node's event loop keeps
// deciding commands while a commit waits for fsync. One batch at a time: a batch is answered
// only after its transaction has committed with synchronous=FULL, with the time it ended.
//
// The thread's opening and closing are sqlite-thread.ts's; it is covered by the EventLog
// contract tests run with the thread writer, the kill -9 tests and the compiled-binary test.
import { forEachPackedRow, type PackedRows } from "./sqlite-packed-batch.ts";
import { sqliteThreadCode } from "./sqlite-thread.ts";
import { WAL_SCHEMA } from "./sqlite-wal-schema.ts";

export interface WriteBatch {
  packed: PackedRows;
}

export const WAL_WRITER = sqliteThreadCode({
  what: "event log writer",
  create: true,
  helpers: `const forEachPackedRow = ${forEachPackedRow.toString()};`,
  begin: `(db) => {
    db.run(${JSON.stringify(WAL_SCHEMA)});
    const insert = db.prepare('INSERT INTO wal_records (shard, "offset", record) VALUES (?, ?, ?)');
    const insertAll = db.transaction((packed) => {
      forEachPackedRow(packed, (shard, offset, record) => insert.run(shard, offset, record));
    }).immediate;
    // Answered with when the commit ended, on the clock every thread shares (timeOrigin + now):
    // the node splits a batch's time into its commit and its way back (node-metrics.ts).
    return { statements: [insert], answer: (request) => { insertAll(request.packed); return performance.timeOrigin + performance.now(); } };
  }`,
});
