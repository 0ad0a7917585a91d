// Who commits the SQLite log's batches: the calling thread itself, or a worker thread, so
// that the node keeps deciding commands while a commit waits for fsync (measured: the
// blocking commit was over a quarter of a loaded node's time).
import type { Database, Statement } from "bun:sqlite";
import { forEachPackedRow, type PackedRows } from "./sqlite-packed-batch.ts";
import { walWriterWorker, type CloseWriter, type WriteBatch, type WriteResult } from "./sqlite-wal-writer.ts";

export interface BatchWriter {
  /** Resolves once the rows are committed durably; rejects if the transaction failed. The
   * packed bytes are the writer's from then on (the thread writer moves their buffer). */
  write(packed: PackedRows): Promise<void>;
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

  write(packed: PackedRows): Promise<void> {
    try {
      this.insertAll(packed);
      return Promise.resolve();
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
    this.send({ open: path }, []).catch(() => undefined);
  }

  write(packed: PackedRows): Promise<void> {
    return this.send({ packed } satisfies WriteBatch, [packed.bytes.buffer as ArrayBuffer]);
  }

  async close(): Promise<void> {
    // The thread closes its connection first, so the file is fully closed once this resolves.
    await this.send({ close: true }, []).catch(() => undefined);
    this.worker.terminate();
  }

  private send(message: WriteBatch | CloseWriter | { open: string }, transfer: ArrayBuffer[]): Promise<void> {
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    this.waiting.push({ resolve, reject });
    this.worker.postMessage(message, transfer);
    return promise;
  }
}
