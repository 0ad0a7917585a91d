// The node's lean Execute path (Connect binary) and connect-es (here over gRPC) give the same
// answers, and the balancer's lean client maps a refused batch to the Connect error it carries.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { create, equals } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startNode, type RunningNode } from "../../src/cli/start-node.ts";
import { loadClusterConfig } from "../../src/config/load-cluster-config.ts";
import { ExecuteRequestSchema, ExecuteResponseSchema, NodeService } from "../../src/gen/oms/internal/v1/node_pb.ts";
import { freePort } from "../../src/rpc/free-port.ts";
import { LeanUnaryClient } from "../../src/rpc/lean-unary-client.ts";
import { createClientTransport } from "../../src/rpc/transport.ts";

let node: RunningNode;
let url = "";
const path = `/${NodeService.typeName}/${NodeService.method.execute.name}`;

beforeAll(async () => {
  const base = loadClusterConfig(undefined, {});
  const port = await freePort();
  const config = { ...base, shardCount: 2, logLevel: "error" as const, dataDir: mkdtempSync(join(tmpdir(), "oms-node-fast-")), nodes: [{ id: "node-a", host: "127.0.0.1", port, shards: [0, 1] }] };
  node = await startNode(config, "node-a");
  url = `http://127.0.0.1:${port}`;
}, 30_000);

afterAll(async () => {
  await node.stop();
});

test("Execute answers the same through the lean path and through connect-es", async () => {
  const lean = new LeanUnaryClient(url, path, ExecuteRequestSchema, ExecuteResponseSchema);
  const grpc = createClient(NodeService, createClientTransport(url, "grpc"));
  await lean.call(create(ExecuteRequestSchema, { commands: [{ command: { case: "createAccount", value: { accountId: "fp-1" } } }] }), 5_000);
  const read = create(ExecuteRequestSchema, {
    commands: [
      { command: { case: "getAccount", value: { accountId: "fp-1" } } },
      { command: { case: "getAccount", value: { accountId: "nobody" } } },
      { command: { case: "submitOrder", value: { accountId: "fp-1", symbol: "AAPL", qty: "-5" } } },
    ],
  });
  const [viaLean, viaConnect] = [await lean.call(read, 5_000), await grpc.execute(read)];
  expect(viaLean.results.map((r) => r.result.case)).toEqual(["getAccount", "error", "error"]);
  expect(equals(ExecuteResponseSchema, viaLean, viaConnect)).toBe(true);
  lean.close();
});

test("order results, encoded by hand on the lean path, read as connect-es's messages of the same orders", async () => {
  const lean = new LeanUnaryClient(url, path, ExecuteRequestSchema, ExecuteResponseSchema);
  const grpc = createClient(NodeService, createClientTransport(url, "grpc"));
  const setup = create(ExecuteRequestSchema, {
    commands: [
      { command: { case: "createAccount", value: { accountId: "fp-2" } } },
      { command: { case: "deposit", value: { accountId: "fp-2", amount: "100000" } } },
      { command: { case: "submitOrder", value: { accountId: "fp-2", clientOrderId: "c-1", symbol: "AAPL", side: 1, type: 2, timeInForce: 2, qty: "5", limitPrice: "1.25" } } },
    ],
  });
  const placed = await lean.call(setup, 5_000);
  const order = placed.results[2]?.result;
  expect(order?.case).toBe("submitOrder");
  const orderId = order?.case === "submitOrder" ? (order.value.order?.id ?? "") : "";
  const read = create(ExecuteRequestSchema, {
    commands: [
      { command: { case: "getOrder", value: { accountId: "fp-2", key: { case: "orderId", value: orderId } } } },
      // Submitting the same client order id again answers with the first order.
      { command: { case: "submitOrder", value: { accountId: "fp-2", clientOrderId: "c-1", symbol: "AAPL", side: 1, type: 2, timeInForce: 2, qty: "5", limitPrice: "1.25" } } },
      { command: { case: "cancelOrder", value: { accountId: "fp-2", orderId: "no-such-order" } } },
    ],
  });
  const [viaLean, viaConnect] = [await lean.call(read, 5_000), await grpc.execute(read)];
  expect(viaLean.results.map((r) => r.result.case)).toEqual(["getOrder", "submitOrder", "error"]);
  expect(equals(ExecuteResponseSchema, viaLean, viaConnect)).toBe(true);
  const cancel = create(ExecuteRequestSchema, { commands: [{ command: { case: "cancelOrder", value: { accountId: "fp-2", orderId } } }] });
  const canceled = (await lean.call(cancel, 5_000)).results[0]?.result;
  expect(canceled?.case === "cancelOrder" ? canceled.value.order?.id : canceled?.case).toBe(orderId);
  lean.close();
});

test("a batch the node refuses whole comes back as its Connect error; a node that is gone is UNAVAILABLE", async () => {
  const lean = new LeanUnaryClient(url, path, ExecuteRequestSchema, ExecuteResponseSchema);
  const tooMany = create(ExecuteRequestSchema, { commands: Array.from({ length: 4097 }, () => ({ command: { case: "getAccount" as const, value: { accountId: "fp-1" } } })) });
  const refused = await lean.call(tooMany, 5_000).then(() => null, (error: unknown) => ConnectError.from(error));
  expect([refused?.code, refused?.rawMessage.startsWith("commands:")]).toEqual([Code.InvalidArgument, true]);
  lean.close();
  const gone = new LeanUnaryClient(`http://127.0.0.1:${await freePort()}`, path, ExecuteRequestSchema, ExecuteResponseSchema);
  const unreachable = await gone.call(create(ExecuteRequestSchema, {}), 2_000).then(() => null, (error: unknown) => ConnectError.from(error));
  expect(unreachable?.code).toBe(Code.Unavailable);
  gone.close();
});
