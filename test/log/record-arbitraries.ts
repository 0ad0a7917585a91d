// fast-check arbitraries for the record codec's tests: domain records (what the node writes)
// and wire messages of the published schema (what any writer of the schema could produce,
// including what this reader must refuse).
import { type MessageInitShape } from "@bufbuild/protobuf";
import fc from "fast-check";
import type { Event } from "../../src/core/event.ts";
import type { OrderTerms } from "../../src/core/order.ts";
import type { RecordHeader } from "../../src/log/record-codec.ts";
import type { RecordSchema } from "../../src/gen/oms/log/v1/events_pb.ts";

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;
const UINT64_MAX = (1n << 64n) - 1n;

export const text = fc.string({ unit: "grapheme", maxLength: 12 });
const int64 = fc.bigInt({ min: INT64_MIN, max: INT64_MAX });
const time = fc.maxSafeInteger();
const price = fc.option(int64, { nil: null });

export const termsArbitrary: fc.Arbitrary<OrderTerms> = fc.record({
  id: text,
  clientOrderId: text,
  symbol: text,
  side: fc.constantFrom("buy" as const, "sell" as const),
  type: fc.constantFrom("market" as const, "limit" as const, "stop" as const, "stop_limit" as const),
  timeInForce: fc.constantFrom("day" as const, "gtc" as const, "ioc" as const, "fok" as const),
  qty: int64,
  limitPrice: price,
  stopPrice: price,
  collarPrice: price,
  replaces: fc.option(text, { nil: null }),
});

export const eventArbitrary: fc.Arbitrary<Event> = fc.oneof(
  fc.record({ kind: fc.constant("account_created" as const), atMs: time }),
  fc.record({ kind: fc.constant("cash_deposited" as const), amount: int64, atMs: time }),
  fc.record({ kind: fc.constant("cash_withdrawn" as const), amount: int64, atMs: time }),
  fc.record({
    kind: fc.constant("trading_state_set" as const),
    tradingState: fc.constantFrom("active" as const, "trading_blocked" as const, "account_blocked" as const),
    atMs: time,
  }),
  fc.record({ kind: fc.constant("order_accepted" as const), terms: termsArbitrary, holdCash: int64, holdQty: int64, atMs: time }),
  fc.record({ kind: fc.constant("order_cancel_requested" as const), orderId: text, atMs: time }),
  fc.record({ kind: fc.constant("order_replace_requested" as const), orderId: text, terms: termsArbitrary, holdCash: int64, holdQty: int64, atMs: time }),
  fc.record({ kind: fc.constant("order_filled" as const), orderId: text, executionSeq: time, qty: int64, price: int64, atMs: time }),
  fc.record({ kind: fc.constant("order_canceled" as const), orderId: text, reason: text, atMs: time }),
  fc.record({ kind: fc.constant("order_expired" as const), orderId: text, atMs: time }),
  fc.record({ kind: fc.constant("order_rejected" as const), orderId: text, reason: text, atMs: time }),
  fc.record({ kind: fc.constant("order_replaced" as const), orderId: text, newOrderId: text, atMs: time }),
  fc.record({ kind: fc.constant("order_replace_rejected" as const), orderId: text, newOrderId: text, reason: text, atMs: time }),
);

export const headerArbitrary: fc.Arbitrary<RecordHeader> = fc.record({
  shard: fc.integer({ min: 0, max: 0xffff_ffff }),
  epoch: fc.bigInt({ min: 0n, max: UINT64_MAX }),
  sequence: fc.bigInt({ min: 0n, max: UINT64_MAX }),
});

type WireRecordInit = MessageInitShape<typeof RecordSchema>;

/** Short text, and longer text in any script (past the reader's inline ASCII path). */
const wireText = fc.oneof(text, fc.string({ unit: "binary", maxLength: 70 }), fc.string({ unit: "binary-ascii", minLength: 40, maxLength: 70 }));
const wireInt64 = fc.oneof(fc.bigInt({ min: -1000n, max: 1000n }), int64);
/** Times and sequences: mostly ones a JS number holds exactly, some it does not. */
const wireTime = fc.oneof(fc.bigInt({ min: -(2n ** 53n), max: 2n ** 53n }), int64);
/** Enum values: the known ones, UNSPECIFIED, and numbers the schema does not have. */
const wireEnum = fc.integer({ min: -2, max: 6 });

