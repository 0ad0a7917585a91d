// The EventLog contract, the same cases against both logs: SqliteEventLog on a temporary file and
// KafkaEventLog on librdkafka's mock cluster (started here; the file fails if it cannot start).
// What differs between them (files, topics, their failure modes) is tested in each log's own file.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { EventLog, LogRecord, RecordHeader } from "../../src/log/event-log.ts";
import { KafkaEventLog } from "../../src/log/kafka-event-log.ts";
import { SqliteEventLog } from "../../src/log/sqlite-event-log.ts";
import { startKafkaMock, type KafkaMockCluster } from "../support/kafka-mock.ts";

const SHARDS = 8;
/** A case that reads from Kafka: a log's first read joins a consumer group (3 s on the mock). */
const CASE_MS_MAX = 30_000;

/** A log implementation under test: fresh storage for each case, and that storage again. */
interface Subject {
  name: string;
  /** A log on new, empty storage; onBatch is told the record count of each batch written. */
  open(onBatch?: (recordCount: number) => void): Promise<EventLog>;
  /** Another log on the storage of the last open(). */
  reopen(): Promise<EventLog>;
}

let mock: KafkaMockCluster;
const directories: string[] = [];
const opened: EventLog[] = [];

beforeAll(() => {
  mock = startKafkaMock({ brokers: 1 });
});

afterEach(async () => {
  await Promise.all(opened.splice(0).map((log) => log.close()));
});

afterAll(() => {
  mock.stop();
  for (const directory of directories) rmSync(directory, { recursive: true, force: true });
});

function track(log: EventLog): EventLog {
  opened.push(log);
  return log;
}

const sqliteWith = (writer: "inline" | "thread"): Subject => {
  let path = "";
  return {
    name: `SqliteEventLog (${writer} writer)`,
    open: async (onBatch) => {
      const directory = mkdtempSync(join(tmpdir(), "oms-wal-conformance-"));
      directories.push(directory);
      path = join(directory, "wal.sqlite");
      return track(SqliteEventLog.open(path, onBatch === undefined ? { writer } : { writer, onBatchCommitted: onBatch }));
    },
    reopen: async () => track(SqliteEventLog.open(path, { writer })),
  };
};
const sqlite = sqliteWith("inline");
const sqliteThread = sqliteWith("thread");

const kafka: Subject = (() => {
  let topicCount = 0;
  let topic = "";
  const logger = { info: () => undefined, warn: () => undefined, error: () => undefined };
  const openTopic = async (onBatch?: (recordCount: number) => void) =>
    track(
      await KafkaEventLog.open({
        brokers: mock.bootstrapServers.split(","),
        topic,
        clientId: "oms-conformance",
        shardCount: SHARDS,
        logger,
        ...(onBatch === undefined ? {} : { onBatchAcknowledged: onBatch }),
      }),
    );
  return {
    name: "KafkaEventLog",
    open: async (onBatch) => {
      topicCount += 1;
      topic = `oms.wal.conformance.${topicCount}`;
      mock.createTopic(topic, SHARDS);
      return openTopic(onBatch);
    },
    reopen: () => openTopic(),
  };
})();

function at(shard: number, sequence = 0n): RecordHeader {
  return { shard, epoch: 0n, sequence };
}

function deposit(accountId: string, amount: bigint): LogRecord {
  return { accountId, events: [{ kind: "cash_deposited", amount, atMs: 1_700_000_000_000 }] };
}

