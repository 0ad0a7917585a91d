// The write-ahead log in one SQLite file: for a single node, and for tests and development.
// An append is acknowledged only after the transaction holding it has committed with
// synchronous=FULL, so an acknowledged record survives kill -9 and power loss.
import { Database, type Statement } from "bun:sqlite";
import type { EventLog, LogRecord, RecordHeader, StoredRecord } from "./event-log.ts";
import { decodeRecord, encodeRecord } from "./record-codec.ts";

/** Appends made in one tick share one transaction, and so one fsync. 4096 records keeps a
 * batch's transaction to a few megabytes and its commit well under the time a caller waits. */
export const BATCH_RECORDS_MAX_DEFAULT = 4096;

/** How long a write waits for a lock held by an outside reader (a backup, the sqlite3 shell)
 * before it fails; failing would stop the node, waiting a moment does not. */
const BUSY_TIMEOUT_MS = 1000;

const SHARD_MAX = 0xffff_ffff;

export interface SqliteEventLogOptions {
  /** A batch is written as soon as it holds this many records, without waiting for the tick. */
  batchRecordsMax?: number;
  /** Told the size of each batch after it commits, for metrics and tests. */
  onBatchCommitted?: (recordCount: number) => void;
}

interface PendingAppend {
  shard: number;
  offset: bigint;
  bytes: Uint8Array;
  resolve: (offset: bigint) => void;
  reject: (error: Error) => void;
}

interface RecordRow {
  offset: bigint;
  record: Uint8Array;
}

export class SqliteEventLog implements EventLog {
  /** Offsets that the next append to each shard gets, pending appends included. */
  private readonly nextOffsetByShard = new Map<number, bigint>();
  private batch: PendingAppend[] = [];
  private flushTimer: ReturnType<typeof setImmediate> | null = null;
  /** Set when a batch failed to commit: the log's state is in doubt and it accepts no more. */
  private failure: Error | null = null;
  private closed = false;
  private readonly writeBatch: (batch: PendingAppend[]) => void;

  private constructor(
    private readonly db: Database,
    private readonly insertRecord: Statement,
    private readonly selectRecords: Statement<RecordRow>,
    private readonly selectLastOffset: Statement<{ offset: bigint }>,
    private readonly batchRecordsMax: number,
    private readonly onBatchCommitted: ((recordCount: number) => void) | undefined,
  ) {
    this.writeBatch = db.transaction((batch: PendingAppend[]) => {
      for (const pending of batch) this.insertRecord.run(pending.shard, pending.offset, pending.bytes);
    }).immediate;
  }

  static open(path: string, options: SqliteEventLogOptions = {}): SqliteEventLog {
    const batchRecordsMax = options.batchRecordsMax ?? BATCH_RECORDS_MAX_DEFAULT;
    if (!Number.isSafeInteger(batchRecordsMax) || batchRecordsMax < 1) {
      throw new Error(`event log: batchRecordsMax must be a positive integer, got ${batchRecordsMax}`);
    }
    const db = new Database(path, { create: true, readwrite: true, strict: true, safeIntegers: true });
    openDurably(db, path);
    db.run(
      `CREATE TABLE IF NOT EXISTS wal_records (
         shard INTEGER NOT NULL, "offset" INTEGER NOT NULL, record BLOB NOT NULL,
         PRIMARY KEY (shard, "offset")
       ) WITHOUT ROWID`,
    );
    return new SqliteEventLog(
      db,
      db.prepare(`INSERT INTO wal_records (shard, "offset", record) VALUES (?, ?, ?)`),
      db.prepare<RecordRow, [number, bigint, number]>(
        `SELECT "offset", record FROM wal_records WHERE shard = ? AND "offset" >= ? ORDER BY "offset" LIMIT ?`,
      ),
      db.prepare<{ offset: bigint }, [number]>(
        `SELECT "offset" FROM wal_records WHERE shard = ? ORDER BY "offset" DESC LIMIT 1`,
      ),
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
    } catch (cause) {
      // The offset is not taken: a refused record must not leave a gap in the shard.
      return Promise.reject(cause);
    }
    this.nextOffsetByShard.set(shard, offset + 1n);
    const { promise, resolve, reject } = Promise.withResolvers<bigint>();
    this.batch.push({ shard, offset, bytes, resolve, reject });
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
    const rows = this.selectRecords.all(shard, fromOffset, maxRecords);
    return rows.map((row, index) => {
      const expected = fromOffset + BigInt(index);
      if (row.offset !== expected) {
        throw new Error(`event log: shard ${shard} has a gap: offset ${expected} is missing (next is ${row.offset})`);
      }
      return { offset: row.offset, ...decodeAt(shard, row) };
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
    this.closed = true;
    this.insertRecord.finalize();
    this.selectRecords.finalize();
    this.selectLastOffset.finalize();
    this.db.close();
  }

  private flush(): void {
    if (this.flushTimer !== null) {
      clearImmediate(this.flushTimer);
      this.flushTimer = null;
    }
    const batch = this.batch;
    if (batch.length === 0) return;
    this.batch = [];
    try {
      this.writeBatch(batch);
    } catch (cause) {
      // Offsets were handed out for this batch and the commit's outcome is in doubt, so the
      // in-memory view of the log can no longer be trusted: only a restart, which rebuilds
      // from what is on disk, recovers.
      this.failure = new Error(
        `event log: writing a batch of ${batch.length} records failed, none of them is acknowledged; ` +
          `the log refuses further appends and the node must restart to recover from disk: ${String(cause)}`,
        { cause },
      );
      for (const pending of batch) pending.reject(this.failure);
      return;
    }
    for (const pending of batch) pending.resolve(pending.offset);
    this.onBatchCommitted?.(batch.length);
  }

  private nextOffset(shard: number): bigint {
    const known = this.nextOffsetByShard.get(shard);
    if (known !== undefined) return known;
    const last = this.selectLastOffset.get(shard);
    const next = last === null ? 0n : last.offset + 1n;
    this.nextOffsetByShard.set(shard, next);
    return next;
  }

  private assertOpen(): void {
    if (this.closed) throw new Error("event log: used after close");
  }
}

function openDurably(db: Database, path: string): void {
  const journal = db.query<{ journal_mode: string }, []>("PRAGMA journal_mode = WAL").get();
  if (journal?.journal_mode !== "wal") {
    throw new Error(`event log: ${path} cannot use WAL journaling (got ${journal?.journal_mode}); use a file on a local disk`);
  }
  // FULL makes each commit fsync the WAL: an acknowledged append survives power loss.
  db.run("PRAGMA synchronous = FULL");
  const synchronous = db.query<{ synchronous: bigint }, []>("PRAGMA synchronous").get();
  if (synchronous?.synchronous !== 2n) throw new Error(`event log: ${path} did not accept synchronous = FULL`);
  db.run(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
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
