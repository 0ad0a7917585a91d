// Shard ownership in Postgres: one row per shard naming its owner, epoch and lease expiry.
// Every decision is made on the server's clock inside a transaction that holds the shard's row
// (SELECT … FOR UPDATE), so two nodes claiming at once are ordered and exactly one gets each
// epoch; the nodes' own clocks never decide who owns what.
import {
  endPostgres,
  openMigratedPostgres,
  type PostgresSql,
  type PostgresStoreOptions,
  type PostgresTransaction,
} from "./postgres-connect.ts";
import { checkClaim, checkClaimWait, type ShardClaims, type ShardLease } from "./shard-claims.ts";

/** Claims and renewals are a few small statements per shard every leaseMs / 3. */
const MAX_CONNECTIONS = 2;
/** How often a claim looks again while another owner's lease is live. */
const CLAIM_POLL_MS = 100;

interface OwnerRow {
  owner: string;
  epoch: bigint;
  lease_expires_at: Date;
  expired: boolean;
}

interface LeaseRow {
  epoch: bigint;
  /** Whole milliseconds, rounded down: the holder never believes in a longer lease than the store's. */
  expires_at_ms: bigint;
}

type ClaimAttempt = { lease: ShardLease } | { holder: string; expiresAt: Date };

export class PostgresShardClaims implements ShardClaims {
  private closed = false;

  private constructor(private readonly sql: PostgresSql) {}

  static async open(url: string, options: PostgresStoreOptions = {}): Promise<PostgresShardClaims> {
    return new PostgresShardClaims(await openMigratedPostgres(url, options, MAX_CONNECTIONS, "oms-shard-claims"));
  }

  async claim(shard: number, owner: string, leaseMs: number, waitMs: number): Promise<ShardLease> {
    this.assertOpen();
    checkClaim(shard, owner, leaseMs);
    checkClaimWait(waitMs);
    // The wait is measured on this process's monotonic clock: it bounds how long the caller
    // is kept waiting, which is local; whether a lease has expired is the server's call.
    const deadlineMs = performance.now() + waitMs;
    for (;;) {
      const attempt = await this.sql.begin((tx) => tryClaim(tx, shard, owner, leaseMs));
      if ("lease" in attempt) return attempt.lease;
      const remainingMs = deadlineMs - performance.now();
      if (remainingMs <= 0) {
        throw new Error(`shard ${shard} is held by ${attempt.holder} until ${attempt.expiresAt.toISOString()}`);
      }
      await Bun.sleep(Math.min(CLAIM_POLL_MS, remainingMs));
    }
  }

  async renew(lease: ShardLease, leaseMs: number): Promise<ShardLease | null> {
    this.assertOpen();
    checkClaim(lease.shard, lease.owner, leaseMs);
    const [row] = await this.sql<LeaseRow[]>`
      update shard_owners set lease_expires_at = clock_timestamp() + ${leaseMs}::float8 * interval '1 millisecond'
      where shard = ${lease.shard} and owner = ${lease.owner} and epoch = ${lease.epoch}
      returning epoch, floor(extract(epoch from lease_expires_at) * 1000)::bigint as expires_at_ms`;
    if (row === undefined) return null;
    return { shard: lease.shard, owner: lease.owner, epoch: row.epoch, expiresAtMs: Number(row.expires_at_ms) };
  }

  async renewAll(leases: readonly ShardLease[], leaseMs: number): Promise<(ShardLease | null)[]> {
    this.assertOpen();
    for (const lease of leases) checkClaim(lease.shard, lease.owner, leaseMs);
    if (leases.length === 0) return [];
    // One transaction: one commit (one WAL flush) for all of them.
    return this.sql.begin(async (tx) => {
      const renewed: (ShardLease | null)[] = [];
      for (const lease of leases) {
        const [row] = await tx<LeaseRow[]>`
          update shard_owners set lease_expires_at = clock_timestamp() + ${leaseMs}::float8 * interval '1 millisecond'
          where shard = ${lease.shard} and owner = ${lease.owner} and epoch = ${lease.epoch}
          returning epoch, floor(extract(epoch from lease_expires_at) * 1000)::bigint as expires_at_ms`;
        renewed.push(row === undefined ? null : { shard: lease.shard, owner: lease.owner, epoch: row.epoch, expiresAtMs: Number(row.expires_at_ms) });
      }
      return renewed;
    });
  }

  async release(lease: ShardLease): Promise<void> {
    this.assertOpen();
    checkClaim(lease.shard, lease.owner, 1);
    // least(): releasing never lengthens a lease; a fenced lease matches no row and is left alone.
    await this.sql`
      update shard_owners set lease_expires_at = least(lease_expires_at, clock_timestamp())
      where shard = ${lease.shard} and owner = ${lease.owner} and epoch = ${lease.epoch}`;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await endPostgres(this.sql);
  }

  private assertOpen(): void {
    if (this.closed) throw new Error("shard claims: used after close");
  }
}

async function tryClaim(tx: PostgresTransaction, shard: number, owner: string, leaseMs: number): Promise<ClaimAttempt> {
  // The first claim of a shard inserts its row; a racing first claim waits on the insert
  // and then takes the row lock below like any later claim.
  const [inserted] = await tx<LeaseRow[]>`
    insert into shard_owners (shard, owner, epoch, lease_expires_at)
    values (${shard}, ${owner}, 1, clock_timestamp() + ${leaseMs}::float8 * interval '1 millisecond')
    on conflict (shard) do nothing
    returning epoch, floor(extract(epoch from lease_expires_at) * 1000)::bigint as expires_at_ms`;
  if (inserted !== undefined) return { lease: leaseOf(shard, owner, inserted) };
  const [current] = await tx<OwnerRow[]>`
    select owner, epoch, lease_expires_at, lease_expires_at <= clock_timestamp() as expired
    from shard_owners where shard = ${shard} for update`;
  if (current === undefined) throw new Error(`shard claims: shard ${shard}: row vanished under its lock`);
  if (current.owner !== owner && !current.expired) return { holder: current.owner, expiresAt: current.lease_expires_at };
  const [claimed] = await tx<LeaseRow[]>`
    update shard_owners
    set owner = ${owner}, epoch = epoch + 1,
        lease_expires_at = clock_timestamp() + ${leaseMs}::float8 * interval '1 millisecond'
    where shard = ${shard}
    returning epoch, floor(extract(epoch from lease_expires_at) * 1000)::bigint as expires_at_ms`;
  if (claimed === undefined) throw new Error(`shard claims: shard ${shard}: locked row not updated`);
  if (claimed.epoch !== current.epoch + 1n) {
    throw new Error(`shard claims: shard ${shard}: epoch moved from ${current.epoch} to ${claimed.epoch} under the row lock`);
  }
  return { lease: leaseOf(shard, owner, claimed) };
}

function leaseOf(shard: number, owner: string, row: LeaseRow): ShardLease {
  return { shard, owner, epoch: row.epoch, expiresAtMs: Number(row.expires_at_ms) };
}
