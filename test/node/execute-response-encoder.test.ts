// The Execute fast path's hand-written answers against protobuf-es: for any order, refusal and
// batch, the bytes are the ones toBinary writes for the same results built as messages.
import { describe, expect, test } from "bun:test";
import { create, toBinary } from "@bufbuild/protobuf";
import fc from "fast-check";
import type { Order } from "../../src/core/order.ts";
import type { Rejection } from "../../src/core/rejection.ts";
import { ExecuteResponseSchema, NodeResultSchema, type NodeResult } from "../../src/gen/oms/internal/v1/node_pb.ts";
import type { OrderResultCase, ResultCase } from "../../src/node/command-parse.ts";
import { encodedNodeResults, encodeExecuteResponse, encodeOrderResult, encodeRejectionResult } from "../../src/node/execute-response-encoder.ts";
import { orderView } from "../../src/node/wire-views.ts";
import { nodeErrorOfRefusal } from "../../src/rpc/errors.ts";

interface NodeResults<R> {
  order(resultCase: OrderResultCase, order: Order): R;
  rejection(rejection: Rejection): R;
  message(result: ResultCase): R;
}

/** The reference: the same results built as protobuf-es messages. */
const nodeResultMessages: NodeResults<NodeResult> = {
  order: (resultCase, order) => create(NodeResultSchema, { result: { case: resultCase, value: { order: orderView(order) } } as ResultCase }),
  rejection: (rejection) => create(NodeResultSchema, { result: { case: "error", value: nodeErrorOfRefusal(rejection) } }),
  message: (result) => create(NodeResultSchema, { result }),
};

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

function renderWith<R>(results: NodeResults<R>, result: AnyResult): R {
  switch (result.kind) {
    case "order":
      return results.order(result.resultCase, result.order);
    case "rejection":
      return results.rejection(result.rejection);
    case "account":
      return results.message({ case: "getAccount", value: { account: { id: result.id, cash: "10.00", createdAt: { seconds: 1n } } } });
  }
}

describe("Execute answers encoded by hand against toBinary", () => {
  test("an order result is the bytes toBinary writes for the order's view", () => {
    fc.assert(
      fc.property(orderCase, orderArbitrary, (resultCase, order) => {
        expect(encodeOrderResult(resultCase, order)).toEqual(toBinary(NodeResultSchema, nodeResultMessages.order(resultCase, order)));
      }),
      { numRuns: RUNS, seed: 8_001 },
    );
  });

  test("a refusal is the bytes toBinary writes for its NodeError", () => {
    fc.assert(
      fc.property(rejectionArbitrary, (rejection) => {
        expect(encodeRejectionResult(rejection)).toEqual(toBinary(NodeResultSchema, nodeResultMessages.rejection(rejection)));
      }),
      { numRuns: RUNS, seed: 8_002 },
    );
  });

  test("a batch of any results, in order, is the bytes toBinary writes for the ExecuteResponse", () => {
    fc.assert(
      fc.property(fc.array(resultArbitrary, { maxLength: 12 }), (results) => {
        const encoded = encodeExecuteResponse(results.map((result) => renderWith(encodedNodeResults, result)));
        const messages = results.map((result) => renderWith(nodeResultMessages, result));
        expect(encoded).toEqual(toBinary(ExecuteResponseSchema, create(ExecuteResponseSchema, { results: messages })));
      }),
      { numRuns: RUNS, seed: 8_003 },
    );
  });

  test("an order whose encoding is longer than the writer's first buffer and a length prefix's first byte", () => {
    const long = "x".repeat(5_000);
    const order = fc.sample(orderArbitrary, { numRuns: 1, seed: 8_004 })[0] as Order;
    const big = { ...order, rejectReason: long, id: `${long}\u00e9`, status: "filled" as const, updatedAtMs: 1_700_000_000_123 };
    expect(encodeOrderResult("getOrder", big)).toEqual(toBinary(NodeResultSchema, nodeResultMessages.order("getOrder", big)));
  });
});