for (const subject of [sqlite, sqliteThread, kafka]) {
  describe(`${subject.name} keeps the EventLog contract`, () => {
    test("each shard's offsets start at 0 and count up without gaps", async () => {
      const log = await subject.open();
      expect(await log.append(at(4), deposit("a", 1n))).toBe(0n);
      expect(await log.append(at(4), deposit("a", 2n))).toBe(1n);
      expect(await log.append(at(7), deposit("b", 3n))).toBe(0n);
      expect(await log.append(at(4), deposit("a", 4n))).toBe(2n);
      expect(await log.endOffset(4)).toBe(3n);
      expect(await log.endOffset(7)).toBe(1n);
      expect(await log.endOffset(5)).toBe(0n);
      expect(log.isWritable()).toBe(true);
    });

    test("appends made in one tick are written as one batch and resolve, in order, after it", async () => {
      const batches: number[] = [];
      const log = await subject.open((recordCount) => void batches.push(recordCount));
      const appends = Array.from({ length: 1000 }, (_, index) =>
        log.append(at(index % SHARDS), deposit(`acct-${index}`, BigInt(index))).then((offset) => ({ offset, batchesSeen: batches.length })),
      );
      const results = await Promise.all(appends);
      expect(batches).toEqual([1000]);
      expect(results.every((result) => result.batchesSeen === 1)).toBe(true);
      expect(results.map((result) => result.offset)).toEqual(Array.from({ length: 1000 }, (_, index) => BigInt(Math.floor(index / SHARDS))));
    });

    test(
      "reads page through a shard in order, and return nothing past its end",
      async () => {
        const log = await subject.open();
        await Promise.all(Array.from({ length: 10 }, (_, index) => log.append(at(2, BigInt(index)), deposit("a", BigInt(index)))));
        const offsets = async (from: bigint, max: number) => (await log.read(2, from, max)).map((stored) => stored.offset);
        expect(await offsets(0n, 3)).toEqual([0n, 1n, 2n]);
        expect(await offsets(3n, 3)).toEqual([3n, 4n, 5n]);
        expect(await offsets(9n, 5)).toEqual([9n]);
        expect(await offsets(10n, 5)).toEqual([]);
        expect(await offsets(0n, 0)).toEqual([]);
        expect(await log.read(2, 4n, 1)).toEqual([{ offset: 4n, header: at(2, 4n), record: deposit("a", 4n) }]);
        await expect(log.read(2, -1n, 1)).rejects.toThrow("event log: fromOffset must not be negative, got -1");
        await expect(log.read(2, 0n, -1)).rejects.toThrow("event log: maxRecords must be a non-negative integer, got -1");
      },
      CASE_MS_MAX,
    );

    test(
      "endOffset counts pending appends, and readers see only written ones",
      async () => {
        const log = await subject.open();
        const resolved: bigint[] = [];
        const pending = [0n, 1n].map((sequence) =>
          log.append(at(3, sequence), deposit("a", sequence + 1n)).then((offset) => {
            resolved.push(offset);
            return offset;
          }),
        );
        expect(await log.endOffset(3)).toBe(2n);
        // Whether the records are written yet depends on the storage's speed; a record read must
        // be one whose append has resolved.
        const early = await log.read(3, 0n, 10);
        expect(early.map((stored) => stored.offset)).toEqual(resolved.slice(0, early.length));
        await Promise.all(pending);
        expect(await log.endOffset(3)).toBe(2n);
        expect((await log.read(3, 0n, 10)).map((stored) => stored.record)).toEqual([deposit("a", 1n), deposit("a", 2n)]);
      },
      CASE_MS_MAX,
    );

    test(
      "a reopened log has the same records and end, and its offsets continue from there",
      async () => {
        const first = await subject.open();
        await Promise.all([first.append(at(1, 0n), deposit("a", 1n)), first.append(at(1, 1n), deposit("a", 2n)), first.append(at(6), deposit("b", 3n))]);
        await first.close();

        const second = await subject.reopen();
        expect(await second.endOffset(1)).toBe(2n);
        expect(await second.append({ shard: 1, epoch: 7n, sequence: 2n }, deposit("a", 4n))).toBe(2n);
        expect(await second.append(at(6), deposit("b", 5n))).toBe(1n);
        expect(await second.read(1, 0n, 10)).toEqual([
          { offset: 0n, header: at(1, 0n), record: deposit("a", 1n) },
          { offset: 1n, header: at(1, 1n), record: deposit("a", 2n) },
          // The header comes back exactly as the owner stamped it.
          { offset: 2n, header: { shard: 1, epoch: 7n, sequence: 2n }, record: deposit("a", 4n) },
        ]);
      },
      CASE_MS_MAX,
    );

    test("a record the codec refuses is rejected without taking an offset", async () => {
      const log = await subject.open();
      await expect(log.append(at(1), deposit("a", 1n << 63n))).rejects.toThrow("does not fit int64");
      expect(await log.append(at(1), deposit("a", 1n))).toBe(0n);
    });

    test("close writes pending appends first; afterwards appends are refused", async () => {
      const log = await subject.open();
      const pending = log.append(at(1), deposit("a", 7n));
      await log.close();
      expect(await pending).toBe(0n);
      expect(log.isWritable()).toBe(false);
      await expect(log.append(at(1), deposit("a", 8n))).rejects.toThrow("event log: append after close");
      const reopened = await subject.reopen();
      expect(await reopened.endOffset(1)).toBe(1n);
    });
  });
}
