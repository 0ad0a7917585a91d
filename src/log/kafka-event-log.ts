// The write-ahead log on a Kafka-protocol cluster (Redpanda in production): one topic, one
// partition per shard (partition = shard), each record keyed by its account, its value the
// oms.log.v1 record the codec writes. An append resolves once every in-sync replica has the
// record (acks = all), with the record's Kafka offset.
//
// Appends go out through KafkaAppendQueue (group commit, one request in flight, retried without
// end while the failure is transient); reads through KafkaPartitionReader (exact offset ranges).
import type { Admin, ICustomPartitioner, Kafka, KafkaMessage, Producer } from "kafkajs";
import type { EventLog, LogRecord, RecordHeader, StoredRecord } from "./event-log.ts";
import { KafkaAppendQueue } from "./kafka-append-queue.ts";
import { classifyKafkaError, KAFKA_CALL_RETRY, newKafkaClient, type KafkaLogSink } from "./kafka-client.ts";
import { KafkaPartitionReader } from "./kafka-partition-reader.ts";
import { decodeRecord, encodeRecord, RECORD_FORMAT_VERSION } from "./record-codec.ts";

/** Records per produce request: the SQLite log's batch bound, so both logs commit alike. */
export const KAFKA_BATCH_RECORDS_MAX_DEFAULT = 4096;
/** Estimated bytes per produce request: under the 1 MiB a broker takes per partition batch by
 * default (Kafka's message.max.bytes, Redpanda's kafka_batch_max_bytes). */
export const KAFKA_BATCH_BYTES_MAX_DEFAULT = 1_000_000;

const DEFAULTS = {
  /** Leader's wait for its replicas before it answers acks = all with an error. */
  ackTimeoutMs: 5_000,
  /** Client-side wait for any response: above ackTimeoutMs, so the broker answers first. */
  requestTimeoutMs: 10_000,
  connectionTimeoutMs: 1_000,
  /** One produce attempt, kafkajs's own short retries included; a safety net over requestTimeoutMs. */
  sendTimeoutMs: 30_000,
  retryBackoffInitialMs: 50,
  /** The brief outage a node rides out should end in about a second once the broker is back. */
  retryBackoffMaxMs: 1_000,
  /** A batch unacknowledged for longer than this turns the node's writes away (UNAVAILABLE). */
  unwritableAfterMs: 1_000,
  /** Records waiting at which the node's writes are turned away: about 1 s at full speed. */
  pendingRecordsMax: 100_000,
  /** One read of up to 10,000 records; the first read also joins a consumer group (~3 s). */
  readTimeoutMs: 30_000,
  /** close() waits this long for pending appends, then rejects them. */
  closeTimeoutMs: 10_000,
  /** Per fetch per partition: some 40,000 typical records (~110 bytes each), the reader's memory bound. */
  fetchPartitionBytesMax: 4 * 1024 * 1024,
} as const;

/** A record's bytes in a request beyond its key and value: Kafka's record framing (length,
 * attributes, timestamp and offset deltas, key and value lengths, header count), at most 32. */
const RECORD_OVERHEAD_BYTES = 32;
/** Kafka headers that records written before 2026-11 carry, repeating the value's header. The
 * value says the same, so they are not written (kafkajs encodes each header into buffers of its
 * own, a cost per record), and are still checked where present. */
const HEADER_FORMAT = "oms-format-version";
const HEADER_EPOCH = "oms-epoch";
const HEADER_SEQUENCE = "oms-sequence";
const FORMAT_TEXT = String(RECORD_FORMAT_VERSION);

export interface KafkaEventLogOptions {
  brokers: string[];
  topic: string;
  clientId: string;
  /** The cluster's shard count: the topic must have exactly this many partitions. */
  shardCount: number;
  logger: KafkaLogSink;
  batchRecordsMax?: number;
  batchBytesMax?: number;
  ackTimeoutMs?: number;
  requestTimeoutMs?: number;
  connectionTimeoutMs?: number;
  sendTimeoutMs?: number;
  retryBackoffMaxMs?: number;
  unwritableAfterMs?: number;
  pendingRecordsMax?: number;
  readTimeoutMs?: number;
  closeTimeoutMs?: number;
  fetchPartitionBytesMax?: number;
  /** Told after each batch is acknowledged (records, attempts it took): for metrics and tests. */
  onBatchAcknowledged?: (recordCount: number, attempts: number) => void;
  /** Told of each Produce request put on the wire, retries included: for metrics and tests. */
  onProduceRequest?: () => void;
}

type Settings = Required<Omit<KafkaEventLogOptions, "onBatchAcknowledged" | "onProduceRequest">>;

