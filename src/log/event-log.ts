import type { Event } from "../core/event.ts";

/**
 * One command's events for one account: the unit that is written, replayed and published.
 * A record with no account and no events is an epoch marker: the first record a new shard
 * owner writes, so that replay knows where the older owner's records stop counting.
 */
export interface LogRecord {
  accountId: string;
  events: Event[];
}

export function isEpochMarker(record: LogRecord): boolean {
  return record.accountId === "" && record.events.length === 0;
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
  /**
   * False while the log cannot take writes (its broker is down, say): the node then refuses
   * new commands at once with UNAVAILABLE instead of letting them queue behind the outage.
   */
  isWritable(): boolean;
  /** The offset after the last record of this shard (appends still pending included). */
  endOffset(shard: number): Promise<bigint>;
  close(): Promise<void>;
}
