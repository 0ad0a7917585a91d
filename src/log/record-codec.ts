// The write-ahead log's record codec: a LogRecord to and from the published oms.log.v1
// schema. Every record is checked right before it is written and again when it is read back,
// so a record that would not come back exactly is refused at the writer, and a damaged or
// foreign record is refused at the reader instead of being replayed into the ledger.
//
// Written by hand over protobuf-wire.ts rather than with protobuf-es's generic toBinary and
// fromBinary, which cost 2–3 µs a record on the commit path and in replay. The bytes are the
// schema's exactly: what this encoder writes, fromBinary(RecordSchema) reads as the same
// message (and toBinary writes the same bytes for it), and what toBinary writes, this decoder
// reads as the same record; test/log/record-codec.test.ts holds it to both. As protobuf
// requires, fields are read in any order, a repeated singular field's last value wins (a
// repeated message field merges), and unknown fields are skipped: the reserved
// OrderAccepted.fingerprint (field 2) of older records among them.
import type { Cash, Price, Qty } from "../core/money.ts";
import type { Event } from "../core/event.ts";
import type { OrderTerms, OrderType, Side, TimeInForce } from "../core/order.ts";
import type { LogRecord, RecordHeader } from "./event-log.ts";
import { fieldTag as tag, WIRE_LENGTH_DELIMITED, WIRE_VARINT, WireFormatError, WireReader, WireWriter } from "../rpc/protobuf-wire.ts";

/** The only format this codec writes and the only one it reads. */
export const RECORD_FORMAT_VERSION = 1;

export type { RecordHeader };

const UINT32_MAX = 0xffff_ffff;
const UINT64_MAX = (1n << 64n) - 1n;
const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

// The schema's enums, by wire number (0 is UNSPECIFIED, which no record may hold).
const SIDES: readonly (Side | undefined)[] = [undefined, "buy", "sell"];
const ORDER_TYPES: readonly (OrderType | undefined)[] = [undefined, "market", "limit", "stop", "stop_limit"];
const TIMES_IN_FORCE: readonly (TimeInForce | undefined)[] = [undefined, "day", "gtc", "ioc", "fok"];
const SIDE_TO_WIRE: Readonly<{ [K in Side]: number }> = { buy: 1, sell: 2 };
const TYPE_TO_WIRE: Readonly<{ [K in OrderType]: number }> = { market: 1, limit: 2, stop: 3, stop_limit: 4 };
const TIF_TO_WIRE: Readonly<{ [K in TimeInForce]: number }> = { day: 1, gtc: 2, ioc: 3, fok: 4 };

/** Event.kind's field numbers, one per event kind. */
const KIND = {
  account_created: 1,
  cash_deposited: 2,
  order_accepted: 3,
  order_cancel_requested: 4,
  order_replace_requested: 5,
  order_filled: 6,
  order_canceled: 7,
  order_expired: 8,
  order_rejected: 9,
  order_replaced: 10,
  order_replace_rejected: 11,
} as const satisfies { [K in Event["kind"]]: number };
const KIND_NAMES: readonly string[] = ["", ...Object.keys(KIND)];

// ---------------------------------------------------------------------------------------------
// Encoding

const writer = new WireWriter();


export function encodeRecord(header: RecordHeader, record: LogRecord): Uint8Array {
  checkHeader(header);
  const w = writer;
  w.reset();
  // Fields go in number order and a field at its zero value is left out, as toBinary does,
  // so the bytes are the ones the generated codec writes.
  w.varint(tag(1, WIRE_LENGTH_DELIMITED));
  const headerAt = w.begin();
  w.varint(tag(1, WIRE_VARINT));
  w.varint(RECORD_FORMAT_VERSION);
  if (header.shard !== 0) uint32Field(w, 2, header.shard);
  if (header.epoch !== 0n) uint64Field(w, 3, header.epoch);
  if (header.sequence !== 0n) uint64Field(w, 4, header.sequence);
  w.end(headerAt);
  const events = record.events;
  let index = -1;
  try {
    textField(w, 2, record.accountId, "account_id");
    for (index = 0; index < events.length; index += 1) {
      const event = events[index] as Event;
      w.varint(tag(3, WIRE_LENGTH_DELIMITED));
      const eventAt = w.begin();
      w.varint(tag(KIND[event.kind], WIRE_LENGTH_DELIMITED));
      const kindAt = w.begin();
      writeEvent(w, event);
      w.end(kindAt);
      w.end(eventAt);
    }
  } catch (cause) {
    if (!(cause instanceof FieldRefusal)) throw cause;
    // The event is named only here: the commit path encodes every record and names none.
    const where = index < 0 || index >= events.length ? "" : `event ${index} (${events[index]?.kind}): `;
    throw new Error(`log record: ${where}${cause.message}`);
  }
  return w.finish();
}

