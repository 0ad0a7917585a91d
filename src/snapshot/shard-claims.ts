/**
 * A node's right to write a shard. Each claim gets a higher epoch than any before it; the
 * holder renews its lease while it serves and writes only while its lease is live, and a new
 * claim waits until the previous lease has expired, so two owners never both take writes.
 */
export interface ShardLease {
  shard: number;
  owner: string;
  epoch: bigint;
  /** Measured on the claims store's clock; the holder keeps its own, earlier, deadline. */
  expiresAtMs: number;
}

export interface ShardClaims {
  /**
   * Takes the shard for owner under a new epoch once no other owner's lease is live, waiting
   * up to waitMs for one to expire; then throws, naming the holder and its expiry. A claim by
   * the owner that already holds the shard (a restart) succeeds at once with a new epoch.
   */
  claim(shard: number, owner: string, leaseMs: number, waitMs: number): Promise<ShardLease>;
  /** Extends the lease if owner still holds this epoch; null if a newer claim fenced it. */
  renew(lease: ShardLease, leaseMs: number): Promise<ShardLease | null>;
  /** Gives the shard up at a clean stop, so the next owner need not wait for the lease to expire. */
  release(lease: ShardLease): Promise<void>;
  close(): Promise<void>;
}
