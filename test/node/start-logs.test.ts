// At info a node's start is one summary line, whatever its shard count; per-shard detail is at
// debug, and so is every order event, one line each after the log has it.
import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SqliteEventLog } from "../../src/log/sqlite-event-log.ts";
import { OmsNode } from "../../src/node/oms-node.ts";
import { createLogger, type LogLevel } from "../../src/rpc/logger.ts";
import { SqliteShardClaims } from "../../src/snapshot/sqlite-shard-claims.ts";
import { SqliteSnapshotStore } from "../../src/snapshot/sqlite-snapshot-store.ts";
import { SqliteOrderArchive } from "../../src/archive/sqlite-order-archive.ts";
import { SimulatedVenue } from "../../src/venue/simulated-venue.ts";

const SHARDS = [0, 1, 2, 3, 4, 5, 6, 7];
const NOW_MS = 1_700_000_000_000;
const stops: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

type Line = Record<string, unknown> & { level: string; msg: string };

async function startLogged(level: LogLevel): Promise<{ node: OmsNode; lines: Line[] }> {
  const dir = mkdtempSync(join(tmpdir(), "oms-start-logs-"));
  const lines: Line[] = [];
  const logger = createLogger({ level, writeLine: (line) => void lines.push(JSON.parse(line) as Line), nowMs: () => NOW_MS });
  const log = SqliteEventLog.open(join(dir, "wal.sqlite"));
  const snapshots = SqliteSnapshotStore.open(join(dir, "snapshots.sqlite"));
  const claims = SqliteShardClaims.open(join(dir, "claims.sqlite"));
  const venue = new SimulatedVenue({ seed: 7, now: () => NOW_MS, manual: true });
  const node = await OmsNode.start({
    nodeId: "logs",
    shardCount: SHARDS.length,
    shards: SHARDS,
    shardOf: (accountId) => accountId.length % SHARDS.length,
    log,
    snapshots,
    archive: SqliteOrderArchive.open(join(dir, "archive.sqlite")),
    claims,
    venue,
    logger,
    snapshotEveryRecords: 1_000_000,
    leaseMs: 60_000,
    ackTimeoutMs: 10_000,
    clock: () => NOW_MS,
    onFatal: (error) => {
      throw error;
    },
  });
  stops.push(async () => {
    await node.close();
    await node.release();
    await log.close();
    await snapshots.close();
    await claims.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { node, lines };
}

test("at info, a node's start is one line for all its shards and nothing per shard", async () => {
  const { lines } = await startLogged("info");
  expect(lines.map((line) => line.msg)).toEqual(["shards recovered"]);
  expect(lines[0]).toMatchObject({ level: "info", shards: SHARDS.length, recordsReplayed: 0 });
  expect(lines.filter((line) => "shard" in line)).toEqual([]);
});

test("at debug, the per-shard detail is there and each order event is one line", async () => {
  const { node, lines } = await startLogged("debug");
  expect(lines.filter((line) => line.msg === "shard claimed").map((line) => line.shard)).toEqual(SHARDS);
  expect(lines.filter((line) => line.msg === "shard recovered")).toHaveLength(SHARDS.length);
  lines.length = 0;
  const accountId = "acct-logs";
  expect((await node.commit({ kind: "create_account", accountId, atMs: NOW_MS }, () => null)).ok).toBe(true);
  expect((await node.commit({ kind: "deposit", accountId, amount: 1_000_000n, atMs: NOW_MS }, () => null)).ok).toBe(true);
  const submitted = await node.commit(
    { kind: "submit_order", accountId, orderId: "o-1", clientOrderId: "o-1", symbol: "AAPL", side: "buy", type: "limit", timeInForce: "day", qty: 2n, limitPrice: 12_500n, stopPrice: null, askPrice: 0n, atMs: NOW_MS },
    () => null,
  );
  expect(submitted.ok).toBe(true);
  const events = lines.filter((line) => line.level === "debug");
  expect(events.map((line) => line.msg)).toEqual(["account created", "cash deposited", "order accepted"]);
  // Money as the API shows it (dollars), not the ledger's units of $0.0001.
  expect(events[1]).toMatchObject({ accountId, amount: "100" });
  expect(events[2]).toMatchObject({ accountId, orderId: "o-1", symbol: "AAPL", side: "buy", qty: "2", limitPrice: "1.25", holdCash: "2.5" });
  expect(lines.filter((line) => line.level !== "debug")).toEqual([]);
});
