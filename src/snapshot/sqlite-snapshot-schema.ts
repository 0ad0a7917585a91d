// The SQLite snapshot store's table, shared by the store and the thread that saves for it. A
// torn snapshot would seed a wrong ledger: both open the file with openDurableDatabase
// (src/log/sqlite-durable-open.ts), so a save has been fsynced when it resolves.

export const SNAPSHOT_SCHEMA = `CREATE TABLE IF NOT EXISTS shard_snapshots (
  shard INTEGER PRIMARY KEY, next_offset INTEGER NOT NULL, next_sequence INTEGER NOT NULL,
  epoch INTEGER NOT NULL, state BLOB NOT NULL, taken_at_ms INTEGER NOT NULL
)`;
