// SubmitOrders over a real cluster (a balancer and two nodes in this process, a third node in
// the configuration that never starts), over gRPC and over Connect on HTTP/2 (binary, and JSON
// with gzipped requests): every tag gets
// one answer, accepted orders are in the node (GetOrder finds them), bad orders get the unary
// call's code and a message naming the field without ending the stream, answers of an account
// keep its order, and a node that is down gives UNAVAILABLE refusals for its accounts only.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { compressionGzip, createConnectTransport } from "@connectrpc/connect-node";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { mkdtempSync } from "node:fs";
import * as http2 from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SUBMIT_ORDERS_NEEDS_HTTP2 } from "../../src/balancer/submit-orders-stream.ts";
import { startBalancer, type RunningBalancer } from "../../src/cli/start-balancer.ts";
import { startNode } from "../../src/cli/start-node.ts";
import type { ClusterConfig } from "../../src/config/cluster-config.ts";
import { loadClusterConfig } from "../../src/config/load-cluster-config.ts";
import { shardOf } from "../../src/config/shard-of.ts";
import { AccountService } from "../../src/gen/oms/v1/account_service_pb.ts";
import { OrderService, OrderStatusFilter, type SubmitOrdersRequestSchema, type SubmitOrdersResponse } from "../../src/gen/oms/v1/order_service_pb.ts";
import { OrderStatus, OrderType, Side, TimeInForce } from "../../src/gen/oms/v1/trading_pb.ts";
import { createClientTransport, type ClientTransportOptions } from "../../src/rpc/transport.ts";
import { ADMIN, issueClusterKey, keyHeaders, keyInterceptor } from "../support/api-keys.ts";
import { freePort } from "../e2e/dev-process.ts";

const SHARD_COUNT = 3;
/** Starting a cluster and the calls of a test; generous for a loaded CI machine. */
const TEST_TIMEOUT_MS = 30_000;

const running: { stop(): Promise<void> }[] = [];
let balancerUrl = "";
let balancer: RunningBalancer;
let config: ClusterConfig;
/** Every call here presents this admin key (the key rules themselves: test/auth/balancer-auth.test.ts). */
let adminKey = "";
const keyed = (options: ClientTransportOptions = {}): ClientTransportOptions => ({ ...options, apiKey: adminKey });

beforeAll(async () => {
  const base = loadClusterConfig(undefined, {});
  config = {
    ...base,
    shardCount: SHARD_COUNT,
    logLevel: "error",
    dataDir: mkdtempSync(join(tmpdir(), "oms-submit-orders-")),
    // A health check may take up to a second (its timeout is the interval, at most 1 s): on a loaded
    // machine a 100 ms one timed out now and then, and a live node was refused as down.
    balancer: { ...base.balancer, port: 0, healthIntervalMs: 1000, callTimeoutMs: 5000 },
    nodes: [
      { id: "node-a", host: "127.0.0.1", port: await freePort(), shards: [0] },
      { id: "node-b", host: "127.0.0.1", port: await freePort(), shards: [1] },
      // Never started: its accounts' orders are refused UNAVAILABLE.
      { id: "node-c", host: "127.0.0.1", port: await freePort(), shards: [2] },
    ],
  };
  adminKey = await issueClusterKey(config, ADMIN);
  running.push(await startNode(config, "node-a"), await startNode(config, "node-b"));
  balancer = await startBalancer(config);
  running.push(balancer);
  balancerUrl = `http://127.0.0.1:${balancer.server.port}`;

}, TEST_TIMEOUT_MS);

afterAll(async () => {
  for (const r of running.reverse()) await r.stop();
});

/** An account id of the given shard: 0 is node-a's, 1 node-b's, 2 the stopped node-c's. */
function accountOnShard(prefix: string, shard: number): string {
  for (let i = 0; ; i++) {
    const id = `${prefix}-${i}`;
    if (shardOf(id, SHARD_COUNT) === shard) return id;
  }
}

