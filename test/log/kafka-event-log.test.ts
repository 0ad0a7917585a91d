// The Kafka write-ahead log against librdkafka's mock cluster (started here; the file fails if
// it cannot start): offsets and order, group commit in one produce request, exact reads, the
// topic checks at open, damaged records, a broker outage ridden out without losing a record,
// ambiguous retries that store a record twice, fatal errors, truncation, close.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { CompressionTypes, Kafka, logLevel, Partitioners, type Producer } from "kafkajs";
import type { LogRecord, RecordHeader, StoredRecord } from "../../src/log/event-log.ts";
import { KafkaAppendQueue } from "../../src/log/kafka-append-queue.ts";
import { KafkaEventLog, type KafkaEventLogOptions } from "../../src/log/kafka-event-log.ts";
import { KafkaPartitionReader } from "../../src/log/kafka-partition-reader.ts";
import { encodeRecord } from "../../src/log/record-codec.ts";
import { startKafkaMock, type KafkaMockCluster } from "../support/kafka-mock.ts";

const SHARDS = 4;
/** How long a test waits for something that should happen within about a second: a bound, not a measure. */
const WAIT_MS_MAX = 15_000;
/** A test that reads: a log's first read joins a consumer group (the mock's 3 s rebalance delay). */
const READ_TEST_MS_MAX = 30_000;
/** Kafka error codes and ApiKeys the tests inject through the mock. */
const PRODUCE_API_KEY = 0;
const NOT_ENOUGH_REPLICAS = 19;
const MESSAGE_TOO_LARGE = 10;
const UNKNOWN_TOPIC_OR_PARTITION = 3;

let mock: KafkaMockCluster;
let topicCount = 0;
const logLines: string[] = [];
const logger = {
  info: (msg: string) => void logLines.push(`info ${msg}`),
  warn: (msg: string) => void logLines.push(`warn ${msg}`),
  error: (msg: string) => void logLines.push(`error ${msg}`),
};
const opened: KafkaEventLog[] = [];

beforeAll(() => {
  mock = startKafkaMock({ brokers: 1 });
});

afterAll(async () => {
  await Promise.all(opened.map((log) => log.close()));
  mock.stop();
});

/** A fresh topic with one partition per shard, so that no test sees another's records. */
function newTopic(partitions = SHARDS): string {
  topicCount += 1;
  const topic = `oms.wal.${topicCount}`;
  mock.createTopic(topic, partitions);
  return topic;
}

async function openLog(topic: string, options: Partial<KafkaEventLogOptions> = {}): Promise<KafkaEventLog> {
  const log = await KafkaEventLog.open({
    brokers: mock.bootstrapServers.split(","),
    topic,
    clientId: "oms-test",
    shardCount: SHARDS,
    logger,
    ...options,
  });
  opened.push(log);
  return log;
}

function at(shard: number, sequence: bigint, epoch = 1n): RecordHeader {
  return { shard, epoch, sequence };
}

function deposit(accountId: string, amount: bigint): LogRecord {
  return { accountId, events: [{ kind: "cash_deposited", amount, atMs: 1_700_000_000_000 }] };
}

const EPOCH_MARKER: LogRecord = { accountId: "", events: [] };

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  const deadline = performance.now() + WAIT_MS_MAX;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`waited ${WAIT_MS_MAX} ms for ${what}`);
    await Bun.sleep(10);
  }
}

/** Every record of a shard, read in pages of `page`. */
async function readAll(log: KafkaEventLog, shard: number, page = 10_000): Promise<StoredRecord[]> {
  const end = await log.endOffset(shard);
  const all: StoredRecord[] = [];
  let offset = 0n;
  while (offset < end) {
    const batch = await log.read(shard, offset, page);
    expect(batch.length).toBeGreaterThan(0);
    all.push(...batch);
    offset = batch[batch.length - 1]!.offset + 1n;
  }
  return all;
}

/** What replay keeps (src/node/recovery.ts): copies of an already seen sequence are dropped; a
 * sequence that skips ahead is a lost record and fails the test. */
