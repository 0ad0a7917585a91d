// A command whose record the log confirms late is answered UNAVAILABLE once ackTimeoutMs has
// passed; the write goes on, lands, and later commands are answered as usual.
import { expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SqliteEventLog } from "../../src/log/sqlite-event-log.ts";
import { ControlledLog } from "./controlled-log.ts";
import { OmsNode } from "../../src/node/oms-node.ts";
import { SqliteShardClaims } from "../../src/snapshot/sqlite-shard-claims.ts";
import { SqliteSnapshotStore } from "../../src/snapshot/sqlite-snapshot-store.ts";
import { SqliteOrderArchive } from "../../src/archive/sqlite-order-archive.ts";
import { SimulatedVenue } from "../../src/venue/simulated-venue.ts";

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

test("a write the log confirms after ackTimeoutMs is answered UNAVAILABLE, and still lands", async () => {
  const dir = mkdtempSync(join(tmpdir(), "oms-ack-"));
  const log = new ControlledLog(SqliteEventLog.open(join(dir, "wal.sqlite")));
  const snapshots = SqliteSnapshotStore.open(join(dir, "snapshots.sqlite"));
  const claims = SqliteShardClaims.open(join(dir, "claims.sqlite"));
  const node = await OmsNode.start({
    nodeId: "ack", shardCount: 1, shards: [0], shardOf: () => 0, log, snapshots, claims, archive: SqliteOrderArchive.open(join(dir, "archive.sqlite")),
    venue: new SimulatedVenue({ seed: 1, now: () => 1_700_000_000_000, manual: true }),
    logger: quiet, snapshotEveryRecords: 1_000_000, leaseMs: 60_000, ackTimeoutMs: 50,
    clock: () => 1_700_000_000_000,
    onFatal: (error) => {
      throw error;
    },
  });
  expect((await node.commit({ kind: "create_account", accountId: "ann", atMs: 1 }, () => "created")).ok).toBe(true);

  const release = Promise.withResolvers<void>();
  log.held = release.promise;
  const late = await node.commit({ kind: "deposit", accountId: "ann", amount: 700n, atMs: 2 }, (account) => account.cash);
  expect(late).toEqual({
    ok: false,
    rejection: expect.objectContaining({ code: "unavailable", message: expect.stringContaining("did not confirm the write within 50 ms") }),
  });
  log.held = null;
  release.resolve();

  // The write landed: a read waits for it and shows it; the next command is answered as usual.
  expect(await node.read("ann", (account) => account.cash)).toEqual({ ok: true, value: 700n });
  expect(await node.commit({ kind: "deposit", accountId: "ann", amount: 1n, atMs: 3 }, (account) => account.cash)).toEqual({ ok: true, value: 701n });
  await node.close();
  await node.release();
  await log.close();
  await snapshots.close();
  await claims.close();
  rmSync(dir, { recursive: true, force: true });
});
