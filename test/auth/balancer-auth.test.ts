// API keys at the balancer, on every protocol and path, against a real node: Connect (binary and
// JSON, HTTP/1.1 and HTTP/2), gRPC and gRPC-web unary calls, StreamTradeUpdates, SubmitOrders
// per order, ListAssets and AdminService. Missing or wrong keys are UNAUTHENTICATED; another
// account is PERMISSION_DENIED in the same words whether it exists or not; an account key may
// leave account_id out; admin methods need an admin key; revocation reaches a second balancer at
// its next poll (triggered here); keys survive a balancer restart; per-key limits answer
// RESOURCE_EXHAUSTED with retry-after; health and reflection stay open.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import * as http2 from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { startBalancer, type RunningBalancer } from "../../src/cli/start-balancer.ts";
import { startNode, type RunningNode } from "../../src/cli/start-node.ts";
import type { ClusterConfig } from "../../src/config/cluster-config.ts";
import { loadClusterConfig } from "../../src/config/load-cluster-config.ts";
import { AccountService } from "../../src/gen/oms/v1/account_service_pb.ts";
import { AdminService, ListApiKeysResponseSchema } from "../../src/gen/oms/v1/admin_service_pb.ts";
import { AssetService } from "../../src/gen/oms/v1/asset_service_pb.ts";
import { toJsonString, type MessageInitShape } from "@bufbuild/protobuf";
import { OrderService, SubmitOrdersRequestSchema } from "../../src/gen/oms/v1/order_service_pb.ts";
import { OrderType, Side, TimeInForce } from "../../src/gen/oms/v1/trading_pb.ts";
import { HealthCheckResponse_ServingStatus, Health } from "../../src/gen/grpc/health/v1/health_pb.ts";
import { createClientTransport, type ClientProtocol } from "../../src/rpc/transport.ts";
import { freePort } from "../../src/rpc/free-port.ts";
import { accountScope, ADMIN, issueClusterKey } from "../support/api-keys.ts";

let config: ClusterConfig;
let node: RunningNode;
let balancer: RunningBalancer;
let url = "";
let adminKey = "";
let aliceKey = "";

beforeAll(async () => {
  const base = loadClusterConfig(undefined, {});
  config = {
    ...base,
    shardCount: 2,
    logLevel: "error",
    dataDir: mkdtempSync(join(tmpdir(), "oms-auth-")),
    balancer: { ...base.balancer, port: 0 },
    nodes: [{ id: "node-a", host: "127.0.0.1", port: await freePort(), shards: [0, 1] }],
  };
  adminKey = await issueClusterKey(config, ADMIN);
  aliceKey = await issueClusterKey(config, accountScope("alice"));
  node = await startNode(config, "node-a");
  balancer = await startBalancer(config, 0);
  url = `http://127.0.0.1:${balancer.server.port}`;
  const accounts = createClient(AccountService, createClientTransport(url, "connect", { apiKey: adminKey }));
  for (const accountId of ["alice", "bob", "carol"]) {
    await accounts.createAccount({ accountId });
    await accounts.deposit({ accountId, amount: "100000" });
  }
}, 60_000);

afterAll(async () => {
  await balancer.stop();
  await node.stop();
});

const PROTOCOLS: [string, ClientProtocol, { httpVersion: "1.1" | "2"; useBinaryFormat?: boolean }][] = [
  ["Connect binary, HTTP/1.1", "connect", { httpVersion: "1.1" }],
  ["Connect JSON, HTTP/1.1", "connect", { httpVersion: "1.1", useBinaryFormat: false }],
  ["Connect binary, HTTP/2", "connect", { httpVersion: "2" }],
  ["gRPC", "grpc", { httpVersion: "2" }],
  ["gRPC-web", "grpc-web", { httpVersion: "1.1" }],
];