function replaySequences(records: StoredRecord[]): { kept: bigint[]; copies: number } {
  const kept: bigint[] = [];
  let next = 0n;
  let copies = 0;
  for (const stored of records) {
    if (stored.header.sequence < next) {
      copies += 1;
      continue;
    }
    expect(stored.header.sequence).toBe(next);
    kept.push(stored.header.sequence);
    next += 1n;
  }
  return { kept, copies };
}

/** Writes bytes straight into a partition, as a foreign or broken producer would. */
async function produceRaw(topic: string, partition: number, value: Buffer, headers: Record<string, string> = {}): Promise<void> {
  const retry = { retries: 2, initialRetryTime: 50, maxRetryTime: 200, factor: 0.2, multiplier: 2 };
  const kafka = new Kafka({
    clientId: "oms-test-raw",
    brokers: mock.bootstrapServers.split(","),
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1_000,
    requestTimeout: 5_000,
    enforceRequestTimeout: true,
    retry,
  });
  const producer = kafka.producer({
    createPartitioner: Partitioners.DefaultPartitioner,
    allowAutoTopicCreation: false,
    idempotent: false,
    maxInFlightRequests: 1,
    metadataMaxAge: 60_000,
    retry,
  });
  await producer.connect();
  try {
    await producer.send({ topic, acks: -1, timeout: 5_000, compression: CompressionTypes.None, messages: [{ partition, key: "raw", value, headers }] });
  } finally {
    await producer.disconnect();
  }
}

function range(count: number): bigint[] {
  return Array.from({ length: count }, (_, index) => BigInt(index));
}

describe("KafkaEventLog appends", () => {
  test("each shard's offsets start at 0 and count up, and its appends resolve in the order they were made", async () => {
    const log = await openLog(newTopic());
    const resolved = new Map<number, bigint[]>();
    const appends: Promise<bigint>[] = [];
    const sequences = new Map<number, bigint>();
    // Three ticks of appends, shards interleaved.
    for (let tick = 0; tick < 3; tick += 1) {
      for (let index = 0; index < 40; index += 1) {
        const shard = (index * 7 + tick) % SHARDS;
        const sequence = sequences.get(shard) ?? 0n;
        sequences.set(shard, sequence + 1n);
        appends.push(
          log.append(at(shard, sequence), deposit(`acct-${index}`, sequence)).then((offset) => {
            resolved.set(shard, [...(resolved.get(shard) ?? []), sequence]);
            expect(offset).toBe(sequence);
            return offset;
          }),
        );
      }
      await Bun.sleep(0);
    }
    await Promise.all(appends);
    for (let shard = 0; shard < SHARDS; shard += 1) {
      expect(resolved.get(shard)).toEqual(range(30));
      expect(await log.endOffset(shard)).toBe(30n);
    }
  });

  test("appends made in one tick go out in one produce request and resolve only after it is acknowledged", async () => {
    const acknowledged: number[] = [];
    let produceRequests = 0;
    const log = await openLog(newTopic(), {
      onBatchAcknowledged: (records) => void acknowledged.push(records),
      onProduceRequest: () => void (produceRequests += 1),
    });
    const appends = Array.from({ length: 1000 }, (_, index) =>
      log.append(at(index % SHARDS, BigInt(Math.floor(index / SHARDS))), deposit(`acct-${index}`, BigInt(index))).then((offset) => ({ offset, seen: acknowledged.length })),
    );
    const results = await Promise.all(appends);
    expect(produceRequests).toBe(1);
    expect(acknowledged).toEqual([1000]);
    expect(results.every((result) => result.seen === 1)).toBe(true);
    expect(results.map((result) => result.offset)).toEqual(Array.from({ length: 1000 }, (_, index) => BigInt(Math.floor(index / SHARDS))));
  });

  test("a request carries at most batchRecordsMax records, and the next is sent only after the previous is acknowledged", async () => {
    const acknowledged: number[] = [];
    let inFlight = 0;
    let inFlightMax = 0;
    const log = await openLog(newTopic(), {
      batchRecordsMax: 100,
      onProduceRequest: () => {
        inFlight += 1;
        inFlightMax = Math.max(inFlightMax, inFlight);
      },
      onBatchAcknowledged: (records) => {
        inFlight -= 1;
        acknowledged.push(records);
      },
    });
    const appends = range(250).map((sequence) => log.append(at(3, sequence), deposit("a", sequence)));
    expect(await Promise.all(appends)).toEqual(range(250));
    expect(acknowledged).toEqual([100, 100, 50]);
    expect(inFlightMax).toBe(1);
  });

  test("a request is bounded by batchBytesMax, and a record that could never fit is refused at append", async () => {
    const acknowledged: number[] = [];
    const log = await openLog(newTopic(), { batchBytesMax: 2_000, onBatchAcknowledged: (records) => void acknowledged.push(records) });
    const appends = range(40).map((sequence) => log.append(at(0, sequence), deposit("a", sequence)));
    expect(await Promise.all(appends)).toEqual(range(40));
    expect(acknowledged.length).toBeGreaterThan(1);
    expect(acknowledged.reduce((sum, records) => sum + records, 0)).toBe(40);
    const huge: LogRecord = { accountId: "a", events: [{ kind: "order_canceled", orderId: "o", reason: "x".repeat(3_000), atMs: 1 }] };
    await expect(log.append(at(0, 40n), huge)).rejects.toThrow(/topic oms\.wal\.\d+ partition 0: a record of about \d+ bytes is over the 2000 bytes a request may carry/);
  });

  test("a record the codec refuses, or a shard the topic has no partition for, is rejected without sending anything", async () => {
    let produceRequests = 0;
    const topic = newTopic();
    const log = await openLog(topic, { onProduceRequest: () => void (produceRequests += 1) });
    await expect(log.append(at(1, 0n), deposit("a", 1n << 63n))).rejects.toThrow("does not fit int64");
    await expect(log.append(at(SHARDS, 0n), deposit("a", 1n))).rejects.toThrow(`event log: shard must be an integer from 0 to 3 (topic ${topic} has 4 partitions), got 4`);
    await expect(log.endOffset(SHARDS)).rejects.toThrow("got 4");
    expect(produceRequests).toBe(0);
    expect(await log.append(at(1, 0n), deposit("a", 1n))).toBe(0n);
  });
});

