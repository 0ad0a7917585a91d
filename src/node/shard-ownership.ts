// The node's claims on its shards. A shard takes writes only while this node's lease on it
// is live by the node's own clock, and the node's deadline falls a margin before the claims
// store's expiry, so a new owner (who may claim only after that expiry) never overlaps it.
import { reject, type Rejection } from "../core/rejection.ts";
import type { ShardClaims, ShardLease } from "../snapshot/shard-claims.ts";
import type { NodeLogger } from "./oms-node.ts";
import { runtimeScheduler, type Scheduler } from "./scheduler.ts";
import type { Ownership } from "./held-effects.ts";
import { timedJobFn } from "../metrics/main-thread-work.ts";

interface Held {
  lease: ShardLease;
  /** Writes stop at this time (node clock) unless a renewal moves it. */
  deadlineMs: number;
  fenced: boolean;
}

export class ShardOwnership {
  private readonly held = new Map<number, Held>();
  private stopRenewing: (() => void) | null = null;
  /** Covers clock drift between this node and the claims store, and a slow renewal reply. */
  private readonly marginMs: number;

  constructor(
    private readonly claims: ShardClaims,
    private readonly owner: string,
    private readonly leaseMs: number,
    private readonly clock: () => number,
    private readonly logger: NodeLogger,
    private readonly scheduler: Scheduler = runtimeScheduler,
  ) {
    this.marginMs = Math.ceil(leaseMs / 5);
  }

  async claim(shard: number): Promise<ShardLease> {
    const askedAtMs = this.clock();
    // A crashed previous owner's lease runs out within leaseMs (sooner where the store proves
    // it gone); wait that long and a bit.
    const lease = await this.claims.claim(shard, this.owner, this.leaseMs, this.leaseMs * 2);
    this.held.set(shard, { lease, deadlineMs: askedAtMs + this.leaseMs - this.marginMs, fenced: false });
    if (lease.previousHolderGone === true) {
      this.logger.info("shard taken back without waiting out the lease: its previous holder is provably gone", { shard, epoch: lease.epoch });
    } else {
      this.logger.debug("shard claimed", { shard, epoch: lease.epoch });
    }
    return lease;
  }

  /** Null when the shard may take writes now; else why not. */
  problem(shard: number): Rejection | null {
    const held = this.held.get(shard);
    if (held === undefined) return reject("failed_precondition", `account_id: shard ${shard} is not claimed by this node`);
    if (held.fenced) return reject("unavailable", `shard ${shard} was taken over by another node; this node no longer serves it`);
    // Others may take the shard at once while this process cannot prove it is alive.
    if (!this.claims.holding()) return reject("unavailable", `shard ${shard}: this node lost its shard claims session; retry shortly`);
    if (this.clock() >= held.deadlineMs) return reject("unavailable", `shard ${shard}: this node's lease could not be renewed; retry shortly`);
    return null;
  }

  /** Whether the shard takes writes now, may have another owner (lapsed), or surely has (fenced). */
  state(shard: number): Ownership {
    const held = this.held.get(shard);
    if (held === undefined || held.fenced) return "fenced";
    return this.clock() >= held.deadlineMs ? "lapsed" : "owned";
  }

  /** Each shard claimed: its epoch, and whether it takes writes now (see problem()). */
  leases(): { shard: number; epoch: bigint; owned: boolean }[] {
    return [...this.held].map(([shard, held]) => ({ shard, epoch: held.lease.epoch, owned: this.problem(shard) === null }));
  }

  startRenewing(): void {
    const everyMs = Math.max(50, Math.floor(this.leaseMs / 3));
    this.stopRenewing = this.scheduler.every(everyMs, timedJobFn("lease_renewal", () => void this.renewAll()));
  }

  /** Renews every lease not fenced, in one call to the claims store (one transaction). */
  async renewAll(): Promise<void> {
    const renewing = [...this.held].filter(([, held]) => !held.fenced);
    if (renewing.length === 0) return;
    const askedAtMs = this.clock();
    let renewed: (ShardLease | null)[];
    try {
      renewed = await this.claims.renewAll(
        renewing.map(([, held]) => held.lease),
        this.leaseMs,
      );
    } catch (error) {
      // Not fenced, just not renewed: writes stop when the deadlines pass, and resume with
      // the next successful renewal.
      this.logger.warn("shard lease renewal failed", { shards: renewing.map(([shard]) => shard).join(","), error: String(error) });
      return;
    }
    if (renewed.length !== renewing.length) throw new Error(`invariant: renewed ${renewed.length} leases of ${renewing.length}`);
    renewing.forEach(([shard, held], index) => {
      const lease = renewed[index] ?? null;
      if (lease === null) {
        held.fenced = true;
        this.logger.error("shard fenced: another node claimed it; no longer serving it", { shard, epoch: held.lease.epoch });
        return;
      }
      held.lease = lease;
      held.deadlineMs = askedAtMs + this.leaseMs - this.marginMs;
    });
  }

  async releaseAll(): Promise<void> {
    this.stopRenewing?.();
    this.stopRenewing = null;
    for (const held of this.held.values()) {
      if (!held.fenced) await this.claims.release(held.lease).catch(() => undefined);
    }
  }
}
