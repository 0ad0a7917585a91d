// The SQLite log's tables, shared by the log and the thread that writes its batches (both open
// the file with openDurableDatabase, sqlite-durable-open.ts): a table per shard, its records
// keyed by offset (the rowid), created when the shard is first written.
//
// A table per shard, not one table keyed by (shard, offset): a batch's records go to the end
// of each shard's own B-tree, where SQLite appends a page when the last is full. In one table
// they went to as many places in the middle of the tree as the batch had shards, each a page to
// rewrite and now and then a rebalance of its neighbours: about twice the pages written to the
// WAL per commit (strace). A commit of 16 records over 16 shards, 3 runs of
// `bun bench/sqlite-commit-shape.micro.ts`: p50 188-468 / p99 1,752-2,759 µs in one table,
// 102-116 / 1,206-1,439 µs in a table per shard.

/** A shard's table is this and its number, e.g. wal_shard_7. */
export const WAL_SHARD_TABLE_PREFIX = "wal_shard_";

/** The one table of the log before it was split by shard; moved into the shards' tables at open. */
export const WAL_LEGACY_TABLE = "wal_records";

/** The part of a bun:sqlite Database the inserter uses. */
interface InserterDatabase {
  run(sql: string): unknown;
  prepare(sql: string): { run(...values: unknown[]): unknown; finalize(): void };
}

export interface ShardRecordInserter {
  /**
   * Runs a batch's transaction, which inserts through insert(). A record of a shard not yet
   * ensured stops it (rolled back whole); that shard's table is then ensured outside any
   * transaction, and the transaction runs again. So a batch that fails leaves no statement
   * prepared for a table its rollback took away, and a batch of known shards reads its rows once.
   */
  commit(transaction: () => void): void;
  /** Creates the shard's table if it is missing and prepares its insert. */
  ensure(shard: number): void;
  /** Inserts one record; its shard must have been ensured. */
  insert(shard: number, offset: bigint, record: Uint8Array): void;
  finalize(): void;
}

/**
 * Inserts records into their shards' tables, with one prepared statement per shard.
 * Self-contained (no names from outside it), because the writer thread runs its source text:
 * the table prefix comes in as an argument.
 */
export function shardRecordInserter(db: InserterDatabase, tablePrefix: string): ShardRecordInserter {
  const inserts = new Map<number, { run(...values: unknown[]): unknown; finalize(): void }>();
  /** The shard whose table an insert found missing, thrown out of the transaction by insert(). */
  class ShardWithoutTable extends Error {
    constructor(readonly shard: number) {
      super(`event log: shard ${shard}'s table was not ensured before its insert`);
    }
  }
  const ensure = (shard: number): void => {
    if (inserts.has(shard)) return;
    if (!Number.isInteger(shard) || shard < 0) throw new Error(`event log: no table for shard ${shard}`);
    const table = `"${tablePrefix}${shard}"`;
    db.run(`CREATE TABLE IF NOT EXISTS ${table} ("offset" INTEGER PRIMARY KEY, record BLOB NOT NULL)`);
    inserts.set(shard, db.prepare(`INSERT INTO ${table} ("offset", record) VALUES (?, ?)`));
  };
  return {
    commit(transaction) {
      for (;;) {
        try {
          transaction();
          return;
        } catch (error) {
          if (!(error instanceof ShardWithoutTable)) throw error;
          ensure(error.shard);
        }
      }
    },
    ensure,
    insert(shard, offset, record) {
      const insert = inserts.get(shard);
      if (insert === undefined) throw new ShardWithoutTable(shard);
      insert.run(offset, record);
    },
    finalize() {
      for (const insert of inserts.values()) insert.finalize();
      inserts.clear();
    },
  };
}