describe("KafkaEventLog reads", () => {
  // One log for these tests, each on its own shard: a log's first read joins a consumer group,
  // which takes the mock's initial rebalance delay (3 s), so sharing it keeps the file quick.
  let topic = "";
  let log: KafkaEventLog;

  beforeAll(async () => {
    topic = newTopic();
    log = await openLog(topic);
  });

  test(
    "read returns exactly what was appended, page by page and from a middle offset; a new log sees the same",
    async () => {
      const expected: { header: RecordHeader; record: LogRecord }[] = range(300).map((sequence) => ({
        header: at(2, sequence, sequence < 100n ? 1n : 2n),
        record: sequence === 100n ? EPOCH_MARKER : deposit(`acct-${sequence % 7n}`, sequence * 1_000n),
      }));
      // Three ticks, so that the records span several produce requests (and record batches).
      for (const part of [expected.slice(0, 50), expected.slice(50, 120), expected.slice(120)]) {
        await Promise.all(part.map(({ header, record }) => log.append(header, record)));
      }
      const stored = expected.map((entry, index) => ({ offset: BigInt(index), ...entry }));

      const pages: StoredRecord[] = [];
      for (let offset = 0n; offset < 300n; offset += 64n) pages.push(...(await log.read(2, offset, 64)));
      expect(pages).toEqual(stored);
      expect(await log.read(2, 137n, 5)).toEqual(stored.slice(137, 142));
      expect(await log.read(2, 10n, 3)).toEqual(stored.slice(10, 13));
      expect(await log.read(2, 298n, 10)).toEqual(stored.slice(298));
      expect(await log.read(2, 300n, 10)).toEqual([]);
      expect(await log.read(2, 0n, 0)).toEqual([]);
      // Reads of one shard made together are served one after another, each exactly.
      const together = await Promise.all([log.read(2, 200n, 100), log.read(2, 0n, 100), log.read(2, 100n, 100)]);
      expect(together).toEqual([stored.slice(200, 300), stored.slice(0, 100), stored.slice(100, 200)]);

      const reopened = await openLog(topic);
      expect(await reopened.endOffset(2)).toBe(300n);
      expect(await readAll(reopened, 2, 100)).toEqual(stored);
      expect(await reopened.append(at(2, 300n, 2n), deposit("a", 1n))).toBe(300n);
      await reopened.close();
      await expect(reopened.read(2, 0n, 1)).rejects.toThrow("event log: used after close");
      expect(await log.read(2, 300n, 10)).toEqual([{ offset: 300n, header: at(2, 300n, 2n), record: deposit("a", 1n) }]);
    },
    READ_TEST_MS_MAX,
  );

  test(
    "a record that is not an oms record makes read throw, naming topic, partition and offset",
    async () => {
      await Promise.all(range(3).map((sequence) => log.append(at(1, sequence), deposit("a", sequence))));
      await produceRaw(topic, 1, Buffer.from([0xff, 0xff, 0xff]));
      expect((await log.read(1, 0n, 3)).map((stored) => stored.offset)).toEqual([0n, 1n, 2n]);
      await expect(log.read(1, 0n, 10)).rejects.toThrow(`event log: topic ${topic} partition 1 offset 3: log record: not a valid oms.log.v1.Record`);
      await expect(log.read(1, 3n, 1)).rejects.toThrow("partition 1 offset 3");
    },
    READ_TEST_MS_MAX,
  );

  test(
    "records carry the account as key and no Kafka headers; the headers older records carry are checked against the value",
    async () => {
      // A topic and log of its own: the shared log's shards are all taken by the other tests.
      const topic = newTopic();
      const log = await openLog(topic);
      const written = [deposit("acct-1", 5n), EPOCH_MARKER];
      expect(await Promise.all(written.map((record, index) => log.append(at(0, BigInt(index)), record)))).toEqual([0n, 1n]);
      const kafka = new Kafka({ clientId: "oms-test-raw-reader", brokers: mock.bootstrapServers.split(","), logLevel: logLevel.NOTHING });
      const reader = new KafkaPartitionReader({ kafka, topic, clientId: "oms-test-raw-reader", logger, readTimeoutMs: 20_000, fetchPartitionBytesMax: 1 << 20 });
      try {
        const raw = await reader.fetchRange(0, 0n, 2n);
        expect(raw.map((message) => [message.key?.toString(), message.headers])).toEqual([["acct-1", {}], ["", {}]]);
      } finally {
        await reader.close();
      }
      const older = (sequence: bigint, epochHeader: string) =>
        produceRaw(topic, 0, Buffer.from(encodeRecord(at(0, sequence), deposit("a", 1n))), { "oms-format-version": "1", "oms-epoch": epochHeader, "oms-sequence": String(sequence) });
      await older(2n, "1");
      expect(await log.read(0, 2n, 1)).toEqual([{ offset: 2n, header: at(0, 2n), record: deposit("a", 1n) }]);
      await older(3n, "9");
      await expect(log.read(0, 3n, 1)).rejects.toThrow(`event log: topic ${topic} partition 0 offset 3: Kafka header oms-epoch is 9 but the record says 1`);
    },
    READ_TEST_MS_MAX,
  );

  test(
    "a record written for another shard is refused at read",
    async () => {
      await produceRaw(topic, 3, Buffer.from(encodeRecord(at(0, 0n), deposit("a", 1n))));
      await expect(log.read(3, 0n, 1)).rejects.toThrow(`event log: topic ${topic} partition 3 offset 0: holds a record written for shard 0`);
    },
    READ_TEST_MS_MAX,
  );

  test(
    "a read below the partition's low watermark is refused: the log was cut below what replay needs",
    async () => {
      // The mock keeps about 5 MiB per partition and cuts whole produce batches from the front:
      // 64 records of 100 kB, in requests of about 1 MB, make it cut the first few batches.
      const big = (sequence: bigint): LogRecord => ({
        accountId: "a",
        events: [{ kind: "order_canceled", orderId: `o-${sequence}`, reason: "x".repeat(100_000), atMs: 1 }],
      });
      for (let part = 0n; part < 8n; part += 1n) {
        await Promise.all(range(8).map((index) => log.append(at(0, part * 8n + index), big(part * 8n + index))));
      }
      expect(await log.endOffset(0)).toBe(64n);
      const refusal = await log.read(0, 0n, 1).then(() => "read", (error: unknown) => String(error));
      const match = /^Error: topic (\S+) partition 0 starts at offset (\d+), but replay needs offset 0: the log was truncated below the snapshot$/.exec(refusal);
      expect(match?.[1]).toBe(topic);
      const low = BigInt(match?.[2] ?? "-1");
      expect(low).toBeGreaterThan(0n);
      expect(low).toBeLessThan(64n);
      const rest = await log.read(0, low, 100);
      expect(rest.map((stored) => stored.header.sequence)).toEqual(range(64).slice(Number(low)));
    },
    READ_TEST_MS_MAX,
  );
});

