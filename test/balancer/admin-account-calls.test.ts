// Withdraw and SetTradingState through a balancer to a node, in every protocol: Connect (the
// balancer's own unary path) in JSON and binary, gRPC and gRPC-web (connect-es's routes). Each
// answers with the account as the command left it, and each refusal has the same code and
// message whichever protocol carried it.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { AccountService, WithdrawRequestSchema, WithdrawResponseSchema } from "../../src/gen/oms/v1/account_service_pb.ts";
import { OrderService } from "../../src/gen/oms/v1/order_service_pb.ts";
import { OrderType, Side, TimeInForce, TradingState } from "../../src/gen/oms/v1/trading_pb.ts";
import { createClientTransport } from "../../src/rpc/transport.ts";
import { keyHeaders } from "../support/api-keys.ts";
import { startInProcessCluster, type InProcessCluster } from "../support/in-process-cluster.ts";

let cluster: InProcessCluster;
let baseUrl = "";
let adminKey = "";

beforeAll(async () => {
  cluster = await startInProcessCluster("admin-calls");
  baseUrl = cluster.baseUrl;
  adminKey = cluster.adminKey;
}, 30_000);

afterAll(async () => {
  await cluster.stop();
});

/**
 * The headers of every call this file makes, in every protocol: the one place to add the admin
 * key (Authorization: Bearer ID:SECRET) once the balancer requires one for these methods.
 */
function callHeaders(): Record<string, string> {
  return keyHeaders(adminKey);
}

interface ConnectAnswer {
  status: number;
  body: Uint8Array;
}

/** A Connect unary call over HTTP/1.1 (the balancer's own path). */
async function connectCall(method: string, contentType: "application/json" | "application/proto", body: string | Uint8Array): Promise<ConnectAnswer> {
  const response = await fetch(`${baseUrl}/oms.v1.AccountService/${method}`, { method: "POST", headers: { ...callHeaders(), "content-type": contentType }, body });
  return { status: response.status, body: new Uint8Array(await response.arrayBuffer()) };
}

const connectJson = async (method: string, request: unknown) => {
  const answer = await connectCall(method, "application/json", JSON.stringify(request));
  return { status: answer.status, json: JSON.parse(new TextDecoder().decode(answer.body)) as Record<string, any> };
};

async function fundedAccount(accountId: string, amount: string): Promise<void> {
  expect((await connectJson("CreateAccount", { accountId })).status).toBe(200);
  expect((await connectJson("Deposit", { accountId, amount })).status).toBe(200);
}

test("Connect JSON: Withdraw takes the cash, and beyond the withdrawable cash is failed_precondition naming amount", async () => {
  await fundedAccount("adm-json", "100");
  const taken = await connectJson("Withdraw", { accountId: "adm-json", amount: "40.5" });
  expect([taken.status, taken.json["account"]?.cash, taken.json["account"]?.tradingState]).toEqual([200, "59.5", "TRADING_STATE_ACTIVE"]);
  const refused = await connectJson("Withdraw", { accountId: "adm-json", amount: "59.51" });
  expect([refused.status, refused.json["code"]]).toEqual([400, "failed_precondition"]);
  expect(refused.json["message"]).toStartWith("amount:");
  const bad = await connectJson("Withdraw", { accountId: "adm-json", amount: "1.001" });
  expect([bad.status, bad.json["code"], String(bad.json["message"]).split(":")[0]]).toEqual([400, "invalid_argument", "amount"]);
});

test("Connect binary: a Withdraw answer is the node's encoding of the account", async () => {
  await fundedAccount("adm-bin", "10");
  const request = toBinary(WithdrawRequestSchema, create(WithdrawRequestSchema, { accountId: "adm-bin", amount: "10" }));
  const answer = await connectCall("Withdraw", "application/proto", request);
  expect(answer.status).toBe(200);
  expect(fromBinary(WithdrawResponseSchema, answer.body).account?.cash).toBe("0");
});

