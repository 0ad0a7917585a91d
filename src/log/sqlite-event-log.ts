// The write-ahead log in one SQLite file: for a single node, and for tests and development.
// An append is acknowledged only after the transaction holding it has committed with
// synchronous=FULL, so an acknowledged record survives kill -9 and power loss.
import { Database, type Statement } from "bun:sqlite";
import type { EventLog, LogRecord, RecordHeader, StoredRecord } from "./event-log.ts";
import { nodeMetrics } from "../metrics/node-metrics.ts";
import { decodeRecord, encodeRecord } from "./record-codec.ts";
import { packedRowBytes } from "./sqlite-packed-batch.ts";
import { InlineBatchWriter, ThreadBatchWriter, type BatchWriter } from "./sqlite-batch-writer.ts";
import { openDurableDatabase } from "./sqlite-durable-open.ts";
import { shardRecordInserter, WAL_LEGACY_TABLE, WAL_SHARD_TABLE_PREFIX } from "./sqlite-wal-schema.ts";

/** Appends made in one tick share one transaction, and so one fsync. 4096 records keeps a
 * batch's transaction to a few megabytes and its commit well under the time a caller waits. */
export const BATCH_RECORDS_MAX_DEFAULT = 4096;


const SHARD_MAX = 0xffff_ffff;

export interface SqliteEventLogOptions {
  /** A batch is written as soon as it holds this many records, without waiting for the tick. */
  batchRecordsMax?: number;
  /** Told the size of each batch after it commits, for metrics and tests. */
  onBatchCommitted?: (recordCount: number) => void;
  /**
   * "thread" commits batches on a worker thread, so the caller's event loop runs while a
   * commit waits for fsync (the node's choice); "inline" commits on the calling thread.
   */
  writer?: "thread" | "inline";
}

interface PendingAppend {
  shard: number;
  offset: bigint;
  bytes: Uint8Array;
  /** performance.now() when appended: its batching stage ends when its batch goes to the writer. */
  appendedMs: number;
  resolve: (offset: bigint) => void;
  reject: (error: Error) => void;
}

interface RecordRow {
  offset: bigint;
  record: Uint8Array;
}

/** The statements that read one shard's table, prepared once it exists. */
interface ShardReader {
  records: Statement<RecordRow, [bigint, number]>;
  lastOffset: Statement<{ offset: bigint }, []>;
}

export class SqliteEventLog implements EventLog {
  /** Offsets that the next append to each shard gets, pending appends included. */
  private readonly nextOffsetByShard = new Map<number, bigint>();
  private batch: PendingAppend[] = [];
  private flushTimer: ReturnType<typeof setImmediate> | null = null;
  /** Set when a batch failed to commit: the log's state is in doubt and it accepts no more. */
  private failure: Error | null = null;
  private closed = false;
  /** True while a batch is being committed: one at a time, so batches commit in order. */
  private writing = false;
  private idle: PromiseWithResolvers<void> | null = null;
  private readonly appends = nodeMetrics.logAppends("sqlite");
  private readonly shardReaders = new Map<number, ShardReader>();

  private constructor(
    private readonly db: Database,
    private readonly writer: BatchWriter,
    private readonly selectTable: Statement<{ name: string }, [string]>,
    private readonly batchRecordsMax: number,
    private readonly onBatchCommitted: ((recordCount: number) => void) | undefined,
  ) {}

  static open(path: string, options: SqliteEventLogOptions = {}): SqliteEventLog {
    const batchRecordsMax = options.batchRecordsMax ?? BATCH_RECORDS_MAX_DEFAULT;
    if (!Number.isSafeInteger(batchRecordsMax) || batchRecordsMax < 1) {
      throw new Error(`event log: batchRecordsMax must be a positive integer, got ${batchRecordsMax}`);
    }
    const db = openDurableDatabase(Database, path, { create: true, what: "event log" });
    const selectTable = db.prepare<{ name: string }, [string]>(`SELECT name FROM sqlite_schema WHERE type = 'table' AND name = ?`);
    try {
      moveLegacyRecords(db, selectTable);
    } catch (error) {
      selectTable.finalize();
      db.close();
      throw error;
    }
    const writer = options.writer === "thread" ? new ThreadBatchWriter(path) : new InlineBatchWriter(db);
    return new SqliteEventLog(
      db,
      writer,
      selectTable,
      batchRecordsMax,
      options.onBatchCommitted,
    );
  }

