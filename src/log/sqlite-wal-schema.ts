// The SQLite log's table and the settings that make a commit durable, shared by the log and
// the thread that writes its batches.
import type { Database } from "bun:sqlite";

/** How long a write waits for a lock held by an outside reader (a backup, the sqlite3 shell)
 * before it fails; failing would stop the node, waiting a moment does not. */
const BUSY_TIMEOUT_MS = 1000;

export const WAL_SCHEMA = `CREATE TABLE IF NOT EXISTS wal_records (
  shard INTEGER NOT NULL, "offset" INTEGER NOT NULL, record BLOB NOT NULL,
  PRIMARY KEY (shard, "offset")
) WITHOUT ROWID`;

/** What every connection that writes the log sets; FULL makes each commit fsync the WAL, so
 * an acknowledged append survives power loss. */
// busy_timeout comes first: switching to WAL may itself meet a lock (another connection to the
// file closing or checkpointing) and must wait for it rather than fail the open.
export const DURABLE_PRAGMAS = [`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`, "PRAGMA journal_mode = WAL", "PRAGMA synchronous = FULL"];

export function openDurably(db: Database, path: string): void {
  for (const pragma of DURABLE_PRAGMAS) db.run(pragma);
  const journal = db.query<{ journal_mode: string }, []>("PRAGMA journal_mode").get();
  if (journal?.journal_mode !== "wal") {
    throw new Error(`event log: ${path} cannot use WAL journaling (got ${journal?.journal_mode}); use a file on a local disk`);
  }
  const synchronous = db.query<{ synchronous: bigint }, []>("PRAGMA synchronous").get();
  if (synchronous?.synchronous !== 2n) throw new Error(`event log: ${path} did not accept synchronous = FULL`);
}