describe("KafkaEventLog open", () => {
  test("refuses a topic that does not exist, and does not create it", async () => {
    const options = { brokers: mock.bootstrapServers.split(","), topic: "oms.wal.missing", clientId: "oms-test", shardCount: SHARDS, logger };
    await expect(KafkaEventLog.open(options)).rejects.toThrow("event log: topic oms.wal.missing does not exist; create it with 4 partitions, one per shard");
    await expect(KafkaEventLog.open(options)).rejects.toThrow("topic oms.wal.missing does not exist");
  });

  test("refuses a topic whose partition count is not the shard count", async () => {
    const topic = newTopic(8);
    await expect(openLog(topic, { shardCount: 16 })).rejects.toThrow(`event log: topic ${topic} has 8 partitions, the cluster has 16 shards`);
    await expect(openLog(topic, { shardCount: 4 })).rejects.toThrow(`event log: topic ${topic} has 8 partitions, the cluster has 4 shards`);
  });

  test("fails clearly when no broker answers", async () => {
    const options = { brokers: ["127.0.0.1:1"], topic: "oms.wal", clientId: "oms-test", shardCount: SHARDS, logger, connectionTimeoutMs: 200 };
    await expect(KafkaEventLog.open(options)).rejects.toThrow(/^event log: cannot open topic oms\.wal on 127\.0\.0\.1:1: /);
  });
});

