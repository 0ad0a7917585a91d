// Shard ownership in one SQLite file, for the embedded default: the same rules as the Postgres
// claims (epochs, leases, fencing), so a node behaves the same whichever store it was given.
// Nodes sharing the file on one machine are ordered by SQLite's write lock (BEGIN IMMEDIATE);
// the clock is this process's, passed in so that tests can move it.
import { Database, type Statement } from "bun:sqlite";
import { checkClaim, checkClaimWait, type ShardClaims, type ShardLease } from "./shard-claims.ts";
import { LeaseRenewerThread } from "./sqlite-lease-renewer.ts";
import { openDurableDatabase } from "../log/sqlite-durable-open.ts";

/** How often a claim looks again while another owner's lease is live. */
const CLAIM_POLL_MS = 100;

export interface SqliteShardClaimsOptions {
  /** The claims store's clock: leases expire by it. Date.now when not given. */
  nowMs?: () => number;
  /** How a claim waits between looks; tests pass one that moves their clock instead. */
  sleep?: (ms: number) => Promise<void>;
}

interface OwnerRow {
  owner: string;
  epoch: bigint;
  lease_expires_at_ms: bigint;
}

type ClaimAttempt = { lease: ShardLease } | { holder: string; expiresAtMs: number };

export class SqliteShardClaims implements ShardClaims {
  private closed = false;
  private readonly tryClaim: (shard: number, owner: string, leaseMs: number) => ClaimAttempt;

  private constructor(
    private readonly db: Database,
    private readonly selectOwner: Statement<OwnerRow, [number]>,
    private readonly upsertOwner: Statement<unknown, [number, string, bigint, number]>,
    private readonly extendLease: Statement<unknown, [number, number, string, bigint]>,
    private readonly endLease: Statement<unknown, [number, number, string, bigint]>,
    private readonly renewer: LeaseRenewerThread,
    private readonly nowMs: () => number,
    private readonly sleep: (ms: number) => Promise<void>,
  ) {
    // Read and write under one write lock: two claimers are ordered and each epoch is given once.
    this.tryClaim = db.transaction((shard: number, owner: string, leaseMs: number): ClaimAttempt => {
      const nowMs = this.nowMs();
      const current = this.selectOwner.get(shard);
      if (current !== null && current.owner !== owner && Number(current.lease_expires_at_ms) > nowMs) {
        return { holder: current.owner, expiresAtMs: Number(current.lease_expires_at_ms) };
      }
      // The same owner's live lease: its process is gone, for the claims file lives in the
      // owner's data directory, which one live process at a time holds (cli/data-dir-lock.ts).
      const holderGone = current !== null && Number(current.lease_expires_at_ms) > nowMs;
      const epoch = current === null ? 1n : current.epoch + 1n;
      const expiresAtMs = nowMs + leaseMs;
      this.upsertOwner.run(shard, owner, epoch, expiresAtMs);
      const lease: ShardLease = { shard, owner, epoch, expiresAtMs };
      return { lease: holderGone ? { ...lease, previousHolderGone: true } : lease };
    }).immediate;
  }

  static open(path: string, options: SqliteShardClaimsOptions = {}): SqliteShardClaims {
    // FULL: a claim acknowledged and then lost in a power cut would hand its epoch out twice.
    const db = openDurableDatabase(Database, path, { create: true, what: "shard claims" });
    db.run(
      `CREATE TABLE IF NOT EXISTS shard_owners (
         shard INTEGER PRIMARY KEY, owner TEXT NOT NULL, epoch INTEGER NOT NULL CHECK (epoch >= 1),
         lease_expires_at_ms INTEGER NOT NULL
       )`,
    );
    const fence = "WHERE shard = ? AND owner = ? AND epoch = ?";
    return new SqliteShardClaims(
      db,
      db.prepare(`SELECT owner, epoch, lease_expires_at_ms FROM shard_owners WHERE shard = ?`),
      db.prepare(`INSERT OR REPLACE INTO shard_owners (shard, owner, epoch, lease_expires_at_ms) VALUES (?, ?, ?, ?)`),
      db.prepare(`UPDATE shard_owners SET lease_expires_at_ms = ? ${fence}`),
      // MIN(): releasing never lengthens a lease.
      db.prepare(`UPDATE shard_owners SET lease_expires_at_ms = MIN(lease_expires_at_ms, ?) ${fence}`),
      // Renewals, the one periodic write, commit on a thread of their own (after the table exists).
      new LeaseRenewerThread(path),
      options.nowMs ?? Date.now,
      options.sleep ?? ((ms) => Bun.sleep(ms)),
    );
  }

  async claim(shard: number, owner: string, leaseMs: number, waitMs: number): Promise<ShardLease> {
    this.assertOpen();
    checkClaim(shard, owner, leaseMs);
    checkClaimWait(waitMs);
    const deadlineMs = this.nowMs() + waitMs;
    for (;;) {
      const attempt = this.tryClaim(shard, owner, leaseMs);
      if ("lease" in attempt) return attempt.lease;
      const remainingMs = deadlineMs - this.nowMs();
      if (remainingMs <= 0) {
        throw new Error(`shard ${shard} is held by ${attempt.holder} until ${new Date(attempt.expiresAtMs).toISOString()}`);
      }
      await this.sleep(Math.min(CLAIM_POLL_MS, remainingMs));
      this.assertOpen();
    }
  }

  /** No session to lose: the file is local, and the data-directory lock lasts the process's life. */
  holding(): boolean {
    return true;
  }

  async renew(lease: ShardLease, leaseMs: number): Promise<ShardLease | null> {
    this.assertOpen();
    checkClaim(lease.shard, lease.owner, leaseMs);
    const expiresAtMs = this.nowMs() + leaseMs;
    const changed = this.extendLease.run(expiresAtMs, lease.shard, lease.owner, lease.epoch).changes;
    return changed === 1 ? { ...lease, expiresAtMs } : null;
  }

  async renewAll(leases: readonly ShardLease[], leaseMs: number): Promise<(ShardLease | null)[]> {
    this.assertOpen();
    for (const lease of leases) checkClaim(lease.shard, lease.owner, leaseMs);
    if (leases.length === 0) return [];
    const expiresAtMs = this.nowMs() + leaseMs;
    const extended = await this.renewer.renew({ leases: leases.map(({ shard, owner, epoch }) => ({ shard, owner, epoch })), expiresAtMs });
    if (extended.length !== leases.length) throw new Error(`shard claims: renewed ${extended.length} leases of ${leases.length}`);
    return leases.map((lease, index) => (extended[index] === true ? { ...lease, expiresAtMs } : null));
  }

  async release(lease: ShardLease): Promise<void> {
    this.assertOpen();
    checkClaim(lease.shard, lease.owner, 1);
    this.endLease.run(this.nowMs(), lease.shard, lease.owner, lease.epoch);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.renewer.close();
    this.selectOwner.finalize();
    this.upsertOwner.finalize();
    this.extendLease.finalize();
    this.endLease.finalize();
    this.db.close();
  }

  private assertOpen(): void {
    if (this.closed) throw new Error("shard claims: used after close");
  }
}
