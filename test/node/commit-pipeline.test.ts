// The commit pipeline's order, as a caller and the venue see it: a command is applied before
// its record is appended (the account's next command sees it at once), but nobody hears of it
// (its caller, the venue) until the log has the record; and a failed append stops the node.
import { afterEach, expect, test } from "bun:test";
import { create, fromBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NodeCommandSchema, NodeResultSchema } from "../../src/gen/oms/internal/v1/node_pb.ts";
import { OrderType, Side, TimeInForce } from "../../src/gen/oms/v1/trading_pb.ts";
import { SqliteEventLog } from "../../src/log/sqlite-event-log.ts";
import { OmsNode } from "../../src/node/oms-node.ts";
import { SqliteShardClaims } from "../../src/snapshot/sqlite-shard-claims.ts";
import { SqliteSnapshotStore } from "../../src/snapshot/sqlite-snapshot-store.ts";
import { SqliteOrderArchive } from "../../src/archive/sqlite-order-archive.ts";
import { SimulatedVenue } from "../../src/venue/simulated-venue.ts";
import { ControlledLog } from "./controlled-log.ts";
import { CountingVenue, settle } from "./node-harness.ts";

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function startNode() {
  const dir = mkdtempSync(join(tmpdir(), "oms-pipeline-"));
  const log = new ControlledLog(SqliteEventLog.open(join(dir, "wal.sqlite")));
  const snapshots = SqliteSnapshotStore.open(join(dir, "snapshots.sqlite"));
  const claims = SqliteShardClaims.open(join(dir, "claims.sqlite"));
  const venue = new CountingVenue(new SimulatedVenue({ seed: 1, now: () => 1_700_000_000_000, manual: true }));
  const fatal: unknown[] = [];
  const node = await OmsNode.start({
    nodeId: "pipeline", shardCount: 1, shards: [0], shardOf: () => 0, log, snapshots, claims, archive: SqliteOrderArchive.open(join(dir, "archive.sqlite")), venue,
    logger: quiet, snapshotEveryRecords: 1_000_000, leaseMs: 60_000, ackTimeoutMs: 60_000,
    clock: () => 1_700_000_000_000,
    onFatal: (error) => fatal.push(error),
  });
  let ids = 0;
  const execute = (command: MessageInitShape<typeof NodeCommandSchema>["command"]) =>
    node.execute(create(NodeCommandSchema, { command } as MessageInitShape<typeof NodeCommandSchema>).command, () => `o-${++ids}`);
  const run = async (command: MessageInitShape<typeof NodeCommandSchema>["command"]) => fromBinary(NodeResultSchema, await execute(command)).result;
  cleanups.push(async () => {
    // A stopped node's shard never becomes durable again (its process would have exited), so close() would wait for ever.
    if (fatal.length === 0) await node.close();
    else venue.close();
    await claims.close();
    await snapshots.close();
    await log.close();
  });
  return { log, venue, fatal, run, execute };
}

const buy = (qty: string) => ({
  case: "submitOrder" as const,
  value: { accountId: "ann", clientOrderId: "", symbol: "AAPL", side: Side.BUY, type: OrderType.LIMIT, timeInForce: TimeInForce.GTC, qty, limitPrice: "10", stopPrice: "" },
});

test("a command is applied before its record is durable, and answered and sent to the venue only after", async () => {
  const { log, venue, run } = await startNode();
  await run({ case: "createAccount", value: { accountId: "ann" } });
  const release = Promise.withResolvers<void>();
  log.held = release.promise;
  let answered = 0;
  const deposit = run({ case: "deposit", value: { accountId: "ann", amount: "100" } }).finally(() => (answered += 1));
  // The order needs the deposit's cash: decided after it, it sees it though the log has not confirmed it.
  const order = run(buy("5")).finally(() => (answered += 1));
  await settle(20);
  expect([answered, venue.submits.length]).toEqual([0, 0]);
  release.resolve();
  expect((await deposit).case).toBe("deposit");
  const placed = await order;
  expect(placed.case).toBe("submitOrder");
  expect(venue.submits.map((o) => o.orderId)).toEqual([placed.case === "submitOrder" ? (placed.value.order?.id ?? "") : "?"]);
});

test("a failed append stops the node: the caller gets UNAVAILABLE naming the log's reason, the venue hears nothing, later commands are refused UNAVAILABLE", async () => {
  const { log, venue, fatal, run } = await startNode();
  await run({ case: "createAccount", value: { accountId: "ann" } });
  await run({ case: "deposit", value: { accountId: "ann", amount: "100" } });
  log.failing = true;
  const failed = await run(buy("5"));
  expect(failed.case === "error" ? { code: Code[failed.value.code], stopping: failed.value.message.includes("this node is stopping") } : failed.case)
    .toEqual({ code: "Unavailable", stopping: true });
  expect(failed.case === "error" ? failed.value.message : "").toContain("disk full");
  expect(fatal.length).toBe(1);
  await settle(5);
  expect(venue.submits).toEqual([]);
  log.failing = false;
  const after = await run({ case: "getAccount", value: { accountId: "ann" } });
  expect(after.case === "error" ? after.value.message : after.case).toBe("node stopped after a log failure");
});
