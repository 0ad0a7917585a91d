// The balancer reads a node's answer without decoding it where it can: the bytes it passes on
// must be exactly the result's own encoding, and anything else must fall back to decoding.
import { expect, test } from "bun:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { NodeAnswer, nodeAnswersOf } from "../../src/balancer/node-answer.ts";
import { ExecuteResponseSchema, NodeResultSchema } from "../../src/gen/oms/internal/v1/node_pb.ts";
import { GetOrderResponseSchema } from "../../src/gen/oms/v1/order_service_pb.ts";
import { OrderSchema, Side } from "../../src/gen/oms/v1/trading_pb.ts";

const GET_ORDER_FIELD = NodeResultSchema.field.getOrder.number;
const order = create(OrderSchema, { id: "o-1", accountId: "acct-1", symbol: "AAPL", side: Side.SELL, qty: "3" });
const found = create(NodeResultSchema, { result: { case: "getOrder", value: create(GetOrderResponseSchema, { order }) } });
const refused = create(NodeResultSchema, { result: { case: "error", value: { code: 5, message: "order o-2: not found" } } });

test("a result of the case asked for is passed on as the bytes of its own message", () => {
  const answer = new NodeAnswer(toBinary(NodeResultSchema, found));
  expect(answer.encodedValueOf(GET_ORDER_FIELD)).toEqual(toBinary(GetOrderResponseSchema, create(GetOrderResponseSchema, { order })));
  expect(answer.decode()).toEqual(found);
});

test("a refusal, another case, or trailing bytes are not passed on", () => {
  expect(new NodeAnswer(toBinary(NodeResultSchema, refused)).encodedValueOf(GET_ORDER_FIELD)).toBeNull();
  expect(new NodeAnswer(toBinary(NodeResultSchema, found)).encodedValueOf(NodeResultSchema.field.submitOrder.number)).toBeNull();
  const withUnknownField = new Uint8Array([...toBinary(NodeResultSchema, found), 0xa0, 0x06, 0x01]);
  expect(new NodeAnswer(withUnknownField).encodedValueOf(GET_ORDER_FIELD)).toBeNull();
  expect(new NodeAnswer(new Uint8Array([0x1a, 0x05, 0x01])).encodedValueOf(GET_ORDER_FIELD)).toBeNull();
});

test("an ExecuteResponse splits into its results in order; unknown fields are skipped; garbage is INTERNAL", () => {
  const response = toBinary(ExecuteResponseSchema, create(ExecuteResponseSchema, { results: [found, refused, found] }));
  const withUnknownField = new Uint8Array([0xa0, 0x06, 0x01, ...response]);
  for (const bytes of [response, withUnknownField]) {
    expect(nodeAnswersOf(bytes).map((answer) => answer.decode())).toEqual([found, refused, found]);
  }
  expect(nodeAnswersOf(new Uint8Array())).toEqual([]);
  let error: unknown;
  try {
    nodeAnswersOf(new Uint8Array([0x0a, 0x7f, 0x01]));
  } catch (thrown) {
    error = thrown;
  }
  expect(error instanceof ConnectError && error.code === Code.Internal).toBe(true);
});
