// One partition (one shard) of the log as the projector sees it: the core's ledger rebuilt from
// the partition's records with the same filter recovery uses, and which read-model rows the
// records since the last write changed. No I/O here: the projector feeds records in and
// writes what pendingWrite() returns, then calls written().
//
// Two offsets matter. ledgerOffset: the next record the ledger has not seen. rowsOffset: the
// next record the read model's rows do not reflect (projector_offsets.next_offset). After a
// restart from a snapshot, records below rowsOffset are applied to the ledger only, because
// the rows already hold their effect; from rowsOffset on, every record's changes are written.
import { findOrder } from "../core/account.ts";
import { checkTouched } from "../core/invariants.ts";
import { encodeLedger } from "../core/ledger-codec.ts";
import { apply, type Ledger } from "../core/state-machine.ts";
import type { Event } from "../core/event.ts";
import type { StoredRecord } from "../log/event-log.ts";
import { decodeRecord } from "../log/record-codec.ts";
import { admitRecord, type RecordAdmission, type ReplayCursor } from "../log/replay-cursor.ts";
import { accountRow, fillRow, orderRow, positionRow, type AccountRow, type FillRow, type OrderRow, type PositionRow } from "./read-model-rows.ts";

/** Where a partition's projection starts: a saved ledger (or none) and the rows' offset. */
export interface PartitionStart {
  /** The snapshot's ledger, or an empty one at offset 0 when there is no snapshot. */
  ledger: Ledger;
  snapshotOffset: bigint;
  nextSequence: bigint;
  epoch: bigint;
  rowsOffset: bigint;
}

export interface LedgerSnapshot {
  nextOffset: bigint;
  nextSequence: bigint;
  epoch: bigint;
  state: Uint8Array;
}

/** Everything one transaction writes for one partition, the offset move included. */
export interface ReadModelWrite {
  topic: string;
  partition: number;
  /** The rows' offset before this write: the transaction refuses to run if it is not so. */
  fromOffset: bigint;
  toOffset: bigint;
  accounts: AccountRow[];
  orders: OrderRow[];
  positions: PositionRow[];
  /** Positions the ledger no longer has (sold out): their rows go. */
  positionsGone: { account_id: string; symbol: string }[];
  fills: FillRow[];
  snapshot: LedgerSnapshot | null;
}

/** A record the projection refused before changing anything: what came before it can still be written. */
export class RecordRefused extends Error {
  override readonly name = "RecordRefused";
}

export class PartitionProjection {
  readonly topic: string;
  readonly partition: number;
  readonly #ledger: Ledger;
  readonly #cursor: ReplayCursor;
  readonly #snapshotEveryRecords: number;
  #ledgerOffset: bigint;
  #rowsOffset: bigint;
  #recordsSinceSnapshot = 0;
  // What records at or beyond rowsOffset changed since the last write.
  readonly #accounts = new Set<string>();
  readonly #orders = new Map<string, string>();
  #fills: FillRow[] = [];

  constructor(topic: string, partition: number, start: PartitionStart, snapshotEveryRecords: number) {
    if (start.snapshotOffset > start.rowsOffset) {
      throw new Error(
        `topic ${topic} partition ${partition}: the projector's snapshot is at offset ${start.snapshotOffset}, ` +
          `beyond its rows at ${start.rowsOffset}; they are written together, so the database was changed by hand`,
      );
    }
    this.topic = topic;
    this.partition = partition;
    this.#ledger = start.ledger;
    this.#cursor = { nextSequence: start.nextSequence, epoch: start.epoch };
    this.#ledgerOffset = start.snapshotOffset;
    this.#rowsOffset = start.rowsOffset;
    this.#snapshotEveryRecords = snapshotEveryRecords;
  }

  get ledgerOffset(): bigint {
    return this.#ledgerOffset;
  }

  get rowsOffset(): bigint {
    return this.#rowsOffset;
  }