  append(header: RecordHeader, record: LogRecord): Promise<bigint> {
    if (this.failure !== null) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new Error("event log: append after close"));
    const shard = header.shard;
    let offset: bigint;
    let bytes: Uint8Array;
    try {
      checkShard(shard);
      offset = this.nextOffset(shard);
      bytes = encodeRecord(header, record);
      if (packedRowBytes(bytes.byteLength) > this.writer.batchBytesMax) {
        throw new Error(`event log: a record of ${bytes.byteLength} bytes is over the ${this.writer.batchBytesMax} bytes a batch may take`);
      }
    } catch (cause) {
      // The offset is not taken: a refused record must not leave a gap in the shard.
      return Promise.reject(cause);
    }
    this.nextOffsetByShard.set(shard, offset + 1n);
    const { promise, resolve, reject } = Promise.withResolvers<bigint>();
    this.batch.push({ shard, offset, bytes, appendedMs: performance.now(), resolve, reject });
    if (this.batch.length >= this.batchRecordsMax) {
      this.flush();
    } else if (this.flushTimer === null) {
      this.flushTimer = setImmediate(() => this.flush());
    }
    return promise;
  }

  /** Only committed records are read: a pending append is not in the log until it resolves. */
  async read(shard: number, fromOffset: bigint, maxRecords: number): Promise<StoredRecord[]> {
    this.assertOpen();
    checkShard(shard);
    if (fromOffset < 0n) throw new Error(`event log: fromOffset must not be negative, got ${fromOffset}`);
    if (!Number.isSafeInteger(maxRecords) || maxRecords < 0) {
      throw new Error(`event log: maxRecords must be a non-negative integer, got ${maxRecords}`);
    }
    const rows = this.shardReader(shard)?.records.all(fromOffset, maxRecords) ?? [];
    return rows.map((row, index) => {
      const expected = fromOffset + BigInt(index);
      if (row.offset !== expected) {
        throw new Error(`event log: shard ${shard} has a gap: offset ${expected} is missing (next is ${row.offset})`);
      }
      // Named fields, not a spread of the decoded record: a spread copies each of a million
      // records' properties through the generic path (3% of replay).
      const { header, record } = decodeAt(shard, row);
      return { offset: row.offset, header, record };
    });
  }

  isWritable(): boolean {
    return this.failure === null && !this.closed;
  }

  async endOffset(shard: number): Promise<bigint> {
    this.assertOpen();
    checkShard(shard);
    return this.nextOffset(shard);
  }

  /** Writes what is pending, then closes; pending appends resolve (or reject) first. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.flush();
    if (this.writing || this.batch.length > 0) {
      this.idle ??= Promise.withResolvers<void>();
      await this.idle.promise;
    }
    this.closed = true;
    await this.writer.close();
    for (const reader of this.shardReaders.values()) {
      reader.records.finalize();
      reader.lastOffset.finalize();
    }
    this.selectTable.finalize();
    this.db.close();
  }

  /** Commits the pending batch, unless one is being committed: then it goes right after. */
  private flush(): void {
    if (this.flushTimer !== null) {
      clearImmediate(this.flushTimer);
      this.flushTimer = null;
    }
    if (this.writing || this.batch.length === 0) return;
    const taken = this.batchLength();
    const batch = taken === this.batch.length ? this.batch : this.batch.slice(0, taken);
    this.batch = batch === this.batch ? [] : this.batch.slice(taken);
    this.writing = true;
    const startedMs = performance.now();
    const stages = nodeMetrics.stages;
    for (const pending of batch) stages.batching.observe((startedMs - pending.appendedMs) / 1000);
    this.writer.write(batch).then(
      (committedMs) => {
        const heardMs = performance.now();
        this.appends.appended(batch.length, (heardMs - startedMs) / 1000);
        stages.durable.observeMany((committedMs - startedMs) / 1000, batch.length);
        stages.handback.observeMany(Math.max(0, heardMs - committedMs) / 1000, batch.length);
        for (const pending of batch) pending.resolve(pending.offset);
        this.onBatchCommitted?.(batch.length);
      },
      (cause: unknown) => this.fail(batch, cause),
    ).finally(() => {
      this.writing = false;
      if (this.failure !== null) this.fail(this.batch.splice(0), this.failure);
      // The next batch closes now, on this commit's completion: what gathered while it was
      // written has waited a whole fsync already. An append made after this (a caller that
      // awaited the last) starts a batch of its own on the next turn (append's setImmediate),
      // with whatever else arrives in that turn.
      if (this.batch.length > 0) this.flush();
      else if (this.idle !== null) this.idle.resolve();
    });
  }

  /** How many pending appends the next batch takes: at most batchRecordsMax and the writer's bytes, at least one. */
  private batchLength(): number {
    let bytes = 0;
    let count = 0;
    for (const pending of this.batch) {
      if (count === this.batchRecordsMax) break;
      bytes += packedRowBytes(pending.bytes.byteLength);
      if (count > 0 && bytes > this.writer.batchBytesMax) break;
      count += 1;
    }
    return count;
  }

  private fail(batch: PendingAppend[], cause: unknown): void {
    // Offsets were handed out for this batch and the commit's outcome is in doubt, so the
    // in-memory view of the log can no longer be trusted: only a restart, which rebuilds
    // from what is on disk, recovers.
    this.failure ??= new Error(
      `event log: writing a batch of ${batch.length} records failed, none of them is acknowledged; ` +
        `the log refuses further appends and the node must restart to recover from disk: ${String(cause)}`,
      { cause },
    );
    for (const pending of batch) pending.reject(this.failure);
  }

  private nextOffset(shard: number): bigint {
    const known = this.nextOffsetByShard.get(shard);
    if (known !== undefined) return known;
    const last = this.shardReader(shard)?.lastOffset.get() ?? null;
    const next = last === null ? 0n : last.offset + 1n;
    this.nextOffsetByShard.set(shard, next);
    return next;
  }

  /** The shard's reading statements, or null while its table does not exist (nothing written to it yet). */
  private shardReader(shard: number): ShardReader | null {
    const known = this.shardReaders.get(shard);
    if (known !== undefined) return known;
    const table = `${WAL_SHARD_TABLE_PREFIX}${shard}`;
    if (this.selectTable.get(table) === null) return null;
    const reader: ShardReader = {
      records: this.db.prepare(`SELECT "offset", record FROM "${table}" WHERE "offset" >= ? ORDER BY "offset" LIMIT ?`),
      lastOffset: this.db.prepare(`SELECT "offset" FROM "${table}" ORDER BY "offset" DESC LIMIT 1`),
    };
    this.shardReaders.set(shard, reader);
    return reader;
  }

  private assertOpen(): void {
    if (this.closed) throw new Error("event log: used after close");
  }
}