function clients(protocol: ClientProtocol, options: { httpVersion: "1.1" | "2"; useBinaryFormat?: boolean }, apiKey?: string) {
  const transport = createClientTransport(url, protocol, { ...options, ...(apiKey === undefined ? {} : { apiKey }) });
  return { accounts: createClient(AccountService, transport), orders: createClient(OrderService, transport), assets: createClient(AssetService, transport), admin: createClient(AdminService, transport) };
}

async function refusal(call: Promise<unknown>): Promise<[string, string]> {
  try {
    await call;
  } catch (error) {
    const refused = ConnectError.from(error);
    return [Code[refused.code], refused.rawMessage];
  }
  return ["OK", ""];
}

const limitOrder = (accountId: string, clientOrderId: string) => ({
  accountId,
  clientOrderId,
  symbol: "AAPL",
  side: Side.BUY,
  type: OrderType.LIMIT,
  timeInForce: TimeInForce.DAY,
  qty: "1",
  limitPrice: "100",
});

for (const [label, protocol, options] of PROTOCOLS) {
  describe(`unary calls over ${label}`, () => {
    test("no key and a wrong key are UNAUTHENTICATED, before anything is routed", async () => {
      const [keyId] = aliceKey.split(":");
      for (const apiKey of [undefined, `${keyId}:wrong-secret`, "kNoSuchKey000000:x"]) {
        const { accounts, assets } = clients(protocol, options, apiKey);
        expect((await refusal(accounts.getAccount({ accountId: "alice" })))[0]).toBe("Unauthenticated");
        expect((await refusal(assets.listAssets({})))[0]).toBe("Unauthenticated");
      }
    });

    test("an account key reads its own account, with account_id given or left out", async () => {
      const { accounts } = clients(protocol, options, aliceKey);
      expect((await accounts.getAccount({ accountId: "alice" })).account?.id).toBe("alice");
      expect((await accounts.getAccount({})).account?.id).toBe("alice");
      expect((await accounts.listPositions({})).positions).toBeArray();
    });

    test("another account, existing or not, is PERMISSION_DENIED in the same words, on reads and on trades", async () => {
      const { accounts, orders } = clients(protocol, options, aliceKey);
      const answers = [];
      for (const other of ["bob", "nobody"]) {
        answers.push(await refusal(accounts.getAccount({ accountId: other })));
        answers.push(await refusal(orders.listOrders({ accountId: other })));
        answers.push(await refusal(orders.getOrder({ accountId: other, key: { case: "orderId", value: "x" } })));
        answers.push(await refusal(orders.cancelOrder({ accountId: other, orderId: "x" })));
        answers.push(await refusal(orders.submitOrder(limitOrder(other, `x-${protocol}`))));
        answers.push(await refusal(orders.replaceOrder({ accountId: other, orderId: "x", qty: "2" })));
        answers.push(await refusal(accounts.listPositions({ accountId: other })));
      }
      const denied: [string, string] = ["PermissionDenied", "account_id: this API key acts for another account"];
      expect(answers).toEqual(Array.from({ length: 14 }, () => denied));
    });

    test("admin methods need an admin key; an admin key may act on any account", async () => {
      const alice = clients(protocol, options, aliceKey);
      expect((await refusal(alice.accounts.createAccount({ accountId: "mallory" })))[0]).toBe("PermissionDenied");
      expect((await refusal(alice.accounts.deposit({ accountId: "alice", amount: "1" })))[0]).toBe("PermissionDenied");
      expect((await refusal(alice.admin.listApiKeys({})))[0]).toBe("PermissionDenied");
      const admin = clients(protocol, options, adminKey);
      expect((await admin.accounts.getAccount({ accountId: "bob" })).account?.id).toBe("bob");
      expect((await admin.admin.listApiKeys({ accountId: "alice" })).keys.map((key) => key.accountId)).toEqual(["alice"]);
      expect((await admin.assets.listAssets({})).assets.length).toBeGreaterThan(0);
    });
  });
}