describe("KafkaEventLog failures", () => {
  test("a broker outage: appends wait and the log says it is not writable; once the broker is back every record is there, in order", async () => {
    const topic = newTopic();
    const log = await openLog(topic);
    expect(await log.append(at(0, 0n), deposit("a", 0n))).toBe(0n);
    expect(log.isWritable()).toBe(true);

    mock.brokerDown(1);
    let settled = 0;
    const appends = range(40).map((index) => {
      const shard = Number(index % 2n);
      const sequence = shard === 0 ? 1n + index / 2n : index / 2n;
      return log.append(at(shard, sequence), deposit(`acct-${shard}`, sequence)).finally(() => void (settled += 1));
    });
    await waitFor(() => !log.isWritable(), "isWritable() to turn false");
    expect(settled).toBe(0);
    // More appends while it is down (the node had applied them before it saw isWritable turn).
    const late = range(10).map((index) => log.append(at(1, 20n + index), deposit("acct-1", 20n + index)).finally(() => void (settled += 1)));
    await Bun.sleep(300);
    expect(settled).toBe(0);
    expect(log.isWritable()).toBe(false);

    mock.brokerUp(1);
    await Promise.all([...appends, ...late]);
    await waitFor(() => log.isWritable(), "isWritable() to turn true again");
    expect(logLines.some((line) => line.startsWith("warn event log: sending to kafka failed; retrying the same batch"))).toBe(true);

    for (const [shard, count] of [[0, 21], [1, 30]] as const) {
      const records = await readAll(log, shard);
      const { kept } = replaySequences(records);
      expect(kept).toEqual(range(count));
    }
  }, READ_TEST_MS_MAX);

  test("an ambiguous failure (no answer in time) stores a batch more than once; replay's rule drops the copies and loses nothing", async () => {
    const topic = newTopic();
    const acknowledged: number[] = [];
    const log = await openLog(topic, { requestTimeoutMs: 200, ackTimeoutMs: 100, onBatchAcknowledged: (_records, attempts) => void acknowledged.push(attempts) });
    expect(await log.append(at(3, 0n), deposit("a", 0n))).toBe(0n);
    // The broker stores each request at once but answers 400 ms later: every attempt times out.
    mock.setRtt(1, 400);
    const appends = range(5).map((index) => log.append(at(3, 1n + index), deposit("a", 1n + index)));
    await waitFor(() => !log.isWritable(), "isWritable() to turn false");
    await Bun.sleep(500);
    mock.setRtt(1, 0);
    const offsets = await Promise.all(appends);
    expect(acknowledged.at(-1)).toBeGreaterThan(1);

    const records = await readAll(log, 3);
    const { kept, copies } = replaySequences(records);
    expect(kept).toEqual(range(6));
    expect(copies).toBeGreaterThan(0);
    // Each append resolved with the offset of its record's last copy.
    for (const [index, offset] of offsets.entries()) expect(records[Number(offset)]?.header.sequence).toBe(1n + BigInt(index));
    expect(offsets).toEqual(offsets.map((_, index) => offsets[0]! + BigInt(index)));
  }, READ_TEST_MS_MAX);

  test("a batch the broker is slow to acknowledge makes the log unwritable after unwritableAfterMs, without any failure", async () => {
    const attempts: number[] = [];
    const log = await openLog(newTopic(), { unwritableAfterMs: 200, onBatchAcknowledged: (_records, attempt) => void attempts.push(attempt) });
    expect(await log.append(at(0, 0n), deposit("a", 0n))).toBe(0n);
    mock.setRtt(1, 1_000);
    try {
      const slow = log.append(at(0, 1n), deposit("a", 1n));
      expect(log.isWritable()).toBe(true);
      await waitFor(() => !log.isWritable(), "isWritable() to turn false");
      expect(await slow).toBe(1n);
    } finally {
      mock.setRtt(1, 0);
    }
    expect(log.isWritable()).toBe(true);
    expect(attempts).toEqual([1, 1]);
  });

  test("a retriable error from the broker is retried until it is gone, and each record is stored once", async () => {
    const acknowledged: number[] = [];
    const log = await openLog(newTopic(), { onBatchAcknowledged: (_records, attempts) => void acknowledged.push(attempts) });
    mock.pushRequestErrors(PRODUCE_API_KEY, [NOT_ENOUGH_REPLICAS, NOT_ENOUGH_REPLICAS, NOT_ENOUGH_REPLICAS, NOT_ENOUGH_REPLICAS]);
    const offsets = await Promise.all(range(10).map((sequence) => log.append(at(2, sequence), deposit("a", sequence))));
    expect(offsets).toEqual(range(10));
    expect(acknowledged).toEqual([2]);
    expect((await readAll(log, 2)).map((stored) => stored.header.sequence)).toEqual(range(10));
  }, READ_TEST_MS_MAX);

  test("a non-retriable error rejects the batch and every later append, naming topic and partition", async () => {
    const topic = newTopic();
    const log = await openLog(topic);
    expect(await log.append(at(2, 0n), deposit("a", 0n))).toBe(0n);
    mock.pushRequestErrors(PRODUCE_API_KEY, [MESSAGE_TOO_LARGE]);
    const failed = await Promise.allSettled([log.append(at(2, 1n), deposit("a", 1n)), log.append(at(0, 0n), deposit("b", 1n))]);
    for (const outcome of failed) {
      expect(outcome.status).toBe("rejected");
      expect(String((outcome as PromiseRejectedResult).reason)).toMatch(
        new RegExp(`event log: topic ${topic.replaceAll(".", "\\.")} partition 0, 2: .*MESSAGE_TOO_LARGE.*every later append are refused, and the node must restart`),
      );
    }
    expect(log.isWritable()).toBe(false);
    await expect(log.append(at(2, 2n), deposit("a", 2n))).rejects.toThrow("MESSAGE_TOO_LARGE");
    expect(await log.endOffset(2)).toBe(1n);
  });
});

