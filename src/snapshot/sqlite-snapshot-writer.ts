// The thread that saves the SQLite store's snapshots, so that writing a shard's multi-megabyte
// state and waiting for its fsync does not stop the node's event loop (measured: the save on
// the main thread was ~16% of a loaded node's time, in stalls of many milliseconds). One save
// at a time, answered in order, each only after its transaction has committed with
// synchronous=FULL.
import { SNAPSHOT_PRAGMAS, SNAPSHOT_SCHEMA } from "./sqlite-snapshot-schema.ts";
import { WorkerCalls } from "../log/worker-calls.ts";

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
const WORKER_SOURCE = `
import { Database } from "bun:sqlite";
let db = null;
let statements = [];
let replace = null;
self.onmessage = (message) => {
  const data = message.data;
  try {
    if (data.open !== undefined) {
      db = new Database(data.open, { create: true, readwrite: true, strict: true, safeIntegers: true });
      for (const pragma of ${JSON.stringify(SNAPSHOT_PRAGMAS)}) db.run(pragma);
      const synchronous = db.query("PRAGMA synchronous").get();
      if (synchronous.synchronous !== 2n) throw new Error("synchronous = FULL was not accepted");
      db.run(${JSON.stringify(SNAPSHOT_SCHEMA)});
      const select = db.prepare("SELECT next_offset FROM shard_snapshots WHERE shard = ?");
      const upsert = db.prepare(
        "INSERT OR REPLACE INTO shard_snapshots (shard, next_offset, next_sequence, epoch, state, taken_at_ms) VALUES (?, ?, ?, ?, ?, ?)",
      );
      replace = db.transaction((s) => {
        const stored = select.get(s.shard);
        if (stored !== null && stored.next_offset > s.nextOffset) {
          throw new Error(
            "snapshot store: shard " + s.shard + ": refusing a snapshot at offset " + s.nextOffset +
              " older than the stored one at " + stored.next_offset,
          );
        }
        upsert.run(s.shard, s.nextOffset, s.nextSequence, s.epoch, s.state, s.takenAtMs);
      }).immediate;
      statements = [select, upsert];
    } else if (data.close !== undefined) {
      // Closed here rather than left to terminate(), which would drop the connection at some
      // later moment, when the file may be opened again.
      replace = null;
      for (const statement of statements) statement.finalize();
      db?.close();
      db = null;
    } else if (data.save !== undefined) {
      if (replace === null) throw new Error("snapshot writer used before it was opened");
      replace(data.save);
    }
    postMessage({ ok: true, value: null });
  } catch (error) {
    postMessage({ ok: false, error: error instanceof Error ? error.message : String(error) });
  }
};
`;

/** Saves on a worker thread; answers come back in the order the saves were sent. */
export class SnapshotWriterThread {
  private readonly calls = new WorkerCalls<{ open: string } | { save: SaveRequest } | { close: true }, null>("snapshot writer", WORKER_SOURCE);

  constructor(path: string) {
    // The open is answered like a save; a failure to open fails the first save.
    this.calls.call({ open: path }).catch(() => undefined);
  }

  /**
   * Resolves once the snapshot is durable. With giveState the state's buffer moves to the
   * thread without a copy when the state spans all of it (the caller gave the bytes up);
   * otherwise the bytes are copied.
   */
  async save(request: SaveRequest, giveState: boolean): Promise<void> {
    const { state } = request;
    const movable = giveState && state.buffer instanceof ArrayBuffer && state.byteOffset === 0 && state.byteLength === state.buffer.byteLength;
    await this.calls.call({ save: request }, movable ? [state.buffer as ArrayBuffer] : []);
  }

  /** Waits for the saves sent so far, then stops the thread. */
  close(): Promise<void> {
    return this.calls.close({ close: true });
  }
}
