// The log record codec written directly over protobuf-es's BinaryReader and BinaryWriter (field
// numbers from the generated descriptors), only for record-codec.micro.ts to compare with the
// generated codec: the third design issue 9 asks to measure. Not used by the OMS.
import { BinaryReader, BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import type { Event } from "../../src/core/event.ts";
import type { OrderTerms, OrderType, Side, TimeInForce } from "../../src/core/order.ts";
import { EventSchema, OrderTermsSchema, RecordHeaderSchema, RecordSchema } from "../../src/gen/oms/log/v1/events_pb.ts";
import type { LogRecord, RecordHeader } from "../../src/log/event-log.ts";

const R = RecordSchema.field;
const H = RecordHeaderSchema.field;
const E = EventSchema.field;
const T = OrderTermsSchema.field;
const SIDES: readonly Side[] = ["buy", "sell"];
const TYPES: readonly OrderType[] = ["market", "limit", "stop", "stop_limit"];
const TIFS: readonly TimeInForce[] = ["day", "gtc", "ioc", "fok"];
const SIDE_NUMBER = { buy: 1, sell: 2 } as const;
const TYPE_NUMBER = { market: 1, limit: 2, stop: 3, stop_limit: 4 } as const;
const TIF_NUMBER = { day: 1, gtc: 2, ioc: 3, fok: 4 } as const;
const TRADING_STATE_NUMBER = { active: 1, trading_blocked: 2, account_blocked: 3 } as const;
const TRADING_STATES = ["active", "trading_blocked", "account_blocked"] as const;
const KIND_NUMBER: Record<Event["kind"], number> = {
  account_created: E.accountCreated.number,
  cash_deposited: E.cashDeposited.number,
  cash_withdrawn: E.cashWithdrawn.number,
  trading_state_set: E.tradingStateSet.number,
  order_accepted: E.orderAccepted.number,
  order_cancel_requested: E.orderCancelRequested.number,
  order_replace_requested: E.orderReplaceRequested.number,
  order_filled: E.orderFilled.number,
  order_canceled: E.orderCanceled.number,
  order_expired: E.orderExpired.number,
  order_rejected: E.orderRejected.number,
  order_replaced: E.orderReplaced.number,
  order_replace_rejected: E.orderReplaceRejected.number,
};
const KIND_OF_NUMBER = new Map(Object.entries(KIND_NUMBER).map(([kind, number]) => [number, kind as Event["kind"]]));

export function encodeRecordBinaryRw(header: RecordHeader, record: LogRecord): Uint8Array {
  const w = new BinaryWriter();
  w.tag(R.header.number, WireType.LengthDelimited).fork();
  w.tag(H.formatVersion.number, WireType.Varint).uint32(1);
  if (header.shard !== 0) w.tag(H.shard.number, WireType.Varint).uint32(header.shard);
  if (header.epoch !== 0n) w.tag(H.epoch.number, WireType.Varint).uint64(header.epoch);
  if (header.sequence !== 0n) w.tag(H.sequence.number, WireType.Varint).uint64(header.sequence);
  w.join();
  if (record.accountId !== "") w.tag(R.accountId.number, WireType.LengthDelimited).string(record.accountId);
  for (const event of record.events) {
    w.tag(R.events.number, WireType.LengthDelimited).fork();
    w.tag(KIND_NUMBER[event.kind], WireType.LengthDelimited).fork();
    writeKind(w, event);
    w.join().join();
  }
  return w.finish();
}

// Each kind's fields in number order; the numbers are those of the kind messages in events.proto.
function writeKind(w: BinaryWriter, event: Event): void {
  const int64 = (no: number, value: bigint | number) => {
    if (value !== 0 && value !== 0n) w.tag(no, WireType.Varint).int64(value);
  };
  const text = (no: number, value: string) => {
    if (value !== "") w.tag(no, WireType.LengthDelimited).string(value);
  };
  switch (event.kind) {
    case "account_created":
      int64(1, event.atMs);
      return;
    case "cash_deposited":
    case "cash_withdrawn":
      int64(1, event.amount);
      int64(2, event.atMs);
      return;
    case "trading_state_set":
      int64(1, TRADING_STATE_NUMBER[event.tradingState]);
      int64(2, event.atMs);
      return;
    case "order_accepted":
      w.tag(1, WireType.LengthDelimited).fork();
      writeTerms(w, event.terms);
      w.join();
      int64(3, event.holdCash);
      int64(4, event.holdQty);
      int64(5, event.atMs);
      return;
    case "order_replace_requested":
      text(1, event.orderId);
      w.tag(2, WireType.LengthDelimited).fork();
      writeTerms(w, event.terms);
      w.join();
      int64(3, event.holdCash);
      int64(4, event.holdQty);
      int64(5, event.atMs);
      return;
    case "order_filled":
      text(1, event.orderId);
      int64(2, event.executionSeq);
      int64(3, event.qty);
      int64(4, event.price);
      int64(5, event.atMs);
      return;
    case "order_cancel_requested":
    case "order_expired":
      text(1, event.orderId);
      int64(2, event.atMs);
      return;
    case "order_canceled":
    case "order_rejected":
      text(1, event.orderId);
      text(2, event.reason);
      int64(3, event.atMs);
      return;
    case "order_replaced":
      text(1, event.orderId);
      text(2, event.newOrderId);
      int64(3, event.atMs);
      return;
    case "order_replace_rejected":
      text(1, event.orderId);
      text(2, event.newOrderId);
      text(3, event.reason);
      int64(4, event.atMs);
      return;
  }
}

function writeTerms(w: BinaryWriter, terms: OrderTerms): void {
  if (terms.id !== "") w.tag(T.id.number, WireType.LengthDelimited).string(terms.id);
  if (terms.clientOrderId !== "") w.tag(T.clientOrderId.number, WireType.LengthDelimited).string(terms.clientOrderId);
  if (terms.symbol !== "") w.tag(T.symbol.number, WireType.LengthDelimited).string(terms.symbol);
  w.tag(T.side.number, WireType.Varint).int32(SIDE_NUMBER[terms.side]);
  w.tag(T.type.number, WireType.Varint).int32(TYPE_NUMBER[terms.type]);
  w.tag(T.timeInForce.number, WireType.Varint).int32(TIF_NUMBER[terms.timeInForce]);
  if (terms.qty !== 0n) w.tag(T.qty.number, WireType.Varint).int64(terms.qty);
  if (terms.limitPrice !== null) w.tag(T.limitPriceE4.number, WireType.Varint).int64(terms.limitPrice);
  if (terms.stopPrice !== null) w.tag(T.stopPriceE4.number, WireType.Varint).int64(terms.stopPrice);
  if (terms.collarPrice !== null) w.tag(T.collarPriceE4.number, WireType.Varint).int64(terms.collarPrice);
  if (terms.replaces !== null) w.tag(T.replaces.number, WireType.LengthDelimited).string(terms.replaces);
}

export function decodeRecordBinaryRw(bytes: Uint8Array): { header: RecordHeader; record: LogRecord } {
  const r = new BinaryReader(bytes);
  const header: RecordHeader = { shard: 0, epoch: 0n, sequence: 0n };
  let accountId = "";
  const events: Event[] = [];
  while (r.pos < r.len) {
    const [no, wireType] = r.tag();
    if (no === R.header.number) {
      const end = r.uint32() + r.pos;
      while (r.pos < end) {
        const [h, hw] = r.tag();
        if (h === H.formatVersion.number) r.uint32();
        else if (h === H.shard.number) header.shard = r.uint32();
        else if (h === H.epoch.number) header.epoch = (r.uint64() as bigint);
        else if (h === H.sequence.number) header.sequence = (r.uint64() as bigint);
        else r.skip(hw, h);
      }
    } else if (no === R.accountId.number) accountId = r.string();
    else if (no === R.events.number) events.push(readEvent(r, r.uint32() + r.pos));
    else r.skip(wireType, no);
  }
  return { header, record: { accountId, events } };
}

function readEvent(r: BinaryReader, end: number): Event {
  let event: Event | undefined;
  while (r.pos < end) {
    const [no] = r.tag();
    const kind = KIND_OF_NUMBER.get(no);
    const kindEnd = r.uint32() + r.pos;
    const f = { orderId: "", reason: "", newOrderId: "", a: 0n, b: 0n, c: 0n, d: 0n, e: 0n, terms: undefined as OrderTerms | undefined };
    while (r.pos < kindEnd) {
      const [field, wireType] = r.tag();
      if (wireType === WireType.LengthDelimited) {
        if ((kind === "order_accepted" && field === 1) || (kind === "order_replace_requested" && field === 2)) f.terms = readTerms(r, r.uint32() + r.pos);
        else if (field === 1) f.orderId = r.string();
        else if (field === 2 && kind === "order_replaced") f.newOrderId = r.string();
        else if (field === 2 && kind === "order_replace_rejected") f.newOrderId = r.string();
        else f.reason = r.string();
      } else {
        const value = (r.int64() as bigint);
        if (field === 1) f.a = value;
        else if (field === 2) f.b = value;
        else if (field === 3) f.c = value;
        else if (field === 4) f.d = value;
        else f.e = value;
      }
    }
    event = eventOf(kind, f);
  }
  if (event === undefined) throw new Error("no event kind");
  return event;
}

function eventOf(kind: Event["kind"] | undefined, f: { orderId: string; reason: string; newOrderId: string; a: bigint; b: bigint; c: bigint; d: bigint; e: bigint; terms: OrderTerms | undefined }): Event {
  switch (kind) {
    case "account_created":
      return { kind, atMs: Number(f.a) };
    case "cash_deposited":
    case "cash_withdrawn":
      return { kind, amount: f.a, atMs: Number(f.b) };
    case "trading_state_set":
      return { kind, tradingState: TRADING_STATES[Number(f.a) - 1] ?? "active", atMs: Number(f.b) };
    case "order_accepted":
      return { kind, terms: f.terms as OrderTerms, holdCash: f.c, holdQty: f.d, atMs: Number(f.e) };
    case "order_replace_requested":
      return { kind, orderId: f.orderId, terms: f.terms as OrderTerms, holdCash: f.c, holdQty: f.d, atMs: Number(f.e) };
    case "order_filled":
      return { kind, orderId: f.orderId, executionSeq: Number(f.b), qty: f.c, price: f.d, atMs: Number(f.e) };
    case "order_cancel_requested":
    case "order_expired":
      return { kind, orderId: f.orderId, atMs: Number(f.b) };
    case "order_canceled":
    case "order_rejected":
      return { kind, orderId: f.orderId, reason: f.reason, atMs: Number(f.c) };
    case "order_replaced":
      return { kind, orderId: f.orderId, newOrderId: f.newOrderId, atMs: Number(f.c) };
    case "order_replace_rejected":
      return { kind, orderId: f.orderId, newOrderId: f.newOrderId, reason: f.reason, atMs: Number(f.d) };
    default:
      throw new Error("no event kind");
  }
}

function readTerms(r: BinaryReader, end: number): OrderTerms {
  const terms: OrderTerms = { id: "", clientOrderId: "", symbol: "", side: "buy", type: "limit", timeInForce: "day", qty: 0n, limitPrice: null, stopPrice: null, collarPrice: null, replaces: null };
  while (r.pos < end) {
    const [no, wireType] = r.tag();
    if (no === T.id.number) terms.id = r.string();
    else if (no === T.clientOrderId.number) terms.clientOrderId = r.string();
    else if (no === T.symbol.number) terms.symbol = r.string();
    else if (no === T.side.number) terms.side = SIDES[r.int32() - 1] as Side;
    else if (no === T.type.number) terms.type = TYPES[r.int32() - 1] as OrderType;
    else if (no === T.timeInForce.number) terms.timeInForce = TIFS[r.int32() - 1] as TimeInForce;
    else if (no === T.qty.number) terms.qty = (r.int64() as bigint);
    else if (no === T.limitPriceE4.number) terms.limitPrice = (r.int64() as bigint);
    else if (no === T.stopPriceE4.number) terms.stopPrice = (r.int64() as bigint);
    else if (no === T.collarPriceE4.number) terms.collarPrice = (r.int64() as bigint);
    else if (no === T.replaces.number) terms.replaces = r.string();
    else r.skip(wireType, no);
  }
  return terms;
}
