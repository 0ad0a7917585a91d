// A node process on the production backends (the write-ahead log on a Kafka-protocol broker,
// snapshots and shard claims in Postgres), killed with SIGKILL while over a thousand orders are
// in flight, cycle after cycle (OMS_FAULT_CYCLES in the long mode), recovers every acknowledged order identically and every order the kill cut
// off whole or not at all (the scenario is in kill9-scenario.ts).
import { expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { PostgresSnapshotStore } from "../../src/snapshot/postgres-snapshot-store.ts";
import { faultCycles, runKill9Scenario } from "./kill9-scenario.ts";
import { nodeConfigOn, startBackends, type Backends } from "./production-backends.ts";

const NODE_ID = "node-a";
const SHARD_COUNT = 4;
/** Small, so that every shard takes snapshots before the first kill and recovery starts from one. */
const SNAPSHOT_EVERY_RECORDS = 100;
/** A slow CI machine's Kafka writes under this load must not be answered UNAVAILABLE: the scenario counts that a refusal. */
const ACK_TIMEOUT_MS = 10_000;
/** Each call's deadline, above ACK_TIMEOUT_MS: the node answers first. */
const CALL_TIMEOUT_MS = 15_000;
/** The issue asks for a SIGKILL while at least a thousand orders are in flight. */
const ORDERS_IN_FLIGHT_AT_KILL_MIN = 1_000;
/** Fewer than on SQLite: a restart on Kafka takes some 3 s (the first fetch), and CI has a budget. */
const SUITE_CYCLES = 5;
const CYCLES = faultCycles(SUITE_CYCLES);
/** Some 5 s a cycle on a quiet machine, and each cycle re-reads every earlier order (see recovery.kill9.test.ts). */
const TEST_TIMEOUT_MS = 60_000 + CYCLES * 20_000 + CYCLES * CYCLES * 200;

async function snapshotOffsets(backends: Backends): Promise<(bigint | null)[]> {
  const store = await PostgresSnapshotStore.open(backends.postgres.url, { connectTimeoutMs: 5_000, retryForMs: 10_000 });
  try {
    return await Promise.all(Array.from({ length: SHARD_COUNT }, async (_, shard) => (await store.load(shard))?.nextOffset ?? null));
  } finally {
    await store.close();
  }
}

test(`a node on Kafka and Postgres killed with SIGKILL under load, ${CYCLES} times, recovers every acknowledged order identically and no order in part`, async () => {
  const backends = await startBackends(SHARD_COUNT);
  try {
    const { path, port } = await nodeConfigOn(backends, {
      nodeId: NODE_ID,
      shardCount: SHARD_COUNT,
      snapshotEveryRecords: SNAPSHOT_EVERY_RECORDS,
      node: { ackTimeoutMs: ACK_TIMEOUT_MS },
    });
    const outcome = await runKill9Scenario({
      configPath: path,
      nodeId: NODE_ID,
      port,
      shardCount: SHARD_COUNT,
      snapshotOffsets: () => snapshotOffsets(backends),
      // 400 calls, every other one of 6 orders: some 1,400 orders in the air when each kill lands.
      callsInFlight: 400,
      batchEvery: 2,
      batchOrders: 6,
      acksBeforeFirstKill: 2_000,
      acksBeforeLaterKills: 500,
      cycles: CYCLES,
      ordersInFlightAtKillMin: ORDERS_IN_FLIGHT_AT_KILL_MIN,
      callTimeoutMs: CALL_TIMEOUT_MS,
    });
    console.log(`kill -9 under load (kafka, postgres): ${outcome.cycles} cycles, ${outcome.acked} orders acknowledged, ${outcome.lost} lost; first round ${JSON.stringify(outcome.rounds[0])}`);
    expect({ cycles: outcome.cycles, lost: outcome.lost }).toEqual({ cycles: CYCLES, lost: 0 });
  } finally {
    await backends.stop();
    rmSync(backends.dataDir, { recursive: true, force: true });
  }
}, TEST_TIMEOUT_MS);
