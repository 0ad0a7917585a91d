// A closed cluster: a node with a cluster secret refuses every call without it (Execute,
// StreamTradeUpdates, ListQuotes, reflection, /metrics), UNAUTHENTICATED in the caller's
// protocol and before any work, while health stays open for probes; the balancer, which
// carries the secret, is served on every path that reaches a node. A node with no secret
// refuses to start unless it binds loopback only.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startBalancer, type RunningBalancer } from "../../src/cli/start-balancer.ts";
import { isLoopback, startNode, type RunningNode } from "../../src/cli/start-node.ts";
import { CLUSTER_DEFAULTS, type ClusterConfig } from "../../src/config/cluster-config.ts";
import { Health } from "../../src/gen/grpc/health/v1/health_pb.ts";
import { ServerReflection } from "../../src/gen/grpc/reflection/v1/reflection_pb.ts";
import { ExecuteRequestSchema, ExecuteResponseSchema, NodeService } from "../../src/gen/oms/internal/v1/node_pb.ts";
import { AccountService } from "../../src/gen/oms/v1/account_service_pb.ts";
import { AssetService } from "../../src/gen/oms/v1/asset_service_pb.ts";
import { OrderService } from "../../src/gen/oms/v1/order_service_pb.ts";
import { OrderType, Side, TimeInForce } from "../../src/gen/oms/v1/trading_pb.ts";
import { CLUSTER_SECRET_HEADER } from "../../src/rpc/cluster-secret.ts";
import { freePort } from "../../src/rpc/free-port.ts";
import { ServingStatus } from "../../src/rpc/health.ts";
import { LeanUnaryClient } from "../../src/rpc/lean-unary-client.ts";
import { createClientTransport } from "../../src/rpc/transport.ts";
import { ADMIN, issueClusterKey, keyHeaders } from "../support/api-keys.ts";

const SECRET = "test-cluster-secret-0123456789abcdef";
const EXECUTE_PATH = `/${NodeService.typeName}/${NodeService.method.execute.name}`;
const CALL_TIMEOUT_MS = 5_000;
let dataDir = "";
let config: ClusterConfig;
let node: RunningNode;
let balancer: RunningBalancer;
let nodeUrl = "";
let balancerUrl = "";

/** Every public call's headers, in one place so that an API key can be added at merge. */
function balancerHeaders(): Record<string, string> {
  return keyHeaders(adminKey);
}
let adminKey = "";

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "oms-cluster-door-"));
  config = {
    ...CLUSTER_DEFAULTS,
    shardCount: 2,
    dataDir,
    logLevel: "error",
    cluster: { ...CLUSTER_DEFAULTS.cluster, secret: SECRET },
    nodes: [{ id: "node-a", host: "127.0.0.1", port: await freePort(), shards: [0, 1] }],
  };
  adminKey = await issueClusterKey(config, ADMIN);
  node = await startNode(config, "node-a");
  balancer = await startBalancer(config, 0);
  nodeUrl = `http://127.0.0.1:${node.server.port}`;
  balancerUrl = `http://127.0.0.1:${balancer.server.port}`;
}, 30_000);

