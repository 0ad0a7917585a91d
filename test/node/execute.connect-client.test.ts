// The balancer → node hop is ConnectRPC: a stock connect-es client (Connect protocol, binary,
// HTTP/2) calls a node's Execute and gets the answers the balancer's link gets for the same
// commands, and whatever the node does not serve on Execute is refused with a Connect error
// in its protocol's shape.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { create, equals, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { compressionGzip, createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NodeLink } from "../../src/balancer/node-link.ts";
import { startNode, type RunningNode } from "../../src/cli/start-node.ts";
import { loadClusterConfig } from "../../src/config/load-cluster-config.ts";
import { ExecuteRequestSchema, ExecuteResponseSchema, NodeResultSchema, NodeService, type NodeCommand } from "../../src/gen/oms/internal/v1/node_pb.ts";
import { OrderType, Side, TimeInForce } from "../../src/gen/oms/v1/trading_pb.ts";
import { freePort } from "../../src/rpc/free-port.ts";
import { LeanUnaryClient } from "../../src/rpc/lean-unary-client.ts";
import { createNodeTransport } from "../../src/rpc/transport.ts";

const EXECUTE_PATH = `/${NodeService.typeName}/${NodeService.method.execute.name}`;
const CALL_TIMEOUT_MS = 5_000;

let node: RunningNode;
let url = "";
let stock: Client<typeof NodeService>;
let link: NodeLink;

beforeAll(async () => {
  const base = loadClusterConfig(undefined, {});
  const port = await freePort();
  const config = { ...base, shardCount: 2, logLevel: "error" as const, dataDir: mkdtempSync(join(tmpdir(), "oms-node-execute-")), nodes: [{ id: "node-a", host: "127.0.0.1", port, shards: [0, 1] }] };
  node = await startNode(config, "node-a");
  url = `http://127.0.0.1:${port}`;
  stock = createClient(NodeService, createConnectTransport({ baseUrl: url, httpVersion: "2", useBinaryFormat: true }));
  link = new NodeLink({ id: "node-a", url, shards: [0, 1] }, createNodeTransport(url), { info: () => undefined, warn: () => undefined }, CALL_TIMEOUT_MS);
}, 30_000);

afterAll(async () => {
  link.close();
  await node.stop();
});

const limitBuy = (accountId: string, clientOrderId: string) => ({
  command: {
    case: "submitOrder" as const,
    value: { accountId, clientOrderId, symbol: "AAPL", side: Side.BUY, type: OrderType.LIMIT, timeInForce: TimeInForce.GTC, qty: "5", limitPrice: "1.25" },
  },
});

test("a stock connect-es client's Execute gets the answers the balancer's link gets for the same commands", async () => {
  const setup = await stock.execute(
    { commands: [{ command: { case: "createAccount", value: { accountId: "acct-1" } } }, { command: { case: "deposit", value: { accountId: "acct-1", amount: "100000" } } }, limitBuy("acct-1", "c-1")] },
    { timeoutMs: CALL_TIMEOUT_MS },
  );
  expect(setup.results.map((r) => r.result.case)).toEqual(["createAccount", "deposit", "submitOrder"]);
  const placed = setup.results[2]?.result;
  const orderId = placed?.case === "submitOrder" ? (placed.value.order?.id ?? "") : "";
  expect(orderId).not.toBe("");

  // Commands whose answers do not depend on who asks: reads, refusals of each kind, and a
  // resubmission of the same client order id (answered with the order it made).
  const commands = create(ExecuteRequestSchema, {
    commands: [
      { command: { case: "getAccount", value: { accountId: "acct-1" } } },
      { command: { case: "listPositions", value: { accountId: "acct-1" } } },
      { command: { case: "getOrder", value: { accountId: "acct-1", key: { case: "orderId", value: orderId } } } },
      { command: { case: "listOrders", value: { accountId: "acct-1" } } },
      limitBuy("acct-1", "c-1"),
      { command: { case: "getAccount", value: { accountId: "nobody" } } },
      { command: { case: "deposit", value: { accountId: "acct-1", amount: "-1" } } },
      { command: { case: "createAccount", value: { accountId: "acct-1" } } },
      { command: { case: "cancelOrder", value: { accountId: "acct-1", orderId: "no-such-order" } } },
    ],
  }).commands;
  const viaStock = (await stock.execute({ commands }, { timeoutMs: CALL_TIMEOUT_MS })).results;
  const viaLink = await Promise.all(commands.map((command: NodeCommand) => link.answer(command).then((answer) => fromBinary(NodeResultSchema, answer.bytes))));
  expect(viaStock.map((r) => r.result.case)).toEqual(["getAccount", "listPositions", "getOrder", "listOrders", "submitOrder", "error", "error", "error", "error"]);
  expect(viaStock.map((r) => (r.result.case === "error" ? r.result.value.code : 0))).toEqual([0, 0, 0, 0, 0, Code.NotFound, Code.InvalidArgument, Code.AlreadyExists, Code.NotFound]);
  expect(viaLink.length).toBe(viaStock.length);
  viaStock.forEach((result, i) => expect(equals(NodeResultSchema, result, viaLink[i] as typeof result)).toBe(true));
});

