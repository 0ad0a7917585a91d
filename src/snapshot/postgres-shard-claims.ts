// Shard ownership in Postgres: one row per shard naming its owner, epoch and lease expiry.
// Every decision is made on the server's clock inside a transaction that holds the shard's row
// (SELECT … FOR UPDATE), so two nodes claiming at once are ordered and exactly one gets each
// epoch; the nodes' own clocks never decide who owns what.
//
// Proof that a holder is gone: each claims store talks to Postgres over ONE session kept for
// the process's life, and the claim of (shard, epoch) takes a session-level advisory lock on
// that pair before it commits. A process killed with SIGKILL loses its socket, Postgres ends
// its session and the lock goes; a paused or partitioned process keeps its session and its lock.
// So a claimant that can take the lock of the current (shard, epoch) knows its holder's session
// has ended, and takes the shard without waiting out the lease, but only if the holder renewed
// after this server started (a lock is proof only on the server instance that granted it).
// The holder, for its part, stops writing the moment its session closes (holding() false)
// and resumes only after re-taking its locks and renewing under the same epochs.
import {
  endPostgres,
  openMigratedPostgres,
  type PostgresSql,
  type PostgresStoreOptions,
  type PostgresTransaction,
} from "./postgres-connect.ts";
import { checkClaim, checkClaimWait, type ShardClaims, type ShardLease } from "./shard-claims.ts";

/** One session: the advisory locks that prove this process alive belong to it (see above). */
const SESSION_CONNECTIONS = 1;
/** The epoch part of a (shard, epoch) lock key: pg_advisory_lock(int4, int4) takes 31 bits of it. */
const EPOCH_KEY_MODULUS = 2147483648n;
/** How often a claim looks again while another owner's lease is live. */
const CLAIM_POLL_MS = 100;

interface OwnerRow {
  owner: string;
  epoch: bigint;
  lease_expires_at: Date;
  expired: boolean;
  /** The holder claimed or renewed after this server started: its lock, if gone, went with its session. */
  renewed_since_start: boolean;
}

interface LeaseRow {
  epoch: bigint;
  /** Whole milliseconds, rounded down: the holder never believes in a longer lease than the store's. */
  expires_at_ms: bigint;
}

type ClaimAttempt = { lease: ShardLease } | { holder: string; expiresAt: Date };

export class PostgresShardClaims implements ShardClaims {
  private closed = false;
  /**
   * Sessions ended so far (postgres.js reconnects, without their locks), and how many of those
   * a renewal has since made good by re-taking the locks: holding only while the two are equal.
   */
  private sessionsLost = 0;
  private sessionsRelocked = 0;

  private constructor(private readonly sql: PostgresSql) {}

  static async open(url: string, options: PostgresStoreOptions = {}): Promise<PostgresShardClaims> {
    // Armed once open: connectPostgres's failed attempts close connections that held nothing.
    let claims: PostgresShardClaims | null = null;
    const onClose = () => {
      if (claims !== null) claims.sessionsLost += 1;
    };
    claims = new PostgresShardClaims(await openMigratedPostgres(url, options, SESSION_CONNECTIONS, "oms-shard-claims", { onClose }));
    return claims;
  }

  holding(): boolean {
    return this.sessionsLost === this.sessionsRelocked;
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
    const [renewed] = await this.renewAll([lease], leaseMs);
    return renewed ?? null;
  }

