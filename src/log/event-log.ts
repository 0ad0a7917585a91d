import type { Event } from "../core/event.ts";

/** One command's events for one account: the unit that is written, replayed and published. */
export interface LogRecord {
  accountId: string;
  events: Event[];
}

/**
 * How the shard's owner stamped a record. The sequence is the owner's count of records in the
 * shard (dense, from 0): replay uses it to drop a record written twice by a retried send and
 * to notice a gap. The epoch fences shard owners: after a record of a newer epoch, records of
 * older epochs are a stale owner's and are ignored.
 */
export interface RecordHeader {
  shard: number;
  epoch: bigint;
  sequence: bigint;
}

/** A record as it sits in the log, at a storage offset (per shard, increasing). */
export interface StoredRecord {
  offset: bigint;
  header: RecordHeader;
  record: LogRecord;
}

/**
 * The write-ahead log. One ordered stream per shard. An append resolves only once the
 * record is durable; appends made close together are written together (group commit).
 */
export interface EventLog {
  /** Resolves with the record's offset once it is durable. */
  append(header: RecordHeader, record: LogRecord): Promise<bigint>;
  /** Up to maxRecords records of a shard from fromOffset (inclusive), in order. */
  read(shard: number, fromOffset: bigint, maxRecords: number): Promise<StoredRecord[]>;
  /** The offset after the last record of this shard (appends still pending included). */
  endOffset(shard: number): Promise<bigint>;
  close(): Promise<void>;
}