test("a stock client that compresses its requests with gzip is served too", async () => {
  const gzipped = createClient(NodeService, createConnectTransport({ baseUrl: url, httpVersion: "2", useBinaryFormat: true, sendCompression: compressionGzip, compressMinBytes: 0 }));
  const answer = await gzipped.execute({ commands: [{ command: { case: "getAccount", value: { accountId: "acct-1" } } }] }, { timeoutMs: CALL_TIMEOUT_MS });
  expect(answer.results.map((r) => r.result.case)).toEqual(["getAccount"]);
});

test("Execute in gRPC is refused UNIMPLEMENTED, naming the protocol it is served in", async () => {
  const grpc = createClient(NodeService, createGrpcTransport({ baseUrl: url }));
  const refused = await grpc.execute({ commands: [] }).then(() => null, (error: unknown) => ConnectError.from(error));
  expect(refused?.code).toBe(Code.Unimplemented);
  expect(refused?.rawMessage).toContain("Connect protocol");
});

/** A Connect call to Execute over HTTP/1.1 with these headers; the answer's status and JSON body. */
async function connectCall(headers: Record<string, string>, method = "POST"): Promise<{ status: number; contentType: string | null; body: { code?: string; message?: string } }> {
  const body = method === "POST" ? toBinary(ExecuteRequestSchema, create(ExecuteRequestSchema, {})) : null;
  const response = await fetch(`${url}${EXECUTE_PATH}`, { method, headers, body });
  return { status: response.status, contentType: response.headers.get("content-type"), body: (await response.json()) as { code?: string; message?: string } };
}

test("Connect calls the node does not serve get a Connect error body: 415 for JSON, and the header at fault named", async () => {
  const json = await connectCall({ "content-type": "application/json" });
  expect([json.status, json.contentType, json.body.code, json.body.message?.startsWith("content-type:")]).toEqual([415, "application/json", "unimplemented", true]);
  const get = await connectCall({}, "GET");
  expect([get.status, get.body.code]).toEqual([405, "unimplemented"]);
  const version = await connectCall({ "content-type": "application/proto", "connect-protocol-version": "2" });
  expect([version.status, version.body.code, version.body.message?.startsWith("connect-protocol-version:")]).toEqual([400, "invalid_argument", true]);
  const compressed = await connectCall({ "content-type": "application/proto", "content-encoding": "br" });
  expect([compressed.status, compressed.body.code, compressed.body.message?.startsWith("content-encoding:")]).toEqual([501, "unimplemented", true]);
  const timeout = await connectCall({ "content-type": "application/proto", "connect-timeout-ms": "soon" });
  expect([timeout.status, timeout.body.code]).toEqual([400, "invalid_argument"]);
});

test("a batch the node refuses whole comes back as its Connect error; a node that is gone is UNAVAILABLE", async () => {
  const tooMany = create(ExecuteRequestSchema, { commands: Array.from({ length: 4097 }, () => ({ command: { case: "getAccount" as const, value: { accountId: "acct-1" } } })) });
  const refused = await stock.execute(tooMany).then(() => null, (error: unknown) => ConnectError.from(error));
  expect([refused?.code, refused?.rawMessage.startsWith("commands:")]).toEqual([Code.InvalidArgument, true]);
  const lean = new LeanUnaryClient(url, EXECUTE_PATH, ExecuteRequestSchema, ExecuteResponseSchema);
  const viaLean = await lean.call(tooMany, CALL_TIMEOUT_MS).then(() => null, (error: unknown) => ConnectError.from(error));
  expect([viaLean?.code, viaLean?.rawMessage]).toEqual([refused?.code, refused?.rawMessage]);
  lean.close();
  const gone = new LeanUnaryClient(`http://127.0.0.1:${await freePort()}`, EXECUTE_PATH, ExecuteRequestSchema, ExecuteResponseSchema);
  const unreachable = await gone.call(create(ExecuteRequestSchema, {}), 2_000).then(() => null, (error: unknown) => ConnectError.from(error));
  expect(unreachable?.code).toBe(Code.Unavailable);
  gone.close();
});
