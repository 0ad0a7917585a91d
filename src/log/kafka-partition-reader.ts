// Reads an exact range of offsets from one partition with kafkajs, which has no "fetch this
// range" call: one consumer in a group of its own (so it is assigned every partition), every
// partition paused except those a read is asking for, each read starting with a seek.
//
// Offsets are never committed: the group exists only because kafkajs cannot consume without one
// (joining it takes a few seconds the first time: the broker's initial rebalance delay, 3 s on
// Redpanda and on librdkafka's mock, paid once per reader). A fetch returns more than a read
// asked for; what is left over is kept for the next read, because replay reads consecutive
// ranges, and so most reads are served without a round trip.
import { randomUUID } from "node:crypto";
import { PartitionAssigners, type Consumer, type EachBatchPayload, type Kafka, type KafkaMessage } from "kafkajs";
import { KAFKA_CALL_RETRY, type KafkaLogSink } from "./kafka-client.ts";

export interface KafkaPartitionReaderOptions {
  kafka: Kafka;
  topic: string;
  clientId: string;
  logger: KafkaLogSink;
  /** A read (and the group join before the first) that has not finished after this long fails. */
  readTimeoutMs: number;
  /** Bytes a fetch returns per partition at most: bounds what a read holds in memory. */
  fetchPartitionBytesMax: number;
}

interface ActiveRead {
  /** The next offset this read needs. */
  next: bigint;
  /** One past the last offset it needs. */
  until: bigint;
  messages: KafkaMessage[];
  resolve: (messages: KafkaMessage[]) => void;
  reject: (error: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

/** How long an idle fetch waits on the broker, and how long kafkajs's fetch loop sleeps while
 * every partition is paused: the latency a read adds before its first fetch. Measured on the
 * mock, replay read ~90,000 records/s with 50 ms and ~150,000 with 20 ms; an idle reader wakes
 * 50 times a second for it, which costs next to nothing. */
const FETCH_WAIT_MS = 20;

export class KafkaPartitionReader {
  /** The consumer being started (joining its group), or started; null before the first read. */
  private consumer: Promise<Consumer> | null = null;
  /** The same consumer once run() has created its group, when pause and seek work. */
  private running: Consumer | null = null;
  private readonly active = new Map<number, ActiveRead>();
  /** Messages a fetch returned past the end of the read that asked for them, per partition. */
  private readonly leftovers = new Map<number, KafkaMessage[]>();
  private closed = false;

  constructor(private readonly options: KafkaPartitionReaderOptions) {}

  /**
   * The messages at offsets from..until-1 of a partition, exactly, in order. The caller knows
   * they exist (until is at most the high watermark, from at least the low one); a missing
   * offset fails the read rather than leaving a hole. One read per partition at a time.
   */
  async fetchRange(partition: number, from: bigint, until: bigint): Promise<KafkaMessage[]> {
    if (this.closed) throw new Error("event log: read after close");
    if (this.active.has(partition)) throw new Error(`event log: partition ${partition} is already being read`);
    const messages = this.takeLeftovers(partition, from, until);
    const next = from + BigInt(messages.length);
    if (next === until) return messages;
    const consumer = await this.started();
    const { promise, resolve, reject } = Promise.withResolvers<KafkaMessage[]>();
    const timer = setTimeout(() => {
      const read = this.active.get(partition);
      const at = read === undefined ? next : read.next;
      this.finish(partition, new Error(`event log: topic ${this.options.topic} partition ${partition}: offset ${at} did not arrive within ${this.options.readTimeoutMs} ms (reading ${from}..${until - 1n})`));
    }, this.options.readTimeoutMs);
    this.active.set(partition, { next, until, messages, resolve, reject, timer });
    try {
      consumer.seek({ topic: this.options.topic, partition, offset: next.toString() });
      consumer.resume([{ topic: this.options.topic, partitions: [partition] }]);
    } catch (error) {
      this.finish(partition, new Error(`event log: topic ${this.options.topic} partition ${partition}: the reader cannot seek: ${String(error)}`, { cause: error }));
    }
    return promise;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const partition of [...this.active.keys()]) this.finish(partition, new Error("event log: closed while reading"));
    this.leftovers.clear();
    const consumer = this.consumer;
    this.consumer = null;
    this.running = null;
    if (consumer === null) return;
    // A consumer that failed to start has disconnected itself already.
    const started = await consumer.catch(() => null);
    await started?.disconnect();
  }

  /** The leftovers that continue exactly at `from`, up to `until`; the rest stays for later. */
  private takeLeftovers(partition: number, from: bigint, until: bigint): KafkaMessage[] {
    const kept = this.leftovers.get(partition);
    this.leftovers.delete(partition);
    if (kept === undefined || kept.length === 0 || BigInt(kept[0]!.offset) !== from) return [];
    const count = Number(until - from < BigInt(kept.length) ? until - from : BigInt(kept.length));
    if (count < kept.length) this.leftovers.set(partition, kept.slice(count));
    return kept.slice(0, count);
  }

  private started(): Promise<Consumer> {
    this.consumer ??= this.start();
    // A consumer that failed to start is forgotten, so that the next read tries again.
    const current = this.consumer;
    current.catch(() => {
      if (this.consumer === current) this.consumer = null;
    });
    return current;
  }

  private async start(): Promise<Consumer> {
    const { topic, kafka } = this.options;
    const consumer = kafka.consumer({
      groupId: `${this.options.clientId}.wal-reader.${randomUUID()}`,
      partitionAssigners: [PartitionAssigners.roundRobin],
      metadataMaxAge: 60_000,
      sessionTimeout: 30_000,
      rebalanceTimeout: 30_000,
      heartbeatInterval: 3_000,
      maxBytesPerPartition: this.options.fetchPartitionBytesMax,
      minBytes: 1,
      maxBytes: this.options.fetchPartitionBytesMax * 4,
      maxWaitTimeInMs: FETCH_WAIT_MS,
      retry: { ...KAFKA_CALL_RETRY, retries: 5, restartOnFailure: async () => true },
      allowAutoTopicCreation: false,
      maxInFlightRequests: 1,
      // The log is written without transactions, so both levels read the same records.
      readUncommitted: false,
      rackId: "",
    });
    const { promise: joined, resolve: onJoined, reject: onStopped } = Promise.withResolvers<void>();
    // Awaited below; a crash before that point must not count as an unhandled rejection.
    joined.catch(() => undefined);
    consumer.on(consumer.events.GROUP_JOIN, () => {
      this.afterJoin(consumer);
      onJoined();
    });
    consumer.on(consumer.events.CRASH, (event) => {
      const { error, restart } = event.payload;
      this.options.logger.warn("event log: the kafka reader crashed", { topic, restart, error: String(error) });
      if (restart) return;
      // kafkajs gave up on this consumer: the reads waiting fail, and the next read starts another.
      const stopped = new Error(`event log: topic ${topic}: the reader stopped: ${String(error)}`, { cause: error });
      onStopped(stopped);
      if (this.running === consumer) {
        this.running = null;
        this.consumer = null;
      }
      this.failAll(stopped);
    });
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      const running = consumer.run({
        autoCommit: false,
        autoCommitInterval: null,
        autoCommitThreshold: null,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: 1,
        eachBatch: (payload) => this.onBatch(consumer, payload),
      });
      // run() has created the group by now; nothing is fetched until a read resumes a partition.
      consumer.pause([{ topic }]);
      this.running = consumer;
      await running;
      await withTimeout(joined, this.options.readTimeoutMs, `event log: topic ${topic}: the reader did not join its consumer group within ${this.options.readTimeoutMs} ms`);
    } catch (error) {
      this.running = null;
      await consumer.disconnect().catch((disconnectError: unknown) => {
        this.options.logger.warn("event log: disconnecting a kafka reader that failed to start failed too", { topic, error: String(disconnectError) });
      });
      throw error;
    }
    return consumer;
  }

