// Group commit over Kafka: the appends waiting for the broker, sent as one produce request at a
// time (acks = all), retried without end while the failure is transient.
//
// Why one request at a time: a shard's records must land in the partition in the order the
// node applied them, and an append must not resolve before the ones appended before it. With
// a single request in flight, a retried batch can never be overtaken by a later one.
//
// Why retry without end: the node applied each record to memory before appending it and cannot
// take it back, so a transient failure (a broker down, a leader moving, a timeout) must not
// reject an append. While the log cannot write, isWritable() says so and the node refuses new
// commands instead of piling them up here.
//
// At-least-once: a request that failed ambiguously (a timeout, a connection lost before the
// response) may have been stored anyway, and its retry stores the same records again. Replay
// drops such copies by their header's sequence (src/node/recovery.ts): a copy's sequence is
// always below the next one expected. The offset an append resolves with is its last copy's.
import type { Message, Producer, RecordMetadata } from "kafkajs";
import { CompressionTypes } from "kafkajs";
import { nodeMetrics } from "../metrics/node-metrics.ts";
import { classifyKafkaError, type KafkaLogSink } from "./kafka-client.ts";

export interface KafkaAppend {
  partition: number;
  message: Message;
  /** The record's size in a request, estimated from key, value and headers. */
  bytes: number;
  /** performance.now() when appended: its batching stage ends when its produce request goes out. */
  appendedMs: number;
  resolve: (offset: bigint) => void;
  reject: (error: Error) => void;
}

export interface KafkaAppendQueueOptions {
  topic: string;
  producer: Producer;
  logger: KafkaLogSink;
  /** Records per produce request at most. */
  batchRecordsMax: number;
  /** Estimated bytes per produce request at most: under the broker's max message size, which
   * bounds each partition's record batch in a request. */
  batchBytesMax: number;
  /** How long the leader waits for the replicas (acks = all) before it answers with an error. */
  ackTimeoutMs: number;
  /** One attempt that has not settled after this long counts as failed (and ambiguous). */
  sendTimeoutMs: number;
  retryBackoffInitialMs: number;
  retryBackoffMaxMs: number;
  /** A batch waiting longer than this makes the log report itself unwritable. */
  unwritableAfterMs: number;
  /** With this many records waiting, the log reports itself unwritable. */
  pendingRecordsMax: number;
  /** Called when a failure looks like the topic is gone: a description of what is wrong with
   * the topic, or null if it looks fine (or cannot be checked now). */
  checkTopic: () => Promise<string | null>;
  onBatchAcknowledged: ((recordCount: number, attempts: number) => void) | undefined;
}

/** Failures logged: the 1st, 2nd, 4th, 8th, ... of a batch, so an outage does not flood the log. */
function isLoggedAttempt(attempt: number): boolean {
  return (attempt & (attempt - 1)) === 0;
}

/** Kafka error types (and kafkajs errors) that can mean the topic was deleted or shrunk. */
const TOPIC_GONE_HINTS = new Set(["UNKNOWN_TOPIC_OR_PARTITION", "KafkaJSMetadataNotLoaded", "KafkaJSTopicMetadataNotLoaded"]);

export class KafkaAppendQueue {
  private queued: KafkaAppend[] = [];
  /** The batch of the one request in flight (retries included), or null. */
  private sending: KafkaAppend[] | null = null;
  private sendingSinceMs = 0;
  /** Set by a failed attempt; cleared once an acknowledgement leaves less than one request queued. */
  private backlogAfterFailure = false;
  private failure: Error | null = null;
  private flushTimer: ReturnType<typeof setImmediate> | null = null;
  private backoff: { timer: ReturnType<typeof setTimeout>; wake: () => void } | null = null;
  private idleWaiters: (() => void)[] = [];
  /** The last offset acknowledged per partition: offsets must only go up. */
  private readonly lastOffsets = new Map<number, bigint>();
  private readonly appends = nodeMetrics.logAppends("kafka");

  constructor(private readonly options: KafkaAppendQueueOptions) {}

  /** The error that stopped the log, if one did. */
  get stopped(): Error | null {
    return this.failure;
  }

  push(append: KafkaAppend): void {
    if (this.failure !== null) {
      append.reject(this.failure);
      return;
    }
    this.queued.push(append);
    // Appends made in this tick join the same request; one that comes while a request is in
    // flight waits for it, and goes in the next.
    if (this.sending === null && this.flushTimer === null) this.flushTimer = setImmediate(() => this.flush());
  }