describe("KafkaEventLog when the topic may be gone", () => {
  test("UNKNOWN_TOPIC_OR_PARTITION for a topic that still exists is retried, not fatal", async () => {
    const attempts: number[] = [];
    const log = await openLog(newTopic(), { onBatchAcknowledged: (_records, attempt) => void attempts.push(attempt) });
    mock.pushRequestErrors(PRODUCE_API_KEY, [UNKNOWN_TOPIC_OR_PARTITION, UNKNOWN_TOPIC_OR_PARTITION, UNKNOWN_TOPIC_OR_PARTITION]);
    expect(await log.append(at(1, 0n), deposit("a", 0n))).toBe(0n);
    expect(attempts).toEqual([2]);
    expect(log.isWritable()).toBe(true);
  });

  // The mock cannot delete a topic (and creates any topic a Metadata request names), so the
  // queue runs here against a stubbed producer that answers as a broker without the topic would.
  test("a topic that is gone stops the log, naming it, instead of retrying forever", async () => {
    let sends = 0;
    const producer = {
      sendBatch: async () => {
        sends += 1;
        throw Object.assign(new Error("This server does not host this topic-partition"), { name: "KafkaJSProtocolError", type: "UNKNOWN_TOPIC_OR_PARTITION", retriable: true });
      },
    } as unknown as Producer;
    const queue = new KafkaAppendQueue({
      topic: "oms.wal.deleted",
      producer,
      logger,
      batchRecordsMax: 10,
      batchBytesMax: 10_000,
      ackTimeoutMs: 1_000,
      sendTimeoutMs: 1_000,
      retryBackoffInitialMs: 1,
      retryBackoffMaxMs: 1,
      unwritableAfterMs: 1_000,
      pendingRecordsMax: 100,
      checkTopic: async () => (sends < 3 ? null : "topic oms.wal.deleted does not exist"),
      onBatchAcknowledged: undefined,
    });
    const { promise, resolve, reject } = Promise.withResolvers<bigint>();
    queue.push({ partition: 2, message: { partition: 2, key: "a", value: Buffer.from("x") }, bytes: 100, appendedMs: performance.now(), resolve, reject });
    await expect(promise).rejects.toThrow(
      "event log: topic oms.wal.deleted partition 2: topic oms.wal.deleted does not exist (KafkaJSProtocolError UNKNOWN_TOPIC_OR_PARTITION: This server does not host this topic-partition); the batch of 1 record and every later append are refused, and the node must restart",
    );
    expect(sends).toBe(3);
    expect(queue.isWritable(performance.now())).toBe(false);
  });
});

describe("KafkaEventLog close", () => {
  test("close sends pending appends first; appends after close are refused", async () => {
    const log = await openLog(newTopic());
    const pending = log.append(at(1, 0n), deposit("a", 7n));
    await log.close();
    expect(await pending).toBe(0n);
    expect(log.isWritable()).toBe(false);
    await expect(log.append(at(1, 1n), deposit("a", 8n))).rejects.toThrow("event log: append after close");
  });

  test("close rejects, clearly, appends the broker never acknowledged", async () => {
    const topic = newTopic();
    const log = await openLog(topic, { closeTimeoutMs: 300 });
    expect(await log.append(at(1, 0n), deposit("a", 0n))).toBe(0n);
    mock.brokerDown(1);
    try {
      const pending = log.append(at(1, 1n), deposit("a", 1n));
      await log.close();
      await expect(pending).rejects.toThrow(`event log: closed before topic ${topic} acknowledged every pending record (waited 300 ms); those appends are rejected and their records may or may not be in the log`);
    } finally {
      mock.brokerUp(1);
    }
  });
});