  /**
   * Takes the record stored at `offset`. A record below ledgerOffset was taken already (the
   * consumer was moved back by a seek or a rebalance) and is passed over. Throws a
   * RecordRefused, naming the topic, partition and offset and with nothing changed, on a record
   * that does not decode or that replay refuses (another shard's, a sequence gap).
   */
  take(offset: bigint, value: Uint8Array | null): void {
    if (offset < this.#ledgerOffset) return;
    const where = `topic ${this.topic} partition ${this.partition} offset ${offset}`;
    if (value === null) throw new RecordRefused(`${where}: the record has no value`);
    let stored: StoredRecord;
    const cursor = { ...this.#cursor };
    let admission: RecordAdmission;
    try {
      stored = { offset, ...decodeRecord(value) };
      admission = admitRecord(cursor, this.partition, stored, where);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new RecordRefused(reason.startsWith(where) ? reason : `${where}: ${reason}`, { cause: error });
    }
    this.#cursor.epoch = cursor.epoch;
    this.#cursor.nextSequence = cursor.nextSequence;
    if (admission === "apply") this.#apply(stored.record.accountId, stored.record.events, offset >= this.#rowsOffset);
    this.#ledgerOffset = offset + 1n;
  }

  /** The write that brings the rows up to ledgerOffset, or null if they are there already. */
  pendingWrite(): ReadModelWrite | null {
    if (this.#ledgerOffset <= this.#rowsOffset) return null;
    const write: ReadModelWrite = {
      topic: this.topic,
      partition: this.partition,
      fromOffset: this.#rowsOffset,
      toOffset: this.#ledgerOffset,
      accounts: [],
      orders: [],
      positions: [],
      positionsGone: [],
      fills: this.#fills,
      snapshot: null,
    };
    for (const accountId of this.#accounts) write.accounts.push(accountRow(this.#account(accountId)));
    const positions = new Map<string, { accountId: string; symbol: string }>();
    for (const [orderId, accountId] of this.#orders) {
      const account = this.#account(accountId);
      const order = findOrder(account, orderId);
      if (order === undefined) throw new Error(`projector: order ${orderId} of account ${accountId} is not in the ledger`);
      checkTouched(account, orderId);
      write.orders.push(orderRow(order));
      positions.set(`${accountId}\u0000${order.symbol}`, { accountId, symbol: order.symbol });
    }
    for (const { accountId, symbol } of positions.values()) {
      const position = this.#account(accountId).positions.get(symbol);
      if (position === undefined) write.positionsGone.push({ account_id: accountId, symbol });
      else write.positions.push(positionRow(accountId, position));
    }
    if (this.#recordsSinceSnapshot >= this.#snapshotEveryRecords) {
      write.snapshot = { nextOffset: this.#ledgerOffset, nextSequence: this.#cursor.nextSequence, epoch: this.#cursor.epoch, state: encodeLedger(this.#ledger) };
    }
    return write;
  }

  /** Called once the write's transaction has committed. */
  written(write: ReadModelWrite): void {
    if (write.fromOffset !== this.#rowsOffset || write.toOffset !== this.#ledgerOffset) {
      throw new Error(`projector: partition ${this.partition}: a write for ${write.fromOffset}..${write.toOffset} is not the pending one`);
    }
    this.#rowsOffset = write.toOffset;
    if (write.snapshot !== null) this.#recordsSinceSnapshot = 0;
    this.#accounts.clear();
    this.#orders.clear();
    this.#fills = [];
  }

  #apply(accountId: string, events: Event[], changesRows: boolean): void {
    for (const event of events) apply(this.#ledger, accountId, event);
    const account = this.#account(accountId);
    checkTouched(account, null);
    this.#recordsSinceSnapshot += 1;
    if (!changesRows) return;
    this.#accounts.add(accountId);
    for (const event of events) {
      for (const orderId of ordersOf(event)) this.#orders.set(orderId, accountId);
      if (event.kind !== "order_filled") continue;
      const order = findOrder(account, event.orderId);
      if (order === undefined) throw new Error(`projector: fill of order ${event.orderId} that account ${accountId} does not have`);
      this.#fills.push(fillRow(order, event));
    }
  }

  #account(accountId: string) {
    const account = this.#ledger.get(accountId);
    if (account === undefined) throw new Error(`projector: account ${accountId} is not in the ledger`);
    return account;
  }
}

/** The orders whose row an event changes. */
function ordersOf(event: Event): string[] {
  switch (event.kind) {
    case "account_created":
    case "cash_deposited":
    case "cash_withdrawn":
    case "trading_state_set":
      return [];
    case "order_accepted":
      return [event.terms.id];
    case "order_replace_requested":
      return [event.orderId, event.terms.id];
    case "order_replaced":
    case "order_replace_rejected":
      return [event.orderId, event.newOrderId];
    case "order_cancel_requested":
    case "order_filled":
    case "order_canceled":
    case "order_expired":
    case "order_rejected":
      return [event.orderId];
  }
}
