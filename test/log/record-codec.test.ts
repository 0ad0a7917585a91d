import { describe, expect, test } from "bun:test";
import { create, fromBinary, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import fc from "fast-check";
import type { Event } from "../../src/core/event.ts";
import type { OrderTerms } from "../../src/core/order.ts";
import type { LogRecord } from "../../src/log/event-log.ts";
import { decodeRecord, encodeRecord, type RecordHeader } from "../../src/log/record-codec.ts";
import { EventSchema, OrderAcceptedSchema, type OrderType as WireOrderType, RecordSchema } from "../../src/gen/oms/log/v1/events_pb.ts";
import { eventArbitrary, headerArbitrary, text, wireRecordArbitrary } from "./record-arbitraries.ts";

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

const header: RecordHeader = { shard: 7, epoch: 0n, sequence: 42n };

const terms: OrderTerms = {
  id: "ord-1",
  clientOrderId: "client-1",
  symbol: "AAPL",
  side: "buy",
  type: "stop_limit",
  timeInForce: "gtc",
  qty: 100n,
  limitPrice: 1_892_500n,
  stopPrice: 0n,
  collarPrice: 1_900_000n,
  replaces: null,
};

/** One event of every kind, with values chosen to expose a lost field: zero prices that must
 * not turn into "absent", absent prices that must not turn into zero, extreme int64s. */
const everyKind: Event[] = [
  { kind: "account_created", atMs: 1_700_000_000_000 },
  { kind: "cash_deposited", amount: INT64_MAX, atMs: 1 },
  { kind: "order_accepted", terms, holdCash: 189_250_000n, holdQty: 0n, atMs: 2 },
  { kind: "order_cancel_requested", orderId: "ord-1", atMs: 3 },
  {
    kind: "order_replace_requested",
    orderId: "ord-1",
    terms: { ...terms, id: "ord-2", side: "sell", type: "market", timeInForce: "ioc", limitPrice: null, stopPrice: null, collarPrice: null, replaces: "ord-1" },
    holdCash: 0n,
    holdQty: 50n,
    atMs: 4,
  },
  { kind: "order_filled", orderId: "ord-1", executionSeq: Number.MAX_SAFE_INTEGER, qty: 10n, price: INT64_MIN, atMs: 5 },
  { kind: "order_canceled", orderId: "ord-1", reason: "user asked", atMs: 6 },
  { kind: "order_expired", orderId: "ord-1", atMs: -7 },
  { kind: "order_rejected", orderId: "ord-1", reason: "venue halted", atMs: 8 },
  { kind: "order_replaced", orderId: "ord-1", newOrderId: "ord-2", atMs: 9 },
  { kind: "order_replace_rejected", orderId: "ord-1", newOrderId: "ord-2", reason: "too late", atMs: 10 },
  { kind: "cash_withdrawn", amount: INT64_MIN, atMs: 1 },
  { kind: "trading_state_set", tradingState: "trading_blocked", atMs: 11 },
  { kind: "trading_state_set", tradingState: "account_blocked", atMs: 12 },
  { kind: "trading_state_set", tradingState: "active", atMs: 13 },
];

function wireRecord(init: MessageInitShape<typeof RecordSchema>): Uint8Array {
  return toBinary(RecordSchema, create(RecordSchema, init));
}

describe("record codec", () => {
  test("every event kind comes back exactly, in order, with the header", () => {
    const record: LogRecord = { accountId: "acct-1", events: everyKind };
    const decoded = decodeRecord(encodeRecord(header, record));
    expect(decoded.header).toEqual(header);
    expect(decoded.record).toEqual(record);
    expect(decoded.record.events.map((event) => event.kind)).toEqual(everyKind.map((event) => event.kind));
  });

  test("arbitrary records round-trip exactly", () => {
    fc.assert(
      fc.property(headerArbitrary, text, fc.array(eventArbitrary, { maxLength: 6 }), (anyHeader, accountId, events) => {
        const decoded = decodeRecord(encodeRecord(anyHeader, { accountId, events }));
        expect(decoded.header).toEqual(anyHeader);
        expect(decoded.record).toEqual({ accountId, events });
      }),
      { numRuns: 500, seed: 20_240_611 },
    );
  });

  test("any Record the schema can hold is read as a record that encodes back to it, or refused as a log record", () => {
    fc.assert(
      fc.property(wireRecordArbitrary, (init) => {
        const bytes = wireRecord(init);
        let read: ReturnType<typeof decodeRecord>;
        try {
          read = decodeRecord(bytes);
        } catch (error) {
          expect((error as Error).constructor).toBe(Error);
          expect((error as Error).message).toStartWith("log record: ");
          return;
        }
        expect(decodeRecord(encodeRecord(read.header, read.record))).toEqual(read);
      }),
      { numRuns: 1000, seed: 20_261_206 },
    );
  });

  test("a record that is a view into a larger buffer, as Kafka hands out values, decodes the same", () => {
    const record: LogRecord = { accountId: "acct-1", events: everyKind };
    const bytes = encodeRecord(header, record);
    const larger = new Uint8Array(bytes.length + 16).fill(0xff);
    larger.set(bytes, 7);
    expect(decodeRecord(larger.subarray(7, 7 + bytes.length))).toEqual({ header, record });
    expect(decodeRecord(Buffer.from(larger.buffer, 7, bytes.length))).toEqual({ header, record });
  });

  test("the same record always encodes to the same bytes", () => {
    const record: LogRecord = { accountId: "acct-1", events: everyKind };
    expect(encodeRecord(header, record)).toEqual(encodeRecord({ ...header }, structuredClone(record)));
  });

  test("bytes that are not a record are refused with the reason", () => {
    expect(() => decodeRecord(new Uint8Array([0xff, 0xff, 0xff]))).toThrow(/not a valid oms\.log\.v1\.Record/);
  });

  test("a record without a header is refused", () => {
    expect(() => decodeRecord(wireRecord({ accountId: "acct-1" }))).toThrow("log record: header is missing");
  });

  test("an unknown format version is refused, naming both versions", () => {
    const bytes = wireRecord({ header: { formatVersion: 2, shard: 1, sequence: 0n }, accountId: "acct-1" });
    expect(() => decodeRecord(bytes)).toThrow("format_version 2 is not supported (this reader knows 1)");
  });

  test("an event with no kind set is refused, naming the event", () => {
    const bytes = wireRecord({
      header: { formatVersion: 1 },
      events: [{ kind: { case: "accountCreated", value: { atMs: 1n } } }, {}],
    });
    expect(() => decodeRecord(bytes)).toThrow("log record: event 1: no event kind is set");
  });

  test("an unknown enum value is refused, naming the field", () => {
    const bytes = wireRecord({
      header: { formatVersion: 1 },
      events: [{ kind: { case: "orderAccepted", value: { terms: { side: 1, type: 9 as WireOrderType, timeInForce: 1 } } } }],
    });
    expect(() => decodeRecord(bytes)).toThrow("log record: event 0: terms.type: 9 is not a known value");
  });

  test("an unspecified or unknown trading state is refused, naming the field", () => {
    for (const tradingState of [0, 4]) {
      const bytes = wireRecord({ header: { formatVersion: 1 }, events: [{ kind: { case: "tradingStateSet", value: { tradingState, atMs: 1n } } }] });
      expect(() => decodeRecord(bytes)).toThrow(`log record: event 0: trading_state: ${tradingState} is not a known value`);
    }
  });

  test("the events above cover every kind the schema has", () => {
    const kinds = new Set(everyKind.map((event) => event.kind));
    expect(kinds.size).toBe(EventSchema.oneofs[0]?.fields.length ?? 0);
  });

  test("an unspecified side is refused", () => {
    const bytes = wireRecord({
      header: { formatVersion: 1 },
      events: [{ kind: { case: "orderAccepted", value: { terms: { side: 0, type: 1, timeInForce: 1 } } } }],
    });
    expect(() => decodeRecord(bytes)).toThrow("terms.side: 0 is not a known value");
  });

  test("an order event without terms is refused", () => {
    const bytes = wireRecord({ header: { formatVersion: 1 }, events: [{ kind: { case: "orderAccepted", value: {} } }] });
    expect(() => decodeRecord(bytes)).toThrow("log record: event 0: terms are missing");
  });

  test("a time beyond what a JS number holds exactly is refused on read", () => {
    const bytes = wireRecord({
      header: { formatVersion: 1 },
      events: [{ kind: { case: "accountCreated", value: { atMs: 1n << 60n } } }],
    });
    expect(() => decodeRecord(bytes)).toThrow(`${1n << 60n} is not a safe integer`);
  });

  test("amounts beyond int64 are refused at the writer", () => {
    const record: LogRecord = { accountId: "a", events: [{ kind: "cash_deposited", amount: INT64_MAX + 1n, atMs: 1 }] };
    expect(() => encodeRecord(header, record)).toThrow("log record: event 0 (cash_deposited): oms.log.v1.CashDeposited.amount_e4: 9223372036854775808 does not fit int64");
  });

  test("text that UTF-8 cannot carry exactly is refused at the writer", () => {
    const record: LogRecord = { accountId: "acct-\ud800", events: [] };
    expect(() => encodeRecord(header, record)).toThrow("log record: oms.log.v1.Record.account_id is not well-formed Unicode");
  });

  test("a lone surrogate in an event's text is refused at the writer, naming the event", () => {
    const record: LogRecord = { accountId: "a", events: [everyKind[0] as Event, { kind: "order_canceled", orderId: "ord-1", reason: "\udc00", atMs: 1 }] };
    expect(() => encodeRecord(header, record)).toThrow("log record: event 1 (order_canceled): oms.log.v1.OrderCanceled.reason is not well-formed Unicode");
  });

  test("records that carry the retired OrderAccepted.fingerprint still decode, the field skipped", () => {
    // The field's number is the schema's reserved one, as older writers numbered it.
    const fingerprintNumber = OrderAcceptedSchema.proto.reservedRange[0]?.start;
    if (fingerprintNumber === undefined) throw new Error("events.proto no longer reserves the fingerprint field");
    const accepted = everyKind[2] as Event;
    const modern = encodeRecord(header, { accountId: "acct-1", events: [accepted] });
    const wire = fromBinary(RecordSchema, modern);
    const event = wire.events[0]?.kind;
    if (event?.case !== "orderAccepted") throw new Error("expected an order_accepted event");
    event.value.$unknown = [{ no: fingerprintNumber, wireType: WireType.LengthDelimited, data: new BinaryWriter().bytes(new Uint8Array(32).fill(7)).finish() }];
    const older = toBinary(RecordSchema, wire);
    expect(older.length).toBeGreaterThan(modern.length);
    expect(decodeRecord(older)).toEqual({ header, record: { accountId: "acct-1", events: [accepted] } });
  });

  test("a header outside the schema's ranges is refused at the writer", () => {
    expect(() => encodeRecord({ ...header, shard: -1 }, { accountId: "a", events: [] })).toThrow("log record: oms.log.v1.RecordHeader.shard: -1 does not fit uint32");
    expect(() => encodeRecord({ ...header, sequence: -1n }, { accountId: "a", events: [] })).toThrow("log record: oms.log.v1.RecordHeader.sequence: -1 does not fit uint64");
  });
});
