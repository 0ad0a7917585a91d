// An OmsNode in this process with the real SQLite log and snapshots in a temporary directory
// and a manual simulated venue, plus helpers to drive it through its Execute pipeline.
import { create, fromBinary } from "@bufbuild/protobuf";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NodeCommandSchema, NodeResultSchema, type NodeResult } from "../../src/gen/oms/internal/v1/node_pb.ts";
import { SqliteEventLog } from "../../src/log/sqlite-event-log.ts";
import { OmsNode } from "../../src/node/oms-node.ts";
import { SqliteShardClaims } from "../../src/snapshot/sqlite-shard-claims.ts";
import { SqliteSnapshotStore } from "../../src/snapshot/sqlite-snapshot-store.ts";
import { SqliteOrderArchive } from "../../src/archive/sqlite-order-archive.ts";
import type { ClosedOrderRetention } from "../../src/core/account.ts";
import type { Venue, VenueOrder, VenueReport } from "../../src/venue/venue.ts";
import { SimulatedVenue } from "../../src/venue/simulated-venue.ts";
import type { MessageInitShape } from "@bufbuild/protobuf";

export const SHARD_COUNT = 4;
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

/** Counts what reaches the venue, so tests can prove replay sends nothing. */
export class CountingVenue implements Venue {
  submits: VenueOrder[] = [];
  cancels: string[] = [];
  reconciled: VenueOrder[] = [];
  constructor(readonly inner: SimulatedVenue) {}
  symbols() { return this.inner.symbols(); }
  quote(symbol: string) { return this.inner.quote(symbol); }
  submit(order: VenueOrder) { this.submits.push(order); this.inner.submit(order); }
  cancel(orderId: string) { this.cancels.push(orderId); this.inner.cancel(orderId); }
  replace(orderId: string, replacement: VenueOrder, expected: bigint) { this.inner.replace(orderId, replacement, expected); }
  reconcile(open: readonly VenueOrder[]) { this.reconciled.push(...open); this.inner.reconcile(open); }
  reports: VenueReport[] = [];
  onReport(listener: Parameters<Venue["onReport"]>[0]) {
    this.inner.onReport((report) => {
      this.reports.push(report);
      listener(report);
    });
  }
  close() { this.inner.close(); }
}

export interface NodeHarness {
  dir: string;
  node: OmsNode;
  venue: CountingVenue;
  log: SqliteEventLog;
  snapshots: SqliteSnapshotStore;
  archive: SqliteOrderArchive;
  run(command: MessageInitShape<typeof NodeCommandSchema>["command"]): Promise<NodeResult>;
  stop(): Promise<void>;
}

export async function startNodeHarness(
  dir = mkdtempSync(join(tmpdir(), "oms-node-")),
  snapshotEveryRecords = 1_000_000,
  closedOrders?: ClosedOrderRetention,
): Promise<NodeHarness> {
  const log = SqliteEventLog.open(join(dir, "wal.sqlite"));
  const snapshots = SqliteSnapshotStore.open(join(dir, "snapshots.sqlite"));
  const claims = SqliteShardClaims.open(join(dir, "claims.sqlite"));
  const archive = SqliteOrderArchive.open(join(dir, "archive.sqlite"));
  const venue = new CountingVenue(new SimulatedVenue({ seed: 7, now: () => 1_700_000_000_000, manual: true }));
  let ids = 0;
  const node = await OmsNode.start({
    nodeId: "test",
    shardCount: SHARD_COUNT,
    shards: [0, 1, 2, 3],
    shardOf: (accountId) => accountId.length % SHARD_COUNT,
    log,
    snapshots,
    archive,
    ...(closedOrders === undefined ? {} : { closedOrders }),
    claims,
    venue,
    logger: quiet,
    snapshotEveryRecords,
    leaseMs: 60_000,
    ackTimeoutMs: 10_000,
    clock: () => 1_700_000_000_000,
    onFatal: (error) => {
      throw error;
    },
  });
  const prefix = `${Date.now()}-${Math.random().toString(36).slice(2, 6)}`;
  return {
    dir,
    node,
    venue,
    log,
    snapshots,
    archive,
    run: async (command) => {
      const wire = create(NodeCommandSchema, { command } as MessageInitShape<typeof NodeCommandSchema>).command;
      return fromBinary(NodeResultSchema, await node.execute(wire, () => `o-${prefix}-${++ids}`));
    },
    stop: async () => {
      await node.close();
      await node.release();
      await log.close();
      await snapshots.close();
      await claims.close();
      await archive.close();
    },
  };
}

/** Lets the venue's queued microtasks and the log's group commit run. */
export async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((resolve) => setImmediate(resolve));
}