/**
 * A log written before the split by shard keeps its records in one table: they move to their
 * shards' tables in one transaction (all or none), before the log is read or written.
 */
function moveLegacyRecords(db: Database, selectTable: Statement<{ name: string }, [string]>): void {
  if (selectTable.get(WAL_LEGACY_TABLE) === null) return;
  const inserter = shardRecordInserter(db, WAL_SHARD_TABLE_PREFIX);
  const rows = db.prepare<{ shard: bigint; offset: bigint; record: Uint8Array }, []>(`SELECT shard, "offset", record FROM ${WAL_LEGACY_TABLE} ORDER BY shard, "offset"`);
  try {
    db.transaction(() => {
      for (const row of rows.iterate()) {
        const shard = Number(row.shard);
        inserter.ensure(shard);
        inserter.insert(shard, row.offset, row.record);
      }
      db.run(`DROP TABLE ${WAL_LEGACY_TABLE}`);
    }).immediate();
  } finally {
    rows.finalize();
    inserter.finalize();
  }
}

function checkShard(shard: number): void {
  if (!Number.isInteger(shard) || shard < 0 || shard > SHARD_MAX) {
    throw new Error(`event log: shard must be an integer from 0 to ${SHARD_MAX}, got ${shard}`);
  }
}

/** Decodes a stored record and checks it sits in the shard its writer put it in. */
function decodeAt(shard: number, row: RecordRow): { header: RecordHeader; record: LogRecord } {
  let decoded;
  try {
    decoded = decodeRecord(row.record);
  } catch (cause) {
    throw new Error(`event log: shard ${shard} offset ${row.offset}: ${String(cause)}`, { cause });
  }
  const { header } = decoded;
  if (header.shard !== shard) {
    throw new Error(`event log: shard ${shard} offset ${row.offset} holds a record written for shard ${header.shard}`);
  }
  return decoded;
}
