// The SubmitOrders stream path reads requests with the generated codec and frames answers
// around the node's Order bytes: what it reads must be what protobuf-es decodes (else
// connect-es's path and this one would route or refuse differently), and what it writes must be
// what toBinary encodes.
import { expect, test } from "bun:test";
import { create, fromBinary, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { Code, ConnectError } from "@connectrpc/connect";
import { requestRefusal } from "../../src/balancer/request-validation.ts";
import { encodedRefusal, orderAnswerBytes, orderOfResponse, orderRequestOf, writeOrderAnswer } from "../../src/balancer/submit-orders-bytes.ts";
import {
  SubmitOrderRequestSchema,
  SubmitOrderResponseSchema,
  SubmitOrdersRequestSchema,
  SubmitOrdersResponseSchema,
} from "../../src/gen/oms/v1/order_service_pb.ts";
import { OrderSchema, OrderStatus, OrderType, Side, TimeInForce } from "../../src/gen/oms/v1/trading_pb.ts";

type Request = MessageInitShape<typeof SubmitOrdersRequestSchema>;
const order = { accountId: "acct-1", clientOrderId: "c-1", symbol: "AAPL", side: Side.BUY, type: OrderType.LIMIT, timeInForce: TimeInForce.DAY, qty: "10", limitPrice: "101.25" };

/** What connect-es's path makes of the same bytes: the tag it writes back, the order the node decodes, the routing key. */
function decodedAsConnectEs(bytes: Uint8Array) {
  const request = fromBinary(SubmitOrdersRequestSchema, bytes);
  return {
    tag: request.tag === 0n ? new Uint8Array(0) : new BinaryWriter().uint64(request.tag).finish(),
    order: request.order ?? null,
    accountId: request.order?.accountId ?? "",
    refusal: request.order === undefined ? null : (requestRefusal(SubmitOrderRequestSchema, request.order)?.message ?? null),
  };
}

/** The same from what the lean path reads: the order's bytes as the node decodes them. */
function readByLeanPath(bytes: Uint8Array) {
  const request = orderRequestOf(bytes);
  return { ...request, order: request.order === null ? null : fromBinary(SubmitOrderRequestSchema, request.order), refusal: request.refusal?.message ?? null };
}

function encoded(request: Request): Uint8Array {
  return toBinary(SubmitOrdersRequestSchema, create(SubmitOrdersRequestSchema, request));
}

test("requests in the usual shape and in others read as protobuf-es decodes them", () => {
  const withUnknownField = new BinaryWriter().tag(1, WireType.Varint).uint64(7n).tag(2, WireType.LengthDelimited).bytes(toBinary(SubmitOrderRequestSchema, create(SubmitOrderRequestSchema, order))).tag(9, WireType.Varint).int32(1).finish();
  // Two order fields merge, the later account_id winning; two account_ids in one order: the last.
  const twoOrders = new BinaryWriter().tag(2, WireType.LengthDelimited).bytes(toBinary(SubmitOrderRequestSchema, create(SubmitOrderRequestSchema, order))).tag(2, WireType.LengthDelimited).bytes(toBinary(SubmitOrderRequestSchema, create(SubmitOrderRequestSchema, { accountId: "acct-2" }))).finish();
  const twoAccountIds = new BinaryWriter().tag(1, WireType.Varint).uint64(3n).tag(2, WireType.LengthDelimited).bytes(new BinaryWriter().tag(1, WireType.LengthDelimited).string("first").tag(3, WireType.LengthDelimited).string("AAPL").tag(1, WireType.LengthDelimited).string("second").finish()).finish();
  // A tag written with a needless zero group: toBinary would write it in one byte.
  const overlongTag = Uint8Array.from([0x08, 0x85, 0x00]);
  const cases: Uint8Array[] = [
    encoded({ tag: 1n, order }),
    encoded({ tag: 0n, order }),
    encoded({ tag: 18446744073709551615n, order }),
    encoded({ tag: 300n }),
    encoded({}),
    encoded({ tag: 5n, order: {} }),
    encoded({ tag: 6n, order: { ...order, accountId: "compte-é", symbol: "ÄPL" } }),
    encoded({ tag: 8n, order: { ...order, side: -1 as Side } }),
    encoded({ tag: 9n, order: { ...order, clientOrderId: "x".repeat(300) } }),
    withUnknownField,
    twoOrders,
    twoAccountIds,
    overlongTag,
  ];
  for (const bytes of cases) expect(readByLeanPath(bytes)).toEqual(decodedAsConnectEs(bytes));
  expect(orderRequestOf(twoOrders).accountId).toBe("acct-2");
  expect(orderRequestOf(twoAccountIds).accountId).toBe("second");
  // The rules of proto/oms/v1 (buf.validate), named as SubmitOrder names them.
  expect(orderRequestOf(encoded({ tag: 9n, order: { ...order, clientOrderId: "x".repeat(300) } })).refusal?.rawMessage).toBe("client_order_id: must be at most 128 characters");
  expect(orderRequestOf(encoded({ tag: 1n, order })).refusal).toBeNull();
});

test("bytes that are not a SubmitOrdersRequest throw the invalid_argument that ends the stream, naming the message", () => {
  const truncatedOrder = encoded({ tag: 1n, order }).subarray(0, 12);
  const badUtf8 = new BinaryWriter().tag(2, WireType.LengthDelimited).bytes(Uint8Array.from([0x0a, 0x02, 0xc3, 0x28])).finish();
  for (const bytes of [Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff]), truncatedOrder, badUtf8]) {
    let thrown: unknown;
    try {
      orderRequestOf(bytes);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConnectError);
    expect((thrown as ConnectError).code).toBe(Code.InvalidArgument);
    // In connect-es's words, as its own SubmitOrders path refuses the same bytes.
    expect((thrown as ConnectError).rawMessage).toStartWith("cannot decode message oms.v1.SubmitOrdersRequest: parse binary: ");
  }
});