const wireTerms = fc.record(
  {
    id: wireText,
    clientOrderId: wireText,
    symbol: wireText,
    side: wireEnum,
    type: wireEnum,
    timeInForce: wireEnum,
    qty: wireInt64,
    limitPriceE4: wireInt64,
    stopPriceE4: wireInt64,
    collarPriceE4: wireInt64,
    replaces: wireText,
  },
  { requiredKeys: ["side", "type", "timeInForce"] },
);

const kindOf = <C extends string, V>(kind: C, value: fc.Arbitrary<V>) => fc.record({ case: fc.constant(kind), value });
const optional = { requiredKeys: [] as [] };

const wireEventKind = fc.oneof(
  kindOf("accountCreated", fc.record({ atMs: wireTime }, optional)),
  kindOf("cashDeposited", fc.record({ amountE4: wireInt64, atMs: wireTime }, optional)),
  kindOf("cashWithdrawn", fc.record({ amountE4: wireInt64, atMs: wireTime }, optional)),
  kindOf("tradingStateSet", fc.record({ tradingState: wireEnum, atMs: wireTime }, optional)),
  kindOf("orderAccepted", fc.record({ terms: wireTerms, holdCashE4: wireInt64, holdQty: wireInt64, atMs: wireTime }, { requiredKeys: ["terms"] })),
  kindOf("orderAccepted", fc.record({ holdCashE4: wireInt64, atMs: wireTime }, optional)),
  kindOf("orderCancelRequested", fc.record({ orderId: wireText, atMs: wireTime }, optional)),
  kindOf(
    "orderReplaceRequested",
    fc.record({ orderId: wireText, terms: wireTerms, holdCashE4: wireInt64, holdQty: wireInt64, atMs: wireTime }, { requiredKeys: ["terms"] }),
  ),
  kindOf("orderFilled", fc.record({ orderId: wireText, executionSeq: wireTime, qty: wireInt64, priceE4: wireInt64, atMs: wireTime }, optional)),
  kindOf("orderCanceled", fc.record({ orderId: wireText, reason: wireText, atMs: wireTime }, optional)),
  kindOf("orderExpired", fc.record({ orderId: wireText, atMs: wireTime }, optional)),
  kindOf("orderRejected", fc.record({ orderId: wireText, reason: wireText, atMs: wireTime }, optional)),
  kindOf("orderReplaced", fc.record({ orderId: wireText, newOrderId: wireText, atMs: wireTime }, optional)),
  kindOf("orderReplaceRejected", fc.record({ orderId: wireText, newOrderId: wireText, reason: wireText, atMs: wireTime }, optional)),
);

/** Mostly valid events; sometimes one with no kind set, which a reader must refuse. */
const wireEvent = fc.oneof({ weight: 12, arbitrary: fc.record({ kind: wireEventKind }) }, { weight: 1, arbitrary: fc.constant({}) });

/** Any Record message the published schema can hold, valid for this reader or not. */
export const wireRecordArbitrary: fc.Arbitrary<WireRecordInit> = fc.record(
  {
    header: fc.record(
      {
        formatVersion: fc.oneof({ weight: 8, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: fc.nat() }),
        shard: fc.integer({ min: 0, max: 0xffff_ffff }),
        epoch: fc.bigInt({ min: 0n, max: UINT64_MAX }),
        sequence: fc.bigInt({ min: 0n, max: UINT64_MAX }),
      },
      { requiredKeys: ["formatVersion"] },
    ),
    accountId: wireText,
    events: fc.array(wireEvent, { maxLength: 4 }),
  },
  { requiredKeys: ["header"] },
) as fc.Arbitrary<WireRecordInit>;

export function varintBytes(value: bigint): Uint8Array {
  const bytes: number[] = [];
  let rest = value;
  while (rest >= 0x80n) {
    bytes.push(Number(rest & 0x7fn) | 0x80);
    rest >>= 7n;
  }
  bytes.push(Number(rest));
  return new Uint8Array(bytes);
}
