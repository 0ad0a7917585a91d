// The Execute answers, encoded by the codec generated from proto/oms/internal/v1/node.proto
// (src/gen/oms/internal/v1/node_wire.ts): each NodeResult as its bytes when its command is
// rendered (an order shows the state that command left), then the ExecuteResponse around them.
// The bytes are the ones toBinary writes for the same messages (test/gen proves the codec).
import { create } from "@bufbuild/protobuf";
import type { Order } from "../core/order.ts";
import type { Rejection } from "../core/rejection.ts";
import { ExecuteResponseSchema, NodeResultSchema, type NodeResult } from "../gen/oms/internal/v1/node_pb.ts";
import { encodeNodeResult } from "../gen/oms/internal/v1/node_wire.ts";
import { connectCodeOf } from "../rpc/errors.ts";
import { fieldTag, repeatedMessagesField, WIRE_LENGTH_DELIMITED } from "../rpc/protobuf-wire.ts";
import type { NodeResultEncoders, OrderResultCase, ResultCase } from "./command-parse.ts";
import { orderView } from "./wire-views.ts";

/** The response message of each order case, which holds the order alone. */
const ORDER_RESPONSES = {
  submitOrder: "oms.v1.SubmitOrderResponse",
  cancelOrder: "oms.v1.CancelOrderResponse",
  replaceOrder: "oms.v1.ReplaceOrderResponse",
  getOrder: "oms.v1.GetOrderResponse",
} as const satisfies Record<OrderResultCase, string>;

const RESULTS_TAG = fieldTag(ExecuteResponseSchema.field.results.number, WIRE_LENGTH_DELIMITED);

export const encodedNodeResults: NodeResultEncoders = {
  order: encodeOrderResult,
  rejection: encodeRejectionResult,
  message: encodeResultMessage,
};

/** The NodeResult of an order case, { order } as orderView shows the order. */
export function encodeOrderResult(resultCase: OrderResultCase, order: Order): Uint8Array {
  const value = { $typeName: ORDER_RESPONSES[resultCase], order: orderView(order) };
  // The case and its response type go together by ORDER_RESPONSES; TypeScript cannot pair them.
  return encodeNodeResult({ $typeName: "oms.internal.v1.NodeResult", result: { case: resultCase, value } as NodeResult["result"] });
}

/** The NodeResult of a refused command: its NodeError, as rejectionResult gives it. */
export function encodeRejectionResult(rejection: Rejection): Uint8Array {
  const error = { $typeName: "oms.internal.v1.NodeError" as const, code: connectCodeOf(rejection.code), message: rejection.message };
  return encodeNodeResult({ $typeName: "oms.internal.v1.NodeResult", result: { case: "error", value: error } });
}

/** Every other result (accounts, positions, order lists), its views already built. */
export function encodeResultMessage(result: ResultCase): Uint8Array {
  return encodeNodeResult(create(NodeResultSchema, { result }));
}

/** The ExecuteResponse of these encoded NodeResults, in order, in one exact allocation. */
export function encodeExecuteResponse(results: readonly Uint8Array[]): Uint8Array {
  return repeatedMessagesField(RESULTS_TAG, results);
}
