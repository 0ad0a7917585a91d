// The Execute fast path's answers, encoded by hand: each NodeResult as its bytes when its
// command is rendered, then the ExecuteResponse around them. create() and toBinary() of an
// Order view (an object per order, per timestamp, then generic reflection to encode them) were
// about a tenth of the node's CPU per order.
//
// The bytes are the ones toBinary(ExecuteResponseSchema, create(...)) writes for the same
// results (test/node/execute-response-encoder.test.ts compares them over random orders):
// fields in number order, a field at its zero value left out, a message field written even
// when empty, text whose lone surrogates UTF-8 cannot carry written as U+FFFD as TextEncoder
// writes it. Results other than an order or a refusal are built and encoded by protobuf-es.
import { create, toBinary } from "@bufbuild/protobuf";
import { divideRounded, formatCash } from "../core/money.ts";
import { closedAtMs, type Order } from "../core/order.ts";
import type { Rejection } from "../core/rejection.ts";
import { ExecuteResponseSchema, NodeResultSchema } from "../gen/oms/internal/v1/node_pb.ts";
import { fieldTag as tag, repeatedMessagesField, WIRE_LENGTH_DELIMITED, WIRE_VARINT, WireWriter } from "../rpc/protobuf-wire.ts";
import { connectCodeOf } from "../rpc/errors.ts";
import type { NodeResultEncoders, OrderResultCase } from "./command-parse.ts";
import { SIDE_TO_WIRE, STATUS_TO_WIRE, TIF_TO_WIRE, TYPE_TO_WIRE } from "./wire-views.ts";


const RESULT_TAGS: Readonly<Record<OrderResultCase, number>> = {
  submitOrder: tag(NodeResultSchema.field.submitOrder.number, WIRE_LENGTH_DELIMITED),
  cancelOrder: tag(NodeResultSchema.field.cancelOrder.number, WIRE_LENGTH_DELIMITED),
  replaceOrder: tag(NodeResultSchema.field.replaceOrder.number, WIRE_LENGTH_DELIMITED),
  getOrder: tag(NodeResultSchema.field.getOrder.number, WIRE_LENGTH_DELIMITED),
};
/** SubmitOrderResponse.order, and the same field 1 of the other three responses. */
const ORDER_TAG = tag(1, WIRE_LENGTH_DELIMITED);
const ERROR_TAG = tag(NodeResultSchema.field.error.number, WIRE_LENGTH_DELIMITED);
const RESULTS_TAG = tag(ExecuteResponseSchema.field.results.number, WIRE_LENGTH_DELIMITED);

const writer = new WireWriter();

export const encodedNodeResults: NodeResultEncoders = {
  order: encodeOrderResult,
  rejection: encodeRejectionResult,
  message: (result) => toBinary(NodeResultSchema, create(NodeResultSchema, { result })),
};

/** The NodeResult of an order case, { order } as orderView shows the order. */
export function encodeOrderResult(resultCase: OrderResultCase, order: Order): Uint8Array {
  const w = writer;
  w.reset();
  w.varint(RESULT_TAGS[resultCase]);
  const resultAt = w.begin();
  w.varint(ORDER_TAG);
  const orderAt = w.begin();
  writeOrder(w, order);
  w.end(orderAt);
  w.end(resultAt);
  return w.finish();
}

/** The NodeResult of a refused command: its NodeError, as rejectionResult gives it. */
export function encodeRejectionResult(rejection: Rejection): Uint8Array {
  const w = writer;
  w.reset();
  w.varint(ERROR_TAG);
  const errorAt = w.begin();
  enumField(w, 1, connectCodeOf(rejection.code));
  textField(w, 2, rejection.message);
  w.end(errorAt);
  return w.finish();
}

/** The ExecuteResponse of these encoded NodeResults, in order, in one exact allocation. */
export function encodeExecuteResponse(results: readonly Uint8Array[]): Uint8Array {
  return repeatedMessagesField(RESULTS_TAG, results);
}

/** oms.v1.Order, field for field as orderView fills it. */
function writeOrder(w: WireWriter, order: Order): void {
  textField(w, 1, order.id);
  textField(w, 2, order.clientOrderId);
  textField(w, 3, order.accountId);
  textField(w, 4, order.symbol);
  enumField(w, 5, SIDE_TO_WIRE[order.side]);
  enumField(w, 6, TYPE_TO_WIRE[order.type]);
  enumField(w, 7, TIF_TO_WIRE[order.timeInForce]);
  textField(w, 8, order.qty.toString());
  if (order.limitPrice !== null) textField(w, 9, formatCash(order.limitPrice));
  if (order.stopPrice !== null) textField(w, 10, formatCash(order.stopPrice));
  enumField(w, 11, STATUS_TO_WIRE[order.status]);
  textField(w, 12, order.filledQty.toString());
  if (order.filledQty !== 0n) textField(w, 13, formatCash(divideRounded(order.filledNotional, order.filledQty)));
  textField(w, 14, order.rejectReason);
  if (order.replaces !== null) textField(w, 15, order.replaces);
  if (order.replacedBy !== null) textField(w, 16, order.replacedBy);
  timeField(w, 17, order.createdAtMs);
  timeField(w, 18, order.updatedAtMs);
  optionalTimeField(w, 19, closedAtMs(order, "filled"));
  optionalTimeField(w, 20, closedAtMs(order, "canceled"));
  optionalTimeField(w, 21, closedAtMs(order, "expired"));
  optionalTimeField(w, 22, closedAtMs(order, "replaced"));
  optionalTimeField(w, 23, closedAtMs(order, "rejected"));
}

/** A string field; "" is proto3's zero value and is left out. */
function textField(w: WireWriter, fieldNumber: number, text: string): void {
  if (text === "") return;
  w.varint(tag(fieldNumber, WIRE_LENGTH_DELIMITED));
  // TextEncoder, which toBinary uses, writes a lone surrogate as U+FFFD.
  if (!w.string(text)) w.string(text.toWellFormed());
}

/** An enum or uint32 field of a non-negative value; 0 is left out. */
function enumField(w: WireWriter, fieldNumber: number, value: number): void {
  if (value === 0) return;
  w.varint(tag(fieldNumber, WIRE_VARINT));
  w.varint(value);
}

function optionalTimeField(w: WireWriter, fieldNumber: number, ms: number | null): void {
  if (ms !== null) timeField(w, fieldNumber, ms);
}

/** A google.protobuf.Timestamp as timestampFromMs makes it: whole seconds down, then nanos. */
function timeField(w: WireWriter, fieldNumber: number, ms: number): void {
  w.varint(tag(fieldNumber, WIRE_LENGTH_DELIMITED));
  const at = w.begin();
  const seconds = Math.floor(ms / 1000);
  const nanos = (ms - seconds * 1000) * 1_000_000;
  if (seconds !== 0) {
    w.varint(tag(1, WIRE_VARINT));
    if (seconds > 0) w.varint(seconds);
    else w.varintBig(BigInt(seconds));
  }
  if (nanos !== 0) {
    w.varint(tag(2, WIRE_VARINT));
    w.varint(nanos);
  }
  w.end(at);
}
