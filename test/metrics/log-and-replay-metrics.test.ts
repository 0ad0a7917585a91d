// Both logs report each append batch once (its records and how long it took to be durable), and
// replay reports what it read per shard.
import { expect, test } from "bun:test";
import type { Producer, RecordMetadata } from "kafkajs";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KafkaAppendQueue } from "../../src/log/kafka-append-queue.ts";
import { SqliteEventLog } from "../../src/log/sqlite-event-log.ts";
import { nodeMetrics } from "../../src/metrics/node-metrics.ts";
import { recoverShard } from "../../src/node/recovery.ts";
import { SqliteSnapshotStore } from "../../src/snapshot/sqlite-snapshot-store.ts";
import { sampleOf } from "./scrape.ts";

const quiet = { info() {}, warn() {}, error() {} };

async function appendFigures(log: "sqlite" | "kafka"): Promise<{ batches: number; records: number }> {
  const text = await nodeMetrics.registry().metrics();
  return {
    batches: sampleOf(text, `oms_log_append_duration_seconds_count{log="${log}"}`) ?? 0,
    records: sampleOf(text, `oms_log_append_batch_records_sum{log="${log}"}`) ?? 0,
  };
}

test("the SQLite log reports one observation per group commit, with its records", async () => {
  const dir = mkdtempSync(join(tmpdir(), "oms-append-metrics-"));
  const log = SqliteEventLog.open(join(dir, "wal.sqlite"));
  try {
    const before = await appendFigures("sqlite");
    // Appends made in one turn share one commit.
    await Promise.all([0n, 1n, 2n].map((sequence) => log.append({ shard: 0, epoch: 1n, sequence }, { accountId: "", events: [] })));
    const after = await appendFigures("sqlite");
    expect(after.batches - before.batches).toBe(1);
    expect(after.records - before.records).toBe(3);
  } finally {
    await log.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the Kafka append queue reports one observation per acknowledged produce request", async () => {
  const producer = {
    sendBatch: async ({ topicMessages }: { topicMessages: { messages: unknown[] }[] }): Promise<RecordMetadata[]> => [
      { topicName: "oms.wal", partition: 0, errorCode: 0, baseOffset: "0", logAppendTime: "-1", logStartOffset: "0" },
    ].slice(0, topicMessages.length),
  } as unknown as Producer;
  const queue = new KafkaAppendQueue({
    topic: "oms.wal",
    producer,
    logger: quiet,
    batchRecordsMax: 10,
    batchBytesMax: 10_000,
    ackTimeoutMs: 1_000,
    sendTimeoutMs: 1_000,
    retryBackoffInitialMs: 1,
    retryBackoffMaxMs: 1,
    unwritableAfterMs: 1_000,
    pendingRecordsMax: 100,
    checkTopic: async () => null,
    onBatchAcknowledged: undefined,
  });
  const before = await appendFigures("kafka");
  const appended = [0, 1].map(() => {
    const { promise, resolve, reject } = Promise.withResolvers<bigint>();
    queue.push({ partition: 0, message: { partition: 0, key: "a", value: Buffer.from("x") }, bytes: 100, appendedMs: performance.now(), resolve, reject });
    return promise;
  });
  expect(await Promise.all(appended)).toEqual([0n, 1n]);
  const after = await appendFigures("kafka");
  expect(after.batches - before.batches).toBe(1);
  expect(after.records - before.records).toBe(2);
});

test("replay counts the records it reads per shard and ends with its in-progress gauge at 0", async () => {
  const dir = mkdtempSync(join(tmpdir(), "oms-replay-metrics-"));
  const log = SqliteEventLog.open(join(dir, "wal.sqlite"));
  const snapshots = SqliteSnapshotStore.open(join(dir, "snapshots.sqlite"));
  try {
    const shard = 3;
    // An epoch marker, then the new owner's records from sequence 0, as a node writes them.
    await log.append({ shard, epoch: 1n, sequence: 0n }, { accountId: "", events: [] });
    await log.append({ shard, epoch: 1n, sequence: 0n }, { accountId: "acct-a", events: [{ kind: "account_created", atMs: 1 }] });
    await log.append({ shard, epoch: 1n, sequence: 1n }, { accountId: "acct-b", events: [{ kind: "account_created", atMs: 2 }] });
    const series = `oms_replay_records_total{shard="${shard}"}`;
    const before = sampleOf(await nodeMetrics.registry().metrics(), series) ?? 0;
    const { ledger } = await recoverShard(shard, log, snapshots);
    expect(ledger.ledger.size).toBe(2);
    const text = await nodeMetrics.registry().metrics();
    expect(sampleOf(text, series)).toBe(before + 3);
    expect(sampleOf(text, `oms_replay_in_progress{shard="${shard}"}`)).toBe(0);
    expect(sampleOf(text, `oms_replay_remaining_records{shard="${shard}"}`)).toBe(0);
  } finally {
    await log.close();
    await snapshots.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
