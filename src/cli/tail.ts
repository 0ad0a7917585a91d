// `oms tail`: prints the write-ahead log's records as JSON lines, one per record, as any
// consumer outside the OMS can read them. It shows the log as stored: duplicates and fenced
// owners' records included (replay's filter is the projector's business, not a viewer's).
// A record that does not decode stops it with the topic, partition and offset named: a
// viewer that skipped it would hide exactly what its user is looking for.
import type { Event } from "../core/event.ts";
import { formatCash, type Cash } from "../core/money.ts";
import type { OrderTerms } from "../core/order.ts";
import { loadClusterConfig } from "../config/load-cluster-config.ts";
import { isEpochMarker, type StoredRecord } from "../log/event-log.ts";
import { decodeRecord } from "../log/record-codec.ts";
import { kafkaClientFor, startWalConsumer, topicOffsets, type WalBatch } from "../projector/wal-consumer.ts";
import { createLogger } from "../rpc/logger.ts";
import { stopSignal } from "./project.ts";

interface TailPartition {
  /** The offset of the next record to print. */
  position: bigint;
  /** Without --follow: the high watermark at start, where this partition is done. */
  end: bigint;
}

/**
 * Resolves once every partition has been printed up to its high watermark at start (or, with
 * --follow, on SIGINT or SIGTERM); rejects, after printing the records before it, on a record
 * that does not decode.
 */
export interface TailOptions {
  /** The cluster configuration file; OMS_* variables and defaults without one. */
  config: string | undefined;
  fromBeginning: boolean;
  follow: boolean;
}

export async function runTail(options: TailOptions): Promise<void> {
  const { follow } = options;
  const config = loadClusterConfig(options.config);
  const logger = createLogger({ level: config.logLevel, fields: { part: "tail" } });
  const topic = config.kafka.topic;
  const kafka = kafkaClientFor(config.kafka.brokers, `${config.kafka.clientId}-tail`, logger);
  const partitions = new Map<number, TailPartition>();
  for (const { partition, low, high } of await topicOffsets(kafka, topic)) {
    partitions.set(partition, { position: options.fromBeginning ? low : high, end: high });
  }
  const caughtUp = () => !follow && [...partitions.values()].every((p) => p.position >= p.end);
  if (caughtUp()) return;
  logger.info("tail: reading", { topic, from: Object.fromEntries([...partitions].map(([partition, p]) => [partition, String(p.position)])) });
  let reachedEnd = () => {};
  const reached = new Promise<void>((resolve) => (reachedEnd = resolve));
  const stop = stopSignal();
  try {
    const consumer = await startWalConsumer(kafka, {
      topic,
      groupIdPrefix: `${config.kafka.clientId}-tail`,
      logger,
      positionOf: (partition) => partitionOf(partitions, topic, partition).position,
      onBatch: async (batch) => {
        await printBatch(topic, partitionOf(partitions, topic, batch.partition), batch);
        if (caughtUp()) reachedEnd();
      },
    });
    try {
      await Promise.race([consumer.failed, reached, stop.received]);
    } finally {
      await consumer.stop();
    }
  } finally {
    stop.dispose();
  }
}

function partitionOf(partitions: Map<number, TailPartition>, topic: string, partition: number): TailPartition {
  const found = partitions.get(partition);
  if (found === undefined) throw new Error(`topic ${topic} gained partition ${partition} after oms tail started`);
  return found;
}

/** Prints the batch's records from the partition's position on; the lines before a bad record are printed before it throws. */
async function printBatch(topic: string, state: TailPartition, batch: WalBatch): Promise<void> {
  let lines = "";
  try {
    for (const { offset, value } of batch.messages) {
      if (offset < state.position) continue;
      const where = `topic ${topic} partition ${batch.partition} offset ${offset}`;
      if (value === null) throw new Error(`${where}: the record has no value`);
      let stored: StoredRecord;
      try {
        stored = { offset, ...decodeRecord(value) };
      } catch (error) {
        throw new Error(`${where}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      }
      lines += `${JSON.stringify(recordJson(topic, batch.partition, stored))}\n`;
      state.position = offset + 1n;
    }
  } finally {
    if (lines !== "") await Bun.write(Bun.stdout, lines);
  }
}

/** One line of output. Bigints (offsets, epochs, sequences, quantities) are decimal strings. */
function recordJson(topic: string, partition: number, stored: StoredRecord): Record<string, unknown> {
  const { header, record } = stored;
  return {
    topic,
    partition,
    offset: String(stored.offset),
    shard: header.shard,
    epoch: String(header.epoch),
    sequence: String(header.sequence),
    accountId: record.accountId,
    epochMarker: isEpochMarker(record),
    events: record.events.map(eventJson),
  };
}

/** Money and prices are exact decimal strings of dollars ("189.25"), never e4 integers or floats. */
function eventJson(event: Event): Record<string, unknown> {
  switch (event.kind) {
    case "cash_deposited":
    case "cash_withdrawn":
      return { kind: event.kind, amount: formatCash(event.amount), atMs: event.atMs };
    case "order_accepted":
      return { kind: event.kind, terms: termsJson(event.terms), ...holdJson(event.holdCash, event.holdQty), atMs: event.atMs };
    case "order_replace_requested":
      return { kind: event.kind, orderId: event.orderId, terms: termsJson(event.terms), ...holdJson(event.holdCash, event.holdQty), atMs: event.atMs };
    case "order_filled":
      return {
        kind: event.kind,
        orderId: event.orderId,
        executionSeq: event.executionSeq,
        qty: String(event.qty),
        price: formatCash(event.price),
        atMs: event.atMs,
      };
    case "account_created":
    case "trading_state_set":
    case "order_cancel_requested":
    case "order_canceled":
    case "order_expired":
    case "order_rejected":
    case "order_replaced":
    case "order_replace_rejected":
      // Strings and safe-integer milliseconds only: JSON carries them as they are.
      return { ...event };
  }
}

function termsJson(terms: OrderTerms): Record<string, unknown> {
  return {
    id: terms.id,
    clientOrderId: terms.clientOrderId,
    symbol: terms.symbol,
    side: terms.side,
    type: terms.type,
    timeInForce: terms.timeInForce,
    qty: String(terms.qty),
    limitPrice: nullableCash(terms.limitPrice),
    stopPrice: nullableCash(terms.stopPrice),
    collarPrice: nullableCash(terms.collarPrice),
    replaces: terms.replaces,
  };
}

function holdJson(holdCash: Cash, holdQty: bigint): { holdCash: string; holdQty: string } {
  return { holdCash: formatCash(holdCash), holdQty: String(holdQty) };
}

function nullableCash(value: Cash | null): string | null {
  return value === null ? null : formatCash(value);
}
