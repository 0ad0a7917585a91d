// The buf.validate rules of proto/oms/v1 are enforced at the balancer's edge on every protocol
// (Connect binary and JSON, POST and GET, HTTP/1.1 and HTTP/2, gRPC, gRPC-web, the SubmitOrders
// stream in binary and JSON): a field past its bound is refused INVALID_ARGUMENT naming the
// field path, and the command never reaches a node; the node's own words stay where it has them.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { requestRefusal } from "../../src/balancer/request-validation.ts";
import { AccountService } from "../../src/gen/oms/v1/account_service_pb.ts";
import { ListOrdersRequestSchema, OrderService, SubmitOrderRequestSchema, SubmitOrdersRequestSchema, type SubmitOrdersRequest } from "../../src/gen/oms/v1/order_service_pb.ts";
import { OrderType, Side, TimeInForce } from "../../src/gen/oms/v1/trading_pb.ts";
import { nodeMetrics } from "../../src/metrics/node-metrics.ts";
import { startInProcessCluster, type InProcessCluster } from "../support/in-process-cluster.ts";
import { keyInterceptor } from "../support/api-keys.ts";

let cluster: InProcessCluster;
let baseUrl = "";
let adminKey = "";
const ACCOUNT = "valid-1";

beforeAll(async () => {
  cluster = await startInProcessCluster("validation");
  baseUrl = cluster.baseUrl;
  adminKey = cluster.adminKey;
  const accounts = createClient(AccountService, transportOf("connect binary, HTTP/2"));
  await accounts.createAccount({ accountId: ACCOUNT });
  await accounts.deposit({ accountId: ACCOUNT, amount: "1000" });
}, 30_000);

afterAll(async () => {
  await cluster.stop();
});

const PROTOCOLS = ["connect JSON, HTTP/1.1", "connect binary, HTTP/2", "connect GET, HTTP/1.1", "gRPC", "gRPC-web, HTTP/1.1", "gRPC-web, HTTP/2"] as const;
type Protocol = (typeof PROTOCOLS)[number];

/** Every client of this file, in one place: each presents the admin key. */
function transportOf(protocol: Protocol): Transport {
  const common = { baseUrl, interceptors: [keyInterceptor(adminKey)] };
  switch (protocol) {
    case "connect JSON, HTTP/1.1":
      return createConnectTransport({ ...common, httpVersion: "1.1", useBinaryFormat: false });
    case "connect binary, HTTP/2":
      return createConnectTransport({ ...common, httpVersion: "2", useBinaryFormat: true });
    case "connect GET, HTTP/1.1":
      return createConnectTransport({ ...common, httpVersion: "1.1", useBinaryFormat: false, useHttpGet: true });
    case "gRPC":
      return createGrpcTransport(common);
    case "gRPC-web, HTTP/1.1":
      return createGrpcWebTransport({ ...common, httpVersion: "1.1" });
    case "gRPC-web, HTTP/2":
      return createGrpcWebTransport({ ...common, httpVersion: "2" });
  }
}

const order = { accountId: ACCOUNT, clientOrderId: "ok-1", symbol: "AAPL", side: Side.BUY, type: OrderType.LIMIT, timeInForce: TimeInForce.GTC, qty: "1", limitPrice: "1" };

async function refusalOf(call: Promise<unknown>): Promise<string> {
  try {
    await call;
    return "ok";
  } catch (error) {
    const refusal = ConnectError.from(error);
    return `${Code[refusal.code]}: ${refusal.rawMessage}`;
  }
}

/** Commands the node refused as invalid, of every kind: an edge refusal leaves them unchanged. */
function nodeInvalidCount(): number {
  return ["submit_order", "cancel_order", "replace_order", "deposit", "create_account"].reduce((sum, kind) => sum + nodeMetrics.commandCount(kind, "invalid_argument"), 0);
}

