// The node's Execute answers, read back by protobuf-es: an order result holds the order's view in
// its case, a refusal its Connect code and message, a batch its results in order. That the
// generated encoder writes toBinary's bytes is test/gen's to prove.
import { describe, expect, test } from "bun:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import fc from "fast-check";
import type { Order } from "../../src/core/order.ts";
import type { Rejection } from "../../src/core/rejection.ts";
import { ExecuteResponseSchema, NodeErrorSchema, NodeResultSchema } from "../../src/gen/oms/internal/v1/node_pb.ts";
import { OrderSchema } from "../../src/gen/oms/v1/trading_pb.ts";
import type { OrderResultCase } from "../../src/node/command-parse.ts";
import { encodeExecuteResponse, encodeOrderResult, encodeRejectionResult, encodeResultMessage } from "../../src/node/execute-response-encoder.ts";
import { orderView } from "../../src/node/wire-views.ts";
import { connectCodeOf } from "../../src/rpc/errors.ts";

const RUNS = 1000;

/** Ids and symbols as the node makes them, text in any script, lone surrogates, longer text. */
const text = fc.oneof(
  fc.constantFrom("", "acct-1", "AAPL", "0191e7d2-7c1a-7000-8000-000000000000", "a\ud800b", "\udc00"),
  fc.string({ unit: "grapheme", maxLength: 12 }),
  fc.string({ unit: "binary", maxLength: 70 }),
  fc.string({ unit: "binary-ascii", minLength: 100, maxLength: 300 }),
);
const amount = fc.oneof(fc.bigInt({ min: -1_000_000n, max: 1_000_000n }), fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }));
/** Times before and after 1970, with and without milliseconds, up to the largest exact number. */
const time = fc.oneof(fc.integer({ min: -5_000, max: 5_000 }), fc.integer({ min: -(2 ** 42), max: 2 ** 42 }), fc.maxSafeInteger());

const orderArbitrary: fc.Arbitrary<Order> = fc.record({
  id: text,
  clientOrderId: text,
  accountId: text,
  listPosition: fc.nat(),
  symbol: text,
  side: fc.constantFrom("buy" as const, "sell" as const),
  type: fc.constantFrom("market" as const, "limit" as const, "stop" as const, "stop_limit" as const),
  timeInForce: fc.constantFrom("day" as const, "gtc" as const, "ioc" as const, "fok" as const),
  qty: amount,
  limitPrice: fc.option(amount, { nil: null }),
  stopPrice: fc.option(amount, { nil: null }),
  collarPrice: fc.option(amount, { nil: null }),
  replaces: fc.option(text, { nil: null }),
  status: fc.constantFrom(
    "new" as const,
    "partially_filled" as const,
    "filled" as const,
    "canceled" as const,
    "rejected" as const,
    "expired" as const,
    "replaced" as const,
    "pending_cancel" as const,
    "pending_replace" as const,
    "pending_new" as const,
  ),
  filledQty: fc.oneof(fc.constant(0n), amount),
  filledNotional: amount,
  holdCash: amount,
  holdQty: amount,
  lastExecutionSeq: fc.nat(),
  pendingReplace: fc.constant(null),
  replacedBy: fc.option(text, { nil: null }),
  rejectReason: text,
  createdAtMs: time,
  updatedAtMs: time,
});
const orderCase = fc.constantFrom<OrderResultCase>("submitOrder", "cancelOrder", "replaceOrder", "getOrder");
const rejectionArbitrary: fc.Arbitrary<Rejection> = fc.record({
  code: fc.constantFrom("invalid_argument" as const, "not_found" as const, "already_exists" as const, "failed_precondition" as const, "unavailable" as const),
  message: text,
});

type AnyResult = { kind: "order"; resultCase: OrderResultCase; order: Order } | { kind: "rejection"; rejection: Rejection } | { kind: "account"; id: string };
const resultArbitrary: fc.Arbitrary<AnyResult> = fc.oneof(
  fc.record({ kind: fc.constant("order" as const), resultCase: orderCase, order: orderArbitrary }),
  fc.record({ kind: fc.constant("rejection" as const), rejection: rejectionArbitrary }),
  fc.record({ kind: fc.constant("account" as const), id: text }),
);

function encoded(result: AnyResult): Uint8Array {
  switch (result.kind) {
    case "order":
      return encodeOrderResult(result.resultCase, result.order);
    case "rejection":
      return encodeRejectionResult(result.rejection);
    case "account":
      return encodeResultMessage({ case: "getAccount", value: { account: { id: result.id, cash: "10.00", createdAt: { seconds: 1n } } } });
  }
}

describe("Execute answers", () => {
  test("an order result holds the order as orderView shows it, in the case's response", () => {
    fc.assert(
      fc.property(orderCase, orderArbitrary, (resultCase, order) => {
        const result = fromBinary(NodeResultSchema, encodeOrderResult(resultCase, order)).result;
        expect(result.case).toBe(resultCase);
        const view = orderView(order);
        expect((result.value as { order?: unknown }).order).toEqual(fromBinary(OrderSchema, toBinary(OrderSchema, view)));
        // Times as timestampFromMs makes them; a time the order does not have is absent.
        expect(view.createdAt).toEqual(timestampFromMs(order.createdAtMs));
        expect(view.updatedAt).toEqual(timestampFromMs(order.updatedAtMs));
        expect(view.filledAt === undefined).toBe(order.status !== "filled");
      }),
      { numRuns: RUNS, seed: 8_001 },
    );
  });

  test("a refusal is its NodeError: the Connect code's number and the message", () => {
    fc.assert(
      fc.property(rejectionArbitrary, (rejection) => {
        const result = fromBinary(NodeResultSchema, encodeRejectionResult(rejection)).result;
        expect(result.case).toBe("error");
        expect(result.value).toEqual(create(NodeErrorSchema, { code: connectCodeOf(rejection.code), message: rejection.message.toWellFormed() }));
      }),
      { numRuns: RUNS, seed: 8_002 },
    );
  });

  test("a batch of any results is an ExecuteResponse of those results, in order", () => {
    fc.assert(
      fc.property(fc.array(resultArbitrary, { maxLength: 12 }), (results) => {
        const parts = results.map(encoded);
        const response = fromBinary(ExecuteResponseSchema, encodeExecuteResponse(parts));
        expect(response.results).toEqual(parts.map((part) => fromBinary(NodeResultSchema, part)));
      }),
      { numRuns: RUNS, seed: 8_003 },
    );
  });

  test("an order whose encoding is longer than the writer's first buffer and a length prefix's first byte", () => {
    const long = "x".repeat(5_000);
    const order = fc.sample(orderArbitrary, { numRuns: 1, seed: 8_004 })[0] as Order;
    const big = { ...order, rejectReason: long, id: `${long}\u00e9`, status: "filled" as const, updatedAtMs: 1_700_000_000_123 };
    const result = fromBinary(NodeResultSchema, encodeOrderResult("getOrder", big)).result;
    expect(result.case === "getOrder" ? [result.value.order?.id, result.value.order?.rejectReason] : []).toEqual([`${long}\u00e9`, long]);
  });
});
