// The SQLite log's table, shared by the log and the thread that writes its batches (both open
// the file with openDurableDatabase, sqlite-durable-open.ts).

export const WAL_SCHEMA = `CREATE TABLE IF NOT EXISTS wal_records (
  shard INTEGER NOT NULL, "offset" INTEGER NOT NULL, record BLOB NOT NULL,
  PRIMARY KEY (shard, "offset")
) WITHOUT ROWID`;