/** A field's value that the schema cannot carry exactly; encodeRecord says which event. */
class FieldRefusal extends Error {}

function checkHeader(header: RecordHeader): void {
  if (!Number.isInteger(header.shard) || header.shard < 0 || header.shard > UINT32_MAX) {
    throw new Error(`log record: shard must be a uint32, got ${header.shard}`);
  }
  if (header.epoch < 0n || header.epoch > UINT64_MAX) throw new Error(`log record: epoch must be a uint64, got ${header.epoch}`);
  if (header.sequence < 0n || header.sequence > UINT64_MAX) {
    throw new Error(`log record: sequence must be a uint64, got ${header.sequence}`);
  }
}

/** The body of the event's kind message. */
function writeEvent(w: WireWriter, event: Event): void {
  switch (event.kind) {
    case "account_created":
      timeField(w, 1, event.atMs, "at_ms");
      return;
    case "cash_deposited":
      int64Field(w, 1, event.amount, "amount");
      timeField(w, 2, event.atMs, "at_ms");
      return;
    case "order_accepted":
      termsField(w, 1, event.terms);
      holdFields(w, event.holdCash, event.holdQty);
      timeField(w, 5, event.atMs, "at_ms");
      return;
    case "order_replace_requested":
      textField(w, 1, event.orderId, "order_id");
      termsField(w, 2, event.terms);
      holdFields(w, event.holdCash, event.holdQty);
      timeField(w, 5, event.atMs, "at_ms");
      return;
    case "order_filled":
      textField(w, 1, event.orderId, "order_id");
      timeField(w, 2, event.executionSeq, "execution_seq");
      int64Field(w, 3, event.qty, "qty");
      int64Field(w, 4, event.price, "price");
      timeField(w, 5, event.atMs, "at_ms");
      return;
    case "order_cancel_requested":
    case "order_expired":
      textField(w, 1, event.orderId, "order_id");
      timeField(w, 2, event.atMs, "at_ms");
      return;
    case "order_canceled":
    case "order_rejected":
      textField(w, 1, event.orderId, "order_id");
      textField(w, 2, event.reason, "reason");
      timeField(w, 3, event.atMs, "at_ms");
      return;
    case "order_replaced":
      textField(w, 1, event.orderId, "order_id");
      textField(w, 2, event.newOrderId, "new_order_id");
      timeField(w, 3, event.atMs, "at_ms");
      return;
    case "order_replace_rejected":
      textField(w, 1, event.orderId, "order_id");
      textField(w, 2, event.newOrderId, "new_order_id");
      textField(w, 3, event.reason, "reason");
      timeField(w, 4, event.atMs, "at_ms");
      return;
  }
}

function holdFields(w: WireWriter, holdCash: Cash, holdQty: Qty): void {
  int64Field(w, 3, holdCash, "hold_cash");
  int64Field(w, 4, holdQty, "hold_qty");
}

function termsField(w: WireWriter, fieldNumber: number, terms: OrderTerms): void {
  w.varint(tag(fieldNumber, WIRE_LENGTH_DELIMITED));
  const at = w.begin();
  textField(w, 1, terms.id, "terms.id");
  textField(w, 2, terms.clientOrderId, "terms.client_order_id");
  textField(w, 3, terms.symbol, "terms.symbol");
  enumField(w, 4, SIDE_TO_WIRE[terms.side]);
  enumField(w, 5, TYPE_TO_WIRE[terms.type]);
  enumField(w, 6, TIF_TO_WIRE[terms.timeInForce]);
  int64Field(w, 7, terms.qty, "terms.qty");
  // Absent, not zero, is how the schema says "no such price": zero could be a real value.
  optionalPriceField(w, 8, terms.limitPrice, "terms.limitPriceE4");
  optionalPriceField(w, 9, terms.stopPrice, "terms.stopPriceE4");
  optionalPriceField(w, 10, terms.collarPrice, "terms.collarPriceE4");
  if (terms.replaces !== null) {
    w.varint(tag(11, WIRE_LENGTH_DELIMITED));
    if (!w.string(terms.replaces)) throw new FieldRefusal("terms.replaces is not well-formed Unicode");
  }
  w.end(at);
}