export class KafkaEventLog implements EventLog {
  private closing: Promise<void> | null = null;
  /** Reads of a shard run one after another: the reader keeps one cursor per partition. */
  private readonly readTails = new Map<number, Promise<unknown>>();

  private constructor(
    private readonly settings: Settings,
    private readonly admin: Admin,
    private readonly producer: Producer,
    private readonly appends: KafkaAppendQueue,
    private readonly reader: KafkaPartitionReader,
  ) {}

  static async open(options: KafkaEventLogOptions): Promise<KafkaEventLog> {
    const settings = checkedSettings(options);
    const { topic, logger } = settings;
    const kafka = newKafkaClient({
      brokers: settings.brokers,
      clientId: settings.clientId,
      logger,
      connectionTimeoutMs: settings.connectionTimeoutMs,
      requestTimeoutMs: settings.requestTimeoutMs,
    });
    const admin = kafka.admin({ retry: KAFKA_CALL_RETRY });
    const producer = newProducer(kafka);
    if (options.onProduceRequest !== undefined) {
      const onProduceRequest = options.onProduceRequest;
      producer.on(producer.events.REQUEST, (event) => {
        if (event.payload.apiName === "Produce") onProduceRequest();
      });
    }
    let problem: string | null;
    try {
      await admin.connect();
      problem = await topicProblem(admin, topic, settings.shardCount);
      if (problem === null) await producer.connect();
    } catch (error) {
      await Promise.allSettled([producer.disconnect(), admin.disconnect()]);
      throw new Error(`event log: cannot open topic ${topic} on ${settings.brokers.join(",")}: ${classifyKafkaError(error).reason}`, { cause: error });
    }
    if (problem !== null) {
      await Promise.allSettled([producer.disconnect(), admin.disconnect()]);
      throw new Error(`event log: ${problem}`);
    }
    const appends = new KafkaAppendQueue({
      topic,
      producer,
      logger,
      batchRecordsMax: settings.batchRecordsMax,
      batchBytesMax: settings.batchBytesMax,
      ackTimeoutMs: settings.ackTimeoutMs,
      sendTimeoutMs: settings.sendTimeoutMs,
      retryBackoffInitialMs: DEFAULTS.retryBackoffInitialMs,
      retryBackoffMaxMs: settings.retryBackoffMaxMs,
      unwritableAfterMs: settings.unwritableAfterMs,
      pendingRecordsMax: settings.pendingRecordsMax,
      // A topic that cannot be checked now (the brokers are down) is not known to be gone.
      checkTopic: () => topicProblem(admin, topic, settings.shardCount).catch(() => null),
      onBatchAcknowledged: options.onBatchAcknowledged,
    });
    const reader = new KafkaPartitionReader({
      kafka,
      topic,
      clientId: settings.clientId,
      logger,
      readTimeoutMs: settings.readTimeoutMs,
      fetchPartitionBytesMax: settings.fetchPartitionBytesMax,
    });
    return new KafkaEventLog(settings, admin, producer, appends, reader);
  }

  append(header: RecordHeader, record: LogRecord): Promise<bigint> {
    if (this.closing !== null) return Promise.reject(new Error("event log: append after close"));
    const stopped = this.appends.stopped;
    if (stopped !== null) return Promise.reject(stopped);
    let value: Uint8Array;
    try {
      this.checkShard(header.shard);
      value = encodeRecord(header, record);
    } catch (cause) {
      return Promise.reject(cause);
    }
    const bytes = value.byteLength + Buffer.byteLength(record.accountId) + RECORD_OVERHEAD_BYTES;
    if (bytes > this.settings.batchBytesMax) {
      return Promise.reject(
        new Error(`event log: topic ${this.settings.topic} partition ${header.shard}: a record of about ${bytes} bytes is over the ${this.settings.batchBytesMax} bytes a request may carry`),
      );
    }
    const { promise, resolve, reject } = Promise.withResolvers<bigint>();
    this.appends.push({
      partition: header.shard,
      message: {
        partition: header.shard,
        // Epoch markers have no account: their key is the empty string, like any other key.
        key: record.accountId,
        // No Kafka headers: the value carries the record's header (shard, epoch, sequence).
        value: Buffer.from(value.buffer, value.byteOffset, value.byteLength),
      },
      bytes,
      appendedMs: performance.now(),
      resolve,
      reject,
    });
    return promise;
  }