describe("a field past its bound is refused at the edge, naming it, and never reaches the node", () => {
  for (const protocol of PROTOCOLS) {
    test(protocol, async () => {
      const orders = createClient(OrderService, transportOf(protocol));
      const before = nodeInvalidCount();
      // Read-only methods take GET; the others go as POST even from a GET client.
      const cases: [() => Promise<unknown>, string][] = [
        [() => orders.listOrders({ accountId: ACCOUNT, pageToken: "9".repeat(33) }), "InvalidArgument: page_token: must be at most 32 characters"],
        [() => orders.getOrder({ accountId: ACCOUNT, key: { case: "clientOrderId", value: "c".repeat(129) } }), "InvalidArgument: client_order_id: must be at most 128 characters"],
        [() => orders.submitOrder({ ...order, symbol: "S".repeat(33) }), "InvalidArgument: symbol: must be at most 32 characters"],
        [() => orders.submitOrder({ ...order, clientOrderId: "x".repeat(1_000_000) }), "InvalidArgument: client_order_id: must be at most 128 characters"],
        [() => orders.replaceOrder({ accountId: ACCOUNT, orderId: "o", qty: "1".repeat(33) }), "InvalidArgument: qty: must be at most 32 characters"],
        [() => orders.cancelOrder({ accountId: ACCOUNT, orderId: "o".repeat(65) }), "InvalidArgument: order_id: must be at most 64 characters"],
      ];
      for (const [call, expected] of cases) expect(await refusalOf(call())).toBe(expected);
      expect(nodeInvalidCount()).toBe(before);
      // The domain's words stay where they say more: an account id's form, a symbol it does not know.
      expect(await refusalOf(orders.submitOrder({ ...order, accountId: "a".repeat(65) }))).toBe("InvalidArgument: account_id: must be 1 to 64 letters, digits, '-' or '_'");
      expect(await refusalOf(orders.submitOrder({ ...order, symbol: "NOPE" }))).toBe('InvalidArgument: symbol: unknown symbol "NOPE"');
    }, 30_000);
  }
});

test("each order of a SubmitOrders stream is held to the same rules, answered as SubmitOrder would be, and the stream goes on", async () => {
  for (const transport of [createGrpcTransport({ baseUrl, interceptors: [keyInterceptor(adminKey)] }), createConnectTransport({ baseUrl, httpVersion: "2", useBinaryFormat: false, interceptors: [keyInterceptor(adminKey)] })]) {
    const orders = createClient(OrderService, transport);
    const before = nodeInvalidCount();
    async function* send(): AsyncIterable<SubmitOrdersRequest> {
      yield create(SubmitOrdersRequestSchema, { tag: 1n, order: { ...order, clientOrderId: "y".repeat(129) } });
      yield create(SubmitOrdersRequestSchema, { tag: 2n, order: { ...order, clientOrderId: `stream-${Math.random()}` } });
    }
    const answers: string[] = [];
    for await (const answer of orders.submitOrders(send())) {
      answers.push(answer.result.case === "refusal" ? `${answer.tag} ${answer.result.value.code}: ${answer.result.value.message}` : `${answer.tag} ${answer.result.case}`);
    }
    expect(answers).toEqual(["1 invalid_argument: client_order_id: must be at most 128 characters", "2 order"]);
    expect(nodeInvalidCount()).toBe(before);
  }
}, 30_000);

test("a request the rules hold is not refused by them, and a violation names its full path", () => {
  expect(requestRefusal(SubmitOrderRequestSchema, create(SubmitOrderRequestSchema, order))).toBeNull();
  expect(requestRefusal(ListOrdersRequestSchema, create(ListOrdersRequestSchema, { accountId: ACCOUNT, pageSize: 500 }))).toBeNull();
  const nested = requestRefusal(SubmitOrdersRequestSchema, create(SubmitOrdersRequestSchema, { order: { ...order, limitPrice: "1".repeat(33) } }));
  expect([nested?.code, nested?.rawMessage]).toEqual([Code.InvalidArgument, "order.limit_price: must be at most 32 characters"]);
});