afterAll(async () => {
  await balancer?.stop();
  await node?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const failure = (error: unknown) => ConnectError.from(error);

function createAccountBatch(accountId: string) {
  return create(ExecuteRequestSchema, { commands: [{ command: { case: "createAccount", value: { accountId } } }] });
}

test("the balancer, carrying the secret, is served: commands (Execute), trade-update streams and quotes (ListQuotes) reach the node", async () => {
  const accounts = createClient(AccountService, createClientTransport(balancerUrl, "connect", { httpVersion: "2" }));
  const created = await accounts.createAccount({ accountId: "door-1" }, { headers: balancerHeaders() });
  expect(created.account?.id).toBe("door-1");
  await accounts.deposit({ accountId: "door-1", amount: "1000" }, { headers: balancerHeaders() });
  const orders = createClient(OrderService, createClientTransport(balancerUrl, "grpc"));
  const abort = new AbortController();
  const firstUpdate = (async () => {
    for await (const response of orders.streamTradeUpdates({ accountId: "door-1" }, { headers: balancerHeaders(), signal: abort.signal, timeoutMs: 0 })) return response.update?.order?.clientOrderId;
    return undefined;
  })();
  // The stream is open at the node some time after the call returns: orders go in until one is heard.
  let heard: string | undefined;
  void firstUpdate.then((id) => (heard = id));
  for (let i = 0; i < 50 && heard === undefined; i++) {
    await orders.submitOrder(
      { accountId: "door-1", clientOrderId: `door-order-${i}`, symbol: "AAPL", side: Side.BUY, type: OrderType.LIMIT, timeInForce: TimeInForce.GTC, qty: "1", limitPrice: "1.00" },
      { headers: balancerHeaders() },
    );
    await Bun.sleep(20);
  }
  expect(await firstUpdate).toStartWith("door-order-");
  abort.abort();
  const assets = createClient(AssetService, createClientTransport(balancerUrl, "connect"));
  expect((await assets.listAssets({}, { headers: balancerHeaders() })).assets.length).toBeGreaterThan(0);
});

test("Execute without the secret, or with a wrong one, is UNAUTHENTICATED and does nothing", async () => {
  for (const hop of [{}, { secret: "not-the-cluster-secret-at-all" }]) {
    const lean = new LeanUnaryClient(nodeUrl, EXECUTE_PATH, ExecuteRequestSchema, ExecuteResponseSchema, hop);
    const refused = await lean.call(createAccountBatch("intruder-1"), CALL_TIMEOUT_MS).then(() => null, failure);
    lean.close();
    expect(refused?.code).toBe(Code.Unauthenticated);
    expect(refused?.rawMessage).toContain(CLUSTER_SECRET_HEADER);
  }
  const accounts = createClient(AccountService, createClientTransport(balancerUrl, "connect"));
  const lookup = await accounts.getAccount({ accountId: "intruder-1" }, { headers: balancerHeaders() }).then(() => null, failure);
  expect(lookup?.code).toBe(Code.NotFound);
  // The same call with the secret is served: the refusal was the door, not the request.
  const lean = new LeanUnaryClient(nodeUrl, EXECUTE_PATH, ExecuteRequestSchema, ExecuteResponseSchema, { secret: SECRET });
  const served = await lean.call(createAccountBatch("insider-1"), CALL_TIMEOUT_MS);
  lean.close();
  expect(served.results[0]?.result.case).toBe("createAccount");
});

test("every other node route is refused without the secret, in the caller's protocol", async () => {
  const transports = [
    createGrpcTransport({ baseUrl: nodeUrl }),
    createGrpcWebTransport({ baseUrl: nodeUrl, httpVersion: "1.1" }),
    createConnectTransport({ baseUrl: nodeUrl, httpVersion: "1.1" }),
    createConnectTransport({ baseUrl: nodeUrl, httpVersion: "2", useBinaryFormat: true }),
  ];
  for (const transport of transports) {
    const nodeClient = createClient(NodeService, transport);
    const quotes = await nodeClient.listQuotes({}, { timeoutMs: CALL_TIMEOUT_MS }).then(() => null, failure);
    expect(quotes?.code).toBe(Code.Unauthenticated);
    const stream = await (async () => {
      for await (const _ of nodeClient.streamTradeUpdates({ accountId: "insider-1" }, { timeoutMs: CALL_TIMEOUT_MS })) return null;
      return null;
    })().catch(failure);
    expect(stream?.code).toBe(Code.Unauthenticated);
    const reflection = createClient(ServerReflection, transport);
    const listed = await (async () => {
      for await (const _ of reflection.serverReflectionInfo((async function* () { yield { messageRequest: { case: "listServices" as const, value: "" } }; })())) return null;
      return null;
    })().catch(failure);
    expect(listed?.code).toBe(Code.Unauthenticated);
    const health = createClient(Health, transport);
    expect((await health.check({ service: "" }, { timeoutMs: CALL_TIMEOUT_MS })).status).toBe(ServingStatus.SERVING);
  }
  const metrics = await fetch(`${nodeUrl}/metrics`);
  expect(metrics.status).toBe(401);
  expect(((await metrics.json()) as { code: string }).code).toBe("unauthenticated");
  const unknownPath = await fetch(`${nodeUrl}/no.such.Service/Method`, { method: "POST", body: "{}", headers: { "content-type": "application/json" } });
  expect(unknownPath.status).toBe(401);
  const withSecret = await fetch(`${nodeUrl}/metrics`, { headers: { [CLUSTER_SECRET_HEADER]: SECRET } });
  expect(withSecret.status).toBe(200);
});

test("a node with no secret and no mutual TLS refuses to start on an address beyond loopback, before it opens its data", async () => {
  const open = { ...config, dataDir: join(dataDir, "open"), cluster: CLUSTER_DEFAULTS.cluster, nodes: [{ id: "node-x", host: "0.0.0.0", port: await freePort(), shards: [0, 1] }] };
  const refused = await startNode(open, "node-x").then(() => null, (error: unknown) => error as Error);
  expect(refused?.message).toContain("no cluster secret and no mutual TLS");
  expect(existsSync(join(open.dataDir, "node-x"))).toBe(false);
  expect([isLoopback("127.0.0.1"), isLoopback("127.1.2.3"), isLoopback("::1"), isLoopback("localhost")]).toEqual([true, true, true, true]);
  expect([isLoopback("0.0.0.0"), isLoopback("10.0.0.1"), isLoopback("::"), isLoopback("127.0.0.1.example.com")]).toEqual([false, false, false, false]);
});
