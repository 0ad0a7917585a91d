// The write-ahead log's record codec: a LogRecord to and from the published oms.log.v1
// schema, through the codec generated from proto/oms/log/v1/events.proto
// (src/gen/oms/log/v1/events_wire.ts: the bytes toBinary writes, what fromBinary reads). This
// file only maps between core events and the schema's messages, and checks what the schema's
// comments require that the wire cannot: a known format version, an event kind set, terms
// present, enums known, times exact. Every record is checked right before it is written and
// again when it is read back, so a record that would not come back exactly is refused at the
// writer, and a damaged or foreign record is refused at the reader instead of being replayed.
import type { TradingState } from "../core/account.ts";
import type { Event } from "../core/event.ts";
import type { OrderTerms, OrderType, Side, TimeInForce } from "../core/order.ts";
import {
  OrderType as WireOrderType,
  Side as WireSide,
  TimeInForce as WireTimeInForce,
  TradingState as WireTradingState,
  type Event as WireEvent,
  type OrderTerms as WireTerms,
  type Record as WireRecord,
} from "../gen/oms/log/v1/events_pb.ts";
import {
  decodeRecord as decodeWireRecord,
  newAccountCreated,
  newCashDeposited,
  newCashWithdrawn,
  newEvent,
  newOrderAccepted,
  newOrderCanceled,
  newOrderCancelRequested,
  newOrderExpired,
  newOrderFilled,
  newOrderRejected,
  newOrderReplaced,
  newOrderReplaceRejected,
  newOrderReplaceRequested,
  newOrderTerms,
  newRecord,
  newRecordHeader,
  newTradingStateSet,
  releaseRecord,
  writeEvent,
  writeRecord,
} from "../gen/oms/log/v1/events_wire.ts";
import { WireFormatError, WireValueError, WireWriter } from "../rpc/protobuf-wire.ts";
import type { LogRecord, RecordHeader } from "./event-log.ts";

/** The only format this codec writes and the only one it reads. */
export const RECORD_FORMAT_VERSION = 1;

export type { RecordHeader };

// The schema's enums (0 is UNSPECIFIED, which no record may hold).
const SIDE_TO_WIRE: Readonly<{ [K in Side]: WireSide }> = { buy: WireSide.BUY, sell: WireSide.SELL };
const TYPE_TO_WIRE: Readonly<{ [K in OrderType]: WireOrderType }> = {
  market: WireOrderType.MARKET,
  limit: WireOrderType.LIMIT,
  stop: WireOrderType.STOP,
  stop_limit: WireOrderType.STOP_LIMIT,
};
const TIF_TO_WIRE: Readonly<{ [K in TimeInForce]: WireTimeInForce }> = {
  day: WireTimeInForce.DAY,
  gtc: WireTimeInForce.GTC,
  ioc: WireTimeInForce.IOC,
  fok: WireTimeInForce.FOK,
};
const TRADING_STATE_TO_WIRE: Readonly<{ [K in TradingState]: WireTradingState }> = {
  active: WireTradingState.ACTIVE,
  trading_blocked: WireTradingState.TRADING_BLOCKED,
  account_blocked: WireTradingState.ACCOUNT_BLOCKED,
};
const SIDES = byWireNumber(SIDE_TO_WIRE);
const ORDER_TYPES = byWireNumber(TYPE_TO_WIRE);
const TIMES_IN_FORCE = byWireNumber(TIF_TO_WIRE);
const TRADING_STATES = byWireNumber(TRADING_STATE_TO_WIRE);

/** The domain value of each wire number, for reading: undefined where the domain has none. */
function byWireNumber<T extends string>(toWire: Readonly<Record<T, number>>): readonly (T | undefined)[] {
  const table: (T | undefined)[] = [];
  for (const [domain, number] of Object.entries(toWire) as [T, number][]) table[number] = domain;
  return Array.from(table);
}

// ---------------------------------------------------------------------------------------------
// Encoding

/** Text must read back as it was written: a lone UTF-16 surrogate is refused, not replaced. */
const writer = new WireWriter("refuse");

export function encodeRecord(header: RecordHeader, record: LogRecord): Uint8Array {
  const events = record.events;
  const wire = scratchRecord;
  const wireHeader = scratchHeader;
  wireHeader.shard = header.shard;
  wireHeader.epoch = header.epoch;
  wireHeader.sequence = header.sequence;
  wire.accountId = record.accountId;
  const wireEvents = wire.events;
  wireEvents.length = 0;
  let index = -1;
  try {
    for (index = 0; index < events.length; index += 1) wireEvents.push(wireEventOf(events[index] as Event, scratchEventAt(index)));
    index = -1;
    writer.reset();
    writeRecord(writer, wire);
    return writer.finish();
  } catch (cause) {
    if (!(cause instanceof FieldRefusal || cause instanceof WireValueError)) throw cause;
    // The event is named only here, found again by writing the events one by one: the commit
    // path encodes every record and names none.
    if (cause instanceof WireValueError) index = wireEvents.findIndex((event) => refusedAlone(event));
    const where = index < 0 ? "" : `event ${index} (${events[index]?.kind}): `;
    throw new Error(`log record: ${where}${cause.message}`);
  }
}

