// Shard snapshots in one SQLite file: one row per shard, replaced whole. A snapshot is only
// a shortcut for recovery (the log is the truth), but a torn one would seed a wrong ledger,
// so each save is one transaction and synchronous=FULL makes it durable before it resolves.
// Saves run on a thread of their own (sqlite-snapshot-writer.ts), loads on the caller's.
import { Database, type Statement } from "bun:sqlite";
import { SNAPSHOT_SCHEMA } from "./sqlite-snapshot-schema.ts";
import { SnapshotWriterThread } from "./sqlite-snapshot-writer.ts";
import { openDurableDatabase } from "../log/sqlite-durable-open.ts";
import type { SaveOptions, ShardSnapshot, SnapshotStore } from "./snapshot-store.ts";

const SHARD_MAX = 0xffff_ffff;

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

  private constructor(
    private readonly db: Database,
    private readonly writer: SnapshotWriterThread,
    private readonly selectSnapshot: Statement<SnapshotRow, [number]>,
    private readonly nowMs: () => number,
  ) {}

  static open(path: string, options: SqliteSnapshotStoreOptions = {}): SqliteSnapshotStore {
    const db = openDurableDatabase(Database, path, { create: true, what: "snapshot store" });
    // Created here, before the writer opens the file, so that a load finds the table at once.
    db.run(SNAPSHOT_SCHEMA);
    return new SqliteSnapshotStore(
      db,
      new SnapshotWriterThread(path),
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

  async save(snapshot: ShardSnapshot, options: SaveOptions = { giveState: false }): Promise<void> {
    this.assertOpen();
    checkShard(snapshot.shard);
    if (snapshot.nextOffset < 0n) {
      throw new Error(`snapshot store: shard ${snapshot.shard}: nextOffset must not be negative, got ${snapshot.nextOffset}`);
    }
    const { shard, nextOffset, nextSequence, epoch, state } = snapshot;
    await this.writer.save({ shard, nextOffset, nextSequence, epoch, state, takenAtMs: this.nowMs() }, options.giveState);
  }

  /** Waits for the saves already made, then closes. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.writer.close();
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