  /** Only acknowledged records are read: those below the partition's high watermark. */
  async read(shard: number, fromOffset: bigint, maxRecords: number): Promise<StoredRecord[]> {
    this.assertOpen();
    this.checkShard(shard);
    if (fromOffset < 0n) throw new Error(`event log: fromOffset must not be negative, got ${fromOffset}`);
    if (!Number.isSafeInteger(maxRecords) || maxRecords < 0) {
      throw new Error(`event log: maxRecords must be a non-negative integer, got ${maxRecords}`);
    }
    if (maxRecords === 0) return [];
    const previous = this.readTails.get(shard) ?? Promise.resolve();
    const current = previous.then(() => this.readRange(shard, fromOffset, maxRecords));
    const tail = current.catch(() => undefined);
    this.readTails.set(shard, tail);
    void tail.then(() => {
      if (this.readTails.get(shard) === tail) this.readTails.delete(shard);
    });
    return current;
  }

  isWritable(): boolean {
    return this.closing === null && this.appends.isWritable(performance.now());
  }

  async endOffset(shard: number): Promise<bigint> {
    this.assertOpen();
    this.checkShard(shard);
    const { high } = await this.watermarks(shard);
    // Like the SQLite log, pending appends count. Counted after the watermark arrived: a batch
    // acknowledged in between is then no longer pending, but its offsets are known here. While
    // a retried batch is in doubt, its records may be counted twice (it may be stored twice).
    const acknowledgedEnd = this.appends.acknowledgedEnd(shard);
    return (high > acknowledgedEnd ? high : acknowledgedEnd) + BigInt(this.appends.pendingFor(shard));
  }