test("damage fromBinary would misread (a known field of another wire type) is refused naming the field and byte", () => {
  // The tag as a length-delimited field: fromBinary reads its length as the tag, then a tag.
  const field = SubmitOrdersRequestSchema.field.tag.number;
  const misread = new BinaryWriter().tag(field, WireType.LengthDelimited).uint32(1).tag(field, WireType.Varint).uint64(7n).finish();
  expect(fromBinary(SubmitOrdersRequestSchema, misread).tag).toBe(7n);
  expect(() => orderRequestOf(misread)).toThrow(`cannot decode message oms.v1.SubmitOrdersRequest.tag: wire type 2 is not the schema's (at byte 1 of ${misread.length})`);
});

test("an answer written by hand is the bytes toBinary gives the SubmitOrdersResponse, for orders and refusals, any tag", () => {
  const accepted = create(OrderSchema, { id: "o-1", accountId: "acct-1", symbol: "AAPL", status: OrderStatus.NEW, qty: "10", clientOrderId: "y".repeat(200) });
  const refusal = new ConnectError("qty: must be a whole number of shares", Code.InvalidArgument);
  for (const tag of [0n, 1n, 127n, 128n, 18446744073709551615n]) {
    const tagBytes = tag === 0n ? new Uint8Array(0) : new BinaryWriter().uint64(tag).finish();
    for (const [refused, answer, expected] of [
      [false, toBinary(OrderSchema, accepted), { tag, result: { case: "order", value: accepted } }],
      [true, encodedRefusal(refusal), { tag, result: { case: "refusal", value: { code: "invalid_argument", message: refusal.rawMessage } } }],
    ] as const) {
      const written = new Uint8Array(orderAnswerBytes(tagBytes, answer) + 3);
      const end = writeOrderAnswer(written, 3, tagBytes, refused, answer);
      expect(end).toBe(written.length);
      expect(written.subarray(3)).toEqual(toBinary(SubmitOrdersResponseSchema, create(SubmitOrdersResponseSchema, expected as never)));
    }
  }
});

test("the Order of a node's SubmitOrderResponse is passed on as its bytes; one without an order is refused internal", () => {
  const accepted = create(OrderSchema, { id: "o-1", accountId: "acct-1", qty: "10" });
  const response = toBinary(SubmitOrderResponseSchema, create(SubmitOrderResponseSchema, { order: accepted }));
  expect(orderOfResponse(response)).toEqual(toBinary(OrderSchema, accepted));
  const withUnknownField = new BinaryWriter().raw(response).tag(20, WireType.Varint).int32(1).finish();
  expect(orderOfResponse(withUnknownField)).toEqual(toBinary(OrderSchema, accepted));
  const refused = orderOfResponse(toBinary(SubmitOrderResponseSchema, create(SubmitOrderResponseSchema, {})));
  expect(refused).toBeInstanceOf(ConnectError);
  expect([(refused as ConnectError).code, (refused as ConnectError).rawMessage]).toEqual([Code.Internal, "node answered SubmitOrder without an order"]);
});
