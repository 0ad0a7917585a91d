// The ShardClaims contract, run against every implementation (Postgres and SQLite), so the
// embedded default and the production store hand out epochs and leases by the same rules.
// Real time passes here (a lease of a few hundred ms is left to expire); no test asserts how
// long anything took, only who holds what afterwards.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import type { ShardClaims } from "../../src/snapshot/shard-claims.ts";

export interface ClaimsStoreUnderTest {
  /** A new handle on the same store, as another node would open it. */
  open(): Promise<ShardClaims>;
  /** Called after the test has closed its handles. */
  dispose(): Promise<void>;
}

const LONG_LEASE_MS = 60_000;
const SHORT_LEASE_MS = 300;
/** Far longer than SHORT_LEASE_MS, so a waiting claim outlives the lease it waits on. */
const WAIT_PAST_SHORT_LEASE_MS = 10_000;

export function describeShardClaimsContract(name: string, fresh: () => Promise<ClaimsStoreUnderTest>): void {
  describe(`${name} (ShardClaims contract)`, () => {
    let store: ClaimsStoreUnderTest | null = null;
    let handles: ShardClaims[] = [];

    /** Two or three nodes' handles on one fresh store. */
    async function nodes(count: number): Promise<ShardClaims[]> {
      store = await fresh();
      for (let i = 0; i < count; i++) handles.push(await store.open());
      return handles;
    }

    beforeEach(() => {
      store = null;
      handles = [];
    });

    afterEach(async () => {
      for (const handle of handles) await handle.close();
      await store?.dispose();
    });

    test("the first claim of a shard gets epoch 1 and a lease ending about leaseMs from now", async () => {
      const [a] = await nodes(1);
      const lease = await a!.claim(7, "node-a", LONG_LEASE_MS, 0);
      expect({ shard: lease.shard, owner: lease.owner, epoch: lease.epoch }).toEqual({ shard: 7, owner: "node-a", epoch: 1n });
      // Same machine, so the store's clock and ours agree to well within the lease.
      const leftMs = lease.expiresAtMs - Date.now();
      expect(leftMs).toBeGreaterThan(0);
      expect(leftMs).toBeLessThanOrEqual(LONG_LEASE_MS + 1_000);
    });

    test("another owner's claim while the lease is live waits, then throws naming the holder and its expiry", async () => {
      const [a, b] = await nodes(2);
      const lease = await a!.claim(1, "node-a", LONG_LEASE_MS, 0);
      await expect(b!.claim(1, "node-b", LONG_LEASE_MS, 250)).rejects.toThrow(
        `shard 1 is held by node-a until ${new Date(lease.expiresAtMs).toISOString()}`,
      );
      // The refused claim changed nothing: the holder still renews under its epoch.
      expect((await a!.renew(lease, LONG_LEASE_MS))?.epoch).toBe(1n);
    });

    test("a claim waiting on a lease that expires meanwhile gets the shard under the next epoch, fencing the old holder", async () => {
      const [a, b, c] = await nodes(3);
      const first = await a!.claim(1, "node-a", SHORT_LEASE_MS, 0);
      const second = await b!.claim(1, "node-b", LONG_LEASE_MS, WAIT_PAST_SHORT_LEASE_MS);
      expect({ owner: second.owner, epoch: second.epoch }).toEqual({ owner: "node-b", epoch: 2n });
      expect(await a!.renew(first, LONG_LEASE_MS)).toBeNull();
      // The fenced holder's release must not free the shard it no longer holds.
      await a!.release(first);
      await expect(c!.claim(1, "node-c", LONG_LEASE_MS, 0)).rejects.toThrow("shard 1 is held by node-b until");
    });

    test("release lets another owner claim at once", async () => {
      const [a, b] = await nodes(2);
      const first = await a!.claim(1, "node-a", LONG_LEASE_MS, 0);
      await a!.release(first);
      const second = await b!.claim(1, "node-b", LONG_LEASE_MS, 0);
      expect({ owner: second.owner, epoch: second.epoch }).toEqual({ owner: "node-b", epoch: 2n });
    });

    test("a restart claim by the same owner, its previous process gone (handle closed, lease unreleased), gets a higher epoch at once, marked so", async () => {
      const [before, after] = await nodes(2);
      const old = await before!.claim(1, "node-a", LONG_LEASE_MS, 0);
      await before!.close();
      const restarted = await after!.claim(1, "node-a", LONG_LEASE_MS, 0);
      expect({ epoch: restarted.epoch, previousHolderGone: restarted.previousHolderGone }).toEqual({ epoch: 2n, previousHolderGone: true });
      expect(old.epoch).toBe(1n);
      expect((await after!.renew(restarted, LONG_LEASE_MS))?.epoch).toBe(2n);
      expect(after!.holding()).toBe(true);
    });

    test("renew extends the holder's lease and keeps its epoch", async () => {
      const [a] = await nodes(1);
      const lease = await a!.claim(1, "node-a", LONG_LEASE_MS, 0);
      const renewed = await a!.renew(lease, 2 * LONG_LEASE_MS);
      expect(renewed).not.toBeNull();
      expect({ shard: renewed!.shard, owner: renewed!.owner, epoch: renewed!.epoch }).toEqual({ shard: 1, owner: "node-a", epoch: 1n });
      expect(renewed!.expiresAtMs).toBeGreaterThan(lease.expiresAtMs);
    });

    test("renewAll extends every lease the owner still holds in one call, and answers null for one a newer claim fenced", async () => {
      const [a, b] = await nodes(2);
      const leases = [];
      for (const shard of [1, 2, 3]) leases.push(await a!.claim(shard, "node-a", SHORT_LEASE_MS, 0));
      // node-b takes shard 2 once node-a's short lease has run out: node-a is fenced there.
      const taken = await b!.claim(2, "node-b", LONG_LEASE_MS, WAIT_PAST_SHORT_LEASE_MS);
      const renewed = await a!.renewAll(leases, LONG_LEASE_MS);
      expect(renewed.map((lease) => lease?.shard ?? null)).toEqual([1, null, 3]);
      expect(renewed.map((lease) => lease?.epoch ?? null)).toEqual([1n, null, 1n]);
      // The fenced renewal changed nothing: node-b still holds shard 2 under its epoch.
      expect((await b!.renew(taken, LONG_LEASE_MS))?.epoch).toBe(2n);
      // The renewed leases are long now: a claim of shard 1 by node-b waits and is refused.
      await expect(b!.claim(1, "node-b", LONG_LEASE_MS, 0)).rejects.toThrow("shard 1 is held by node-a");
      expect(await a!.renewAll([], LONG_LEASE_MS)).toEqual([]);
    });

    test("renewAll refuses a bad lease length before renewing any lease", async () => {
      const [a] = await nodes(1);
      const lease = await a!.claim(1, "node-a", SHORT_LEASE_MS, 0);
      await expect(a!.renewAll([lease], 0)).rejects.toThrow("shard claims: leaseMs must be an integer from 1 to 3600000, got 0");
      await Bun.sleep(SHORT_LEASE_MS + 100);
      // Not renewed: the short lease ran out and another owner may claim the shard.
      const [b] = [await store!.open()];
      handles.push(b);
      expect((await b.claim(1, "node-b", LONG_LEASE_MS, 0)).epoch).toBe(2n);
    });

    test("a lease that ran out unclaimed is still the holder's to renew", async () => {
      const [a] = await nodes(1);
      const lease = await a!.claim(1, "node-a", 50, 0);
      await Bun.sleep(150);
      expect((await a!.renew(lease, LONG_LEASE_MS))?.epoch).toBe(1n);
    });

    test("two owners claiming a new shard at once: exactly one gets epoch 1, the other is told who holds it", async () => {
      const [a, b] = await nodes(2);
      const outcomes = await Promise.allSettled([a!.claim(5, "node-a", LONG_LEASE_MS, 0), b!.claim(5, "node-b", LONG_LEASE_MS, 0)]);
      const won = outcomes.flatMap((o) => (o.status === "fulfilled" ? [o.value] : []));
      const lost = outcomes.flatMap((o) => (o.status === "rejected" ? [String(o.reason)] : []));
      expect(won.length).toBe(1);
      expect(won[0]!.epoch).toBe(1n);
      expect(lost).toEqual([expect.stringContaining(`shard 5 is held by ${won[0]!.owner} until`)]);
    });

    test("shards are claimed independently", async () => {
      const [a, b] = await nodes(2);
      const one = await a!.claim(1, "node-a", LONG_LEASE_MS, 0);
      const two = await b!.claim(2, "node-b", LONG_LEASE_MS, 0);
      expect([one.epoch, two.epoch]).toEqual([1n, 1n]);
    });

    test("each handover raises the epoch by one", async () => {
      const [a, b] = await nodes(2);
      const epochs: bigint[] = [];
      for (let round = 0; round < 4; round++) {
        const [claims, owner] = round % 2 === 0 ? [a!, "node-a"] : [b!, "node-b"];
        const lease = await claims.claim(3, owner, LONG_LEASE_MS, 0);
        epochs.push(lease.epoch);
        await claims.release(lease);
      }
      expect(epochs).toEqual([1n, 2n, 3n, 4n]);
    });

    test("nonsense arguments are refused before the store is touched", async () => {
      const [a] = await nodes(1);
      await expect(a!.claim(1, "", LONG_LEASE_MS, 0)).rejects.toThrow("shard claims: owner must be 1 to 256 characters, got 0");
      await expect(a!.claim(1, "node-a", 0, 0)).rejects.toThrow("shard claims: leaseMs must be an integer from 1 to 3600000, got 0");
      await expect(a!.claim(-1, "node-a", LONG_LEASE_MS, 0)).rejects.toThrow("shard claims: shard must be an integer from 0 to 2147483647, got -1");
      await expect(a!.claim(1, "node-a", LONG_LEASE_MS, -5)).rejects.toThrow("shard claims: waitMs must be an integer from 0 to 3600000, got -5");
      expect((await a!.claim(1, "node-a", LONG_LEASE_MS, 0)).epoch).toBe(1n);
    });
  });
}
