// Shard snapshots in one SQLite file: one row per shard, replaced whole. A snapshot is only
// a shortcut for recovery (the log is the truth), but a torn one would seed a wrong ledger,
// so each save is one transaction and synchronous=FULL makes it durable before it resolves.
import { Database, type Statement } from "bun:sqlite";
import type { ShardSnapshot, SnapshotStore } from "./snapshot-store.ts";

const SHARD_MAX = 0xffff_ffff;
/** See the event log: an outside reader may hold the lock for a moment. */
const BUSY_TIMEOUT_MS = 1000;

export interface SqliteSnapshotStoreOptions {
  /** When a snapshot is taken, recorded for operators; the clock is passed in for tests. */
  nowMs?: () => number;
}

interface SnapshotRow {
  next_offset: bigint;
  next_sequence: bigint;
  epoch: bigint;
  state: Uint8Array;
}

export class SqliteSnapshotStore implements SnapshotStore {
  private closed = false;
  private readonly replaceSnapshot: (snapshot: ShardSnapshot, takenAtMs: number) => void;

  private constructor(
    private readonly db: Database,
    private readonly upsertSnapshot: Statement<unknown, [number, bigint, bigint, bigint, Uint8Array, number]>,
    private readonly selectSnapshot: Statement<SnapshotRow, [number]>,
    private readonly nowMs: () => number,
  ) {
    // Check and replace in one transaction: the row is replaced whole or not at all, and a
    // snapshot never moves a shard back to an earlier offset (the log before the newer one
    // may already be compacted away, and only a stale shard owner would write it).
    this.replaceSnapshot = db.transaction((snapshot: ShardSnapshot, takenAtMs: number) => {
      const stored = this.selectSnapshot.get(snapshot.shard);
      if (stored !== null && stored.next_offset > snapshot.nextOffset) {
        throw new Error(
          `snapshot store: shard ${snapshot.shard}: refusing a snapshot at offset ${snapshot.nextOffset} ` +
            `older than the stored one at ${stored.next_offset}`,
        );
      }
      this.upsertSnapshot.run(snapshot.shard, snapshot.nextOffset, snapshot.nextSequence, snapshot.epoch, snapshot.state, takenAtMs);
    }).immediate;
  }

  static open(path: string, options: SqliteSnapshotStoreOptions = {}): SqliteSnapshotStore {
    const db = new Database(path, { create: true, readwrite: true, strict: true, safeIntegers: true });
    const journal = db.query<{ journal_mode: string }, []>("PRAGMA journal_mode = WAL").get();
    if (journal?.journal_mode !== "wal") {
      throw new Error(`snapshot store: ${path} cannot use WAL journaling (got ${journal?.journal_mode})`);
    }
    db.run("PRAGMA synchronous = FULL");
    db.run(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
    db.run(
      `CREATE TABLE IF NOT EXISTS shard_snapshots (
         shard INTEGER PRIMARY KEY, next_offset INTEGER NOT NULL, next_sequence INTEGER NOT NULL,
         epoch INTEGER NOT NULL, state BLOB NOT NULL, taken_at_ms INTEGER NOT NULL
       )`,
    );
    return new SqliteSnapshotStore(
      db,
      db.prepare(
        `INSERT OR REPLACE INTO shard_snapshots (shard, next_offset, next_sequence, epoch, state, taken_at_ms) VALUES (?, ?, ?, ?, ?, ?)`,
      ),
      db.prepare(`SELECT next_offset, next_sequence, epoch, state FROM shard_snapshots WHERE shard = ?`),
      options.nowMs ?? Date.now,
    );
  }

  async load(shard: number): Promise<ShardSnapshot | null> {
    this.assertOpen();
    checkShard(shard);
    const row = this.selectSnapshot.get(shard);
    if (row === null) return null;
    // A copy, so the caller holds plain bytes that no later query can touch.
    return { shard, nextOffset: row.next_offset, nextSequence: row.next_sequence, epoch: row.epoch, state: new Uint8Array(row.state) };
  }

  async save(snapshot: ShardSnapshot): Promise<void> {
    this.assertOpen();
    checkShard(snapshot.shard);
    if (snapshot.nextOffset < 0n) {
      throw new Error(`snapshot store: shard ${snapshot.shard}: nextOffset must not be negative, got ${snapshot.nextOffset}`);
    }
    this.replaceSnapshot(snapshot, this.nowMs());
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.upsertSnapshot.finalize();
    this.selectSnapshot.finalize();
    this.db.close();
  }

  private assertOpen(): void {
    if (this.closed) throw new Error("snapshot store: used after close");
  }
}

function checkShard(shard: number): void {
  if (!Number.isInteger(shard) || shard < 0 || shard > SHARD_MAX) {
    throw new Error(`snapshot store: shard must be an integer from 0 to ${SHARD_MAX}, got ${shard}`);
  }
}
