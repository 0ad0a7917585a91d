// SubmitOrders messages in JSON (application/connect+json, application/grpc+json), converted to
// and from the bytes the stream works in (submit-orders-bytes.ts): a JSON request becomes the
// binary order the node takes, and an answer's Order or refusal bytes become JSON. JSON clients
// are rare and slow anyway, so this goes through protobuf-es message by message.
import { create, fromBinary, fromJson, toBinary, toJsonString, type JsonValue } from "@bufbuild/protobuf";
import { BinaryReader, BinaryWriter } from "@bufbuild/protobuf/wire";
import { Code, ConnectError } from "@connectrpc/connect";
import { OrderRefusalSchema, SubmitOrderRequestSchema, SubmitOrdersRequestSchema, SubmitOrdersResponseSchema } from "../gen/oms/v1/order_service_pb.ts";
import { OrderSchema } from "../gen/oms/v1/trading_pb.ts";
import { unknownEnumInJson } from "../rpc/protocol/json-enum-values.ts";
import { requestRefusal } from "./request-validation.ts";
import type { OrderRequest } from "./submit-orders-bytes.ts";

const NO_TAG = new Uint8Array(0);
// As the Connect unary path reads JSON: unknown fields ignored, unknown enum values refused.
const JSON_READ = { ignoreUnknownFields: true };

// Invalid UTF-8 is refused, not replaced with U+FFFD, which would change an id or a symbol.
const UTF8_STRICT = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** The request in JSON `bytes`; throws the ConnectError that ends the stream if they are not a SubmitOrdersRequest. */
export function orderRequestOfJson(bytes: Uint8Array): OrderRequest {
  let request;
  try {
    const json = JSON.parse(UTF8_STRICT.decode(bytes)) as JsonValue;
    const problem = unknownEnumInJson(SubmitOrdersRequestSchema, json);
    if (problem !== null) throw problem;
    request = fromJson(SubmitOrdersRequestSchema, json, JSON_READ);
  } catch (error) {
    const why = error instanceof ConnectError ? error.rawMessage : error instanceof Error ? error.message : String(error);
    throw new ConnectError(`cannot decode message ${SubmitOrdersRequestSchema.typeName} from JSON: ${why}`, Code.InvalidArgument);
  }
  const tag = request.tag === 0n ? NO_TAG : new BinaryWriter().uint64(request.tag).finish();
  if (request.order === undefined) return { tag, order: null, accountId: "", refusal: null };
  const refusal = requestRefusal(SubmitOrderRequestSchema, request.order);
  return { tag, order: toBinary(SubmitOrderRequestSchema, request.order), accountId: request.order.accountId, refusal };
}

/** A SubmitOrdersResponse in JSON: `answer` holds an Order's bytes, or an OrderRefusal's if `refused`. */
export function orderAnswerJson(tag: Uint8Array, refused: boolean, answer: Uint8Array): Uint8Array {
  const tagValue = tag.length === 0 ? 0n : new BinaryReader(tag).uint64();
  const response = create(SubmitOrdersResponseSchema, {
    tag: BigInt(tagValue),
    result: refused ? { case: "refusal", value: fromBinary(OrderRefusalSchema, answer) } : { case: "order", value: fromBinary(OrderSchema, answer) },
  });
  return Buffer.from(toJsonString(SubmitOrdersResponseSchema, response), "utf8");
}
