// SubmitOrders messages read and written as bytes. The balancer needs three things from a
// SubmitOrdersRequest (its tag, its order's bytes and the order's account_id, to route it) and
// the node checks the order itself, so a request in the usual shape is read with a walk over
// its bytes instead of building a message and encoding the order again; the order's answer
// carries the Order bytes the node encoded. Anything the walk does not recognise goes through
// protobuf-es, so every request means what it means to connect-es.
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { BinaryWriter } from "@bufbuild/protobuf/wire";
import { Code, ConnectError } from "@connectrpc/connect";
import { codeToString } from "@connectrpc/connect/protocol-connect";
import { OrderRefusalSchema, SubmitOrderRequestSchema, SubmitOrderResponseSchema, SubmitOrdersRequestSchema } from "../gen/oms/v1/order_service_pb.ts";
import { OrderSchema } from "../gen/oms/v1/trading_pb.ts";
import { varintLength, writeVarintAt } from "../rpc/protobuf-wire.ts";

/** A SubmitOrdersRequest as the stream needs it. */
export interface OrderRequest {
  /** The tag's canonical varint, as toBinary writes it; empty for tag 0, which proto3 leaves out. */
  tag: Uint8Array;
  /** The SubmitOrderRequest's bytes as toBinary gives them to the node, or null if it has none. */
  order: Uint8Array | null;
  accountId: string;
}

// Field tags (number << 3 | wire type) of the shapes read here.
const REQUEST_TAG = 0x08;
const REQUEST_ORDER = 0x12;
const ORDER_ACCOUNT_ID = 0x0a;
/** SubmitOrderRequest's string fields (1-3, 7-9) and enums (4-6). */
const ORDER_STRINGS = new Set([0x0a, 0x12, 0x1a, 0x3a, 0x42, 0x4a]);
const ORDER_ENUMS = new Set([0x20, 0x28, 0x30]);
const RESPONSE_TAG = 0x08;
const RESPONSE_ORDER = 0x12;
const RESPONSE_REFUSAL = 0x1a;
/** SubmitOrderResponse.order. */
const RESPONSE_ORDER_KEY = 0x0a;
const NO_TAG = new Uint8Array(0);

/**
 * The request in `bytes`; throws the ConnectError that ends the stream if they are not a
 * SubmitOrdersRequest.
 */
export function orderRequestOf(bytes: Uint8Array): OrderRequest {
  return walkedRequest(bytes) ?? decodedRequest(bytes);
}

/**
 * The usual shape: a canonical tag, at most one order, and in the order only its own fields,
 * ASCII strings (so that no UTF-8 check is needed) and small enum values. null for anything
 * else, which protobuf-es then reads.
 */
function walkedRequest(bytes: Uint8Array): OrderRequest | null {
  let tag: Uint8Array = NO_TAG;
  let order: Uint8Array | null = null;
  let pos = 0;
  while (pos < bytes.length) {
    const key = bytes[pos] as number;
    pos += 1;
    if (key === REQUEST_TAG) {
      const end = varintEnd(bytes, pos, 10);
      if (end < 0 || !canonicalUint64(bytes, pos, end)) return null;
      tag = end - pos === 1 && bytes[pos] === 0 ? NO_TAG : bytes.subarray(pos, end);
      pos = end;
    } else if (key === REQUEST_ORDER && order === null) {
      const length = lengthAt(bytes, pos);
      if (length < 0) return null;
      pos = varintEnd(bytes, pos, 5);
      order = bytes.subarray(pos, pos + length);
      pos += length;
    } else {
      return null;
    }
  }
  if (order === null) return { tag, order, accountId: "" };
  const accountId = walkedAccountId(order);
  return accountId === null ? null : { tag, order, accountId };
}

/** The order's account_id (the last one, as a decoder keeps), or null if the order is unusual. */
function walkedAccountId(order: Uint8Array): string | null {
  let accountStart = 0;
  let accountEnd = 0;
  let pos = 0;
  while (pos < order.length) {
    const key = order[pos] as number;
    pos += 1;
    if (ORDER_ENUMS.has(key)) {
      pos = varintEnd(order, pos, 4);
      if (pos < 0) return null;
    } else if (ORDER_STRINGS.has(key)) {
      const length = lengthAt(order, pos);
      if (length < 0) return null;
      pos = varintEnd(order, pos, 5);
      for (let i = pos; i < pos + length; i++) if ((order[i] as number) >= 0x80) return null;
      if (key === ORDER_ACCOUNT_ID) [accountStart, accountEnd] = [pos, pos + length];
      pos += length;
    } else {
      return null;
    }
  }
  return Buffer.from(order.buffer, order.byteOffset + accountStart, accountEnd - accountStart).toString("latin1");
}