function uint32Field(w: WireWriter, fieldNumber: number, value: number): void {
  w.varint(tag(fieldNumber, WIRE_VARINT));
  w.varint(value);
}

function uint64Field(w: WireWriter, fieldNumber: number, value: bigint): void {
  w.varint(tag(fieldNumber, WIRE_VARINT));
  w.varintBig(value);
}

function enumField(w: WireWriter, fieldNumber: number, value: number | undefined): void {
  if (value === undefined) throw new Error(`log record: field ${fieldNumber} holds no value of its enum`);
  w.varint(tag(fieldNumber, WIRE_VARINT));
  w.varint(value);
}

/** A lone UTF-16 surrogate would be replaced silently by UTF-8 encoding: refuse it instead. */
function textField(w: WireWriter, fieldNumber: number, text: string, field: string): void {
  if (text === "") return;
  w.varint(tag(fieldNumber, WIRE_LENGTH_DELIMITED));
  if (!w.string(text)) throw new FieldRefusal(`${field} is not well-formed Unicode`);
}

function int64Field(w: WireWriter, fieldNumber: number, value: bigint, field: string): void {
  if (value === 0n) return;
  if (value < INT64_MIN || value > INT64_MAX) throw new FieldRefusal(`${field} ${value} does not fit int64`);
  w.varint(tag(fieldNumber, WIRE_VARINT));
  w.varintBig(value);
}

function optionalPriceField(w: WireWriter, fieldNumber: number, price: Price | null, field: string): void {
  if (price === null) return;
  if (price < INT64_MIN || price > INT64_MAX) throw new FieldRefusal(`${field} ${price} does not fit int64`);
  w.varint(tag(fieldNumber, WIRE_VARINT));
  w.varintBig(price);
}

/** Times and execution sequences are JS numbers in the domain, int64 on the wire. */
function timeField(w: WireWriter, fieldNumber: number, value: number, field: string): void {
  if (!Number.isSafeInteger(value)) throw new FieldRefusal(`${field} ${value} is not a safe integer`);
  if (value === 0) return;
  w.varint(tag(fieldNumber, WIRE_VARINT));
  if (value > 0) w.varint(value);
  else w.varintBig(BigInt(value));
}


// ---------------------------------------------------------------------------------------------
// Decoding

const reader = new WireReader();

/** What one Event message has said so far: an event kind's fields, merged as protobuf merges. */
interface EventFields {
  kind: number;
  orderId: string;
  reason: string;
  newOrderId: string;
  amount: bigint;
  holdCash: bigint;
  holdQty: bigint;
  qty: bigint;
  price: bigint;
  /** Null when the wire value is not a safe integer; the text says what it was. */
  atMs: number | null;
  atMsText: string;
  executionSeq: number | null;
  executionSeqText: string;
  terms: TermsFields | null;
}

interface TermsFields {
  id: string;
  clientOrderId: string;
  symbol: string;
  side: number;
  type: number;
  timeInForce: number;
  qty: bigint;
  limitPrice: bigint | null;
  stopPrice: bigint | null;
  collarPrice: bigint | null;
  replaces: string | null;
}

const fields: EventFields = {
  kind: 0,
  orderId: "",
  reason: "",
  newOrderId: "",
  amount: 0n,
  holdCash: 0n,
  holdQty: 0n,
  qty: 0n,
  price: 0n,
  atMs: 0,
  atMsText: "",
  executionSeq: 0,
  executionSeqText: "",
  terms: null,
};

/** Reused for every event's terms; `fields.terms` points at it once terms were read. */
const termsScratch: TermsFields = {
  id: "",
  clientOrderId: "",
  symbol: "",
  side: 0,
  type: 0,
  timeInForce: 0,
  qty: 0n,
  limitPrice: null,
  stopPrice: null,
  collarPrice: null,
  replaces: null,
};

/** The event being decoded, for refusals; -1 outside the events. */
let eventIndex = -1;

/** Throws an Error saying what is wrong with a record that is not a valid version-1 record
 * (and, for damaged bytes, at which field and byte); the caller adds where the record came from. */