/** A field's value that the schema cannot carry exactly; encodeRecord says which event. */
class FieldRefusal extends Error {}

function refusedAlone(event: WireEvent): boolean {
  try {
    writer.reset();
    writeEvent(writer, event);
    return false;
  } catch {
    return true;
  }
}

// The wire messages a record is encoded from are filled in place record after record, not
// built anew: encoding is synchronous and keeps none of them, and building them (seven objects
// a record) cost more than writing their bytes.
const scratchHeader = newRecordHeader();
scratchHeader.formatVersion = RECORD_FORMAT_VERSION;
const scratchRecord = newRecord();
scratchRecord.header = scratchHeader;

/** One event's wire messages, a message per kind and its oneof case, and the terms. */
class ScratchEvent {
  readonly event = newEvent();
  readonly terms = newOrderTerms();
  readonly accountCreated = { case: "accountCreated", value: newAccountCreated() } as const;
  readonly cashDeposited = { case: "cashDeposited", value: newCashDeposited() } as const;
  readonly cashWithdrawn = { case: "cashWithdrawn", value: newCashWithdrawn() } as const;
  readonly tradingStateSet = { case: "tradingStateSet", value: newTradingStateSet() } as const;
  readonly orderAccepted = { case: "orderAccepted", value: newOrderAccepted() } as const;
  readonly orderCancelRequested = { case: "orderCancelRequested", value: newOrderCancelRequested() } as const;
  readonly orderReplaceRequested = { case: "orderReplaceRequested", value: newOrderReplaceRequested() } as const;
  readonly orderFilled = { case: "orderFilled", value: newOrderFilled() } as const;
  readonly orderCanceled = { case: "orderCanceled", value: newOrderCanceled() } as const;
  readonly orderExpired = { case: "orderExpired", value: newOrderExpired() } as const;
  readonly orderRejected = { case: "orderRejected", value: newOrderRejected() } as const;
  readonly orderReplaced = { case: "orderReplaced", value: newOrderReplaced() } as const;
  readonly orderReplaceRejected = { case: "orderReplaceRejected", value: newOrderReplaceRejected() } as const;
}

/** One per event position, as many as the longest record needed (a command's events: a few). */
const scratchEvents: ScratchEvent[] = [];

function scratchEventAt(index: number): ScratchEvent {
  let scratch = scratchEvents[index];
  if (scratch === undefined) {
    scratch = new ScratchEvent();
    scratchEvents[index] = scratch;
  }
  return scratch;
}

/** Times and execution sequences are JS numbers in the domain, int64 on the wire. */
function int64OfSafe(value: number, field: string): bigint {
  if (!Number.isSafeInteger(value)) throw new FieldRefusal(`${field} ${value} is not a safe integer`);
  return BigInt(value);
}

// Events committed together carry the same millisecond: its bigint is made once.
let lastAtMs = 0;
let lastAtMsWire = 0n;

function atMsOf(value: number): bigint {
  if (value === lastAtMs) return lastAtMsWire;
  lastAtMsWire = int64OfSafe(value, "at_ms");
  lastAtMs = value;
  return lastAtMsWire;
}

