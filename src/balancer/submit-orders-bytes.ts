// SubmitOrders messages read and written for the stream path. A request is read by the codec
// generated from proto/oms/v1/order_service.proto, whatever its shape, and its order encoded
// again for the node (the bytes toBinary gives); an answer carries the Order bytes the node
// encoded, unwrapped from its SubmitOrderResponse, framed with field numbers from the generated
// descriptors.
import { fromBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { codeToString } from "@connectrpc/connect/protocol-connect";
import { SubmitOrderRequestSchema, SubmitOrderResponseSchema, SubmitOrdersRequestSchema, SubmitOrdersResponseSchema } from "../gen/oms/v1/order_service_pb.ts";
import { decodeSubmitOrdersRequest, encodeOrderRefusal, encodeSubmitOrderRequest } from "../gen/oms/v1/order_service_wire.ts";
import { requestRefusal } from "./request-validation.ts";
import { encodedMemberOf, fieldTag, varintLength, WIRE_LENGTH_DELIMITED, WIRE_VARINT, WireFormatError, WireWriter, writeVarintAt } from "../rpc/protobuf-wire.ts";

/** A SubmitOrdersRequest as the stream needs it. */
export interface OrderRequest {
  /** The tag's canonical varint, as toBinary writes it; empty for tag 0, which proto3 leaves out. */
  tag: Uint8Array;
  /** The SubmitOrderRequest's bytes as toBinary gives them to the node, or null if it has none. */
  order: Uint8Array | null;
  accountId: string;
  /** Why the order breaks its buf.validate rules (request-validation.ts), as SubmitOrder would say it, or null. */
  refusal: ConnectError | null;
}

const RESPONSE = SubmitOrdersResponseSchema.field;
const RESPONSE_TAG = fieldTag(RESPONSE.tag.number, WIRE_VARINT);
const RESPONSE_ORDER = fieldTag(RESPONSE.order.number, WIRE_LENGTH_DELIMITED);
const RESPONSE_REFUSAL = fieldTag(RESPONSE.refusal.number, WIRE_LENGTH_DELIMITED);
const SUBMIT_ORDER_RESPONSE_ORDER: readonly number[] = [SubmitOrderResponseSchema.field.order.number];
const NO_TAG = new Uint8Array(0);
// orderAnswerBytes counts one key length for both answers.
if (varintLength(RESPONSE_ORDER) !== varintLength(RESPONSE_REFUSAL)) throw new Error("SubmitOrdersResponse: order and refusal keys differ in length");
const tagWriter = new WireWriter();

/**
 * The request in `bytes`; throws the ConnectError that ends the stream if they are not a
 * SubmitOrdersRequest.
 */
export function orderRequestOf(bytes: Uint8Array): OrderRequest {
  let request;
  try {
    request = decodeSubmitOrdersRequest(bytes);
  } catch (error) {
    if (!(error instanceof WireFormatError)) throw error;
    throw new ConnectError(refusalText(bytes, error), Code.InvalidArgument);
  }
  let tag: Uint8Array = NO_TAG;
  if (request.tag !== 0n) {
    tagWriter.reset();
    tagWriter.uint64(request.tag, `${SubmitOrdersRequestSchema.typeName}.tag`);
    tag = tagWriter.finish();
  }
  if (request.order === undefined) return { tag, order: null, accountId: "", refusal: null };
  const refusal = requestRefusal(SubmitOrderRequestSchema, request.order);
  return { tag, order: encodeSubmitOrderRequest(request.order), accountId: request.order.accountId, refusal };
}

/**
 * The stream's refusal in the words connect-es gave it when it served these streams, which
 * clients may match on; where fromBinary reads the bytes (damage it does not check for, such
 * as a known field of another wire type), the generated reader's words, which name the field
 * and byte.
 */
function refusalText(bytes: Uint8Array, refusal: WireFormatError): string {
  try {
    fromBinary(SubmitOrdersRequestSchema, bytes);
  } catch (error) {
    return `cannot decode message ${SubmitOrdersRequestSchema.typeName}: parse binary: ${error instanceof Error ? error.message : String(error)}`;
  }
  return `cannot decode message ${refusal.message}`;
}

/** The Order bytes of a node's encoded SubmitOrderResponse, or INTERNAL for one without an order or damaged. */
export function orderOfResponse(response: Uint8Array): Uint8Array | ConnectError {
  let order;
  try {
    order = encodedMemberOf(response, SUBMIT_ORDER_RESPONSE_ORDER, SubmitOrderResponseSchema.typeName);
  } catch (error) {
    if (!(error instanceof WireFormatError)) throw error;
    return new ConnectError(`cannot decode the node's answer: ${error.message}`, Code.Internal);
  }
  return order === null ? new ConnectError("node answered SubmitOrder without an order", Code.Internal) : order.value;
}

/** An OrderRefusal's bytes: the unary call's Connect code name and message, as submit-orders-stream.ts writes them. */
export function encodedRefusal(error: ConnectError): Uint8Array {
  return encodeOrderRefusal({ $typeName: "oms.v1.OrderRefusal", code: codeToString(error.code), message: error.rawMessage });
}

/** The bytes of a SubmitOrdersResponse holding an answer (an Order or an OrderRefusal), written at `offset`. */
export function writeOrderAnswer(target: Uint8Array, offset: number, tag: Uint8Array, refused: boolean, answer: Uint8Array): number {
  let pos = offset;
  if (tag.length > 0) {
    pos = writeVarintAt(target, pos, RESPONSE_TAG);
    target.set(tag, pos);
    pos += tag.length;
  }
  pos = writeVarintAt(target, pos, refused ? RESPONSE_REFUSAL : RESPONSE_ORDER);
  pos = writeVarintAt(target, pos, answer.length);
  target.set(answer, pos);
  return pos + answer.length;
}

/** How many bytes writeOrderAnswer writes. */
export function orderAnswerBytes(tag: Uint8Array, answer: Uint8Array): number {
  const tagBytes = tag.length === 0 ? 0 : varintLength(RESPONSE_TAG) + tag.length;
  return tagBytes + varintLength(RESPONSE_ORDER) + varintLength(answer.length) + answer.length;
}
