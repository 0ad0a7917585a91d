import type { Event } from "../core/event.ts";

/** One command's events for one account: the unit that is written, replayed and published. */
export interface LogRecord {
  accountId: string;
  events: Event[];
}

/** A record as it sits in the log. Offsets are per shard, start at 0 and have no gaps. */
export interface StoredRecord {
  offset: bigint;
  record: LogRecord;
}

/**
 * The write-ahead log. One ordered stream per shard. An append resolves only once the
 * record is durable; appends made close together are written together (group commit).
 */
export interface EventLog {
  append(shard: number, record: LogRecord): Promise<bigint>;
  /** Up to maxRecords records of a shard from fromOffset (inclusive), in order. */
  read(shard: number, fromOffset: bigint, maxRecords: number): Promise<StoredRecord[]>;
  /** The offset the next append to this shard will get. */
  endOffset(shard: number): Promise<bigint>;
  close(): Promise<void>;
}