function wireEventOf(event: Event, s: ScratchEvent): WireEvent {
  const atMs = atMsOf(event.atMs);
  const wire = s.event;
  switch (event.kind) {
    case "account_created": {
      s.accountCreated.value.atMs = atMs;
      wire.kind = s.accountCreated;
      return wire;
    }
    case "cash_deposited": {
      const v = s.cashDeposited.value;
      v.amountE4 = event.amount;
      v.atMs = atMs;
      wire.kind = s.cashDeposited;
      return wire;
    }
    case "cash_withdrawn": {
      const v = s.cashWithdrawn.value;
      v.amountE4 = event.amount;
      v.atMs = atMs;
      wire.kind = s.cashWithdrawn;
      return wire;
    }
    case "trading_state_set": {
      const v = s.tradingStateSet.value;
      v.tradingState = TRADING_STATE_TO_WIRE[event.tradingState];
      v.atMs = atMs;
      wire.kind = s.tradingStateSet;
      return wire;
    }
    case "order_accepted": {
      const v = s.orderAccepted.value;
      v.terms = wireTermsOf(event.terms, s.terms);
      v.holdCashE4 = event.holdCash;
      v.holdQty = event.holdQty;
      v.atMs = atMs;
      wire.kind = s.orderAccepted;
      return wire;
    }
    case "order_replace_requested": {
      const v = s.orderReplaceRequested.value;
      v.orderId = event.orderId;
      v.terms = wireTermsOf(event.terms, s.terms);
      v.holdCashE4 = event.holdCash;
      v.holdQty = event.holdQty;
      v.atMs = atMs;
      wire.kind = s.orderReplaceRequested;
      return wire;
    }
    case "order_filled": {
      const v = s.orderFilled.value;
      v.orderId = event.orderId;
      v.executionSeq = int64OfSafe(event.executionSeq, "execution_seq");
      v.qty = event.qty;
      v.priceE4 = event.price;
      v.atMs = atMs;
      wire.kind = s.orderFilled;
      return wire;
    }
    case "order_cancel_requested": {
      const v = s.orderCancelRequested.value;
      v.orderId = event.orderId;
      v.atMs = atMs;
      wire.kind = s.orderCancelRequested;
      return wire;
    }
    case "order_expired": {
      const v = s.orderExpired.value;
      v.orderId = event.orderId;
      v.atMs = atMs;
      wire.kind = s.orderExpired;
      return wire;
    }
    case "order_canceled": {
      const v = s.orderCanceled.value;
      v.orderId = event.orderId;
      v.reason = event.reason;
      v.atMs = atMs;
      wire.kind = s.orderCanceled;
      return wire;
    }
    case "order_rejected": {
      const v = s.orderRejected.value;
      v.orderId = event.orderId;
      v.reason = event.reason;
      v.atMs = atMs;
      wire.kind = s.orderRejected;
      return wire;
    }
    case "order_replaced": {
      const v = s.orderReplaced.value;
      v.orderId = event.orderId;
      v.newOrderId = event.newOrderId;
      v.atMs = atMs;
      wire.kind = s.orderReplaced;
      return wire;
    }
    case "order_replace_rejected": {
      const v = s.orderReplaceRejected.value;
      v.orderId = event.orderId;
      v.newOrderId = event.newOrderId;
      v.reason = event.reason;
      v.atMs = atMs;
      wire.kind = s.orderReplaceRejected;
      return wire;
    }
  }
}

/** A message whose optional fields may be set to undefined, which the generated encoder leaves out. */
type Unsettable<T> = { [K in keyof T]: T[K] | undefined };

function wireTermsOf(terms: OrderTerms, wire: Unsettable<WireTerms>): WireTerms {
  wire.id = terms.id;
  wire.clientOrderId = terms.clientOrderId;
  wire.symbol = terms.symbol;
  wire.side = SIDE_TO_WIRE[terms.side];
  wire.type = TYPE_TO_WIRE[terms.type];
  wire.timeInForce = TIF_TO_WIRE[terms.timeInForce];
  wire.qty = terms.qty;
  // Absent, not zero, is how the schema says "no such price": zero could be a real value.
  wire.limitPriceE4 = terms.limitPrice ?? undefined;
  wire.stopPriceE4 = terms.stopPrice ?? undefined;
  wire.collarPriceE4 = terms.collarPrice ?? undefined;
  wire.replaces = terms.replaces ?? undefined;
  return wire as WireTerms;
}

// ---------------------------------------------------------------------------------------------
// Decoding

/** The event being mapped, for refusals; -1 outside the events. */
let eventIndex = -1;

/**
 * Throws an Error saying what is wrong with a record that is not a valid version-1 record (for
 * damaged bytes, the field by its path and the byte); the caller adds where the record came from.
 */
export function decodeRecord(bytes: Uint8Array): { header: RecordHeader; record: LogRecord } {
  let wire: WireRecord;
  try {
    wire = decodeWireRecord(bytes);
  } catch (cause) {
    if (!(cause instanceof WireFormatError)) throw cause;
    throw new Error(`log record: not a valid ${cause.message}`, { cause });
  }
  const header = wire.header;
  if (header === undefined) throw new Error("log record: header is missing");
  if (header.formatVersion !== RECORD_FORMAT_VERSION) {
    throw new Error(`log record: format_version ${header.formatVersion} is not supported (this reader knows ${RECORD_FORMAT_VERSION})`);
  }
  const wireEvents = wire.events;
  const events: Event[] = [];
  for (eventIndex = 0; eventIndex < wireEvents.length; eventIndex += 1) events.push(eventOf(wireEvents[eventIndex] as WireEvent));
  eventIndex = -1;
  const decoded = { header: { shard: header.shard, epoch: header.epoch, sequence: header.sequence }, record: { accountId: wire.accountId, events } };
  // The core events hold only the wire messages' strings and numbers: the messages themselves
  // are handed out again for the next record, which replay decodes a million times.
  releaseRecord(wire);
  return decoded;
}