type Request = MessageInitShape<typeof SubmitOrdersRequestSchema>;

/** A buy far below AAPL's price: it rests, so nothing fills while the test looks. */
function restingBuy(accountId: string, clientOrderId: string, limitPrice = "1.00"): NonNullable<Request["order"]> {
  return { accountId, clientOrderId, symbol: "AAPL", side: Side.BUY, type: OrderType.LIMIT, timeInForce: TimeInForce.GTC, qty: "1", limitPrice };
}

/** Sends every request, ends the client's side at once, and collects every answer. */
async function submitAll(orders: Client<typeof OrderService>, requests: Request[]): Promise<SubmitOrdersResponse[]> {
  async function* send() {
    yield* requests;
  }
  const answers: SubmitOrdersResponse[] = [];
  for await (const answer of orders.submitOrders(send())) answers.push(answer);
  return answers;
}

/** Per account, the tags of its answers in the order they came. */
function tagsByAccount(requests: Request[], answers: SubmitOrdersResponse[]): Map<string, bigint[]> {
  const accountOfTag = new Map(requests.map((r) => [BigInt(r.tag ?? 0), r.order?.accountId ?? ""]));
  const byAccount = new Map<string, bigint[]>();
  for (const answer of answers) {
    const account = accountOfTag.get(answer.tag) ?? "?";
    byAccount.set(account, [...(byAccount.get(account) ?? []), answer.tag]);
  }
  return byAccount;
}

function refusalOf(answers: SubmitOrdersResponse[], tag: bigint): { code: string; message: string } | undefined {
  const result = answers.find((a) => a.tag === tag)?.result;
  return result?.case === "refusal" ? result.value : undefined;
}

const CLIENTS = [
  ["grpc", "gRPC"],
  ["connect", "Connect over HTTP/2"],
  ["connect-json", "Connect JSON over HTTP/2, gzipped requests"],
] as const;

/** connect-es's clients; the JSON one gzips every request it sends. */
function transportOf(protocol: (typeof CLIENTS)[number][0]) {
  if (protocol !== "connect-json") return createClientTransport(balancerUrl, protocol, keyed({ httpVersion: "2" }));
  return createConnectTransport({ baseUrl: balancerUrl, httpVersion: "2", useBinaryFormat: false, sendCompression: compressionGzip, compressMinBytes: 0, interceptors: [keyInterceptor(adminKey)] });
}