  isWritable(nowMs: number): boolean {
    if (this.failure !== null || this.backlogAfterFailure) return false;
    if (this.sending !== null && nowMs - this.sendingSinceMs > this.options.unwritableAfterMs) return false;
    return this.queued.length + (this.sending?.length ?? 0) < this.options.pendingRecordsMax;
  }

  /** Records of a partition not yet acknowledged (queued or in flight). */
  pendingFor(partition: number): number {
    let count = 0;
    for (const append of this.sending ?? []) if (append.partition === partition) count += 1;
    for (const append of this.queued) if (append.partition === partition) count += 1;
    return count;
  }

  /** One past the highest offset acknowledged to this queue in a partition (0 if none). */
  acknowledgedEnd(partition: number): bigint {
    const last = this.lastOffsets.get(partition);
    return last === undefined ? 0n : last + 1n;
  }

  /** Sends what is queued and resolves true once nothing is pending, or false after timeoutMs. */
  async drain(timeoutMs: number): Promise<boolean> {
    this.flush();
    if (this.isIdle()) return true;
    const { promise, resolve } = Promise.withResolvers<boolean>();
    const timer = setTimeout(() => resolve(false), timeoutMs);
    this.idleWaiters.push(() => {
      clearTimeout(timer);
      resolve(true);
    });
    return promise;
  }

  /** Rejects everything pending with `error` and stops retrying; later pushes reject too. */
  abandon(error: Error): void {
    const pending = [...(this.sending ?? []), ...this.queued];
    this.sending = null;
    this.queued = [];
    this.failure ??= error;
    this.clearTimers();
    for (const append of pending) append.reject(error);
    this.notifyIdle();
  }

  private isIdle(): boolean {
    return this.sending === null && (this.queued.length === 0 || this.failure !== null);
  }

