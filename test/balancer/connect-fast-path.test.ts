// The balancer's lean path for unary Connect calls must be indistinguishable on the wire from
// connect-es: for each request, over HTTP/1.1 and HTTP/2, the same status, content type and
// body from a balancer with the fast path as from one without it.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { mkdtempSync } from "node:fs";
import * as http2 from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startBalancer, type RunningBalancer } from "../../src/cli/start-balancer.ts";
import { startNode, type RunningNode } from "../../src/cli/start-node.ts";
import { loadClusterConfig } from "../../src/config/load-cluster-config.ts";
import { fromBinary } from "@bufbuild/protobuf";
import { GetAccountRequestSchema } from "../../src/gen/oms/v1/account_service_pb.ts";
import { GetOrderRequestSchema, SubmitOrderRequestSchema, SubmitOrderResponseSchema } from "../../src/gen/oms/v1/order_service_pb.ts";
import { OrderStatus, OrderType, Side, TimeInForce } from "../../src/gen/oms/v1/trading_pb.ts";
import { freePort } from "../e2e/dev-process.ts";

let node: RunningNode;
let fast: RunningBalancer;
let plain: RunningBalancer;

beforeAll(async () => {
  const base = loadClusterConfig(undefined, {});
  const config = {
    ...base,
    shardCount: 2,
    logLevel: "error" as const,
    dataDir: mkdtempSync(join(tmpdir(), "oms-fast-path-")),
    balancer: { ...base.balancer, port: 0 },
    nodes: [{ id: "node-a", host: "127.0.0.1", port: await freePort(), shards: [0, 1] }],
  };
  node = await startNode(config, "node-a");
  fast = await startBalancer(config, 0, { fastPath: true });
  plain = await startBalancer(config, 0, { fastPath: false });
  await post(fast, "/oms.v1.AccountService/CreateAccount", "application/json", JSON.stringify({ accountId: "same-1" }));
  await post(fast, "/oms.v1.AccountService/Deposit", "application/json", JSON.stringify({ accountId: "same-1", amount: "125.5" }));
}, 30_000);

afterAll(async () => {
  await fast.stop();
  await plain.stop();
  await node.stop();
});

async function post(balancer: RunningBalancer, path: string, contentType: string, body: string | Uint8Array) {
  const response = await fetch(`http://127.0.0.1:${balancer.server.port}${path}`, { method: "POST", headers: { "content-type": contentType }, body });
  return { status: response.status, contentType: response.headers.get("content-type"), body: new Uint8Array(await response.arrayBuffer()) };
}

/** The same call over HTTP/2 (prior knowledge), as gRPC-era Connect clients and buf curl make it. */
function post2(balancer: RunningBalancer, path: string, contentType: string, body: string | Uint8Array) {
  const session = http2.connect(`http://127.0.0.1:${balancer.server.port}`);
  return new Promise<{ status: number; contentType: string | undefined; hasDate: boolean; body: Uint8Array }>((resolve, reject) => {
    const stream = session.request({ ":method": "POST", ":path": path, "content-type": contentType, "connect-protocol-version": "1" });
    const chunks: Buffer[] = [];
    let head: http2.IncomingHttpHeaders = {};
    stream.on("response", (headers) => (head = headers));
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("end", () => resolve({ status: Number(head[":status"]), contentType: head["content-type"], hasDate: head["date"] !== undefined, body: new Uint8Array(Buffer.concat(chunks)) }));
    stream.on("error", reject);
    stream.end(body);
  }).finally(() => session.close());
}

const binary = (accountId: string) => toBinary(GetAccountRequestSchema, create(GetAccountRequestSchema, { accountId }));

const cases: [string, string, string, string | Uint8Array][] = [
  ["GetAccount, JSON", "/oms.v1.AccountService/GetAccount", "application/json", JSON.stringify({ accountId: "same-1" })],
  ["GetAccount, binary", "/oms.v1.AccountService/GetAccount", "application/proto", binary("same-1")],
  ["unknown JSON fields are ignored", "/oms.v1.AccountService/GetAccount", "application/json", JSON.stringify({ accountId: "same-1", extra: 1 })],
  ["unknown account: not_found", "/oms.v1.AccountService/GetAccount", "application/json", JSON.stringify({ accountId: "nobody" })],
  ["bad account id: invalid_argument", "/oms.v1.AccountService/GetAccount", "application/proto", binary("no spaces allowed")],
  ["bad qty: invalid_argument", "/oms.v1.OrderService/SubmitOrder", "application/json", JSON.stringify({ accountId: "same-1", symbol: "AAPL", side: "SIDE_BUY", type: "ORDER_TYPE_MARKET", timeInForce: "TIME_IN_FORCE_DAY", qty: "-5" })],
  ["buying power: failed_precondition", "/oms.v1.OrderService/SubmitOrder", "application/json", JSON.stringify({ accountId: "same-1", symbol: "AAPL", side: "SIDE_BUY", type: "ORDER_TYPE_LIMIT", timeInForce: "TIME_IN_FORCE_DAY", qty: "100", limitPrice: "100" })],
];

