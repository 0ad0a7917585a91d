// Reading the write-ahead-log topic from outside the OMS, for `oms tail` and the projector. The
// reader, not Kafka, knows where it stands (the projector in Postgres, tail in memory), so the
// consumer group is only a vehicle for fetching: a fresh group id each run (no stale members
// to wait out after a crash), nothing committed, and at every group join each assigned
// partition is moved (seek) to where the reader says it stands. Batches reach the reader one
// at a time; the first error it throws stops the consumer and is reported, never retried: a
// reader's state may be half-changed by the batch that failed.
import { randomUUID } from "node:crypto";
import { Kafka, logLevel as KafkaLogLevel, type Consumer, type LogEntry } from "kafkajs";
import type { Logger } from "../rpc/logger.ts";

/** Bounds of one fetch: a batch handed to a reader holds at most about this much. */
const FETCH_BYTES_PER_PARTITION_MAX = 1_048_576;
const FETCH_BYTES_MAX = 10_485_760;
/** How long a fetch waits at the end of the log for new records; bounds how stale a --follow is. */
const FETCH_WAIT_MS_MAX = 250;
const SESSION_TIMEOUT_MS = 10_000;
const HEARTBEAT_INTERVAL_MS = 1_000;
const CONNECTION_TIMEOUT_MS = 3_000;
const REQUEST_TIMEOUT_MS = 10_000;
const METADATA_MAX_AGE_MS = 30_000;
const RETRY = { retries: 5, initialRetryTime: 100, maxRetryTime: 2_000, factor: 0.2, multiplier: 2 } as const;

export interface WalRecordMessage {
  offset: bigint;
  value: Buffer | null;
}

export interface WalBatch {
  partition: number;
  messages: WalRecordMessage[];
}

export interface WalConsumerOptions {
  topic: string;
  /** Names the consumer group ("<prefix>-<uuid>") so an operator can tell whose it is. */
  groupIdPrefix: string;
  /** Where the reader stands in a partition: the offset of the next record it wants. */
  positionOf(partition: number): bigint;
  /** Takes one partition's records in offset order; may see records it has had before after a seek. */
  onBatch(batch: WalBatch): Promise<void>;
  logger: Logger;
}

export interface RunningWalConsumer {
  /** Rejects with the reader's or the consumer's error once either fails; never resolves. */
  readonly failed: Promise<never>;
  stop(): Promise<void>;
}

export interface TopicPartitionOffsets {
  partition: number;
  /** The offset of the oldest record still kept. */
  low: bigint;
  /** The high watermark: the offset the next record will get. */
  high: bigint;
}

export function kafkaClientFor(brokers: string, clientId: string, logger: Logger): Kafka {
  const list = brokers.split(",").map((broker) => broker.trim()).filter((broker) => broker !== "");
  if (list.length === 0) throw new Error("kafka.brokers is empty: the log's consumers need a Kafka cluster (host:port,…)");
  return new Kafka({
    clientId,
    brokers: list,
    connectionTimeout: CONNECTION_TIMEOUT_MS,
    authenticationTimeout: CONNECTION_TIMEOUT_MS,
    requestTimeout: REQUEST_TIMEOUT_MS,
    enforceRequestTimeout: true,
    retry: RETRY,
    logLevel: KafkaLogLevel.WARN,
    logCreator: () => (entry: LogEntry) => logKafka(logger, entry),
  });
}

/** Every partition's low and high watermark, sorted by partition; throws if the topic does not exist. */
export async function topicOffsets(kafka: Kafka, topic: string): Promise<TopicPartitionOffsets[]> {
  const admin = kafka.admin({ retry: RETRY });
  await admin.connect();
  try {
    const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
    const partitions = metadata.topics[0]?.partitions ?? [];
    if (partitions.length === 0) throw new Error(`topic ${topic} has no partitions`);
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets
      .map((entry) => ({ partition: entry.partition, low: BigInt(entry.low), high: BigInt(entry.high) }))
      .sort((a, b) => a.partition - b.partition);
  } finally {
    await admin.disconnect();
  }
}

export async function startWalConsumer(kafka: Kafka, options: WalConsumerOptions): Promise<RunningWalConsumer> {
  const { topic, logger } = options;
  const consumer = newConsumer(kafka, `${options.groupIdPrefix}-${randomUUID()}`);
  let rejectFailed: (error: Error) => void = () => undefined;
  const failed = new Promise<never>((_, reject) => (rejectFailed = reject));
  // Nobody may be listening yet when a failure comes; it is still reported through `failed`.
  failed.catch(() => undefined);
  let failure: Error | null = null;
  const fail = (error: unknown) => {
    if (failure !== null) return;
    failure = error instanceof Error ? error : new Error(String(error));
    rejectFailed(failure);
  };
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    try {
      for (const partition of payload.memberAssignment[topic] ?? []) {
        consumer.seek({ topic, partition, offset: String(options.positionOf(partition)) });
      }
    } catch (error) {
      fail(error);
    }
  });
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (!payload.restart) fail(new Error(`kafka consumer of ${topic} stopped: ${payload.error.message}`, { cause: payload.error }));
    else logger.warn("kafka consumer restarting", { topic, error: payload.error.message });
  });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: true,
    partitionsConsumedConcurrently: 1,
    eachBatch: async ({ batch, isRunning, isStale }) => {
      if (failure !== null || !isRunning() || isStale()) return;
      const messages = batch.messages.map((message) => ({ offset: BigInt(message.offset), value: message.value }));
      try {
        await options.onBatch({ partition: batch.partition, messages });
      } catch (error) {
        fail(error);
      }
    },
  });
  return {
    failed,
    stop: () => consumer.disconnect(),
  };
}

function newConsumer(kafka: Kafka, groupId: string): Consumer {
  return kafka.consumer({
    groupId,
    sessionTimeout: SESSION_TIMEOUT_MS,
    rebalanceTimeout: SESSION_TIMEOUT_MS,
    heartbeatInterval: HEARTBEAT_INTERVAL_MS,
    metadataMaxAge: METADATA_MAX_AGE_MS,
    allowAutoTopicCreation: false,
    maxBytesPerPartition: FETCH_BYTES_PER_PARTITION_MAX,
    minBytes: 1,
    maxBytes: FETCH_BYTES_MAX,
    maxWaitTimeInMs: FETCH_WAIT_MS_MAX,
    maxInFlightRequests: 1,
    // The log is written without transactions, so both isolation levels read the same records;
    // read_uncommitted is the one the development broker (librdkafka's mock) implements.
    readUncommitted: true,
    // Restarts (after a broker outage, say) rejoin the group, and the join seeks the reader's positions.
    retry: { ...RETRY, restartOnFailure: async () => true },
  });
}

function logKafka(logger: Logger, entry: LogEntry): void {
  const { message, ...fields } = entry.log;
  const line = { namespace: entry.namespace, ...fields };
  if (entry.level === KafkaLogLevel.ERROR) logger.error(`kafka: ${message}`, line);
  else if (entry.level === KafkaLogLevel.WARN) logger.warn(`kafka: ${message}`, line);
  else logger.debug(`kafka: ${message}`, line);
}