describe("StreamTradeUpdates", () => {
  for (const [label, protocol, options] of PROTOCOLS.filter(([, , o]) => o.useBinaryFormat === undefined)) {
    test(`over ${label}: no key, another account (existing or not) are refused; the implied account's updates arrive`, async () => {
      const nobody = clients(protocol, options);
      const read = async (client: Client<typeof OrderService>, accountId: string) => refusal((async () => {
        for await (const _ of client.streamTradeUpdates({ accountId }, { timeoutMs: 10_000 })) return;
      })());
      expect((await read(nobody.orders, "alice"))[0]).toBe("Unauthenticated");
      const alice = clients(protocol, options, aliceKey);
      expect(await read(alice.orders, "bob")).toEqual(await read(alice.orders, "nobody"));
      expect((await read(alice.orders, "bob"))[0]).toBe("PermissionDenied");
      const abort = new AbortController();
      const update = await firstUpdate(alice.orders, alice.orders, abort.signal, `stream-${protocol}-${options.httpVersion}`);
      abort.abort();
      expect(update?.order?.accountId).toBe("alice");
    });
  }
});

describe("SubmitOrders", () => {
  for (const [label, protocol, json] of [["gRPC", "grpc", false], ["Connect", "connect", false], ["Connect-JSON", "connect", true]] as const) {
    test(`over ${label} (HTTP/2): each order of another account is refused and the stream goes on; an order without account_id is the key's`, async () => {
      const { orders } = clients(protocol, { httpVersion: "2", ...(json ? { useBinaryFormat: false } : {}) }, aliceKey);
      async function* requests(): AsyncIterable<MessageInitShape<typeof SubmitOrdersRequestSchema>> {
        yield { tag: 1n, order: limitOrder("alice", `s-${label}-1`) };
        yield { tag: 2n, order: limitOrder("bob", `s-${label}-2`) };
        yield { tag: 3n, order: limitOrder("nobody", `s-${label}-3`) };
        yield { tag: 4n, order: limitOrder("", `s-${label}-4`) };
      }
      const answers = [];
      for await (const answer of orders.submitOrders(requests())) answers.push(answer);
      const byTag = new Map(answers.map((answer) => [answer.tag, answer.result]));
      expect(byTag.get(1n)?.case).toBe("order");
      expect(byTag.get(2n)).toEqual(byTag.get(3n));
      expect(byTag.get(2n)?.case === "refusal" ? { ...byTag.get(2n)?.value } : null).toMatchObject({ code: "permission_denied", message: "account_id: this API key acts for another account" });
      const implied = byTag.get(4n);
      expect(implied?.case === "order" ? implied.value.accountId : implied).toBe("alice");
    });

    test(`over ${label} (HTTP/2): a stream without a key ends UNAUTHENTICATED and places nothing`, async () => {
      const { orders } = clients(protocol, { httpVersion: "2", ...(json ? { useBinaryFormat: false } : {}) });
      async function* requests(): AsyncIterable<MessageInitShape<typeof SubmitOrdersRequestSchema>> {
        yield { tag: 1n, order: limitOrder("alice", `unauth-${label}`) };
      }
      const answer = await refusal((async () => {
        for await (const _ of orders.submitOrders(requests())) return;
      })());
      expect(answer[0]).toBe("Unauthenticated");
      const mine = clients("connect", { httpVersion: "1.1" }, aliceKey);
      expect((await refusal(mine.orders.getOrder({ key: { case: "clientOrderId", value: `unauth-${label}` } })))[0]).toBe("NotFound");
    });
  }
});

test("Alpaca's APCA-API-KEY-ID and APCA-API-SECRET-KEY headers present a key too", async () => {
  const [keyId, secret] = aliceKey.split(":") as [string, string];
  const response = await fetch(`${url}/oms.v1.AccountService/GetAccount`, {
    method: "POST",
    headers: { "content-type": "application/json", "apca-api-key-id": keyId, "apca-api-secret-key": secret },
    body: "{}",
  });
  expect(((await response.json()) as { account: { id: string } }).account.id).toBe("alice");
});