for (const [protocol, label] of CLIENTS) {
  describe(`SubmitOrders over ${label}`, () => {
    const clients = () => {
      const transport = transportOf(protocol);
      return { accounts: createClient(AccountService, transport), orders: createClient(OrderService, transport) };
    };

    test("the client ends its side right after sending: orders of several accounts on two nodes are each answered once, accepted, and found by GetOrder; bad ones in the middle are refused naming the field", async () => {
      const { accounts, orders } = clients();
      const owners = [accountOnShard(`${protocol}-s0`, 0), accountOnShard(`${protocol}-s1`, 1), accountOnShard(`${protocol}-s0b`, 0)];
      for (const accountId of owners) {
        await accounts.createAccount({ accountId });
        await accounts.deposit({ accountId, amount: "10000" });
      }
      const requests: Request[] = [];
      for (let i = 0; i < 60; i++) requests.push({ tag: BigInt(1000 + i), order: restingBuy(owners[i % owners.length]!, `${protocol}-ok-${i}`) });
      const badQty: Request = { tag: 7n, order: { ...restingBuy(owners[1]!, `${protocol}-bad-qty`), qty: "abc" } };
      const badSymbol: Request = { tag: 8n, order: { ...restingBuy(owners[0]!, `${protocol}-bad-symbol`), symbol: "ZZZZ" } };
      const noOrder: Request = { tag: 9n };
      const badAccount: Request = { tag: 10n, order: restingBuy("", `${protocol}-no-account`) };
      requests.splice(20, 0, badQty, badSymbol);
      requests.splice(40, 0, noOrder, badAccount);

      const answers = await submitAll(orders, requests);

      expect(answers.map((a) => a.tag).sort()).toEqual(requests.map((r) => BigInt(r.tag ?? 0)).sort());
      expect(refusalOf(answers, 7n)).toEqual(expect.objectContaining({ code: "invalid_argument", message: expect.stringContaining("qty") }));
      expect(refusalOf(answers, 8n)).toEqual(expect.objectContaining({ code: "invalid_argument", message: expect.stringContaining("symbol") }));
      expect(refusalOf(answers, 9n)).toEqual(expect.objectContaining({ code: "invalid_argument", message: expect.stringContaining("order") }));
      expect(refusalOf(answers, 10n)).toEqual(expect.objectContaining({ code: "invalid_argument", message: expect.stringContaining("account_id") }));
      const accepted = answers.filter((a) => a.tag >= 1000n);
      for (const answer of accepted) {
        expect(answer.result.case).toBe("order");
        if (answer.result.case !== "order") continue;
        const order = answer.result.value;
        expect([order.status, order.clientOrderId]).toEqual([OrderStatus.NEW, `${protocol}-ok-${answer.tag - 1000n}`]);
        const found = await orders.getOrder({ accountId: order.accountId, key: { case: "orderId", value: order.id } });
        expect(found.order?.clientOrderId).toBe(order.clientOrderId);
      }
      expect(accepted.length).toBe(60);
      // The refused orders changed nothing: only the accepted ones are in the accounts.
      for (const accountId of owners) {
        const { orders: listed } = await orders.listOrders({ accountId, status: OrderStatusFilter.ALL, pageSize: 500 });
        expect(listed.length).toBe(20);
      }
      // Per account, answers come in the order the requests were sent.
      const sentByAccount = tagsByAccount(requests, requests.map((r) => ({ tag: BigInt(r.tag ?? 0) }) as SubmitOrdersResponse));
      expect(tagsByAccount(requests, answers)).toEqual(sentByAccount);
    }, TEST_TIMEOUT_MS);

    test("insufficient buying power is a failed_precondition refusal, in the account's order: the first orders take the cash, the later ones are refused", async () => {
      const { accounts, orders } = clients();
      const accountId = accountOnShard(`${protocol}-bp`, 1);
      await accounts.createAccount({ accountId });
      await accounts.deposit({ accountId, amount: "250" });
      // Each holds $100: two fit in $250, the third and fourth do not.
      const requests: Request[] = [1n, 2n, 3n, 4n].map((tag) => ({ tag, order: restingBuy(accountId, `${protocol}-bp-${tag}`, "100.00") }));
      const answers = await submitAll(orders, requests);
      expect(answers.map((a) => a.tag)).toEqual([1n, 2n, 3n, 4n]);
      expect(answers.map((a) => a.result.case)).toEqual(["order", "order", "refusal", "refusal"]);
      expect(refusalOf(answers, 3n)).toEqual(expect.objectContaining({ code: "failed_precondition", message: expect.stringContaining("buying power") }));
      const { account } = await accounts.getAccount({ accountId });
      expect(account?.reserved).toBe("200");
    }, TEST_TIMEOUT_MS);

    test("orders for a node that is down are refused unavailable and the stream goes on for the others", async () => {
      const { accounts, orders } = clients();
      const live = accountOnShard(`${protocol}-live`, 0);
      const gone = accountOnShard(`${protocol}-gone`, 2);
      await accounts.createAccount({ accountId: live });
      await accounts.deposit({ accountId: live, amount: "1000" });
      const requests: Request[] = [];
      for (let i = 0; i < 10; i++) requests.push({ tag: BigInt(i), order: restingBuy(i % 2 === 0 ? live : gone, `${protocol}-down-${i}`) });
      const answers = await submitAll(orders, requests);
      expect(answers.length).toBe(10);
      for (const answer of answers) {
        if (answer.tag % 2n === 0n) expect(answer.result.case).toBe("order");
        else expect(refusalOf(answers, answer.tag)).toEqual(expect.objectContaining({ code: "unavailable", message: expect.stringContaining("node-c") }));
      }
    }, TEST_TIMEOUT_MS);

    test("a client that cancels the stream mid-way leaves the balancer serving", async () => {
      const { accounts, orders } = clients();
      const accountId = accountOnShard(`${protocol}-cancel`, 1);
      await accounts.createAccount({ accountId });
      await accounts.deposit({ accountId, amount: "1000" });
      const abort = new AbortController();
      async function* endless() {
        for (let tag = 0n; ; tag++) yield { tag, order: restingBuy(accountId, `${protocol}-cancel-${tag}`, "0.01") };
      }
      let answered = 0;
      const cancelled = (async () => {
        for await (const answer of orders.submitOrders(endless(), { signal: abort.signal })) {
          expect(answer.result.case).toBe("order");
          answered += 1;
          if (answered === 50) abort.abort();
        }
      })();
      expect(await cancelled.then(() => "ended", () => "cancelled")).toBe("cancelled");
      expect(answered).toBe(50);
      const { account } = await accounts.getAccount({ accountId });
      expect(account?.id).toBe(accountId);
    }, TEST_TIMEOUT_MS);
  });
}