/** The domain event, checked as the schema's comments require. */
function eventOf(wire: WireEvent): Event {
  const kind = wire.kind;
  switch (kind.case) {
    case undefined:
      throw refusal("no event kind is set");
    case "accountCreated":
      return { kind: "account_created", atMs: atMsRead(kind.value.atMs) };
    case "cashDeposited":
      return { kind: "cash_deposited", amount: kind.value.amountE4, atMs: atMsRead(kind.value.atMs) };
    case "cashWithdrawn":
      return { kind: "cash_withdrawn", amount: kind.value.amountE4, atMs: atMsRead(kind.value.atMs) };
    case "tradingStateSet":
      return { kind: "trading_state_set", tradingState: known(TRADING_STATES, kind.value.tradingState, "trading_state"), atMs: atMsRead(kind.value.atMs) };
    case "orderAccepted": {
      const v = kind.value;
      return { kind: "order_accepted", terms: termsOf(v.terms), holdCash: v.holdCashE4, holdQty: v.holdQty, atMs: atMsRead(v.atMs) };
    }
    case "orderReplaceRequested": {
      const v = kind.value;
      return { kind: "order_replace_requested", orderId: v.orderId, terms: termsOf(v.terms), holdCash: v.holdCashE4, holdQty: v.holdQty, atMs: atMsRead(v.atMs) };
    }
    case "orderFilled": {
      const v = kind.value;
      return { kind: "order_filled", orderId: v.orderId, executionSeq: safe(v.executionSeq, "execution_seq"), qty: v.qty, price: v.priceE4, atMs: atMsRead(v.atMs) };
    }
    case "orderCancelRequested":
      return { kind: "order_cancel_requested", orderId: kind.value.orderId, atMs: atMsRead(kind.value.atMs) };
    case "orderExpired":
      return { kind: "order_expired", orderId: kind.value.orderId, atMs: atMsRead(kind.value.atMs) };
    case "orderCanceled":
      return { kind: "order_canceled", orderId: kind.value.orderId, reason: kind.value.reason, atMs: atMsRead(kind.value.atMs) };
    case "orderRejected":
      return { kind: "order_rejected", orderId: kind.value.orderId, reason: kind.value.reason, atMs: atMsRead(kind.value.atMs) };
    case "orderReplaced":
      return { kind: "order_replaced", orderId: kind.value.orderId, newOrderId: kind.value.newOrderId, atMs: atMsRead(kind.value.atMs) };
    case "orderReplaceRejected": {
      const v = kind.value;
      return { kind: "order_replace_rejected", orderId: v.orderId, newOrderId: v.newOrderId, reason: v.reason, atMs: atMsRead(v.atMs) };
    }
  }
}

function refusal(problem: string): Error {
  return new Error(`log record: event ${eventIndex}: ${problem}`);
}

// Events committed in the same millisecond carry the same at_ms, which the reader hands out as
// the same bigint: its number is kept rather than converted again (Number of a bigint is a call
// into the engine).
let lastAtMsRead = 0n;
let lastAtMsNumber = 0;

function atMsRead(value: bigint): number {
  if (value === lastAtMsRead) return lastAtMsNumber;
  lastAtMsNumber = safe(value, "at_ms");
  lastAtMsRead = value;
  return lastAtMsNumber;
}

/** An int64 the domain holds as a JS number (times, execution sequences): refused beyond 2^53. */
function safe(value: bigint, field: string): number {
  const number = Number(value);
  if (number <= Number.MAX_SAFE_INTEGER && number >= -Number.MAX_SAFE_INTEGER) return number;
  throw refusal(`${field}: ${value} is not a safe integer`);
}

function termsOf(terms: WireTerms | undefined): OrderTerms {
  if (terms === undefined) throw refusal("terms are missing");
  const id = terms.id;
  return {
    id,
    // Most orders' client order id is their id: one string for both, as the node built them,
    // rather than a second copy of the same text kept for the order's life.
    clientOrderId: terms.clientOrderId === id ? id : terms.clientOrderId,
    symbol: terms.symbol,
    side: known(SIDES, terms.side, "terms.side"),
    type: known(ORDER_TYPES, terms.type, "terms.type"),
    timeInForce: known(TIMES_IN_FORCE, terms.timeInForce, "terms.time_in_force"),
    qty: terms.qty,
    limitPrice: terms.limitPriceE4 ?? null,
    stopPrice: terms.stopPriceE4 ?? null,
    collarPrice: terms.collarPriceE4 ?? null,
    replaces: terms.replaces ?? null,
  };
}

function known<T>(table: readonly (T | undefined)[], value: number, field: string): T {
  const domain = value >= 0 ? table[value] : undefined;
  if (domain === undefined) throw refusal(`${field}: ${value} is not a known value`);
  return domain;
}
