// Shard owners as the OMS is one, for tests of the log's consumers: each command is decided by
// the core against the owner's own ledger, applied, stamped {shard, epoch, sequence} and sent
// to the shard's partition with a plain kafkajs producer and encodeRecord, so every record in
// the topic is one a node could have written. The owners' ledgers are what the consumers must
// end up agreeing with. Raw sends (duplicates, fenced owners, garbage) are there for the cases
// a healthy owner never writes.
import { CompressionTypes, Kafka, logLevel, Partitioners, type Producer } from "kafkajs";
import type { TradingState } from "../../src/core/account.ts";
import type { Command } from "../../src/core/command.ts";
import type { Event, OrderFilled } from "../../src/core/event.ts";
import { parseDecimal } from "../../src/core/money.ts";
import { apply, decide, type Ledger } from "../../src/core/state-machine.ts";
import { isOpen } from "../../src/core/order.ts";
import { oldestFirst } from "../../src/core/order-list.ts";
import { shardOf } from "../../src/config/shard-of.ts";
import type { LogRecord, RecordHeader } from "../../src/log/event-log.ts";
import { encodeRecord } from "../../src/log/record-codec.ts";

/** Dollars as the core's bigint units of $0.0001. */
export function usd(text: string): bigint {
  const parsed = parseDecimal(text, 4, 4);
  if (!parsed.ok) throw new Error(`usd(${text}): ${parsed.problem}`);
  return parsed.value;
}

export interface AppliedFill extends OrderFilled {
  accountId: string;
}

export async function connectProducer(bootstrapServers: string): Promise<Producer> {
  const kafka = new Kafka({
    clientId: "shard-owners-test",
    brokers: bootstrapServers.split(","),
    logLevel: logLevel.NOTHING,
    connectionTimeout: 2_000,
    authenticationTimeout: 2_000,
    requestTimeout: 5_000,
    enforceRequestTimeout: true,
    retry: { retries: 3, initialRetryTime: 50, maxRetryTime: 500, factor: 0.2, multiplier: 2 },
  });
  const producer = kafka.producer({
    createPartitioner: Partitioners.DefaultPartitioner,
    allowAutoTopicCreation: false,
    // The mock's Metadata names controller 0, which kafkajs's idempotent producer cannot find.
    idempotent: false,
    // One request at a time keeps a partition's records in the order they were sent.
    maxInFlightRequests: 1,
    metadataMaxAge: 60_000,
    retry: { retries: 3, initialRetryTime: 50, maxRetryTime: 500, factor: 0.2, multiplier: 2 },
  });
  await producer.connect();
  return producer;
}

export class ShardOwners {
  readonly ledgers: Ledger[];
  readonly fills: AppliedFill[] = [];
  /** Every record sent, where it went, as bytes. */
  readonly sent: { partition: number; offset: bigint; value: Buffer }[] = [];
  /** Per partition, the offset the next record will get: the topic must be new. */
  readonly ends: bigint[];
  readonly #producer: Producer;
  readonly #topic: string;
  readonly #sequences: bigint[];
  readonly #epochs: bigint[];
  /** Records decided but not sent yet, per partition, in order. */
  #pending: Buffer[][];

  constructor(producer: Producer, topic: string, shardCount: number) {
    this.#producer = producer;
    this.#topic = topic;
    this.ledgers = Array.from({ length: shardCount }, () => new Map());
    this.ends = Array.from({ length: shardCount }, () => 0n);
    this.#sequences = Array.from({ length: shardCount }, () => 0n);
    this.#epochs = Array.from({ length: shardCount }, () => 1n);
    this.#pending = Array.from({ length: shardCount }, () => []);
  }

  get shardCount(): number {
    return this.ledgers.length;
  }

  shardOf(accountId: string): number {
    return shardOf(accountId, this.shardCount);
  }

  ledgerOf(accountId: string): Ledger {
    const ledger = this.ledgers[this.shardOf(accountId)];
    if (ledger === undefined) throw new Error(`no ledger for ${accountId}`);
    return ledger;
  }

  /** Decides, applies and queues the command's record; a rejection is a bug in the test. */
  decide(command: Command): Event[] {
    const events = this.tryDecide(command);
    if (events === null) throw new Error(`test command ${command.kind} for ${command.accountId} was rejected`);
    return events;
  }