test("health and reflection stay open without a key", async () => {
  const health = createClient(Health, createClientTransport(url, "grpc"));
  expect((await health.check({})).status).toBe(HealthCheckResponse_ServingStatus.SERVING);
});

test("a key issued by AdminService works at once; revoked on one balancer, a second balancer refuses it at its next poll; keys survive a restart", async () => {
  const admin = clients("connect", { httpVersion: "1.1" }, adminKey);
  const issued = await admin.admin.issueApiKey({ accountId: "bob", label: "bob's bot" });
  expect(issued.bearer).toBe(`${issued.key?.keyId}:${issued.secret}`);
  expect(toJsonString(ListApiKeysResponseSchema, await admin.admin.listApiKeys({}))).not.toContain(issued.secret);
  const second = await startBalancer(config, 0);
  try {
    const viaSecond = createClient(AccountService, createClientTransport(`http://127.0.0.1:${second.server.port}`, "connect", { apiKey: issued.bearer }));
    const viaFirst = clients("connect", { httpVersion: "1.1" }, issued.bearer).accounts;
    expect((await viaFirst.getAccount({})).account?.id).toBe("bob");
    expect((await viaSecond.getAccount({})).account?.id).toBe("bob");
    await admin.admin.revokeApiKey({ keyId: issued.key?.keyId ?? "" });
    expect((await refusal(viaFirst.getAccount({})))[0]).toBe("Unauthenticated");
    // The window keyPollMs bounds: the second balancer still knows the key until it polls.
    expect((await refusal(viaSecond.getAccount({})))[0]).toBe("OK");
    expect(config.auth.keyPollMs).toBeLessThanOrEqual(1000);
    await second.keys.refresh();
    expect((await refusal(viaSecond.getAccount({})))[0]).toBe("Unauthenticated");
  } finally {
    await second.stop();
  }
  await balancer.stop();
  balancer = await startBalancer(config, 0);
  url = `http://127.0.0.1:${balancer.server.port}`;
  expect((await clients("grpc", { httpVersion: "2" }, aliceKey).accounts.getAccount({})).account?.id).toBe("alice");
  expect((await refusal(clients("grpc", { httpVersion: "2" }, issued.bearer).accounts.getAccount({})))[0]).toBe("Unauthenticated");
}, 30_000);

