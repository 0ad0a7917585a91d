// Who commits the SQLite log's batches: the calling thread itself, or a worker thread, so
// that the node keeps deciding commands while a commit waits for fsync (measured: the
// blocking commit was over a quarter of a loaded node's time).
import type { Database, Statement } from "bun:sqlite";
import { walWriterWorker, type WriteBatch, type WriteResult } from "./sqlite-wal-writer.ts";

export type BatchRows = WriteBatch["rows"];

export interface BatchWriter {
  /** Resolves once the rows are committed durably; rejects if the transaction failed. */
  write(rows: BatchRows): Promise<void>;
  close(): void;
}

export class InlineBatchWriter implements BatchWriter {
  private readonly insertAll: (rows: BatchRows) => void;

  constructor(db: Database, private readonly insert: Statement) {
    this.insertAll = db.transaction((rows: BatchRows) => {
      for (const row of rows) this.insert.run(row.shard, row.offset, row.bytes);
    }).immediate;
  }

  write(rows: BatchRows): Promise<void> {
    try {
      this.insertAll(rows);
      return Promise.resolve();
    } catch (cause) {
      return Promise.reject(cause);
    }
  }

  close(): void {
    this.insert.finalize();
  }
}

export class ThreadBatchWriter implements BatchWriter {
  private readonly worker: Worker;
  /** Answers come back in the order batches were sent: one worker, one queue. */
  private readonly waiting: { resolve: () => void; reject: (error: Error) => void }[] = [];

  constructor(path: string) {
    this.worker = walWriterWorker();
    this.worker.onmessage = (message: MessageEvent<WriteResult>) => {
      const next = this.waiting.shift();
      if (next === undefined) throw new Error("event log writer: an answer nobody waited for");
      if (message.data.ok) next.resolve();
      else next.reject(new Error(message.data.error));
    };
    this.worker.onerror = (event) => {
      const error = new Error(`event log writer thread failed: ${event.message}`);
      for (const waiting of this.waiting.splice(0)) waiting.reject(error);
    };
    // The open is answered like a batch; a failure to open fails the first write.
    this.send({ open: path }).catch(() => undefined);
  }

  write(rows: BatchRows): Promise<void> {
    return this.send({ rows } satisfies WriteBatch);
  }

  close(): void {
    this.worker.terminate();
  }

  private send(message: WriteBatch | { open: string }): Promise<void> {
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    this.waiting.push({ resolve, reject });
    this.worker.postMessage(message);
    return promise;
  }
}
