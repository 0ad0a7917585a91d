// The SQLite snapshot store's table and the settings that make a save durable, shared by the
// store and the thread that saves for it.

/** See the event log: an outside reader may hold the lock for a moment. */
const BUSY_TIMEOUT_MS = 1000;

export const SNAPSHOT_SCHEMA = `CREATE TABLE IF NOT EXISTS shard_snapshots (
  shard INTEGER PRIMARY KEY, next_offset INTEGER NOT NULL, next_sequence INTEGER NOT NULL,
  epoch INTEGER NOT NULL, state BLOB NOT NULL, taken_at_ms INTEGER NOT NULL
)`;

/** Every connection to the file sets these; FULL makes a save fsync, so a saved snapshot
 * survives power loss (a torn one would seed a wrong ledger). */
// busy_timeout comes first: switching to WAL may itself meet a lock (another connection to the
// file closing or checkpointing) and must wait for it rather than fail the open.
export const SNAPSHOT_PRAGMAS = [`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`, "PRAGMA journal_mode = WAL", "PRAGMA synchronous = FULL"];