  async renewAll(leases: readonly ShardLease[], leaseMs: number): Promise<(ShardLease | null)[]> {
    this.assertOpen();
    for (const lease of leases) checkClaim(lease.shard, lease.owner, leaseMs);
    if (leases.length === 0) return [];
    // Read before the transaction: a session lost during it is made good by the next renewal.
    const lostBefore = this.sessionsLost;
    const relock = lostBefore !== this.sessionsRelocked;
    // One transaction: one commit (one WAL flush) for all of them.
    const renewed = await this.sql.begin(async (tx) => {
      if (relock) await relockAll(tx, leases);
      const renewed: (ShardLease | null)[] = [];
      for (const lease of leases) {
        const [row] = await tx<LeaseRow[]>`
          update shard_owners set lease_expires_at = clock_timestamp() + ${leaseMs}::float8 * interval '1 millisecond',
            renewed_at = clock_timestamp()
          where shard = ${lease.shard} and owner = ${lease.owner} and epoch = ${lease.epoch}
          returning epoch, floor(extract(epoch from lease_expires_at) * 1000)::bigint as expires_at_ms`;
        renewed.push(row === undefined ? null : { shard: lease.shard, owner: lease.owner, epoch: row.epoch, expiresAtMs: Number(row.expires_at_ms) });
      }
      return renewed;
    });
    this.sessionsRelocked = lostBefore;
    return renewed;
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
    insert into shard_owners (shard, owner, epoch, lease_expires_at, renewed_at)
    values (${shard}, ${owner}, 1, clock_timestamp() + ${leaseMs}::float8 * interval '1 millisecond', clock_timestamp())
    on conflict (shard) do nothing
    returning epoch, floor(extract(epoch from lease_expires_at) * 1000)::bigint as expires_at_ms`;
  if (inserted !== undefined) {
    await lockEpoch(tx, shard, inserted.epoch);
    return { lease: leaseOf(shard, owner, inserted) };
  }
  const [current] = await tx<OwnerRow[]>`
    select owner, epoch, lease_expires_at, lease_expires_at <= clock_timestamp() as expired,
      coalesce(renewed_at > pg_postmaster_start_time(), false) as renewed_since_start
    from shard_owners where shard = ${shard} for update`;
  if (current === undefined) throw new Error(`shard claims: shard ${shard}: row vanished under its lock`);
  const holderGone = !current.expired && (await holderSessionEnded(tx, shard, current));
  if (!current.expired && !holderGone) return { holder: current.owner, expiresAt: current.lease_expires_at };
  const [claimed] = await tx<LeaseRow[]>`
    update shard_owners
    set owner = ${owner}, epoch = epoch + 1,
        lease_expires_at = clock_timestamp() + ${leaseMs}::float8 * interval '1 millisecond', renewed_at = clock_timestamp()
    where shard = ${shard}
    returning epoch, floor(extract(epoch from lease_expires_at) * 1000)::bigint as expires_at_ms`;
  if (claimed === undefined) throw new Error(`shard claims: shard ${shard}: locked row not updated`);
  if (claimed.epoch !== current.epoch + 1n) {
    throw new Error(`shard claims: shard ${shard}: epoch moved from ${current.epoch} to ${claimed.epoch} under the row lock`);
  }
  // Locked before the commit makes the epoch visible: no claimant ever sees it without its lock.
  await lockEpoch(tx, shard, claimed.epoch);
  const lease = leaseOf(shard, owner, claimed);
  return { lease: holderGone ? { ...lease, previousHolderGone: true } : lease };
}

/**
 * True when the live lease's holder has provably lost its session on this server: its
 * (shard, epoch) lock is free. The lock taken here is transaction-scoped, gone at commit.
 */
async function holderSessionEnded(tx: PostgresTransaction, shard: number, current: OwnerRow): Promise<boolean> {
  if (!current.renewed_since_start) return false;
  const [row] = await tx<{ free: boolean }[]>`
    select pg_try_advisory_xact_lock(${shard}::int4, (${current.epoch}::int8 % ${EPOCH_KEY_MODULUS}::int8)::int4) as free`;
  return row?.free === true;
}

/** The session lock that stands for this process holding (shard, epoch), kept until the session ends. */
async function lockEpoch(tx: PostgresTransaction, shard: number, epoch: bigint): Promise<void> {
  await tx`select pg_advisory_lock(${shard}::int4, (${epoch}::int8 % ${EPOCH_KEY_MODULUS}::int8)::int4)`;
}

/**
 * After the session was lost: takes each lease's lock again on the new session. A claimant that
 * took the shard meanwhile holds its own epoch, so the renewal that follows fences this one; one
 * deciding right now holds the old epoch's lock, and this renewal fails and is tried again.
 */
async function relockAll(tx: PostgresTransaction, leases: readonly ShardLease[]): Promise<void> {
  for (const { shard, epoch } of leases) {
    const [row] = await tx<{ locked: boolean }[]>`
      select pg_try_advisory_lock(${shard}::int4, (${epoch}::int8 % ${EPOCH_KEY_MODULUS}::int8)::int4) as locked`;
    if (row?.locked !== true) throw new Error(`shard claims: shard ${shard} epoch ${epoch}: lock taken by a claimant; not renewed`);
  }
}

function leaseOf(shard: number, owner: string, row: LeaseRow): ShardLease {
  return { shard, owner, epoch: row.epoch, expiresAtMs: Number(row.expires_at_ms) };
}
