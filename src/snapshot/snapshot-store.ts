/** A shard's state as of a log offset: replay continues from nextOffset. */
export interface ShardSnapshot {
  shard: number;
  /** Where replay resumes in the log. */
  nextOffset: bigint;
  /** The sequence the first record replayed must carry (see RecordHeader). */
  nextSequence: bigint;
  /** The newest owner epoch the state includes: older epochs' records after it are ignored. */
  epoch: bigint;
  /** The core's encoding of the shard's accounts. */
  state: Uint8Array;
}

export interface SaveOptions {
  /**
   * The caller gives snapshot.state up: the store may move its buffer to another thread
   * without copying it, after which the caller must not read or change it.
   */
  giveState: boolean;
}

export interface SnapshotStore {
  /** The latest snapshot of a shard, or null when none was taken. */
  load(shard: number): Promise<ShardSnapshot | null>;
  /** Replaces the shard's snapshot atomically. */
  save(snapshot: ShardSnapshot, options?: SaveOptions): Promise<void>;
  close(): Promise<void>;
}