  /** After every (re)join kafkajs may have forgotten pauses and seeks: say them again. Never
   * throws: it runs inside kafkajs's join, which would crash the consumer. */
  private afterJoin(consumer: Consumer): void {
    const { topic } = this.options;
    try {
      consumer.pause([{ topic }]);
      for (const [partition, read] of this.active) {
        consumer.seek({ topic, partition, offset: read.next.toString() });
        consumer.resume([{ topic, partitions: [partition] }]);
      }
    } catch (error) {
      this.failAll(new Error(`event log: topic ${topic}: the reader cannot resume its reads after joining its group: ${String(error)}`, { cause: error }));
    }
  }

  /** Never throws: kafkajs would retry the batch or crash the consumer. */
  private async onBatch(consumer: Consumer, { batch, isStale, resolveOffset }: EachBatchPayload): Promise<void> {
    // A batch fetched before a seek belongs to an older read.
    if (isStale()) return;
    const partition = batch.partition;
    const read = this.active.get(partition);
    if (read === undefined) {
      consumer.pause([{ topic: this.options.topic, partitions: [partition] }]);
      return;
    }
    const messages = batch.messages;
    let index = 0;
    for (; index < messages.length && read.next < read.until; index += 1) {
      const message = messages[index]!;
      const offset = BigInt(message.offset);
      if (offset < read.next) continue;
      if (offset > read.next) {
        this.finish(partition, new Error(`event log: topic ${this.options.topic} partition ${partition}: offset ${read.next} is missing (the next record is at ${offset}); the log was truncated or has a gap`));
        return;
      }
      read.messages.push(message);
      read.next += 1n;
    }
    if (read.next < read.until) {
      // The next fetch starts right after the last record taken, whatever this batch held.
      resolveOffset((read.next - 1n).toString());
      return;
    }
    if (index < messages.length) this.leftovers.set(partition, messages.slice(index));
    this.finish(partition, null);
  }

  /** Ends a partition's read, with its messages or with an error, and pauses the partition. */
  private finish(partition: number, error: Error | null): void {
    const read = this.active.get(partition);
    if (read === undefined) return;
    this.active.delete(partition);
    clearTimeout(read.timer);
    this.pausePartition(partition);
    if (error === null) read.resolve(read.messages);
    else read.reject(error);
  }

  private pausePartition(partition: number): void {
    try {
      this.running?.pause([{ topic: this.options.topic, partitions: [partition] }]);
    } catch (error) {
      // kafkajs refuses while the consumer restarts after a crash; afterJoin pauses everything
      // once it has joined again, so the partition is not fetched for nothing for long.
      this.options.logger.warn("event log: the kafka reader could not pause a partition", { topic: this.options.topic, partition, error: String(error) });
    }
  }

  private failAll(error: Error): void {
    for (const partition of [...this.active.keys()]) this.finish(partition, error);
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  const { promise: timedOut, reject } = Promise.withResolvers<never>();
  const timer = setTimeout(() => reject(new Error(message)), ms);
  return Promise.race([promise, timedOut]).finally(() => clearTimeout(timer));
}