/** The end of a varint starting at `pos` of at most `bytesMax` bytes, or -1. */
function varintEnd(bytes: Uint8Array, pos: number, bytesMax: number): number {
  const last = Math.min(bytes.length, pos + bytesMax);
  for (let i = pos; i < last; i++) if (((bytes[i] as number) & 0x80) === 0) return i + 1;
  return -1;
}

/** A length prefix at `pos` whose bytes all follow it, or -1. */
function lengthAt(bytes: Uint8Array, pos: number): number {
  const end = varintEnd(bytes, pos, 5);
  if (end < 0 || end - pos === 5) return -1;
  let length = 0;
  for (let i = end - 1; i >= pos; i--) length = length * 128 + ((bytes[i] as number) & 0x7f);
  return end + length <= bytes.length ? length : -1;
}

/** As toBinary writes a uint64: no trailing zero groups, and at most 64 bits. */
function canonicalUint64(bytes: Uint8Array, start: number, end: number): boolean {
  if (end - start > 1 && bytes[end - 1] === 0) return false;
  return end - start < 10 || (bytes[end - 1] as number) <= 1;
}

/** The rare request in another shape, read as connect-es reads it. */
function decodedRequest(bytes: Uint8Array): OrderRequest {
  let request;
  try {
    request = fromBinary(SubmitOrdersRequestSchema, bytes);
  } catch (error) {
    throw new ConnectError(`cannot decode message ${SubmitOrdersRequestSchema.typeName}: parse binary: ${error instanceof Error ? error.message : String(error)}`, Code.InvalidArgument);
  }
  const tag = request.tag === 0n ? NO_TAG : new BinaryWriter().uint64(request.tag).finish();
  if (request.order === undefined) return { tag, order: null, accountId: "" };
  return { tag, order: toBinary(SubmitOrderRequestSchema, request.order), accountId: request.order.accountId };
}

/**
 * The Order in a node's encoded SubmitOrderResponse when it is exactly that (as the node writes
 * it); null otherwise, and then orderOfResponse tells what it is.
 */
export function encodedOrderOf(response: Uint8Array): Uint8Array | null {
  return soleFieldOf(response, RESPONSE_ORDER_KEY);
}

/**
 * The value of a message's length-delimited field when the message is that one field and nothing
 * else, as NodeAnswer.encodedValueOf reads it, without a reader object per order.
 */
export function soleFieldOf(message: Uint8Array, key: number): Uint8Array | null {
  if (key > 0x7f || message[0] !== key) return null;
  const length = lengthAt(message, 1);
  if (length < 0) return null;
  const start = varintEnd(message, 1, 5);
  return start + length === message.length ? message.subarray(start) : null;
}

/** The Order of a SubmitOrderResponse in another shape, or the refusal of one without an order. */
export function orderOfResponse(response: Uint8Array): Uint8Array | ConnectError {
  let decoded;
  try {
    decoded = fromBinary(SubmitOrderResponseSchema, response);
  } catch (error) {
    return new ConnectError(`cannot decode the node's answer: ${String(error)}`, Code.Internal);
  }
  if (decoded.order === undefined) return new ConnectError("node answered SubmitOrder without an order", Code.Internal);
  return toBinary(OrderSchema, decoded.order);
}

/** An OrderRefusal's bytes: the unary call's Connect code name and message, as submit-orders-stream.ts writes them. */
export function encodedRefusal(error: ConnectError): Uint8Array {
  return toBinary(OrderRefusalSchema, create(OrderRefusalSchema, { code: codeToString(error.code), message: error.rawMessage }));
}

/** The bytes of a SubmitOrdersResponse holding an answer (an Order or an OrderRefusal), written at `offset`. */
export function writeOrderAnswer(target: Uint8Array, offset: number, tag: Uint8Array, refused: boolean, answer: Uint8Array): number {
  let pos = offset;
  if (tag.length > 0) {
    target[pos++] = RESPONSE_TAG;
    target.set(tag, pos);
    pos += tag.length;
  }
  target[pos++] = refused ? RESPONSE_REFUSAL : RESPONSE_ORDER;
  pos = writeVarintAt(target, pos, answer.length);
  target.set(answer, pos);
  return pos + answer.length;
}

/** How many bytes writeOrderAnswer writes. */
export function orderAnswerBytes(tag: Uint8Array, answer: Uint8Array): number {
  const tagBytes = tag.length === 0 ? 0 : 1 + tag.length;
  return tagBytes + 1 + varintLength(answer.length) + answer.length;
}
