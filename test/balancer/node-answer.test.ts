// The one reading of a node's answer: the result's own message as the node encoded it, or the
// refusal (the node's, or INTERNAL for another case or damage), whatever shape the NodeResult
// takes on the wire (the case given twice merges, another case replaces, unknown fields skipped).
import { expect, test } from "bun:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { Code, ConnectError } from "@connectrpc/connect";
import { NodeAnswer, nodeAnswersOf } from "../../src/balancer/node-answer.ts";
import { ExecuteResponseSchema, NodeResultSchema } from "../../src/gen/oms/internal/v1/node_pb.ts";
import { GetOrderResponseSchema } from "../../src/gen/oms/v1/order_service_pb.ts";
import { OrderSchema, Side } from "../../src/gen/oms/v1/trading_pb.ts";

const order = create(OrderSchema, { id: "o-1", accountId: "acct-1", symbol: "AAPL", side: Side.SELL, qty: "3" });
const found = create(NodeResultSchema, { result: { case: "getOrder", value: create(GetOrderResponseSchema, { order }) } });
const refused = create(NodeResultSchema, { result: { case: "error", value: { code: Code.NotFound, message: "order o-2: not found" } } });
const foundBytes = toBinary(NodeResultSchema, found);
/** A field no NodeResult has, as a newer node might send it. */
const unknownField = new BinaryWriter().tag(1000, WireType.Varint).uint32(1).finish();

function refusalOf(value: Uint8Array | ConnectError): [Code, string] | "not refused" {
  return value instanceof ConnectError ? [value.code, value.rawMessage] : "not refused";
}

test("a result of the case asked for is the bytes of its own message, and decodes to it", () => {
  const answer = new NodeAnswer(foundBytes);
  expect(answer.valueOf("getOrder")).toEqual(toBinary(GetOrderResponseSchema, create(GetOrderResponseSchema, { order })));
  expect(answer.resultOf("getOrder")).toEqual(create(GetOrderResponseSchema, { order }));
});

test("the node's refusal comes back as its ConnectError; another case or none is INTERNAL", () => {
  expect(refusalOf(new NodeAnswer(toBinary(NodeResultSchema, refused)).valueOf("getOrder"))).toEqual([Code.NotFound, "order o-2: not found"]);
  expect(() => new NodeAnswer(toBinary(NodeResultSchema, refused)).resultOf("getOrder")).toThrow("order o-2: not found");
  expect(refusalOf(new NodeAnswer(foundBytes).valueOf("submitOrder"))).toEqual([Code.Internal, "node answered getOrder to submitOrder"]);
  expect(refusalOf(new NodeAnswer(new Uint8Array(0)).valueOf("submitOrder"))).toEqual([Code.Internal, "node answered undefined to submitOrder"]);
});

test("unknown fields are skipped, the case given twice merges and a later case replaces an earlier one", () => {
  expect(new NodeAnswer(new Uint8Array([...unknownField, ...foundBytes, ...unknownField])).resultOf("getOrder")).toEqual(found.result.value as never);
  const other = create(NodeResultSchema, { result: { case: "getOrder", value: { order: { ...order, id: "", symbol: "MSFT" } } } });
  const merged = new NodeAnswer(new Uint8Array([...foundBytes, ...toBinary(NodeResultSchema, other)])).resultOf("getOrder");
  expect([merged.order?.id, merged.order?.symbol]).toEqual(["o-1", "MSFT"]);
  const replaced = new NodeAnswer(new Uint8Array([...foundBytes, ...toBinary(NodeResultSchema, refused)]));
  expect(refusalOf(replaced.valueOf("getOrder"))).toEqual([Code.NotFound, "order o-2: not found"]);
});

test("damaged bytes are INTERNAL, naming the field and byte", () => {
  const refusal = refusalOf(new NodeAnswer(new Uint8Array([0x42, 0x05, 0x01])).valueOf("getOrder"));
  expect(refusal).toEqual([Code.Internal, "cannot decode the node's answer: oms.internal.v1.NodeResult.field 8: length 5 runs past the end (at byte 2 of 3)"]);
});

test("an ExecuteResponse splits into its results in order; unknown fields are skipped; garbage is INTERNAL", () => {
  const response = toBinary(ExecuteResponseSchema, create(ExecuteResponseSchema, { results: [found, refused, found] }));
  for (const bytes of [response, new Uint8Array([...unknownField, ...response])]) {
    expect(nodeAnswersOf(bytes).map((answer) => answer.bytes)).toEqual([found, refused, found].map((result) => toBinary(NodeResultSchema, result)));
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