test("a stream whose bytes are not a SubmitOrdersRequest ends invalid_argument and the balancer keeps serving", async () => {
  const session = http2.connect(balancerUrl);
  // A Connect envelope (flags 0, length 5) whose message is a truncated field.
  const envelope = Buffer.from([0, 0, 0, 0, 5, 0xff, 0xff, 0xff, 0xff, 0xff]);
  const stream = session.request({ ":method": "POST", ":path": "/oms.v1.OrderService/SubmitOrders", "content-type": "application/connect+proto", ...keyHeaders(adminKey) });
  stream.end(envelope);
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  session.close();
  const body = Buffer.concat(chunks);
  // The last envelope is the end-of-stream message (flag 2), JSON.
  expect(body[0]).toBe(2);
  const end = JSON.parse(body.subarray(5).toString("utf8")) as { error?: { code: string; message: string } };
  expect(end.error?.code).toBe("invalid_argument");
  expect(end.error?.message).toContain("SubmitOrdersRequest");
  const accountId = accountOnShard("after-garbage", 0);
  const accounts = createClient(AccountService, createClientTransport(balancerUrl, "connect", keyed()));
  expect((await accounts.createAccount({ accountId })).account?.id).toBe(accountId);
}, TEST_TIMEOUT_MS);

test("every stream above, of every client, was taken by the one SubmitOrders path", () => {
  // Every stream of the describe blocks (four tests each over three clients) and the garbage one.
  expect(balancer.submitOrdersStreams()).toBeGreaterThanOrEqual(13);
});

test("gRPC-web and Connect over HTTP/1.1 cannot carry the stream: they are told to use the unary SubmitOrder", async () => {
  for (const [protocol, httpVersion] of [["grpc-web", "2"], ["grpc-web", "1.1"], ["connect", "1.1"]] as const) {
    const orders = createClient(OrderService, createClientTransport(balancerUrl, protocol, keyed({ httpVersion })));
    async function* one() {
      yield { tag: 1n, order: restingBuy(accountOnShard("http1", 0), "http1-1") };
    }
    const refused = await (async () => {
      for await (const _ of orders.submitOrders(one())) return null;
      return null;
    })().catch((error: unknown) => ConnectError.from(error));
    expect([protocol, httpVersion, refused?.code, refused?.rawMessage]).toEqual([protocol, httpVersion, Code.Unimplemented, SUBMIT_ORDERS_NEEDS_HTTP2]);
    expect(refused?.rawMessage).toBe(SUBMIT_ORDERS_NEEDS_HTTP2);
  }
}, TEST_TIMEOUT_MS);
