// The snapshot store and the shard claims of the simulated world. Each call is a network hop
// to the store and one back, both events; a call from a partitioned node fails after a
// timeout, and a save whose writer crashes before it lands is lost, as a torn one would be.
import type { ShardClaims, ShardLease } from "../snapshot/shard-claims.ts";
import type { ShardSnapshot, SnapshotStore } from "../snapshot/snapshot-store.ts";
import type { EventLoop, Owner } from "./event-loop.ts";
import { NETWORK_HOP_MS } from "./sim-log.ts";

/** How long a call from a partitioned node waits before it fails. */
export const PARTITION_TIMEOUT_MS = 200;
/** How often a waiting claim looks again at the holder's lease. */
const CLAIM_POLL_MS = 50;

export class StoreNetwork {
  private readonly partitionedUntil = new Map<Owner, number>();

  constructor(readonly loop: EventLoop) {}

  partition(owner: Owner, untilMs: number): void {
    this.partitionedUntil.set(owner, untilMs);
  }

  isPartitioned(owner: Owner): boolean {
    return (this.partitionedUntil.get(owner) ?? 0) > this.loop.nowMs;
  }

  /** work runs at the store one hop after the call; its answer reaches the caller one hop later. */
  call<T>(owner: Owner, work: () => T): Promise<T> {
    return new Promise((resolve, reject) => {
      if (this.isPartitioned(owner)) {
        this.loop.after(PARTITION_TIMEOUT_MS, owner, () => reject(new Error("simulated network: store unreachable (partitioned)")));
        return;
      }
      this.loop.after(NETWORK_HOP_MS, owner, () => {
        let value: T;
        try {
          value = work();
        } catch (error) {
          this.loop.after(NETWORK_HOP_MS, owner, () => reject(error));
          return;
        }
        this.loop.after(NETWORK_HOP_MS, owner, () => resolve(value));
      });
    });
  }
}

export class SnapshotStorage {
  readonly saved = new Map<number, ShardSnapshot>();
  savesLanded = 0;

  constructor(private readonly network: StoreNetwork) {}

  view(owner: Owner): SnapshotStore {
    return {
      load: (shard) => this.network.call(owner, () => this.saved.get(shard) ?? null),
      save: (snapshot) => this.network.call(owner, () => {
        this.saved.set(snapshot.shard, snapshot);
        this.savesLanded += 1;
      }),
      close: () => Promise.resolve(),
    };
  }
}

interface Holder {
  owner: string;
  epoch: bigint;
  expiresAtMs: number;
}

export class ClaimsStorage {
  private readonly holders = new Map<number, Holder>();
  private epochs = 0n;

  constructor(private readonly network: StoreNetwork) {}

  view(caller: Owner): ShardClaims {
    const loop = this.network.loop;
    const grant = (shard: number, owner: string, leaseMs: number): ShardLease | null => {
      const holder = this.holders.get(shard);
      if (holder !== undefined && holder.owner !== owner && holder.expiresAtMs > loop.nowMs) return null;
      this.epochs += 1n;
      const next = { owner, epoch: this.epochs, expiresAtMs: loop.nowMs + leaseMs };
      this.holders.set(shard, next);
      return { shard, ...next };
    };
    const renew = (lease: ShardLease, leaseMs: number): ShardLease | null => {
      const holder = this.holders.get(lease.shard);
      if (holder === undefined || holder.owner !== lease.owner || holder.epoch !== lease.epoch) return null;
      holder.expiresAtMs = loop.nowMs + leaseMs;
      return { shard: lease.shard, ...holder };
    };
    return {
      claim: async (shard, owner, leaseMs, waitMs) => {
        const giveUpAtMs = loop.nowMs + waitMs;
        for (;;) {
          const lease = await this.network.call(caller, () => grant(shard, owner, leaseMs));
          if (lease !== null) return lease;
          if (loop.nowMs >= giveUpAtMs) {
            const holder = this.holders.get(shard);
            throw new Error(`simulated claims: shard ${shard} is held by ${holder?.owner} until ${holder?.expiresAtMs}`);
          }
          await new Promise<void>((resolve) => void loop.after(CLAIM_POLL_MS, caller, resolve));
        }
      },
      renew: (lease, leaseMs) => this.network.call(caller, () => renew(lease, leaseMs)),
      renewAll: (leases, leaseMs) => this.network.call(caller, () => leases.map((lease) => renew(lease, leaseMs))),
      release: (lease) => this.network.call(caller, () => {
        const holder = this.holders.get(lease.shard);
        if (holder?.epoch === lease.epoch) this.holders.delete(lease.shard);
      }),
      // No sessions here: a process of a name restarts only once the last one is gone (the
      // data-dir lock of a real node), which is the proof a same-named claim relies on.
      holding: () => true,
      close: () => Promise.resolve(),
    };
  }
}