export function decodeRecord(bytes: Uint8Array): { header: RecordHeader; record: LogRecord } {
  eventIndex = -1;
  try {
    return readRecord(bytes);
  } catch (cause) {
    if (!(cause instanceof WireFormatError)) throw cause;
    const where = eventIndex < 0 ? "" : `event ${eventIndex}${fields.kind === 0 ? "" : ` (${KIND_NAMES[fields.kind]})`}: `;
    throw new Error(`log record: not a valid oms.log.v1.Record: ${where}${cause.message}`, { cause });
  }
}

function readRecord(bytes: Uint8Array): { header: RecordHeader; record: LogRecord } {
  const r = reader;
  r.reset(bytes);
  let headerSeen = false;
  let formatVersion = 0;
  let shard = 0;
  let epoch = 0n;
  let sequence = 0n;
  let accountId = "";
  const events: Event[] = [];
  while (r.more()) {
    const t = r.tag();
    switch (t) {
      case tag(1, WIRE_LENGTH_DELIMITED): {
        // A header given twice merges, field by field, as protobuf merges a message field.
        headerSeen = true;
        const outer = r.enter("header");
        while (r.more()) {
          const h = r.tag();
          if (h === tag(1, WIRE_VARINT)) formatVersion = r.varint32("header.format_version");
          else if (h === tag(2, WIRE_VARINT)) shard = r.varint32("header.shard");
          else if (h === tag(3, WIRE_VARINT)) epoch = r.uint64("header.epoch");
          else if (h === tag(4, WIRE_VARINT)) sequence = r.uint64("header.sequence");
          else skipOrRefuse(r, h, 4, "header");
        }
        r.leave(outer);
        break;
      }
      case tag(2, WIRE_LENGTH_DELIMITED):
        accountId = r.repeatedString("account_id");
        break;
      case tag(3, WIRE_LENGTH_DELIMITED):
        eventIndex = events.length;
        events.push(readEvent(r));
        eventIndex = -1;
        break;
      default:
        skipOrRefuse(r, t, 3, "record");
    }
  }
  if (!headerSeen) throw new Error("log record: header is missing");
  if (formatVersion !== RECORD_FORMAT_VERSION) {
    throw new Error(`log record: format_version ${formatVersion} is not supported (this reader knows ${RECORD_FORMAT_VERSION})`);
  }
  return { header: { shard, epoch, sequence }, record: { accountId, events } };
}

/**
 * Skips an unknown field. A known field (numbered 1 to `knownMax`) with another wire type than
 * the schema's is refused: it is damage, and protobuf-es would misread it rather than skip it.
 */
function skipOrRefuse(r: WireReader, t: number, knownMax: number, message: string): void {
  const fieldNumber = t >>> 3;
  if (fieldNumber <= knownMax) throw r.error(`${message} field ${fieldNumber}`, `wire type ${t & 7} is not the schema's`, r.pos);
  r.skip(t, `${message} field ${fieldNumber}`);
}

function readEvent(r: WireReader): Event {
  const f = fields;
  resetEventFields(f, 0);
  const outer = r.enter("events");
  while (r.more()) {
    const t = r.tag();
    const kind = t >>> 3;
    if (kind < 1 || kind > 11 || (t & 7) !== WIRE_LENGTH_DELIMITED) {
      skipOrRefuse(r, t, 11, "event");
      continue;
    }
    // Event.kind is a oneof: another kind replaces what came before, the same kind merges.
    if (kind !== f.kind) resetEventFields(f, kind);
    const kindOuter = r.enter(KIND_NAMES[kind] as string);
    readKindFields(r, f, kind);
    r.leave(kindOuter);
  }
  r.leave(outer);
  return eventFromFields(f);
}

function resetEventFields(f: EventFields, kind: number): void {
  f.kind = kind;
  f.orderId = "";
  f.reason = "";
  f.newOrderId = "";
  f.amount = 0n;
  f.holdCash = 0n;
  f.holdQty = 0n;
  f.qty = 0n;
  f.price = 0n;
  f.atMs = 0;
  f.executionSeq = 0;
  f.terms = null;
}

