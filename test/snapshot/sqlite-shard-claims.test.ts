import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SqliteShardClaims } from "../../src/snapshot/sqlite-shard-claims.ts";
import { describeShardClaimsContract } from "./shard-claims.contract.ts";

describeShardClaimsContract("SqliteShardClaims", async () => {
  const directory = mkdtempSync(join(tmpdir(), "oms-claims-"));
  const path = join(directory, "claims.sqlite");
  return {
    open: async () => SqliteShardClaims.open(path),
    dispose: async () => rmSync(directory, { recursive: true, force: true }),
  };
});

/** A clock that moves only when a claim sleeps (or the test says so): waits are exact. */
class FakeClock {
  nowMs = 1_700_000_000_000;
  readonly sleeps: number[] = [];
  readonly options = {
    nowMs: () => this.nowMs,
    sleep: async (ms: number) => {
      this.sleeps.push(ms);
      this.nowMs += ms;
    },
  };
}

describe("SqliteShardClaims on an injected clock", () => {
  let directory = "";
  let path = "";
  let clock = new FakeClock();
  const opened: SqliteShardClaims[] = [];

  const open = (): SqliteShardClaims => {
    const claims = SqliteShardClaims.open(path, clock.options);
    opened.push(claims);
    return claims;
  };

  beforeEach(() => {
    directory = mkdtempSync(join(tmpdir(), "oms-claims-"));
    path = join(directory, "claims.sqlite");
    clock = new FakeClock();
  });

  afterEach(async () => {
    for (const claims of opened.splice(0)) await claims.close();
    rmSync(directory, { recursive: true, force: true });
  });

  test("a lease ends exactly leaseMs after the claim, by the store's clock", async () => {
    const claims = open();
    const lease = await claims.claim(1, "node-a", 1_000, 0);
    expect(lease).toEqual({ shard: 1, owner: "node-a", epoch: 1n, expiresAtMs: clock.nowMs + 1_000 });
    clock.nowMs = lease.expiresAtMs - 1;
    await expect(claims.claim(1, "node-b", 1_000, 0)).rejects.toThrow(`shard 1 is held by node-a until ${new Date(lease.expiresAtMs).toISOString()}`);
    clock.nowMs = lease.expiresAtMs;
    expect(await claims.claim(1, "node-b", 1_000, 0)).toEqual({ shard: 1, owner: "node-b", epoch: 2n, expiresAtMs: lease.expiresAtMs + 1_000 });
  });

  test("a refused claim looks again every 100 ms and gives up exactly when waitMs has passed", async () => {
    const claims = open();
    await claims.claim(1, "node-a", 10_000, 0);
    await expect(claims.claim(1, "node-b", 1_000, 250)).rejects.toThrow("shard 1 is held by node-a until");
    expect(clock.sleeps).toEqual([100, 100, 50]);
  });

  test("a claim waiting on an expiring lease takes the shard at the first look after the expiry", async () => {
    const claims = open();
    const first = await claims.claim(1, "node-a", 250, 0);
    const second = await claims.claim(1, "node-b", 1_000, 5_000);
    expect(clock.sleeps).toEqual([100, 100, 100]);
    expect(second).toEqual({ shard: 1, owner: "node-b", epoch: 2n, expiresAtMs: first.expiresAtMs + 50 + 1_000 });
  });

  test("renew moves the expiry to leaseMs from now; release ends the lease now and never lengthens it", async () => {
    const claims = open();
    const lease = await claims.claim(1, "node-a", 1_000, 0);
    clock.nowMs += 400;
    expect(await claims.renew(lease, 1_000)).toEqual({ ...lease, expiresAtMs: clock.nowMs + 1_000 });
    clock.nowMs += 5_000; // lease long expired
    await claims.release(lease);
    const db = new Database(path, { readonly: true, safeIntegers: true });
    expect(db.query("SELECT lease_expires_at_ms FROM shard_owners WHERE shard = 1").get()).toEqual({
      lease_expires_at_ms: BigInt(clock.nowMs - 5_000 + 1_000),
    });
    db.close();
  });

  test("epochs survive reopening the file, so a restarted node never reuses one", async () => {
    const before = open();
    const lease = await before.claim(1, "node-a", 1_000, 0);
    await before.close();
    const after = open();
    expect((await after.claim(1, "node-a", 1_000, 0)).epoch).toBe(2n);
    expect(await after.renew(lease, 1_000)).toBeNull();
  });

  test("the file is in WAL mode, so a claim is never torn by a crash mid-write", async () => {
    open();
    const db = new Database(path, { readonly: true });
    expect(db.query("PRAGMA journal_mode").get()).toEqual({ journal_mode: "wal" });
    db.close();
  });

  test("a closed store refuses use", async () => {
    const claims = open();
    await claims.close();
    await expect(claims.claim(1, "node-a", 1_000, 0)).rejects.toThrow("shard claims: used after close");
  });
});