  /** Waits up to closeTimeoutMs for pending appends, rejects what is still pending, disconnects. */
  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    const { topic, closeTimeoutMs } = this.settings;
    const drained = await this.appends.drain(closeTimeoutMs);
    if (!drained) {
      this.appends.abandon(
        new Error(`event log: closed before topic ${topic} acknowledged every pending record (waited ${closeTimeoutMs} ms); those appends are rejected and their records may or may not be in the log`),
      );
    }
    const results = await Promise.allSettled([this.reader.close(), this.producer.disconnect(), this.admin.disconnect()]);
    for (const result of results) {
      if (result.status === "rejected") this.settings.logger.warn("event log: disconnecting from kafka failed", { topic, error: String(result.reason) });
    }
  }

  private async readRange(shard: number, from: bigint, maxRecords: number): Promise<StoredRecord[]> {
    const { topic } = this.settings;
    const { low, high } = await this.watermarks(shard);
    if (from < low) {
      throw new Error(`topic ${topic} partition ${shard} starts at offset ${low}, but replay needs offset ${from}: the log was truncated below the snapshot`);
    }
    if (from >= high) return [];
    const until = from + BigInt(maxRecords) < high ? from + BigInt(maxRecords) : high;
    const messages = await this.reader.fetchRange(shard, from, until);
    if (BigInt(messages.length) !== until - from) {
      throw new Error(`event log: topic ${topic} partition ${shard}: read ${messages.length} records from offset ${from}, expected ${until - from}`);
    }
    return messages.map((message, index) => this.decodeAt(shard, from + BigInt(index), message));
  }

  /** Decodes a stored record and checks it is the one that belongs at this partition and offset. */
  private decodeAt(shard: number, offset: bigint, message: KafkaMessage): StoredRecord {
    const where = `event log: topic ${this.settings.topic} partition ${shard} offset ${offset}`;
    if (BigInt(message.offset) !== offset) throw new Error(`${where}: the reader returned offset ${message.offset} here`);
    if (message.value === null) throw new Error(`${where}: the record has no value`);
    let decoded;
    try {
      decoded = decodeRecord(message.value);
    } catch (cause) {
      throw new Error(`${where}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    }
    const { header, record } = decoded;
    if (header.shard !== shard) throw new Error(`${where}: holds a record written for shard ${header.shard}`);
    for (const [name, expected] of [[HEADER_FORMAT, FORMAT_TEXT], [HEADER_EPOCH, header.epoch.toString()], [HEADER_SEQUENCE, header.sequence.toString()]] as const) {
      const value = message.headers?.[name];
      if (value !== undefined && String(value) !== expected) {
        throw new Error(`${where}: Kafka header ${name} is ${String(value)} but the record says ${expected}`);
      }
    }
    return { offset, header, record };
  }

  private async watermarks(shard: number): Promise<{ low: bigint; high: bigint }> {
    const { topic } = this.settings;
    let offsets;
    try {
      offsets = await this.admin.fetchTopicOffsets(topic);
    } catch (error) {
      throw new Error(`event log: cannot read the offsets of topic ${topic}: ${classifyKafkaError(error).reason}`, { cause: error });
    }
    const entry = offsets.find((partition) => partition.partition === shard);
    if (entry === undefined) throw new Error(`event log: topic ${topic} has no partition ${shard}`);
    return { low: BigInt(entry.low), high: BigInt(entry.high) };
  }

  private checkShard(shard: number): void {
    const count = this.settings.shardCount;
    if (!Number.isInteger(shard) || shard < 0 || shard >= count) {
      throw new Error(`event log: shard must be an integer from 0 to ${count - 1} (topic ${this.settings.topic} has ${count} partitions), got ${shard}`);
    }
  }

  private assertOpen(): void {
    if (this.closing !== null) throw new Error("event log: used after close");
  }
}

/** Every record names its partition (its shard), never kafkajs's default of hashing the key;
 * a record without one is a bug. */
const partitionAsGiven: ICustomPartitioner = () => ({ message, topic }) => {
  if (message.partition === undefined) throw new Error(`event log: a record for topic ${topic} has no partition`);
  return message.partition;
};

function newProducer(kafka: Kafka): Producer {
  return kafka.producer({
    createPartitioner: partitionAsGiven,
    retry: KAFKA_CALL_RETRY,
    metadataMaxAge: 60_000,
    allowAutoTopicCreation: false,
    // kafkajs's idempotent producer fails against librdkafka's mock; order comes from one
    // request in flight instead, and duplicates from retries are dropped at replay.
    idempotent: false,
    maxInFlightRequests: 1,
  });
}

/** What is wrong with the topic for this cluster, or null. */
async function topicProblem(admin: Admin, topic: string, shardCount: number): Promise<string | null> {
  // listTopics first: a Metadata request naming a missing topic makes some brokers (librdkafka's
  // mock, Kafka with auto.create.topics.enable) create it with their default partition count.
  const topics = await admin.listTopics();
  if (!topics.includes(topic)) return `topic ${topic} does not exist; create it with ${shardCount} partitions, one per shard`;
  const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
  const partitions = metadata.topics.find((entry) => entry.name === topic)?.partitions ?? [];
  if (partitions.length !== shardCount) return `topic ${topic} has ${partitions.length} partitions, the cluster has ${shardCount} shards`;
  const missing = Array.from({ length: shardCount }, (_, shard) => shard).filter((shard) => !partitions.some((p) => p.partitionId === shard));
  if (missing.length > 0) return `topic ${topic} has no partition ${missing.join(", ")}`;
  return null;
}

function checkedSettings(options: KafkaEventLogOptions): Settings {
  const settings: Settings = {
    brokers: options.brokers,
    topic: options.topic,
    clientId: options.clientId,
    shardCount: options.shardCount,
    logger: options.logger,
    batchRecordsMax: options.batchRecordsMax ?? KAFKA_BATCH_RECORDS_MAX_DEFAULT,
    batchBytesMax: options.batchBytesMax ?? KAFKA_BATCH_BYTES_MAX_DEFAULT,
    ackTimeoutMs: options.ackTimeoutMs ?? DEFAULTS.ackTimeoutMs,
    requestTimeoutMs: options.requestTimeoutMs ?? DEFAULTS.requestTimeoutMs,
    connectionTimeoutMs: options.connectionTimeoutMs ?? DEFAULTS.connectionTimeoutMs,
    sendTimeoutMs: options.sendTimeoutMs ?? DEFAULTS.sendTimeoutMs,
    retryBackoffMaxMs: options.retryBackoffMaxMs ?? DEFAULTS.retryBackoffMaxMs,
    unwritableAfterMs: options.unwritableAfterMs ?? DEFAULTS.unwritableAfterMs,
    pendingRecordsMax: options.pendingRecordsMax ?? DEFAULTS.pendingRecordsMax,
    readTimeoutMs: options.readTimeoutMs ?? DEFAULTS.readTimeoutMs,
    closeTimeoutMs: options.closeTimeoutMs ?? DEFAULTS.closeTimeoutMs,
    fetchPartitionBytesMax: options.fetchPartitionBytesMax ?? DEFAULTS.fetchPartitionBytesMax,
  };
  if (settings.topic === "") throw new Error("event log: kafka topic must not be empty");
  if (settings.clientId === "") throw new Error("event log: kafka clientId must not be empty");
  if (!Number.isInteger(settings.shardCount) || settings.shardCount < 1) {
    throw new Error(`event log: shardCount must be a positive integer, got ${settings.shardCount}`);
  }
  for (const [name, value] of Object.entries(settings)) {
    if (typeof value === "number" && name !== "shardCount" && (!Number.isSafeInteger(value) || value < 1)) {
      throw new Error(`event log: ${name} must be a positive integer, got ${value}`);
    }
  }
  return settings;
}