test("Connect JSON: SetTradingState by enum name blocks new orders, GetAccount shows it; an unknown name is refused", async () => {
  await fundedAccount("adm-state", "1000");
  const set = await connectJson("SetTradingState", { accountId: "adm-state", tradingState: "TRADING_STATE_TRADING_BLOCKED" });
  expect([set.status, set.json["account"]?.tradingState]).toEqual([200, "TRADING_STATE_TRADING_BLOCKED"]);
  const shown = await connectJson("GetAccount", { accountId: "adm-state" });
  expect(shown.json["account"]?.tradingState).toBe("TRADING_STATE_TRADING_BLOCKED");
  const order = { accountId: "adm-state", symbol: "AAPL", side: "SIDE_BUY", type: "ORDER_TYPE_LIMIT", timeInForce: "TIME_IN_FORCE_DAY", qty: "1", limitPrice: "1" };
  const response = await fetch(`${baseUrl}/oms.v1.OrderService/SubmitOrder`, { method: "POST", headers: { ...callHeaders(), "content-type": "application/json" }, body: JSON.stringify(order) });
  const refused = (await response.json()) as Record<string, string>;
  expect([response.status, refused["code"]]).toEqual([400, "failed_precondition"]);
  expect(refused["message"]).toStartWith("trading_state: account adm-state is trading_blocked");
  const unknown = await connectJson("SetTradingState", { accountId: "adm-state", tradingState: "TRADING_STATE_FROZEN" });
  expect([unknown.status, unknown.json["code"]]).toEqual([400, "invalid_argument"]);
  expect(unknown.json["message"]).toContain("trading_state");
  const unspecified = await connectJson("SetTradingState", { accountId: "adm-state" });
  expect([unspecified.status, unspecified.json["code"], String(unspecified.json["message"]).split(":")[0]]).toEqual([400, "invalid_argument", "trading_state"]);
});

for (const [protocol, httpVersion] of [["grpc", "2"], ["grpc-web", "1.1"], ["grpc-web", "2"]] as const) {
  test(`${protocol} over HTTP/${httpVersion}: Withdraw and SetTradingState answer and refuse as Connect does`, async () => {
    const answered = cluster.balancer.connectUnaryAnswered();
    const transport = createClientTransport(baseUrl, protocol, { httpVersion });
    const accounts = createClient(AccountService, transport);
    const orders = createClient(OrderService, transport);
    const headers = callHeaders();
    const accountId = `adm-${protocol}-${httpVersion.replace(".", "")}`;
    await accounts.createAccount({ accountId }, { headers });
    await accounts.deposit({ accountId, amount: "100" }, { headers });
    expect((await accounts.withdraw({ accountId, amount: "30" }, { headers })).account?.cash).toBe("70");
    const beyond = await accounts.withdraw({ accountId, amount: "70.01" }, { headers }).catch((error: unknown) => ConnectError.from(error));
    expect([(beyond as ConnectError).code, (beyond as ConnectError).rawMessage.split(":")[0]]).toEqual([Code.FailedPrecondition, "amount"]);
    const blocked = await accounts.setTradingState({ accountId, tradingState: TradingState.ACCOUNT_BLOCKED }, { headers });
    expect(blocked.account?.tradingState).toBe(TradingState.ACCOUNT_BLOCKED);
    expect((await accounts.getAccount({ accountId }, { headers })).account?.tradingState).toBe(TradingState.ACCOUNT_BLOCKED);
    const refusedWithdraw = await accounts.withdraw({ accountId, amount: "1" }, { headers }).catch((error: unknown) => ConnectError.from(error));
    expect([(refusedWithdraw as ConnectError).code, (refusedWithdraw as ConnectError).rawMessage]).toEqual([
      Code.FailedPrecondition,
      `trading_state: account ${accountId} is account_blocked; withdrawals are refused`,
    ]);
    const order = { accountId, symbol: "AAPL", side: Side.BUY, type: OrderType.LIMIT, timeInForce: TimeInForce.DAY, qty: "1", limitPrice: "1" };
    const refusedOrder = await orders.submitOrder(order, { headers }).catch((error: unknown) => ConnectError.from(error));
    expect([(refusedOrder as ConnectError).code, (refusedOrder as ConnectError).rawMessage.split(":")[0]]).toEqual([Code.FailedPrecondition, "trading_state"]);
    const unknown = await accounts.setTradingState({ accountId, tradingState: 9 as TradingState }, { headers }).catch((error: unknown) => ConnectError.from(error));
    expect([(unknown as ConnectError).code, (unknown as ConnectError).rawMessage]).toEqual([Code.InvalidArgument, expect.stringContaining("trading_state")]);
    await accounts.setTradingState({ accountId, tradingState: TradingState.ACTIVE }, { headers });
    expect((await orders.submitOrder(order, { headers })).order?.accountId).toBe(accountId);
    // None of these took the Connect path: connect-es served them.
    expect(cluster.balancer.connectUnaryAnswered()).toBe(answered);
  });
}