// What each field of an event kind's message holds, by field number: one table per kind.
const ORDER_ID = 1;
const REASON = 2;
const NEW_ORDER_ID = 3;
const AT_MS = 4;
const AMOUNT = 5;
const HOLD_CASH = 6;
const HOLD_QTY = 7;
const EXECUTION_SEQ = 8;
const QTY = 9;
const PRICE = 10;
const TERMS = 11;
const SLOT_FIELD_NAMES = ["", "order_id", "reason", "new_order_id", "at_ms", "amount_e4", "hold_cash_e4", "hold_qty", "execution_seq", "qty", "price_e4", "terms"];
/** Field number → slot, per kind (index 0 unused); 0 is a field the schema does not have. */
const KIND_LAYOUTS: readonly (readonly number[])[] = [
  [],
  /* account_created */ [0, AT_MS],
  /* cash_deposited */ [0, AMOUNT, AT_MS],
  // Field 2, the reserved fingerprint, is skipped as unknown.
  /* order_accepted */ [0, TERMS, 0, HOLD_CASH, HOLD_QTY, AT_MS],
  /* order_cancel_requested */ [0, ORDER_ID, AT_MS],
  /* order_replace_requested */ [0, ORDER_ID, TERMS, HOLD_CASH, HOLD_QTY, AT_MS],
  /* order_filled */ [0, ORDER_ID, EXECUTION_SEQ, QTY, PRICE, AT_MS],
  /* order_canceled */ [0, ORDER_ID, REASON, AT_MS],
  /* order_expired */ [0, ORDER_ID, AT_MS],
  /* order_rejected */ [0, ORDER_ID, REASON, AT_MS],
  /* order_replaced */ [0, ORDER_ID, NEW_ORDER_ID, AT_MS],
  /* order_replace_rejected */ [0, ORDER_ID, NEW_ORDER_ID, REASON, AT_MS],
];

function readKindFields(r: WireReader, f: EventFields, kind: number): void {
  const layout = KIND_LAYOUTS[kind] as readonly number[];
  while (r.more()) {
    const t = r.tag();
    const slot = layout[t >>> 3] ?? 0;
    if (slot === 0) {
      r.skip(t, `field ${t >>> 3}`);
      continue;
    }
    const name = SLOT_FIELD_NAMES[slot] as string;
    const wireType = slot === ORDER_ID || slot === REASON || slot === NEW_ORDER_ID || slot === TERMS ? WIRE_LENGTH_DELIMITED : WIRE_VARINT;
    if ((t & 7) !== wireType) throw r.error(name, `wire type ${t & 7} is not the schema's (${wireType})`, r.pos);
    switch (slot) {
      case ORDER_ID:
        f.orderId = r.string(name);
        break;
      case REASON:
        f.reason = r.string(name);
        break;
      case NEW_ORDER_ID:
        f.newOrderId = r.string(name);
        break;
      case AT_MS:
        f.atMs = r.int64Safe(name);
        if (f.atMs === null) f.atMsText = r.int64Text();
        break;
      case EXECUTION_SEQ:
        f.executionSeq = r.int64Safe(name);
        if (f.executionSeq === null) f.executionSeqText = r.int64Text();
        break;
      case AMOUNT:
        f.amount = r.int64(name);
        break;
      case HOLD_CASH:
        f.holdCash = r.int64(name);
        break;
      case HOLD_QTY:
        f.holdQty = r.int64(name);
        break;
      case QTY:
        f.qty = r.int64(name);
        break;
      case PRICE:
        f.price = r.int64(name);
        break;
      case TERMS:
        f.terms = readTerms(r, f.terms);
        break;
    }
  }
}

/** Reads an OrderTerms message, merging into `earlier` when the field came before. */
function readTerms(r: WireReader, earlier: TermsFields | null): TermsFields {
  const terms = termsScratch;
  if (earlier === null) {
    terms.id = "";
    terms.clientOrderId = "";
    terms.symbol = "";
    terms.side = 0;
    terms.type = 0;
    terms.timeInForce = 0;
    terms.qty = 0n;
    terms.limitPrice = null;
    terms.stopPrice = null;
    terms.collarPrice = null;
    terms.replaces = null;
  }
  const outer = r.enter("terms");
  while (r.more()) {
    const t = r.tag();
    switch (t) {
      case tag(1, WIRE_LENGTH_DELIMITED):
        terms.id = r.string("terms.id");
        break;
      case tag(2, WIRE_LENGTH_DELIMITED):
        terms.clientOrderId = r.string("terms.client_order_id");
        break;
      case tag(3, WIRE_LENGTH_DELIMITED):
        terms.symbol = r.repeatedString("terms.symbol");
        break;
      case tag(4, WIRE_VARINT):
        terms.side = r.enumValue("terms.side");
        break;
      case tag(5, WIRE_VARINT):
        terms.type = r.enumValue("terms.type");
        break;
      case tag(6, WIRE_VARINT):
        terms.timeInForce = r.enumValue("terms.time_in_force");
        break;
      case tag(7, WIRE_VARINT):
        terms.qty = r.int64("terms.qty");
        break;
      case tag(8, WIRE_VARINT):
        terms.limitPrice = r.int64("terms.limit_price_e4");
        break;
      case tag(9, WIRE_VARINT):
        terms.stopPrice = r.int64("terms.stop_price_e4");
        break;
      case tag(10, WIRE_VARINT):
        terms.collarPrice = r.int64("terms.collar_price_e4");
        break;
      case tag(11, WIRE_LENGTH_DELIMITED):
        terms.replaces = r.string("terms.replaces");
        break;
      default:
        skipOrRefuse(r, t, 11, "terms");
    }
  }
  r.leave(outer);
  // Most orders' client order id is their id: one string for both, as the node built them,
  // rather than a second copy of the same text kept for the order's life.
  if (terms.clientOrderId === terms.id) terms.clientOrderId = terms.id;
  return terms;
}

