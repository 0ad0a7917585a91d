// A node process on the embedded storage (the log and snapshots in SQLite files), killed with
// SIGKILL under load, cycle after cycle (20 in the suite, OMS_FAULT_CYCLES in the long mode), recovers every acknowledged order identically and every order
// the kill cut off whole or not at all (the scenario is in kill9-scenario.ts).
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SqliteSnapshotStore } from "../../src/snapshot/sqlite-snapshot-store.ts";
import { freePort } from "../e2e/dev-process.ts";
import { faultCycles, runKill9Scenario } from "./kill9-scenario.ts";
import { writeNodeConfig } from "./node-process.ts";

const NODE_ID = "node-a";
const SHARD_COUNT = 4;
/** Small, so that every shard takes snapshots before the first kill and recovery starts from one. */
const SNAPSHOT_EVERY_RECORDS = 100;
/** The issue asks for at least 20 kill cycles in one test run; each takes well under a second here. */
const SUITE_CYCLES = 20;
const CYCLES = faultCycles(SUITE_CYCLES);
/**
 * Some 0.6 s a cycle on a quiet machine, and each cycle re-reads every earlier order, so a long
 * run grows with the square of its cycles (100 took 10 minutes on a loaded 2-core machine).
 */
const TEST_TIMEOUT_MS = 60_000 + CYCLES * 6_000 + CYCLES * CYCLES * 100;

const dataDir = mkdtempSync(join(tmpdir(), "oms-recovery-kill9-"));

afterAll(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

async function snapshotOffsets(): Promise<(bigint | null)[]> {
  const store = SqliteSnapshotStore.open(join(dataDir, NODE_ID, "snapshots.sqlite"));
  try {
    return await Promise.all(Array.from({ length: SHARD_COUNT }, async (_, shard) => (await store.load(shard))?.nextOffset ?? null));
  } finally {
    await store.close();
  }
}

test(`a node killed with SIGKILL under load, ${CYCLES} times, recovers every acknowledged order identically and no order in part`, async () => {
  const port = await freePort();
  const configPath = writeNodeConfig({ nodeId: NODE_ID, port, shardCount: SHARD_COUNT, dataDir, snapshotEveryRecords: SNAPSHOT_EVERY_RECORDS });
  const outcome = await runKill9Scenario({
    configPath,
    nodeId: NODE_ID,
    port,
    shardCount: SHARD_COUNT,
    snapshotOffsets,
    // 300 calls, every 4th of 5 orders: some 600 orders in the air when each kill lands.
    callsInFlight: 300,
    batchEvery: 4,
    batchOrders: 5,
    acksBeforeFirstKill: 600,
    acksBeforeLaterKills: 150,
    cycles: CYCLES,
    ordersInFlightAtKillMin: 500,
  });
  console.log(`kill -9 under load (sqlite): ${outcome.cycles} cycles, ${outcome.acked} orders acknowledged, ${outcome.lost} lost; first round ${JSON.stringify(outcome.rounds[0])}`);
  expect({ cycles: outcome.cycles, lost: outcome.lost }).toEqual({ cycles: CYCLES, lost: 0 });
}, TEST_TIMEOUT_MS);