  private notifyIdle(): void {
    if (!this.isIdle()) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const wake of waiters) wake();
  }

  private clearTimers(): void {
    if (this.flushTimer !== null) clearImmediate(this.flushTimer);
    this.flushTimer = null;
    if (this.backoff !== null) {
      clearTimeout(this.backoff.timer);
      this.backoff.wake();
      this.backoff = null;
    }
  }

  private flush(): void {
    if (this.flushTimer !== null) clearImmediate(this.flushTimer);
    this.flushTimer = null;
    if (this.sending !== null || this.failure !== null || this.queued.length === 0) return;
    const batch = this.takeBatch();
    this.sending = batch;
    this.sendingSinceMs = performance.now();
    for (const append of batch) nodeMetrics.stages.batching.observe((this.sendingSinceMs - append.appendedMs) / 1000);
    void this.sendUntilAcknowledged(batch);
  }

  /** The longest prefix of the queue within both bounds; never empty (push checked each record fits). */
  private takeBatch(): KafkaAppend[] {
    let count = 0;
    let bytes = 0;
    while (count < this.queued.length && count < this.options.batchRecordsMax) {
      const next = this.queued[count]!.bytes;
      if (count > 0 && bytes + next > this.options.batchBytesMax) break;
      bytes += next;
      count += 1;
    }
    return this.queued.splice(0, count);
  }

  /** Never rejects: the batch ends acknowledged, failed for good, or abandoned by close. */
  private async sendUntilAcknowledged(batch: KafkaAppend[]): Promise<void> {
    for (let attempt = 1; ; attempt += 1) {
      let acknowledged: RecordMetadata[];
      try {
        acknowledged = await this.sendOnce(batch);
      } catch (error) {
        if (this.sending !== batch) return;
        const fatal = await this.fatalReason(error);
        if (this.sending !== batch) return;
        if (fatal !== null) {
          this.fail(batch, fatal, error);
          return;
        }
        this.backlogAfterFailure = true;
        if (isLoggedAttempt(attempt)) {
          this.options.logger.warn("event log: sending to kafka failed; retrying the same batch", {
            topic: this.options.topic,
            partitions: partitionsOf(batch),
            records: batch.length,
            attempt,
            error: classifyKafkaError(error).reason,
          });
        }
        await this.sleep(Math.min(this.options.retryBackoffInitialMs * 2 ** Math.min(attempt - 1, 16), this.options.retryBackoffMaxMs));
        if (this.sending !== batch) return;
        continue;
      }
      if (this.sending !== batch) return;
      this.acknowledge(batch, acknowledged, attempt);
      return;
    }
  }

  private sendOnce(batch: KafkaAppend[]): Promise<RecordMetadata[]> {
    const { promise, resolve, reject } = Promise.withResolvers<RecordMetadata[]>();
    const timer = setTimeout(
      () => reject(new Error(`no acknowledgement within ${this.options.sendTimeoutMs} ms (the records may be stored)`)),
      this.options.sendTimeoutMs,
    );
    this.options.producer
      .sendBatch({
        acks: -1,
        timeout: this.options.ackTimeoutMs,
        compression: CompressionTypes.None,
        topicMessages: [{ topic: this.options.topic, messages: batch.map((append) => append.message) }],
      })
      .then(resolve, reject)
      .finally(() => clearTimeout(timer));
    return promise;
  }

  /** Null if sending again may succeed, else why it never will. */
  private async fatalReason(error: unknown): Promise<string | null> {
    const failure = classifyKafkaError(error);
    if (!failure.retriable) return failure.reason;
    if (!failure.types.some((type) => TOPIC_GONE_HINTS.has(type)) && !(error instanceof Error && TOPIC_GONE_HINTS.has(error.name))) return null;
    const topicProblem = await this.options.checkTopic();
    return topicProblem === null ? null : `${topicProblem} (${failure.reason})`;
  }

  private fail(batch: KafkaAppend[], reason: string, cause: unknown): void {
    const error = new Error(
      `event log: topic ${this.options.topic} partition ${partitionsOf(batch).join(", ")}: ${reason}; ` +
        `the batch of ${batch.length} record${batch.length === 1 ? "" : "s"} and every later append are refused, and the node must restart`,
      { cause },
    );
    this.options.logger.error(error.message, { topic: this.options.topic });
    this.sending = null;
    batch.forEach((append) => append.reject(error));
    this.abandon(error);
  }

  private acknowledge(batch: KafkaAppend[], acknowledged: RecordMetadata[], attempts: number): void {
    let offsets: bigint[];
    try {
      offsets = this.offsetsOf(batch, acknowledged);
    } catch (error) {
      this.fail(batch, error instanceof Error ? error.message : String(error), error);
      return;
    }
    this.sending = null;
    // From the first attempt: a batch retried through an outage took that long to be durable.
    // The produce request's whole round trip is its durable stage: kafkajs answers on this
    // thread, so there is no separate way back (handback) to time.
    const durableSeconds = (performance.now() - this.sendingSinceMs) / 1000;
    this.appends.appended(batch.length, durableSeconds);
    nodeMetrics.stages.durable.observeMany(durableSeconds, batch.length);
    if (this.queued.length < this.options.batchRecordsMax) this.backlogAfterFailure = false;
    if (attempts > 1) {
      this.options.logger.info("event log: kafka acknowledged a batch after retries", {
        topic: this.options.topic,
        records: batch.length,
        attempts,
        waitedMs: Math.round(performance.now() - this.sendingSinceMs),
      });
    }
    // In batch order, so each shard's appends resolve in the order they were made.
    batch.forEach((append, index) => append.resolve(offsets[index]!));
    this.options.onBatchAcknowledged?.(batch.length, attempts);
    this.flush();
    this.notifyIdle();
  }

  /** Each record's offset: its partition's base offset plus its index among that partition's
   * records in the request (a partition's records are stored as one batch, in request order). */
  private offsetsOf(batch: KafkaAppend[], acknowledged: RecordMetadata[]): bigint[] {
    const next = new Map<number, bigint>();
    for (const entry of acknowledged) {
      if (entry.topicName !== this.options.topic) continue;
      if (entry.errorCode !== 0 || entry.baseOffset === undefined) {
        throw new Error(`the broker answered error code ${entry.errorCode}, base offset ${entry.baseOffset} for partition ${entry.partition}`);
      }
      next.set(entry.partition, BigInt(entry.baseOffset));
    }
    return batch.map((append) => {
      const offset = next.get(append.partition);
      if (offset === undefined) throw new Error(`the broker acknowledged the request without an offset for partition ${append.partition}`);
      const last = this.lastOffsets.get(append.partition);
      if (last !== undefined && offset <= last) {
        throw new Error(`partition ${append.partition} acknowledged offset ${offset} after ${last}: the log lost acknowledged records`);
      }
      next.set(append.partition, offset + 1n);
      this.lastOffsets.set(append.partition, offset);
      return offset;
    });
  }

  private sleep(ms: number): Promise<void> {
    const { promise, resolve } = Promise.withResolvers<void>();
    const timer = setTimeout(() => {
      this.backoff = null;
      resolve();
    }, ms);
    this.backoff = { timer, wake: resolve };
    return promise;
  }
}

function partitionsOf(batch: KafkaAppend[]): number[] {
  return [...new Set(batch.map((append) => append.partition))].sort((a, b) => a - b);
}
