// The projector: consumes every partition of the write-ahead-log topic and keeps the read
// model in Postgres, exactly once. Per partition it rebuilds the core's ledger from the records
// (PartitionProjection) and, after each bounded group of records, writes the rows they changed
// together with the partition's next offset in one transaction (writeReadModel). At start each
// partition resumes from its snapshot, replays up to the offset its rows reflect without
// writing, and writes from there on.
import type { Kafka } from "kafkajs";
import type { Logger } from "../rpc/logger.ts";
import type { PostgresSql } from "../snapshot/postgres-connect.ts";
import { PartitionProjection, RecordRefused } from "./partition-projection.ts";
import { loadPartitionStart, writeReadModel } from "./read-model-store.ts";
import { startWalConsumer, topicOffsets, type TopicPartitionOffsets, type WalBatch } from "./wal-consumer.ts";

/** Records per transaction: bounds a transaction's size and how much a crash makes redo. */
export const PROJECTOR_WRITE_RECORDS_MAX = 1_000;
/** How many records are applied between two saves of a partition's ledger, unless configured. */
export const PROJECTOR_SNAPSHOT_EVERY_RECORDS_DEFAULT = 10_000;

export interface ProjectorOptions {
  sql: PostgresSql;
  kafka: Kafka;
  topic: string;
  /** Names the consumer group, "<groupIdPrefix>-<uuid>". */
  groupIdPrefix: string;
  /** Records applied between two saves of a partition's ledger to projector_snapshots. */
  snapshotEveryRecords: number;
  logger: Logger;
}

export interface RunningProjector {
  /** Rejects with the first error (a bad record, a failed write, a lost consumer). */
  readonly failed: Promise<never>;
  stop(): Promise<void>;
}

export async function startProjector(options: ProjectorOptions): Promise<RunningProjector> {
  const { sql, topic, logger } = options;
  if (!Number.isSafeInteger(options.snapshotEveryRecords) || options.snapshotEveryRecords < 1) {
    throw new Error(`projector: snapshotEveryRecords must be a positive integer, got ${options.snapshotEveryRecords}`);
  }
  const projections = new Map<number, PartitionProjection>();
  for (const offsets of await topicOffsets(options.kafka, topic)) {
    const projection = new PartitionProjection(topic, offsets.partition, await loadPartitionStart(sql, topic, offsets.partition), options.snapshotEveryRecords);
    checkStillInLog(projection, offsets);
    projections.set(offsets.partition, projection);
    logger.info("projector: partition resumes", {
      topic,
      partition: offsets.partition,
      replayFrom: String(projection.ledgerOffset),
      rowsAt: String(projection.rowsOffset),
      logEnd: String(offsets.high),
    });
  }
  const projectionOf = (partition: number): PartitionProjection => {
    const projection = projections.get(partition);
    if (projection === undefined) throw new Error(`projector: topic ${topic} gained partition ${partition} after start; restart the projector`);
    return projection;
  };
  return startWalConsumer(options.kafka, {
    topic,
    groupIdPrefix: options.groupIdPrefix,
    logger,
    positionOf: (partition) => projectionOf(partition).ledgerOffset,
    onBatch: (batch) => projectBatch(sql, projectionOf(batch.partition), batch),
  });
}

async function projectBatch(sql: PostgresSql, projection: PartitionProjection, batch: WalBatch): Promise<void> {
  for (let start = 0; start < batch.messages.length; start += PROJECTOR_WRITE_RECORDS_MAX) {
    try {
      for (const message of batch.messages.slice(start, start + PROJECTOR_WRITE_RECORDS_MAX)) projection.take(message.offset, message.value);
    } catch (error) {
      // The records before a refused one are sound: write them, so the rows and the offset
      // show exactly where the projector stopped. Any other error may have left the ledger
      // half-changed, and nothing more is written.
      if (error instanceof RecordRefused) await writePending(sql, projection);
      throw error;
    }
    await writePending(sql, projection);
  }
}

async function writePending(sql: PostgresSql, projection: PartitionProjection): Promise<void> {
  const write = projection.pendingWrite();
  if (write === null) return;
  await writeReadModel(sql, write);
  projection.written(write);
}

/** A partition whose needed records retention has deleted, or whose rows are ahead of the log
 * (the topic was recreated), cannot be projected correctly: stop before writing anything. */
function checkStillInLog(projection: PartitionProjection, offsets: TopicPartitionOffsets): void {
  const where = `topic ${projection.topic} partition ${projection.partition}`;
  if (projection.ledgerOffset < offsets.low) {
    throw new Error(
      `${where}: the projector needs records from offset ${projection.ledgerOffset} but the log starts at ${offsets.low} ` +
        "(retention deleted them); rebuild the read model from a fresh database",
    );
  }
  if (projection.rowsOffset > offsets.high) {
    throw new Error(
      `${where}: the read model reflects records up to offset ${projection.rowsOffset} but the log ends at ${offsets.high}; ` +
        "it was built from another log",
    );
  }
}
