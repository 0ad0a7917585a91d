// Who commits the SQLite log's batches: the calling thread itself, or a worker thread, so
// that the node keeps deciding commands while a commit waits for fsync (a commit blocking the
// main thread was over a quarter of a loaded node's time).
import type { Database } from "bun:sqlite";
import { packedRowBytes, packRowsInto, type LogRow } from "./sqlite-packed-batch.ts";
import { SqliteThread } from "./sqlite-thread.ts";
import { FEED, WAL_WRITER } from "./sqlite-wal-writer.ts";
import { shardRecordInserter, WAL_SHARD_TABLE_PREFIX, type ShardRecordInserter } from "./sqlite-wal-schema.ts";

export interface BatchWriter {
  /** The most packed bytes (packedRowBytes of each row) one write may take. */
  readonly batchBytesMax: number;
  /** Resolves once the rows are committed durably, with when the commit ended (performance.now()
   * of the caller's thread); rejects if the transaction failed. One write at a time. */
  write(rows: readonly LogRow[]): Promise<number>;
  /** After the last write has been answered: releases the writer's connection. */
  close(): Promise<void>;
}

/**
 * What one batch may take in the thread writer's feed: the 4,096 records a batch holds at most
 * at 4 KiB each. Memory is touched only as far as the largest batch reaches.
 */
export const FEED_ROWS_BYTES = 16 * 1024 * 1024;

export class InlineBatchWriter implements BatchWriter {
  readonly batchBytesMax = FEED_ROWS_BYTES;
  private readonly inserter: ShardRecordInserter;
  private readonly insertRows: (rows: readonly LogRow[]) => void;

  constructor(db: Database) {
    const inserter = shardRecordInserter(db, WAL_SHARD_TABLE_PREFIX);
    this.inserter = inserter;
    this.insertRows = db.transaction((rows: readonly LogRow[]) => {
      for (const row of rows) inserter.insert(row.shard, row.offset, row.bytes);
    }).immediate;
  }

  write(rows: readonly LogRow[]): Promise<number> {
    try {
      this.inserter.commit(() => this.insertRows(rows));
      return Promise.resolve(performance.now());
    } catch (cause) {
      return Promise.reject(cause);
    }
  }

  close(): Promise<void> {
    this.inserter.finalize();
    return Promise.resolve();
  }
}

/** Feeds the writer thread (sqlite-wal-writer.ts) through memory shared with it. */
export class ThreadBatchWriter implements BatchWriter {
  readonly batchBytesMax = FEED_ROWS_BYTES;
  private readonly thread: SqliteThread<{ feed: SharedArrayBuffer }, null>;
  private readonly ints: Int32Array;
  private readonly floats: Float64Array;
  private readonly message: Uint8Array;
  private readonly rows: Uint8Array;
  private sent = 0;
  private inFlight: { reject(error: Error): void } | null = null;
  /** Settles once the last batch written has been answered. */
  private lastWrite: Promise<unknown> = Promise.resolve();
  /** Why the thread can take no more batches (it failed, or never opened), or null. */
  private broken: Error | null = null;

  constructor(path: string) {
    const shared = new SharedArrayBuffer(FEED.ROWS_AT + FEED_ROWS_BYTES);
    this.ints = new Int32Array(shared, 0, FEED.MESSAGE_AT / 4);
    this.floats = new Float64Array(shared, 0, FEED.MESSAGE_AT / 8);
    this.message = new Uint8Array(shared, FEED.MESSAGE_AT, FEED.MESSAGE_BYTES_MAX);
    this.rows = new Uint8Array(shared, FEED.ROWS_AT);
    this.thread = new SqliteThread(WAL_WRITER, path);
    // A thread that failed to open never serves the feed: its refusal of the feed says why.
    this.thread.call({ feed: shared }).catch((error: unknown) => this.break(error instanceof Error ? error : new Error(String(error))));
    this.thread.onFailure((error) => this.break(error));
  }

  write(rows: readonly LogRow[]): Promise<number> {
    if (this.broken !== null) return Promise.reject(this.broken);
    if (this.inFlight !== null) return Promise.reject(new Error("event log writer: a batch was written while another was in flight"));
    let bytes = 0;
    for (const row of rows) bytes += packedRowBytes(row.bytes.byteLength);
    if (bytes > this.batchBytesMax) return Promise.reject(new Error(`event log writer: a batch of ${bytes} bytes is over the ${this.batchBytesMax} a write may take`));
    packRowsInto(this.rows, rows);
    this.ints[FEED.BYTES] = bytes;
    this.ints[FEED.ROWS] = rows.length;
    const batch = ++this.sent;
    const { promise, resolve, reject } = Promise.withResolvers<number>();
    this.inFlight = { reject };
    const done = Atomics.waitAsync(this.ints, FEED.DONE, batch - 1);
    Atomics.store(this.ints, FEED.SENT, batch);
    Atomics.notify(this.ints, FEED.SENT);
    const answered = () => {
      if (this.inFlight === null) return; // the thread failed first: rejected already
      this.inFlight = null;
      if (this.ints[FEED.FAILED] === 1) {
        const text = new TextDecoder().decode(this.message.slice(0, this.ints[FEED.MESSAGE_BYTES]));
        reject(new Error(text));
      } else {
        resolve((this.floats[FEED.COMMITTED_AT_F64] as number) - performance.timeOrigin);
      }
    };
    if (done.async) void done.value.then(answered);
    else answered();
    this.lastWrite = promise.catch(() => undefined);
    return promise;
  }

  /** After the batch in flight has been answered, the thread leaves its feed, closes its connection, then stops. */
  async close(): Promise<void> {
    // Not before: a thread that saw the mark first would leave the batch in flight unanswered.
    await this.lastWrite;
    Atomics.store(this.ints, FEED.SENT, FEED.CLOSING);
    Atomics.notify(this.ints, FEED.SENT);
    await this.thread.close();
  }

  private break(error: Error): void {
    this.broken ??= error;
    const inFlight = this.inFlight;
    this.inFlight = null;
    inFlight?.reject(error);
  }
}