  /** Like decide(), but a rejection (which a node would not log) returns null. */
  tryDecide(command: Command): Event[] | null {
    const shard = this.shardOf(command.accountId);
    const ledger = this.ledgerOf(command.accountId);
    const decision = decide(ledger, command);
    if (!decision.ok) return null;
    if (decision.events.length === 0) return [];
    for (const event of decision.events) {
      apply(ledger, command.accountId, event);
      if (event.kind === "order_filled") this.fills.push({ ...event, accountId: command.accountId });
    }
    const header = { shard, epoch: this.#at(this.#epochs, shard), sequence: this.#at(this.#sequences, shard) };
    this.#sequences[shard] = header.sequence + 1n;
    this.queueRaw(shard, encodeRecord(header, { accountId: command.accountId, events: decision.events }));
    return decision.events;
  }

  /** A new owner takes the shard: the next epoch, announced with a marker record. */
  newEpoch(shard: number): bigint {
    const epoch = this.#at(this.#epochs, shard) + 1n;
    this.#epochs[shard] = epoch;
    this.queueRaw(shard, encodeRecord({ shard, epoch, sequence: this.#at(this.#sequences, shard) }, { accountId: "", events: [] }));
    return epoch;
  }

  /** Queues bytes for a partition as they are: for records no healthy owner writes. */
  queueRaw(partition: number, value: Uint8Array): void {
    const queue = this.#pending[partition];
    if (queue === undefined) throw new Error(`no partition ${partition}`);
    queue.push(Buffer.from(value));
  }

  queueRecord(partition: number, header: RecordHeader, record: LogRecord): void {
    this.queueRaw(partition, encodeRecord(header, record));
  }

  /** Sends everything queued, each partition's records in order, and checks their offsets. */
  async flush(): Promise<void> {
    const pending = this.#pending;
    this.#pending = pending.map(() => []);
    const topicMessages = pending.flatMap((values, partition) =>
      values.length === 0 ? [] : [{ partition, values }],
    );
    if (topicMessages.length === 0) return;
    const results = await this.#producer.send({
      topic: this.#topic,
      acks: -1,
      timeout: 5_000,
      compression: CompressionTypes.None,
      messages: topicMessages.flatMap(({ partition, values }) => values.map((value) => ({ partition, value }))),
    });
    for (const { partition, values } of topicMessages) {
      const result = results.find((r) => r.partition === partition);
      if (result?.baseOffset !== String(this.#at(this.ends, partition))) {
        throw new Error(`partition ${partition}: records went to offset ${result?.baseOffset}, not ${this.#at(this.ends, partition)}`);
      }
      values.forEach((value, index) => this.sent.push({ partition, offset: this.#at(this.ends, partition) + BigInt(index), value }));
      this.ends[partition] = this.#at(this.ends, partition) + BigInt(values.length);
    }
  }

  #at(values: bigint[], index: number): bigint {
    const value = values[index];
    if (value === undefined) throw new Error(`no shard ${index}`);
    return value;
  }
}

/** The time every command carries: a counter, so a seed reproduces a run to the millisecond. */
export class TestClock {
  #nowMs: number;
  constructor(startMs = Date.UTC(2026, 0, 2, 14, 30)) {
    this.#nowMs = startMs;
  }
  next(): number {
    this.#nowMs += 1_000;
    return this.#nowMs;
  }
}

export const commands = {
  create: (accountId: string, atMs: number): Command => ({ kind: "create_account", accountId, atMs }),
  deposit: (accountId: string, dollars: string, atMs: number): Command => ({ kind: "deposit", accountId, amount: usd(dollars), atMs }),
  withdraw: (accountId: string, dollars: string, atMs: number): Command => ({ kind: "withdraw", accountId, amount: usd(dollars), atMs }),
  setTradingState: (accountId: string, tradingState: TradingState, atMs: number): Command => ({ kind: "set_trading_state", accountId, tradingState, atMs }),
  limit: (accountId: string, orderId: string, side: "buy" | "sell", symbol: string, qty: bigint, limit: string, atMs: number): Command => ({
    kind: "submit_order",
    accountId,
    orderId,
    clientOrderId: `c-${orderId}`,
    symbol,
    side,
    type: "limit",
    timeInForce: "gtc",
    qty,
    limitPrice: usd(limit),
    stopPrice: null,
    askPrice: usd(limit),
    atMs,
  }),
  marketBuy: (accountId: string, orderId: string, symbol: string, qty: bigint, ask: string, atMs: number): Command => ({
    kind: "submit_order",
    accountId,
    orderId,
    clientOrderId: `c-${orderId}`,
    symbol,
    side: "buy",
    type: "market",
    timeInForce: "day",
    qty,
    limitPrice: null,
    stopPrice: null,
    askPrice: usd(ask),
    atMs,
  }),
  fill: (accountId: string, orderId: string, seq: number, qty: bigint, price: string, atMs: number): Command => ({
    kind: "apply_execution",
    accountId,
    orderId,
    execution: { kind: "fill", seq, qty, price: usd(price) },
    atMs,
  }),
  cancel: (accountId: string, orderId: string, atMs: number): Command => ({ kind: "cancel_order", accountId, orderId, atMs }),
  canceled: (accountId: string, orderId: string, atMs: number): Command => ({
    kind: "apply_execution",
    accountId,
    orderId,
    execution: { kind: "canceled", reason: "canceled by the client" },
    atMs,
  }),
  rejected: (accountId: string, orderId: string, reason: string, atMs: number): Command => ({
    kind: "apply_execution",
    accountId,
    orderId,
    execution: { kind: "rejected", reason },
    atMs,
  }),
  replace: (accountId: string, orderId: string, newOrderId: string, qty: bigint, limit: string, atMs: number): Command => ({
    kind: "replace_order",
    accountId,
    orderId,
    newOrderId,
    clientOrderId: `c-${newOrderId}`,
    qty,
    limitPrice: usd(limit),
    stopPrice: null,
    timeInForce: null,
    askPrice: usd(limit),
    atMs,
  }),
  replaced: (accountId: string, orderId: string, newOrderId: string, atMs: number): Command => ({
    kind: "apply_execution",
    accountId,
    orderId,
    execution: { kind: "replaced", newOrderId },
    atMs,
  }),
};

/** mulberry32: a seeded generator, so that a failing run can be replayed from its seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const SYMBOLS = ["AAPL", "MSFT", "NVDA", "F"] as const;

/**
 * Accounts that trade at random: deposits, limit buys and sells, partial and full fills,
 * cancels and replaces, each decided by the core (a rejected command writes nothing, as on a
 * node). Call owners.flush() to send what it queued.
 */
export function tradeRandomly(owners: ShardOwners, random: () => number, clock: TestClock, accountIds: string[], steps: number): void {
  const pick = <T>(items: readonly T[]): T => {
    const item = items[Math.floor(random() * items.length)];
    if (item === undefined) throw new Error("pick from an empty list");
    return item;
  };
  const between = (low: number, high: number) => low + Math.floor(random() * (high - low + 1));
  for (let step = 0; step < steps; step++) {
    const accountId = pick(accountIds);
    const account = owners.ledgerOf(accountId).get(accountId);
    if (account === undefined) throw new Error(`account ${accountId} was not created`);
    const open = [...oldestFirst(account)].filter((order) => isOpen(order.status) && order.status !== "pending_new");
    let roll = random();
    // Fills, cancels and replaces need an open order; without one the step deposits or submits.
    if (open.length === 0 && roll >= 0.45) roll = random() * 0.45;
    if (roll < 0.1) {
      owners.tryDecide(commands.deposit(accountId, `${between(100, 5_000)}.${between(10, 99)}`, clock.next()));
    } else if (roll < 0.45) {
      const side = random() < 0.75 ? "buy" : "sell";
      const limit = `${between(5, 250)}.${between(10, 99)}`;
      owners.tryDecide(commands.limit(accountId, `${accountId}-o${step}`, side, pick(SYMBOLS), BigInt(between(1, 40)), limit, clock.next()));
    } else if (roll < 0.8) {
      const order = pick(open);
      const remaining = order.qty - order.filledQty;
      const limit = order.limitPrice ?? usd("1");
      const qty = random() < 0.4 ? remaining : BigInt(between(1, Number(remaining)));
      // A buy fills at or below its limit, a sell at or above: any price the venue could give.
      const cents = BigInt(between(0, 50)) * 100n;
      const price = order.side === "buy" ? limit - cents : limit + cents;
      const seq = order.lastExecutionSeq + between(1, 3);
      owners.tryDecide({ kind: "apply_execution", accountId, orderId: order.id, execution: { kind: "fill", seq, qty, price }, atMs: clock.next() });
    } else if (roll < 0.9) {
      const order = pick(open);
      owners.tryDecide(commands.cancel(accountId, order.id, clock.next()));
      if (random() < 0.8) owners.tryDecide(commands.canceled(accountId, order.id, clock.next()));
    } else {
      const order = pick(open);
      const newOrderId = `${order.id}-r${step}`;
      const requested = owners.tryDecide(commands.replace(accountId, order.id, newOrderId, BigInt(between(1, 40)), `${between(5, 250)}.00`, clock.next()));
      if (requested !== null) owners.tryDecide(commands.replaced(accountId, order.id, newOrderId, clock.next()));
    }
  }
}
