// The thread that saves the SQLite store's snapshots, so that writing a shard's multi-megabyte
// state and waiting for its fsync does not stop the node's event loop (measured: the save on
// the main thread was ~16% of a loaded node's time, in stalls of many milliseconds). One save
// at a time, answered in order, each only after its transaction has committed with
// synchronous=FULL.
import { SNAPSHOT_SCHEMA } from "./sqlite-snapshot-schema.ts";
import { SqliteThread, sqliteThreadCode } from "../log/sqlite-thread.ts";

export interface SaveRequest {
  shard: number;
  nextOffset: bigint;
  nextSequence: bigint;
  epoch: bigint;
  state: Uint8Array;
  takenAtMs: number;
}

// The check and the replacement run in one transaction: the row is replaced whole or not at
// all, and a snapshot never moves a shard back to an earlier offset (the log before the newer
// one may already be compacted away, and only a stale shard owner would write it).
const SNAPSHOT_WRITER = sqliteThreadCode({
  what: "snapshot writer",
  create: true,
  begin: `(db) => {
    db.run(${JSON.stringify(SNAPSHOT_SCHEMA)});
    const select = db.prepare("SELECT next_offset FROM shard_snapshots WHERE shard = ?");
    const upsert = db.prepare(
      "INSERT OR REPLACE INTO shard_snapshots (shard, next_offset, next_sequence, epoch, state, taken_at_ms) VALUES (?, ?, ?, ?, ?, ?)",
    );
    const replace = db.transaction((s) => {
      const stored = select.get(s.shard);
      if (stored !== null && stored.next_offset > s.nextOffset) {
        throw new Error(
          "snapshot store: shard " + s.shard + ": refusing a snapshot at offset " + s.nextOffset +
            " older than the stored one at " + stored.next_offset,
        );
      }
      upsert.run(s.shard, s.nextOffset, s.nextSequence, s.epoch, s.state, s.takenAtMs);
    }).immediate;
    return { statements: [select, upsert], answer: (request) => replace(request.save) };
  }`,
});

/** Saves on a worker thread; answers come back in the order the saves were sent. */
export class SnapshotWriterThread {
  private readonly thread: SqliteThread<{ save: SaveRequest }, void>;

  constructor(path: string) {
    this.thread = new SqliteThread(SNAPSHOT_WRITER, path);
  }

  /**
   * Resolves once the snapshot is durable. With giveState the state's buffer moves to the
   * thread without a copy when the state spans all of it (the caller gave the bytes up);
   * otherwise the bytes are copied.
   */
  async save(request: SaveRequest, giveState: boolean): Promise<void> {
    const { state } = request;
    const movable = giveState && state.buffer instanceof ArrayBuffer && state.byteOffset === 0 && state.byteLength === state.buffer.byteLength;
    await this.thread.call({ save: request }, movable ? [state.buffer as ArrayBuffer] : []);
  }

  /** Waits for the saves sent so far, then stops the thread. */
  close(): Promise<void> {
    return this.thread.close();
  }
}
