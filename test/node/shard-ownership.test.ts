// Renewing every shard's lease in one transaction still fences: a shard another node claimed
// stops taking writes on the old owner, and the others go on.
import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ShardOwnership } from "../../src/node/shard-ownership.ts";
import { SqliteShardClaims } from "../../src/snapshot/sqlite-shard-claims.ts";

const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const dir = mkdtempSync(join(tmpdir(), "oms-ownership-"));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

test("one renewal of all leases fences the shard a newer owner claimed and keeps the rest writable", async () => {
  let nowMs = 1_000_000;
  const clock = () => nowMs;
  const path = join(dir, "claims.sqlite");
  const storeA = SqliteShardClaims.open(path, { nowMs: clock });
  const storeB = SqliteShardClaims.open(path, { nowMs: clock });
  const a = new ShardOwnership(storeA, "node-a", 10_000, clock, quiet);
  const b = new ShardOwnership(storeB, "node-b", 10_000, clock, quiet);
  for (const shard of [0, 1, 2]) await a.claim(shard);
  nowMs += 10_001; // node-a's leases ran out in the store (it stalled), so node-b may claim
  await b.claim(1);
  await a.renewAll();
  expect(a.problem(0)).toBeNull();
  expect(a.problem(1)?.message).toBe("shard 1 was taken over by another node; this node no longer serves it");
  expect(a.problem(2)).toBeNull();
  expect(b.problem(1)).toBeNull();
  // Renewed from the store's "now": still writable well after the old deadline.
  nowMs += 5_000;
  expect(a.problem(0)).toBeNull();
  await a.releaseAll();
  await b.releaseAll();
  await storeA.close();
  await storeB.close();
});
