// A node's answer to one command, kept as the bytes of its NodeResult: the balancer decodes it
// only when it must. A binary client's answer is the bytes of the result's own message, already
// encoded by the node, so for most calls the balancer passes them on as they are instead of
// decoding an Order and encoding it again (~20% of its CPU per order). Every caller unwraps an
// answer with valueOf, the one reading of a NodeResult: its case's message, or its refusal.
import { Code, ConnectError } from "@connectrpc/connect";
import type { NodeResult } from "../gen/oms/internal/v1/node_pb.ts";
import { ExecuteResponseSchema, NodeResultSchema } from "../gen/oms/internal/v1/node_pb.ts";
import { decodeNodeError } from "../gen/oms/internal/v1/node_wire.ts";
import {
  decodeCreateAccountResponse,
  decodeDepositResponse,
  decodeGetAccountResponse,
  decodeListPositionsResponse,
  decodeSetTradingStateResponse,
  decodeWithdrawResponse,
} from "../gen/oms/v1/account_service_wire.ts";
import {
  decodeCancelOrderResponse,
  decodeGetOrderResponse,
  decodeListOrdersResponse,
  decodeReplaceOrderResponse,
  decodeSubmitOrderResponse,
} from "../gen/oms/v1/order_service_wire.ts";
import { connectErrorOfNodeError } from "../rpc/errors.ts";
import { encodedMemberOf, fieldTag, WIRE_LENGTH_DELIMITED, WireFormatError, WireReader } from "../rpc/protobuf-wire.ts";

/** A result case the balancer asks for (every case of NodeResult but the refusal). */
export type ResultCase = Exclude<NodeResult["result"]["case"], "error" | undefined>;
/** The decoded message of a result case. */
export type ResultOf<K extends ResultCase> = Extract<NodeResult["result"], { case: K }>["value"];

/** NodeResult.result's members, by field number: the cases and the refusal. */
const RESULT_MEMBERS: readonly number[] = NodeResultSchema.oneofs[0]?.fields.map((field) => field.number) ?? [];
const ERROR_FIELD = NodeResultSchema.field.error.number;
const CASE_OF_FIELD = new Map(NodeResultSchema.fields.map((field) => [field.number, field.localName]));

const DECODERS: { readonly [K in ResultCase]: (bytes: Uint8Array) => ResultOf<K> } = {
  createAccount: decodeCreateAccountResponse,
  deposit: decodeDepositResponse,
  withdraw: decodeWithdrawResponse,
  setTradingState: decodeSetTradingStateResponse,
  getAccount: decodeGetAccountResponse,
  listPositions: decodeListPositionsResponse,
  submitOrder: decodeSubmitOrderResponse,
  cancelOrder: decodeCancelOrderResponse,
  replaceOrder: decodeReplaceOrderResponse,
  getOrder: decodeGetOrderResponse,
  listOrders: decodeListOrdersResponse,
};

export class NodeAnswer {
  constructor(readonly bytes: Uint8Array) {}

  /**
   * The encoded message of the result's case `resultCase`, as the node wrote it; or the refusal:
   * the node's own (its NodeError as a ConnectError), or INTERNAL for another case, no case, or
   * bytes that are not a NodeResult.
   */
  valueOf(resultCase: ResultCase): Uint8Array | ConnectError {
    let member;
    try {
      member = encodedMemberOf(this.bytes, RESULT_MEMBERS, NodeResultSchema.typeName);
      if (member?.fieldNumber === ERROR_FIELD) return connectErrorOfNodeError(decodeNodeError(member.value));
    } catch (error) {
      if (!(error instanceof WireFormatError)) throw error;
      return new ConnectError(`cannot decode the node's answer: ${error.message}`, Code.Internal);
    }
    const answered = member === null ? undefined : CASE_OF_FIELD.get(member.fieldNumber);
    if (member === null || answered !== resultCase) return new ConnectError(`node answered ${String(answered)} to ${resultCase}`, Code.Internal);
    return member.value;
  }

  /** The result of the case asked for, decoded; its refusal thrown as a ConnectError. */
  resultOf<K extends ResultCase>(resultCase: K): ResultOf<K> {
    const value = this.valueOf(resultCase);
    if (value instanceof ConnectError) throw value;
    try {
      return DECODERS[resultCase](value);
    } catch (error) {
      if (!(error instanceof WireFormatError)) throw error;
      throw new ConnectError(`cannot decode the node's answer: ${error.message}`, Code.Internal);
    }
  }
}

const RESULTS_TAG = fieldTag(ExecuteResponseSchema.field.results.number, WIRE_LENGTH_DELIMITED);
const reader = new WireReader();

/** Splits an encoded ExecuteResponse into its results, in order; other fields are skipped. */
export function nodeAnswersOf(response: Uint8Array): NodeAnswer[] {
  const answers: NodeAnswer[] = [];
  try {
    const r = reader;
    r.reset(response, ExecuteResponseSchema.typeName);
    while (r.more()) {
      const tag = r.tag();
      if (tag === RESULTS_TAG) answers.push(new NodeAnswer(r.byteString("results")));
      else r.skip(tag);
    }
  } catch (error) {
    if (!(error instanceof WireFormatError)) throw error;
    throw new ConnectError(`cannot decode the node's answer: ${error.message}`, Code.Internal);
  }
  return answers;
}
