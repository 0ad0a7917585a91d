// Shard snapshots in Postgres: one row per shard, replaced whole, with the same rules as the
// SQLite store. A committed transaction is durable on the server (fsync and synchronous_commit
// are the operator's to keep on), so save resolves only once the row is safe.
import { endPostgres, openMigratedPostgres, type PostgresSql, type PostgresStoreOptions } from "./postgres-connect.ts";
import type { ShardSnapshot, SnapshotStore } from "./snapshot-store.ts";

/** The column is int: shards are few (config caps them at 4096), and int is what others join on. */
const SHARD_MAX = 0x7fff_ffff;
/** Saves are one at a time per shard and shards are few; loads happen at recovery. */
const MAX_CONNECTIONS = 4;

interface SnapshotRow {
  next_offset: bigint;
  next_sequence: bigint;
  epoch: bigint;
  state: Uint8Array;
}

export class PostgresSnapshotStore implements SnapshotStore {
  private closed = false;

  private constructor(private readonly sql: PostgresSql) {}

  static async open(url: string, options: PostgresStoreOptions = {}): Promise<PostgresSnapshotStore> {
    return new PostgresSnapshotStore(await openMigratedPostgres(url, options, MAX_CONNECTIONS, "oms-snapshots"));
  }

  async load(shard: number): Promise<ShardSnapshot | null> {
    this.assertOpen();
    checkShard(shard);
    const [row] = await this.sql<SnapshotRow[]>`
      select next_offset, next_sequence, epoch, state from shard_snapshots where shard = ${shard}`;
    if (row === undefined) return null;
    // postgres.js hands back a Buffer; callers get plain bytes, as from the SQLite store.
    return { shard, nextOffset: row.next_offset, nextSequence: row.next_sequence, epoch: row.epoch, state: new Uint8Array(row.state) };
  }

  async save(snapshot: ShardSnapshot): Promise<void> {
    this.assertOpen();
    checkShard(snapshot.shard);
    if (snapshot.nextOffset < 0n) {
      throw new Error(`snapshot store: shard ${snapshot.shard}: nextOffset must not be negative, got ${snapshot.nextOffset}`);
    }
    await this.sql.begin(async (tx) => {
      // The offset check sits in the upsert itself, so two racing saves cannot both pass it:
      // a snapshot never moves a shard back (the log before the newer one may be compacted).
      const written = await tx`
        insert into shard_snapshots (shard, next_offset, next_sequence, epoch, state, taken_at)
        values (${snapshot.shard}, ${snapshot.nextOffset}, ${snapshot.nextSequence}, ${snapshot.epoch}, ${snapshot.state}, now())
        on conflict (shard) do update set
          next_offset = excluded.next_offset, next_sequence = excluded.next_sequence,
          epoch = excluded.epoch, state = excluded.state, taken_at = excluded.taken_at
        where shard_snapshots.next_offset <= excluded.next_offset`;
      if (written.count === 1) return;
      const [stored] = await tx<{ next_offset: bigint }[]>`select next_offset from shard_snapshots where shard = ${snapshot.shard}`;
      throw new Error(
        `snapshot store: shard ${snapshot.shard}: refusing a snapshot at offset ${snapshot.nextOffset} ` +
          `older than the stored one at ${stored?.next_offset ?? "(none)"}`,
      );
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await endPostgres(this.sql);
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
