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
  /**
   * Set on a claim that took the shard while the previous lease was still live, because the
   * store proved its holder gone (its process's exclusive lock had ended); absent otherwise.
   */
  previousHolderGone?: true;
}

export interface ShardClaims {
  /**
   * Takes the shard for owner under a new epoch once the previous lease has expired or been
   * released, or at once where the store proves the previous holder's process gone (it held an
   * exclusive lock that ended with it: a restart after kill -9 need not wait out its own lease).
   * Never on a guess: a paused holder keeps its lock, so the claim waits for its lease, up to
   * waitMs; then it throws, naming the holder and its expiry.
   */
  claim(shard: number, owner: string, leaseMs: number, waitMs: number): Promise<ShardLease>;
  /** Extends the lease if owner still holds this epoch; null if a newer claim fenced it. */
  renew(lease: ShardLease, leaseMs: number): Promise<ShardLease | null>;
  /**
   * renew() for several leases in one transaction (one durable commit instead of one per
   * shard): the renewed leases in the order given, null for each that a newer claim fenced.
   */
  renewAll(leases: readonly ShardLease[], leaseMs: number): Promise<(ShardLease | null)[]>;
  /**
   * False while this process cannot prove to other claimants that it is alive (the session
   * holding its locks ended): they may then take its shards at once, so it must not write
   * until a successful renewal has proven it holds them again.
   */
  holding(): boolean;
  /** Gives the shard up at a clean stop, so the next owner need not wait for the lease to expire. */
  release(lease: ShardLease): Promise<void>;
  close(): Promise<void>;
}

// The arguments every claims store accepts; the same bounds whatever stores the claims.
const SHARD_MAX = 0x7fff_ffff;
const OWNER_LENGTH_MAX = 256;
/** A lease or a wait beyond an hour is a misconfiguration, not a choice. */
const LEASE_MS_MAX = 3_600_000;
const WAIT_MS_MAX = 3_600_000;

/** Throws on a shard, owner or lease length that no claims store accepts. */
export function checkClaim(shard: number, owner: string, leaseMs: number): void {
  if (!Number.isInteger(shard) || shard < 0 || shard > SHARD_MAX) {
    throw new Error(`shard claims: shard must be an integer from 0 to ${SHARD_MAX}, got ${shard}`);
  }
  if (owner.length === 0 || owner.length > OWNER_LENGTH_MAX) {
    throw new Error(`shard claims: owner must be 1 to ${OWNER_LENGTH_MAX} characters, got ${owner.length}`);
  }
  checkMs("leaseMs", leaseMs, 1, LEASE_MS_MAX);
}

export function checkClaimWait(waitMs: number): void {
  checkMs("waitMs", waitMs, 0, WAIT_MS_MAX);
}

function checkMs(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`shard claims: ${name} must be an integer from ${min} to ${max}, got ${value}`);
  }
}
