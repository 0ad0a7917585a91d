// Who commits the SQLite log's batches: the calling thread itself, or a worker thread, so
// that the node keeps deciding commands while a commit waits for fsync (a commit blocking the
// main thread was over a quarter of a loaded node's time).
import type { Database, Statement } from "bun:sqlite";
import { forEachPackedRow, type PackedRows } from "./sqlite-packed-batch.ts";
import { SqliteThread } from "./sqlite-thread.ts";
import { WAL_WRITER, type WriteBatch } from "./sqlite-wal-writer.ts";

export interface BatchWriter {
  /** Resolves once the rows are committed durably, with when the commit ended (performance.now()
   * of the caller's thread); rejects if the transaction failed. The packed bytes are the
   * writer's from then on (the thread writer moves their buffer). */
  write(packed: PackedRows): Promise<number>;
  /** After the last write has been answered: releases the writer's connection. */
  close(): Promise<void>;
}

export class InlineBatchWriter implements BatchWriter {
  private readonly insertAll: (packed: PackedRows) => void;

  constructor(db: Database, private readonly insert: Statement) {
    this.insertAll = db.transaction((packed: PackedRows) => {
      forEachPackedRow(packed, (shard, offset, record) => this.insert.run(shard, offset, record));
    }).immediate;
  }

  write(packed: PackedRows): Promise<number> {
    try {
      this.insertAll(packed);
      return Promise.resolve(performance.now());
    } catch (cause) {
      return Promise.reject(cause);
    }
  }

  close(): Promise<void> {
    this.insert.finalize();
    return Promise.resolve();
  }
}

export class ThreadBatchWriter implements BatchWriter {
  /** Answers come back in the order batches were sent: one worker, one queue. */
  /** Answered with the commit's end as performance.timeOrigin + performance.now() on the thread. */
  private readonly thread: SqliteThread<WriteBatch, number>;

  constructor(path: string) {
    this.thread = new SqliteThread(WAL_WRITER, path);
  }

  write(packed: PackedRows): Promise<number> {
    return this.thread.call({ packed }, [packed.bytes.buffer as ArrayBuffer]).then((endedAt) => endedAt - performance.timeOrigin);
  }

  /** After the batches sent have been answered, the thread closes its connection, then stops. */
  close(): Promise<void> {
    return this.thread.close();
  }
}