for (const [name, path, contentType, body] of cases) {
  test(`fast path and connect-es answer the same: ${name}`, async () => {
    const answered = fast.fastPathAnswered();
    const [a, b] = [await post(fast, path, contentType, body), await post(plain, path, contentType, body)];
    expect(fast.fastPathAnswered()).toBe(answered + 1);
    expect(plain.fastPathAnswered()).toBe(0);
    expect({ status: a.status, contentType: a.contentType }).toEqual({ status: b.status, contentType: b.contentType });
    expect(new TextDecoder().decode(a.body)).toEqual(new TextDecoder().decode(b.body));
  });
}

for (const [name, path, contentType, body] of cases) {
  test(`fast path and connect-es answer the same over HTTP/2: ${name}`, async () => {
    const answered = fast.fastPathAnswered();
    const [a, b] = [await post2(fast, path, contentType, body), await post2(plain, path, contentType, body)];
    expect(fast.fastPathAnswered()).toBe(answered + 1);
    expect({ status: a.status, contentType: a.contentType, hasDate: a.hasDate }).toEqual({ status: b.status, contentType: b.contentType, hasDate: b.hasDate });
    expect(new TextDecoder().decode(a.body)).toEqual(new TextDecoder().decode(b.body));
  });
}

test("a client that resets its HTTP/2 stream before the answer leaves the balancer serving", async () => {
  const session = http2.connect(`http://127.0.0.1:${fast.server.port}`);
  const stream = session.request({ ":method": "POST", ":path": "/oms.v1.AccountService/GetAccount", "content-type": "application/json" });
  stream.on("error", () => undefined);
  stream.write(JSON.stringify({ accountId: "same-1" }));
  stream.close(http2.constants.NGHTTP2_CANCEL);
  session.close();
  const after = await post2(fast, "/oms.v1.AccountService/GetAccount", "application/json", JSON.stringify({ accountId: "same-1" }));
  expect(after.status).toBe(200);
});

test("a binary answer is the node's own encoding passed on: the same bytes as connect-es re-encodes", async () => {
  const submit = toBinary(SubmitOrderRequestSchema, create(SubmitOrderRequestSchema, { accountId: "same-1", symbol: "AAPL", side: Side.BUY, type: OrderType.LIMIT, timeInForce: TimeInForce.DAY, qty: "1", limitPrice: "100" }));
  const submitted = await post2(fast, "/oms.v1.OrderService/SubmitOrder", "application/proto", submit);
  expect([submitted.status, submitted.contentType]).toEqual([200, "application/proto"]);
  const order = fromBinary(SubmitOrderResponseSchema, submitted.body).order;
  expect([order?.accountId, order?.qty, order?.status]).toEqual(["same-1", "1", OrderStatus.NEW]);
  const get = toBinary(GetOrderRequestSchema, create(GetOrderRequestSchema, { accountId: "same-1", key: { case: "orderId", value: order?.id ?? "" } }));
  for (const send of [post, post2]) {
    const [a, b] = [await send(fast, "/oms.v1.OrderService/GetOrder", "application/proto", get), await send(plain, "/oms.v1.OrderService/GetOrder", "application/proto", get)];
    expect(a.status).toBe(200);
    expect(a.body).toEqual(b.body);
  }
});

test("a body that does not decode is invalid_argument from both", async () => {
  const path = "/oms.v1.AccountService/GetAccount";
  const [a, b] = [await post(fast, path, "application/json", "{not json"), await post(plain, path, "application/json", "{not json")];
  expect([a.status, a.contentType]).toEqual([b.status, b.contentType]);
  expect(JSON.parse(new TextDecoder().decode(a.body)).code).toBe(JSON.parse(new TextDecoder().decode(b.body)).code);
});

test("gRPC and streaming calls are left to connect-es", async () => {
  const answered = fast.fastPathAnswered();
  const grpc = await fetch(`http://127.0.0.1:${fast.server.port}/oms.v1.AccountService/GetAccount`, {
    method: "POST",
    headers: { "content-type": "application/grpc-web+proto" },
    body: new Uint8Array([0, 0, 0, 0, 0]),
  });
  await grpc.arrayBuffer();
  expect(fast.fastPathAnswered()).toBe(answered);
});