/** The domain event, checked as the schema's comments require: a kind set, terms present,
 * enums known, times exact. */
function eventFromFields(f: EventFields): Event {
  switch (f.kind) {
    case 0:
      throw new Error(`log record: event ${eventIndex}: no event kind is set`);
    case KIND.account_created:
      return { kind: "account_created", atMs: atMsOf(f) };
    case KIND.cash_deposited:
      return { kind: "cash_deposited", amount: f.amount, atMs: atMsOf(f) };
    case KIND.order_accepted:
      return { kind: "order_accepted", terms: termsOf(f.terms), holdCash: f.holdCash, holdQty: f.holdQty, atMs: atMsOf(f) };
    case KIND.order_replace_requested:
      return {
        kind: "order_replace_requested",
        orderId: f.orderId,
        terms: termsOf(f.terms),
        holdCash: f.holdCash,
        holdQty: f.holdQty,
        atMs: atMsOf(f),
      };
    case KIND.order_filled: {
      const executionSeq = f.executionSeq;
      if (executionSeq === null) throw new Error(`log record: event ${eventIndex}: execution_seq: ${f.executionSeqText} is not a safe integer`);
      return { kind: "order_filled", orderId: f.orderId, executionSeq, qty: f.qty, price: f.price, atMs: atMsOf(f) };
    }
    case KIND.order_cancel_requested:
      return { kind: "order_cancel_requested", orderId: f.orderId, atMs: atMsOf(f) };
    case KIND.order_expired:
      return { kind: "order_expired", orderId: f.orderId, atMs: atMsOf(f) };
    case KIND.order_canceled:
      return { kind: "order_canceled", orderId: f.orderId, reason: f.reason, atMs: atMsOf(f) };
    case KIND.order_rejected:
      return { kind: "order_rejected", orderId: f.orderId, reason: f.reason, atMs: atMsOf(f) };
    case KIND.order_replaced:
      return { kind: "order_replaced", orderId: f.orderId, newOrderId: f.newOrderId, atMs: atMsOf(f) };
    default:
      return { kind: "order_replace_rejected", orderId: f.orderId, newOrderId: f.newOrderId, reason: f.reason, atMs: atMsOf(f) };
  }
}

function atMsOf(f: EventFields): number {
  if (f.atMs === null) throw new Error(`log record: event ${eventIndex}: at_ms: ${f.atMsText} is not a safe integer`);
  return f.atMs;
}

function termsOf(terms: TermsFields | null): OrderTerms {
  if (terms === null) throw new Error(`log record: event ${eventIndex}: terms are missing`);
  return {
    id: terms.id,
    clientOrderId: terms.clientOrderId,
    symbol: terms.symbol,
    side: known(SIDES, terms.side, "terms.side"),
    type: known(ORDER_TYPES, terms.type, "terms.type"),
    timeInForce: known(TIMES_IN_FORCE, terms.timeInForce, "terms.time_in_force"),
    qty: terms.qty,
    limitPrice: terms.limitPrice,
    stopPrice: terms.stopPrice,
    collarPrice: terms.collarPrice,
    replaces: terms.replaces,
  };
}

function known<T>(table: readonly (T | undefined)[], value: number, field: string): T {
  const domain = value >= 0 ? table[value] : undefined;
  if (domain === undefined) throw new Error(`log record: event ${eventIndex}: ${field}: ${value} is not a known value`);
  return domain;
}
