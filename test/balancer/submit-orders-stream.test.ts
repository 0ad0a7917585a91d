// The SubmitOrders session logic alone, with a stand-in for the node whose answers the test
// releases by hand: answers of one account keep the order of the requests whatever order the
// node answers in, a full session stops reading until answers drain, and a client that ends
// its side still gets every answer in flight.
import { expect, test } from "bun:test";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { submitOrdersStream, type SubmitOne } from "../../src/balancer/submit-orders-stream.ts";
import {
  SubmitOrderResponseSchema,
  SubmitOrdersRequestSchema,
  type SubmitOrderRequest,
  type SubmitOrderResponse,
  type SubmitOrdersRequest,
  type SubmitOrdersResponse,
} from "../../src/gen/oms/v1/order_service_pb.ts";
import { OrderSchema } from "../../src/gen/oms/v1/trading_pb.ts";

interface Held {
  order: SubmitOrderRequest;
  resolve: (response: SubmitOrderResponse) => void;
  reject: (error: ConnectError) => void;
}

/** A node that answers only when told to. */
function heldNode(): { submit: SubmitOne; held: Held[] } {
  const held: Held[] = [];
  const submit: SubmitOne = (order) => new Promise((resolve, reject) => held.push({ order, resolve, reject }));
  return { submit, held };
}

function accept(held: Held): void {
  held.resolve(create(SubmitOrderResponseSchema, { order: create(OrderSchema, { id: `id-${held.order.clientOrderId}`, accountId: held.order.accountId }) }));
}

function request(tag: number, accountId: string): SubmitOrdersRequest {
  return create(SubmitOrdersRequestSchema, { tag: BigInt(tag), order: { accountId, clientOrderId: String(tag), symbol: "AAPL", qty: "1" } });
}

/** Event-loop turns, not time: enough for every promise chain in flight to settle. */
async function turns(count = 20): Promise<void> {
  for (let i = 0; i < count; i++) await new Promise((resolve) => setImmediate(resolve));
}

async function* counted(requests: SubmitOrdersRequest[], pulled: { count: number }): AsyncGenerator<SubmitOrdersRequest> {
  for (const r of requests) {
    pulled.count += 1;
    yield r;
  }
}

test("answers of one account come in the order sent even when the node answers them in reverse; other accounts interleave", async () => {
  const { submit, held } = heldNode();
  const sent = [request(1, "alice"), request(2, "bob"), request(3, "alice"), request(4, "alice")];
  const answers: SubmitOrdersResponse[] = [];
  const done = (async () => {
    for await (const answer of submitOrdersStream(counted(sent, { count: 0 }), submit, new AbortController().signal)) answers.push(answer);
  })();
  await turns();
  expect(held.length).toBe(4);
  // The node answers alice's last order first, then bob's, then alice's earlier ones.
  for (const i of [3, 1, 2, 0]) {
    accept(held[i]!);
    await turns();
  }
  await done;
  expect(answers.map((a) => a.tag)).toEqual([2n, 1n, 3n, 4n]);
  expect(answers.every((a) => a.result.case === "order")).toBe(true);
});

test("a full session stops reading until an answer is written, so memory stays bounded", async () => {
  const { submit, held } = heldNode();
  const inFlightMax = 8;
  const pulled = { count: 0 };
  const sent = Array.from({ length: 100 }, (_, i) => request(i, `acct-${i % 5}`));
  const session = submitOrdersStream(counted(sent, pulled), submit, new AbortController().signal, inFlightMax);
  const first = session.next();
  await turns();
  expect(pulled.count).toBe(inFlightMax);
  expect(held.length).toBe(inFlightMax);

  accept(held[0]!);
  expect((await first).value?.tag).toBe(0n);
  await turns();
  // One answer written, one more request read.
  expect(pulled.count).toBe(inFlightMax + 1);

  // Answer the rest as they come: every request is answered once, in order per account.
  const answers: SubmitOrdersResponse[] = [];
  const rest = (async () => {
    for (let next = await session.next(); next.done !== true; next = await session.next()) answers.push(next.value);
  })();
  for (let answered = 1; answered < sent.length; answered++) {
    while (held.length <= answered) await turns(1);
    accept(held[answered]!);
  }
  await rest;
  expect(answers.length).toBe(sent.length - 1);
  expect(pulled.count).toBe(sent.length);
});

test("refusals do not end the session: a missing order names `order`, the node's refusal keeps its code name and message", async () => {
  const { submit, held } = heldNode();
  const sent = [request(1, "alice"), create(SubmitOrdersRequestSchema, { tag: 2n }), request(3, "alice"), request(4, "bob")];
  const answers: SubmitOrdersResponse[] = [];
  const done = (async () => {
    for await (const answer of submitOrdersStream(counted(sent, { count: 0 }), submit, new AbortController().signal)) answers.push(answer);
  })();
  await turns();
  accept(held[0]!);
  held[1]!.reject(new ConnectError("qty: must be a whole number of shares", Code.InvalidArgument));
  held[2]!.reject(new ConnectError("node node-b (shards 2) is down", Code.Unavailable));
  await done;
  const byTag = new Map(answers.map((a) => [a.tag, a.result]));
  expect(answers.length).toBe(4);
  expect(byTag.get(1n)?.case).toBe("order");
  expect(byTag.get(2n)).toEqual({ case: "refusal", value: expect.objectContaining({ code: "invalid_argument", message: "order: is required" }) });
  expect(byTag.get(3n)).toEqual({ case: "refusal", value: expect.objectContaining({ code: "invalid_argument", message: "qty: must be a whole number of shares" }) });
  expect(byTag.get(4n)).toEqual({ case: "refusal", value: expect.objectContaining({ code: "unavailable" }) });
});

test("a client whose side cannot be decoded still gets the answers in flight, then the stream ends invalid_argument", async () => {
  const { submit, held } = heldNode();
  async function* broken(): AsyncGenerator<SubmitOrdersRequest> {
    yield request(1, "alice");
    yield request(2, "bob");
    // What connect-es throws for bytes that are not a SubmitOrdersRequest.
    throw new ConnectError("parse binary: premature EOF", Code.Internal);
  }
  const answers: SubmitOrdersResponse[] = [];
  const done = (async () => {
    for await (const answer of submitOrdersStream(broken(), submit, new AbortController().signal)) answers.push(answer);
  })();
  await turns();
  accept(held[1]!);
  accept(held[0]!);
  let failure: ConnectError | null = null;
  await done.catch((error: unknown) => (failure = ConnectError.from(error)));
  expect(answers.map((a) => a.tag).sort()).toEqual([1n, 2n]);
  expect(failure).not.toBeNull();
  expect([failure!.code, failure!.rawMessage]).toEqual([Code.InvalidArgument, "cannot decode message oms.v1.SubmitOrdersRequest: parse binary: premature EOF"]);
});
