// How every connection to a SQLite file of ours is opened (the log, snapshots, shard claims; on
// the node's thread and on the writer threads alike), so that the rules live in one place.
import type { Database } from "bun:sqlite";

export interface DurableOpenOptions {
  /** Create the file if it is missing; a thread that opens a file its store made says false. */
  create: boolean;
  /** Names the store in errors: "event log", "snapshot store", … */
  what: string;
}

/**
 * Opens path with WAL journaling and synchronous = FULL, so that a committed transaction has
 * been fsynced and survives power loss, and checks that SQLite took both. Self-contained (no
 * names from outside it, the Database class passed in): the writer threads run its source text.
 */
export function openDurableDatabase(SqliteDatabase: typeof Database, path: string, options: DurableOpenOptions): Database {
  const db = new SqliteDatabase(path, { create: options.create, readwrite: true, strict: true, safeIntegers: true });
  try {
    // busy_timeout first, on every connection: switching to WAL may itself meet a lock (another
    // connection to the file closing or checkpointing) and must wait for it rather than fail the
    // open (it did, now and then, with SQLITE_BUSY). 1000 ms also covers an outside reader (a
    // backup, the sqlite3 shell) or another node's claim holding the lock for a moment: waiting
    // a moment does no harm, failing a log write stops the node.
    db.run("PRAGMA busy_timeout = 1000");
    db.run("PRAGMA journal_mode = WAL");
    db.run("PRAGMA synchronous = FULL");
    const journal = db.query("PRAGMA journal_mode").get() as { journal_mode: string } | null;
    if (journal?.journal_mode !== "wal") {
      throw new Error(`${options.what}: ${path} cannot use WAL journaling (got ${journal?.journal_mode}); use a file on a local disk`);
    }
    const synchronous = db.query("PRAGMA synchronous").get() as { synchronous: bigint } | null;
    if (synchronous?.synchronous !== 2n) throw new Error(`${options.what}: ${path} did not accept synchronous = FULL`);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}