test("per-key limits: past the burst a call is RESOURCE_EXHAUSTED with retry-after (Connect header, gRPC trailer); streams are bounded per key", async () => {
  const tight = { ...config, auth: { ...config.auth, account: { callsPerSecond: 1, burst: 2, streamsMax: 1, connectionsMax: 100 } } };
  const limited = await startBalancer(tight, 0);
  const limitedUrl = `http://127.0.0.1:${limited.server.port}`;
  try {
    const post = () => fetch(`${limitedUrl}/oms.v1.AccountService/GetAccount`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${aliceKey}` }, body: "{}" });
    expect([(await post()).status, (await post()).status]).toEqual([200, 200]);
    const refused = await post();
    expect([refused.status, refused.headers.get("retry-after"), ((await refused.json()) as { code: string }).code]).toEqual([429, "1", "resource_exhausted"]);
    const grpc = createClient(AccountService, createClientTransport(limitedUrl, "grpc", { apiKey: aliceKey }));
    try {
      await grpc.getAccount({});
      throw new Error("not limited");
    } catch (error) {
      const limitedError = ConnectError.from(error);
      expect([limitedError.code, limitedError.metadata.get("retry-after")]).toEqual([Code.ResourceExhausted, "1"]);
    }
    // A SubmitOrders stream opened by the exhausted key is refused at once, with the same hint in its trailers.
    const exhaustedStream = createClient(OrderService, createClientTransport(limitedUrl, "grpc", { apiKey: aliceKey }));
    async function* one(): AsyncIterable<MessageInitShape<typeof SubmitOrdersRequestSchema>> {
      yield { tag: 1n, order: limitOrder("", "exhausted-1") };
    }
    try {
      for await (const _ of exhaustedStream.submitOrders(one())) throw new Error("an order was answered");
      throw new Error("not limited");
    } catch (error) {
      const limitedError = ConnectError.from(error);
      // connect-es's gRPC stream client adds the trailers to the error's metadata twice ("1, 1").
      expect([limitedError.code, [...new Set(limitedError.metadata.get("retry-after")?.split(", "))]]).toEqual([Code.ResourceExhausted, ["1"]]);
    }
    // Another key's bucket is its own.
    const admin = createClient(AccountService, createClientTransport(limitedUrl, "connect", { apiKey: adminKey }));
    expect((await admin.getAccount({ accountId: "alice" })).account?.id).toBe("alice");
    // On a SubmitOrders stream each order takes a call: a fresh key's burst of 2 is the stream's
    // opening and its first order; the second order is refused on its own and the stream goes on.
    const streamKey = await issueClusterKey(config, accountScope("alice"));
    await limited.keys.refresh();
    const streaming = createClient(OrderService, createClientTransport(limitedUrl, "grpc", { apiKey: streamKey }));
    async function* two(): AsyncIterable<MessageInitShape<typeof SubmitOrdersRequestSchema>> {
      yield { tag: 1n, order: limitOrder("", "rate-1") };
      yield { tag: 2n, order: limitOrder("", "rate-2") };
    }
    const answers = [];
    for await (const answer of streaming.submitOrders(two())) answers.push(answer);
    const byTag = new Map(answers.map((answer) => [answer.tag, answer.result]));
    expect(byTag.get(1n)?.case).toBe("order");
    const rateRefusal = byTag.get(2n);
    expect(rateRefusal?.case === "refusal" ? rateRefusal.value.code : rateRefusal?.case).toBe("resource_exhausted");
    // A fresh key (its bucket full): the open stream and the refused one take a call each.
    const carolKey = await issueClusterKey(config, accountScope("carol"));
    await limited.keys.refresh();
    expect(await streamRefusalWhileOneIsOpen(limitedUrl, carolKey)).toEqual(["ResourceExhausted", "stream limit: this API key may hold 1 streams open at once"]);
  } finally {
    await limited.stop();
  }
}, 30_000);

/**
 * The first update of a StreamTradeUpdates opened with the implied account: orders are placed
 * until one is seen, since the stream counts from when the node has its subscriber, which the
 * client cannot see.
 */
async function firstUpdate(streaming: Client<typeof OrderService>, placing: Client<typeof OrderService>, signal: AbortSignal, prefix: string) {
  const first = streaming.streamTradeUpdates({}, { signal, timeoutMs: 20_000 })[Symbol.asyncIterator]().next();
  let seen = false;
  void first.finally(() => (seen = true)).catch(() => undefined);
  for (let attempt = 0; !seen && attempt < 100; attempt++) {
    await placing.submitOrder(limitOrder("", `${prefix}-${attempt}`));
    await Promise.race([first, Bun.sleep(50)]);
  }
  return (await first).value?.update;
}

/** With one StreamTradeUpdates of carol's key open and serving, a second one of the same key. */
async function streamRefusalWhileOneIsOpen(baseUrl: string, carolKey: string): Promise<[string, string]> {
  const orders = createClient(OrderService, createClientTransport(baseUrl, "grpc", { apiKey: carolKey }));
  const placing = createClient(OrderService, createClientTransport(baseUrl, "connect", { apiKey: adminKey }));
  const abort = new AbortController();
  const placingAsCarol = { submitOrder: (order: ReturnType<typeof limitOrder>) => placing.submitOrder({ ...order, accountId: "carol" }) } as unknown as Client<typeof OrderService>;
  await firstUpdate(orders, placingAsCarol, abort.signal, "limit");
  const second = await refusal((async () => {
    for await (const _ of orders.streamTradeUpdates({}, { timeoutMs: 5_000 })) return;
  })());
  abort.abort();
  return second;
}

test("per-key connections: a key's calls on one connection more than connectionsMax are RESOURCE_EXHAUSTED; a closed one makes room", async () => {
  const tight = { ...config, auth: { ...config.auth, account: { ...config.auth.account, connectionsMax: 1 } } };
  const limited = await startBalancer(tight, 0);
  const limitedUrl = `http://127.0.0.1:${limited.server.port}`;
  const [first, second] = [http2.connect(limitedUrl), http2.connect(limitedUrl)];
  try {
    const getAccount = (session: http2.ClientHttp2Session) =>
      new Promise<string>((resolve, reject) => {
        const stream = session.request({ ":method": "POST", ":path": "/oms.v1.AccountService/GetAccount", "content-type": "application/json", authorization: `Bearer ${aliceKey}` });
        const chunks: Buffer[] = [];
        stream.on("data", (chunk: Buffer) => chunks.push(chunk));
        stream.on("end", () => resolve(JSON.parse(Buffer.concat(chunks).toString("utf8")).code ?? "ok"));
        stream.on("error", reject);
        stream.end("{}");
      });
    expect(await getAccount(first)).toBe("ok");
    expect(await getAccount(first)).toBe("ok");
    expect(await getAccount(second)).toBe("resource_exhausted");
    await new Promise<void>((resolve) => first.close(resolve));
    // The balancer hears of the close a moment after the client: bounded retries, no timing asserted.
    let answer = "resource_exhausted";
    for (let attempt = 0; attempt < 100 && answer === "resource_exhausted"; attempt++) {
      await new Promise((resolve) => setImmediate(resolve));
      answer = await getAccount(second);
    }
    expect(answer).toBe("ok");
  } finally {
    second.close();
    await limited.stop();
  }
}, 30_000);

test("a stream whose client goes away gives its slot back: the key may open another", async () => {
  const tight = { ...config, auth: { ...config.auth, account: { ...config.auth.account, streamsMax: 1 } } };
  const limited = await startBalancer(tight, 0);
  const limitedUrl = `http://127.0.0.1:${limited.server.port}`;
  try {
    const carolKey = await issueClusterKey(config, accountScope("carol"));
    await limited.keys.refresh();
    const placing = createClient(OrderService, createClientTransport(limitedUrl, "connect", { apiKey: adminKey }));
    const placingAsCarol = { submitOrder: (order: ReturnType<typeof limitOrder>) => placing.submitOrder({ ...order, accountId: "carol" }) } as unknown as Client<typeof OrderService>;
    for (const protocol of ["grpc", "connect", "grpc-web"] as const) {
      const orders = createClient(OrderService, createClientTransport(limitedUrl, protocol, { apiKey: carolKey, httpVersion: protocol === "grpc" ? "2" : "1.1" }));
      // Serving (an update arrived), so counted; then the client goes away. The probe of the
      // protocol before may still hold the slot until the balancer sees it end: bounded tries.
      let abort = new AbortController();
      for (let attempt = 0; ; attempt++) {
        abort = new AbortController();
        const served = await firstUpdate(orders, placingAsCarol, abort.signal, `gone-${protocol}-${attempt}`).then(
          () => true,
          (error: unknown) => {
            if (ConnectError.from(error).code !== Code.ResourceExhausted || attempt >= 50) throw error;
            return false;
          },
        );
        if (served) break;
      }
      abort.abort();
      // The next stream is taken once the balancer has seen the first end: bounded tries, no timing asserted.
      let answer: [string, string] = ["ResourceExhausted", ""];
      for (let attempt = 0; attempt < 50 && answer[0] === "ResourceExhausted"; attempt++) {
        answer = await refusal((async () => {
          for await (const _ of orders.streamTradeUpdates({}, { timeoutMs: 300 })) return;
        })());
      }
      expect([protocol, answer[0]]).toEqual([protocol, "DeadlineExceeded"]);
    }
  } finally {
    await limited.stop();
  }
}, 60_000);
