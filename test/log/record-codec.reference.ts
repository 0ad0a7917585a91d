// The record codec as it was before the hand-written one: protobuf-es's generic create/
// toBinary/fromBinary over the generated schema, with the same mapping to the domain and the
// same checks. The tests hold src/log/record-codec.ts to it, both ways, as the reference for
// what the published schema means.
import { create, fromBinary, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import type { Cash, Price, Qty } from "../../src/core/money.ts";
import type { Event } from "../../src/core/event.ts";
import type { OrderTerms, OrderType, Side, TimeInForce } from "../../src/core/order.ts";
import {
  type Event as WireEvent,
  EventSchema,
  OrderType as WireOrderType,
  type OrderTerms as WireOrderTerms,
  OrderTermsSchema,
  RecordSchema,
  Side as WireSide,
  TimeInForce as WireTimeInForce,
} from "../../src/gen/oms/log/v1/events_pb.ts";
import type { LogRecord, RecordHeader } from "../../src/log/event-log.ts";

const RECORD_FORMAT_VERSION = 1;

const UINT32_MAX = 0xffff_ffff;
const UINT64_MAX = (1n << 64n) - 1n;
const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

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
const SIDE_FROM_WIRE = invert(SIDE_TO_WIRE);
const TYPE_FROM_WIRE = invert(TYPE_TO_WIRE);
const TIF_FROM_WIRE = invert(TIF_TO_WIRE);

export function encodeRecordGeneric(header: RecordHeader, record: LogRecord): Uint8Array {
  checkHeader(header);
  checkText(record.accountId, "account_id");
  const message = create(RecordSchema, {
    header: { formatVersion: RECORD_FORMAT_VERSION, ...header },
    accountId: record.accountId,
    events: record.events.map((event, index) => eventToWire(event, `event ${index} (${event.kind})`)),
  });
  return toBinary(RecordSchema, message);
}

/** Throws an Error saying what is wrong with a record that is not a valid version-1 record;
 * the caller adds where the record came from. */
export function decodeRecordGeneric(bytes: Uint8Array): { header: RecordHeader; record: LogRecord } {
  let message;
  try {
    message = fromBinary(RecordSchema, bytes);
  } catch (cause) {
    throw new Error(`log record: not a valid oms.log.v1.Record: ${String(cause)}`, { cause });
  }
  const wireHeader = message.header;
  if (wireHeader === undefined) throw new Error("log record: header is missing");
  if (wireHeader.formatVersion !== RECORD_FORMAT_VERSION) {
    throw new Error(
      `log record: format_version ${wireHeader.formatVersion} is not supported (this reader knows ${RECORD_FORMAT_VERSION})`,
    );
  }
  const header = { shard: wireHeader.shard, epoch: wireHeader.epoch, sequence: wireHeader.sequence };
  const events = message.events.map((event, index) => eventFromWire(event, `log record: event ${index}`));
  return { header, record: { accountId: message.accountId, events } };
}

function checkHeader(header: RecordHeader): void {
  if (!Number.isInteger(header.shard) || header.shard < 0 || header.shard > UINT32_MAX) {
    throw new Error(`log record: shard must be a uint32, got ${header.shard}`);
  }
  for (const [name, value] of [["epoch", header.epoch], ["sequence", header.sequence]] as const) {
    if (value < 0n || value > UINT64_MAX) throw new Error(`log record: ${name} must be a uint64, got ${value}`);
  }
}

type WireEventInit = MessageInitShape<typeof EventSchema>;

function eventToWire(event: Event, where: string): WireEventInit {
  const atMs = timeToWire(event.atMs, where);
  switch (event.kind) {
    case "account_created":
      return { kind: { case: "accountCreated", value: { atMs } } };
    case "cash_deposited":
      return { kind: { case: "cashDeposited", value: { amountE4: int64(event.amount, where, "amount"), atMs } } };
    case "order_accepted":
      return {
        kind: {
          case: "orderAccepted",
          value: {
            terms: termsToWire(event.terms, where),
            ...holdToWire(event.holdCash, event.holdQty, where),
            atMs,
          },
        },
      };
    case "order_replace_requested":
      checkText(event.orderId, `${where}: order_id`);
      return {
        kind: {
          case: "orderReplaceRequested",
          value: {
            orderId: event.orderId,
            terms: termsToWire(event.terms, where),
            ...holdToWire(event.holdCash, event.holdQty, where),
            atMs,
          },
        },
      };
    case "order_filled":
      checkText(event.orderId, `${where}: order_id`);
      return {
        kind: {
          case: "orderFilled",
          value: {
            orderId: event.orderId,
            executionSeq: timeToWire(event.executionSeq, `${where}: execution_seq`),
            qty: int64(event.qty, where, "qty"),
            priceE4: int64(event.price, where, "price"),
            atMs,
          },
        },
      };
    default:
      return orderOutcomeToWire(event, atMs, where);
  }
}

type OrderOutcome = Extract<
  Event,
  { kind: "order_cancel_requested" | "order_canceled" | "order_expired" | "order_rejected" | "order_replaced" | "order_replace_rejected" }
>;

/** The events that only name orders, with a reason or the replacing order's id. */
function orderOutcomeToWire(event: OrderOutcome, atMs: bigint, where: string): WireEventInit {
  checkText(event.orderId, `${where}: order_id`);
  const orderId = event.orderId;
  switch (event.kind) {
    case "order_cancel_requested":
      return { kind: { case: "orderCancelRequested", value: { orderId, atMs } } };
    case "order_expired":
      return { kind: { case: "orderExpired", value: { orderId, atMs } } };
    case "order_canceled":
      checkText(event.reason, `${where}: reason`);
      return { kind: { case: "orderCanceled", value: { orderId, reason: event.reason, atMs } } };
    case "order_rejected":
      checkText(event.reason, `${where}: reason`);
      return { kind: { case: "orderRejected", value: { orderId, reason: event.reason, atMs } } };
    case "order_replaced":
      checkText(event.newOrderId, `${where}: new_order_id`);
      return { kind: { case: "orderReplaced", value: { orderId, newOrderId: event.newOrderId, atMs } } };
    case "order_replace_rejected":
      checkText(event.newOrderId, `${where}: new_order_id`);
      checkText(event.reason, `${where}: reason`);
      return {
        kind: {
          case: "orderReplaceRejected",
          value: { orderId, newOrderId: event.newOrderId, reason: event.reason, atMs },
        },
      };
  }
}

function holdToWire(holdCash: Cash, holdQty: Qty, where: string): { holdCashE4: bigint; holdQty: bigint } {
  return { holdCashE4: int64(holdCash, where, "hold_cash"), holdQty: int64(holdQty, where, "hold_qty") };
}

function termsToWire(terms: OrderTerms, where: string): MessageInitShape<typeof OrderTermsSchema> {
  for (const [name, text] of [["id", terms.id], ["client_order_id", terms.clientOrderId], ["symbol", terms.symbol]] as const) {
    checkText(text, `${where}: terms.${name}`);
  }
  if (terms.replaces !== null) checkText(terms.replaces, `${where}: terms.replaces`);
  return {
    id: terms.id,
    clientOrderId: terms.clientOrderId,
    symbol: terms.symbol,
    side: SIDE_TO_WIRE[terms.side],
    type: TYPE_TO_WIRE[terms.type],
    timeInForce: TIF_TO_WIRE[terms.timeInForce],
    qty: int64(terms.qty, where, "terms.qty"),
    // Absent, not zero, is how the schema says "no such price": zero could be a real value.
    ...optionalPrice("limitPriceE4", terms.limitPrice, where),
    ...optionalPrice("stopPriceE4", terms.stopPrice, where),
    ...optionalPrice("collarPriceE4", terms.collarPrice, where),
    ...(terms.replaces === null ? {} : { replaces: terms.replaces }),
  };
}

function optionalPrice<K extends string>(key: K, price: Price | null, where: string): { [P in K]?: bigint } {
  if (price === null) return {};
  return { [key]: int64(price, where, `terms.${key}`) } as { [P in K]?: bigint };
}

function int64(value: bigint, where: string, field: string): bigint {
  if (value < INT64_MIN || value > INT64_MAX) throw new Error(`log record: ${where}: ${field} ${value} does not fit int64`);
  return value;
}

function timeToWire(value: number, where: string): bigint {
  if (!Number.isSafeInteger(value)) throw new Error(`log record: ${where}: ${value} is not a safe integer`);
  return BigInt(value);
}

/** A lone UTF-16 surrogate would be replaced silently by UTF-8 encoding: refuse it instead. */
function checkText(text: string, where: string): void {
  if (!text.isWellFormed()) throw new Error(`log record: ${where} is not well-formed Unicode`);
}

function eventFromWire(event: WireEvent, where: string): Event {
  const kind = event.kind;
  switch (kind.case) {
    case undefined:
      throw new Error(`${where}: no event kind is set`);
    case "accountCreated":
      return { kind: "account_created", atMs: timeFromWire(kind.value.atMs, where) };
    case "cashDeposited":
      return { kind: "cash_deposited", amount: kind.value.amountE4, atMs: timeFromWire(kind.value.atMs, where) };
    case "orderAccepted": {
      const { terms, holdCashE4, holdQty, atMs } = kind.value;
      return {
        kind: "order_accepted",
        terms: termsFromWire(terms, where),
        holdCash: holdCashE4,
        holdQty,
        atMs: timeFromWire(atMs, where),
      };
    }
    case "orderReplaceRequested": {
      const { orderId, terms, holdCashE4, holdQty, atMs } = kind.value;
      return {
        kind: "order_replace_requested",
        orderId,
        terms: termsFromWire(terms, where),
        holdCash: holdCashE4,
        holdQty,
        atMs: timeFromWire(atMs, where),
      };
    }
    case "orderFilled": {
      const { orderId, executionSeq, qty, priceE4, atMs } = kind.value;
      const seq = timeFromWire(executionSeq, `${where}: execution_seq`);
      return { kind: "order_filled", orderId, executionSeq: seq, qty, price: priceE4, atMs: timeFromWire(atMs, where) };
    }
    default:
      return orderOutcomeFromWire(kind, where);
  }
}

type WireOrderOutcome = Extract<
  WireEvent["kind"],
  {
    case:
      | "orderCancelRequested"
      | "orderCanceled"
      | "orderExpired"
      | "orderRejected"
      | "orderReplaced"
      | "orderReplaceRejected";
  }
>;

function orderOutcomeFromWire(kind: WireOrderOutcome, where: string): Event {
  const orderId = kind.value.orderId;
  const atMs = timeFromWire(kind.value.atMs, where);
  switch (kind.case) {
    case "orderCancelRequested":
      return { kind: "order_cancel_requested", orderId, atMs };
    case "orderExpired":
      return { kind: "order_expired", orderId, atMs };
    case "orderCanceled":
      return { kind: "order_canceled", orderId, reason: kind.value.reason, atMs };
    case "orderRejected":
      return { kind: "order_rejected", orderId, reason: kind.value.reason, atMs };
    case "orderReplaced":
      return { kind: "order_replaced", orderId, newOrderId: kind.value.newOrderId, atMs };
    case "orderReplaceRejected":
      return {
        kind: "order_replace_rejected",
        orderId,
        newOrderId: kind.value.newOrderId,
        reason: kind.value.reason,
        atMs,
      };
  }
}

function termsFromWire(terms: WireOrderTerms | undefined, where: string): OrderTerms {
  if (terms === undefined) throw new Error(`${where}: terms are missing`);
  return {
    id: terms.id,
    clientOrderId: terms.clientOrderId,
    symbol: terms.symbol,
    side: known(SIDE_FROM_WIRE, terms.side, `${where}: terms.side`),
    type: known(TYPE_FROM_WIRE, terms.type, `${where}: terms.type`),
    timeInForce: known(TIF_FROM_WIRE, terms.timeInForce, `${where}: terms.time_in_force`),
    qty: terms.qty,
    limitPrice: terms.limitPriceE4 ?? null,
    stopPrice: terms.stopPriceE4 ?? null,
    collarPrice: terms.collarPriceE4 ?? null,
    replaces: terms.replaces ?? null,
  };
}

function timeFromWire(value: bigint, where: string): number {
  const number = Number(value);
  if (!Number.isSafeInteger(number)) throw new Error(`${where}: ${value} is not a safe integer`);
  return number;
}

function known<T>(table: ReadonlyMap<number, T>, value: number, where: string): T {
  const domain = table.get(value);
  if (domain === undefined) throw new Error(`${where}: ${value} is not a known value`);
  return domain;
}

function invert<D extends string, W extends number>(table: Readonly<{ [K in D]: W }>): ReadonlyMap<number, D> {
  return new Map(Object.entries(table).map(([domain, wire]) => [wire as W, domain as D]));
}
