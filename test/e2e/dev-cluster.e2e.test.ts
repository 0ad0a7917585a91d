// `oms dev` as a user runs it: a balancer and two node processes. Every client protocol
// reaches accounts on both nodes; bad input gets the right error; SIGKILL loses nothing.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { shardOf } from "../../src/config/shard-of.ts";
import { CASH_DECIMALS, parseDecimal } from "../../src/core/money.ts";
import { AccountService } from "../../src/gen/oms/v1/account_service_pb.ts";
import { OrderService, OrderStatusFilter } from "../../src/gen/oms/v1/order_service_pb.ts";
import { OrderStatus, OrderType, Side, TimeInForce, type Order } from "../../src/gen/oms/v1/trading_pb.ts";
import { createClientTransport, type ClientProtocol } from "../../src/rpc/transport.ts";
import { freePort, killDev, startDev, type DevProcess } from "./dev-process.ts";

const SHARD_COUNT = 16; // the default configuration's
const FILL_WAIT_MS = 15_000;
/** StreamTradeUpdates is probed with an order this often, this many times at most, until it shows one. */
const STREAM_PROBE_PAUSE_MS = 50;
const STREAM_PROBES_MAX = 200;

let dev: DevProcess;
const dataDir = mkdtempSync(join(tmpdir(), "oms-e2e-"));

/** With the admin key oms dev printed: these tests open and fund accounts of their own. */
const clients = (protocol: ClientProtocol) => {
  const transport = createClientTransport(dev.url, protocol, { apiKey: dev.adminKey });
  return { accounts: createClient(AccountService, transport), orders: createClient(OrderService, transport) };
};

/** An account id on each node: shards 0–7 are node-a's, 8–15 node-b's. */
function accountOnNode(prefix: string, node: "a" | "b"): string {
  for (let i = 0; ; i++) {
    const id = `${prefix}-${i}`;
    const shard = shardOf(id, SHARD_COUNT);
    if ((shard < 8) === (node === "a")) return id;
  }
}

function cents(text: string): bigint {
  const parsed = parseDecimal(text, CASH_DECIMALS, CASH_DECIMALS);
  if (!parsed.ok) throw new Error(`not a decimal: ${text}`);
  return parsed.value;
}

async function waitForStatus(orders: Client<typeof OrderService>, accountId: string, orderId: string, status: OrderStatus): Promise<Order> {
  const deadline = Date.now() + FILL_WAIT_MS;
  for (;;) {
    const { order } = await orders.getOrder({ accountId, key: { case: "orderId", value: orderId } });
    if (order?.status === status) return order;
    if (Date.now() > deadline) throw new Error(`order ${orderId} stayed ${order?.status}, wanted ${status}`);
    await Bun.sleep(50);
  }
}

async function errorOf(call: Promise<unknown>): Promise<ConnectError> {
  try {
    await call;
  } catch (error) {
    return ConnectError.from(error);
  }
  throw new Error("expected the call to fail");
}

beforeAll(async () => {
  dev = await startDev(dataDir, await freePort());
});

afterAll(async () => {
  dev.proc.kill(9);
  await dev.proc.exited;
});

describe("oms dev", () => {
  for (const [protocol, node] of [["connect", "a"], ["grpc", "b"], ["grpc-web", "a"], ["grpc-web", "b"]] as const) {
    test(`over ${protocol}, an account on node ${node} is created, funded, buys AAPL at market and sees the fill in cash and position`, async () => {
      const { accounts, orders } = clients(protocol);
      const accountId = accountOnNode(`buyer-${protocol}`, node);
      await accounts.createAccount({ accountId });
      await accounts.deposit({ accountId, amount: "10000" });
      const submitted = await orders.submitOrder({ accountId, symbol: "AAPL", side: Side.BUY, type: OrderType.MARKET, timeInForce: TimeInForce.DAY, qty: "10" });
      expect(submitted.order?.status).toBe(OrderStatus.NEW);
      const filled = await waitForStatus(orders, accountId, submitted.order!.id, OrderStatus.FILLED);
      expect(filled.filledQty).toBe("10");
      const { positions } = await accounts.listPositions({ accountId });
      expect(positions.map((p) => [p.symbol, p.qty])).toEqual([["AAPL", "10"]]);
      const { account } = await accounts.getAccount({ accountId });
      // One buy: the cash spent is exactly the position's cost basis.
      expect(cents(account!.cash) + cents(positions[0]!.costBasis)).toBe(cents("10000"));
      expect(account!.reserved).toBe("0");
    });
  }

  test("plain curl speaks Connect JSON to the balancer", async () => {
    const accountId = accountOnNode("curl", "b");
    const post = async (path: string, body: object) => {
      const curl = Bun.spawn(["curl", "-sS", "-X", "POST", "-H", "Content-Type: application/json", "-H", `Authorization: Bearer ${dev.adminKey}`, "-d", JSON.stringify(body), `${dev.url}/${path}`], { stdout: "pipe" });
      return JSON.parse(await new Response(curl.stdout).text());
    };
    expect((await post("oms.v1.AccountService/CreateAccount", { accountId })).account.id).toBe(accountId);
    expect((await post("oms.v1.AccountService/Deposit", { accountId, amount: "5000" })).account.cash).toBe("5000");
    const submitted = await post("oms.v1.OrderService/SubmitOrder", {
      accountId, symbol: "MSFT", side: "SIDE_BUY", type: "ORDER_TYPE_LIMIT", timeInForce: "TIME_IN_FORCE_GTC", qty: "2", limitPrice: "1.25",
    });
    expect([submitted.order.status, submitted.order.limitPrice, submitted.order.qty]).toEqual(["ORDER_STATUS_NEW", "1.25", "2"]);
    const refused = await post("oms.v1.OrderService/SubmitOrder", { accountId, symbol: "MSFT", side: "SIDE_SIDEWAYS", type: "ORDER_TYPE_MARKET", qty: "1" });
    expect(refused.code).toBe("invalid_argument");
    expect(refused.message).toContain("side");
  });

  test("buf curl speaks gRPC (HTTP/2 prior knowledge) to the balancer", async () => {
    const accountId = accountOnNode("bufcurl", "a");
    await clients("connect").accounts.createAccount({ accountId });
    const buf = Bun.spawn(
      [`${import.meta.dir}/../../node_modules/.bin/buf`, "curl", "--protocol", "grpc", "--http2-prior-knowledge", "--schema", "proto", "-H", `Authorization: Bearer ${dev.adminKey}`, "-d", JSON.stringify({ accountId, amount: "42.50" }), `${dev.url}/oms.v1.AccountService/Deposit`],
      { cwd: `${import.meta.dir}/../..`, stdout: "pipe", stderr: "pipe" },
    );
    const out = await new Response(buf.stdout).text();
    expect(await buf.exited).toBe(0);
    expect(JSON.parse(out).account.cash).toBe("42.5");
  });

  test("bad input gets the right code and a message naming the field, and changes nothing", async () => {
    const { accounts, orders } = clients("connect");
    const accountId = accountOnNode("bad", "b");
    await accounts.createAccount({ accountId });
    await accounts.deposit({ accountId, amount: "1000" });
    const before = await accounts.getAccount({ accountId });
    const order = { accountId, symbol: "AAPL", side: Side.BUY, type: OrderType.MARKET, timeInForce: TimeInForce.DAY, qty: "1" };
    for (const [patch, code, field] of [
      [{ qty: "-5" }, Code.InvalidArgument, "qty"],
      [{ qty: "1e3" }, Code.InvalidArgument, "qty"],
      [{ qty: "abc" }, Code.InvalidArgument, "qty"],
      [{ side: 99 as Side }, Code.InvalidArgument, "side"],
      [{ symbol: "ZZZZ" }, Code.InvalidArgument, "symbol"],
      [{ accountId: "" }, Code.InvalidArgument, "account_id"],
      [{ accountId: "nobody-here" }, Code.NotFound, "account_id"],
      [{ qty: "1000" }, Code.FailedPrecondition, "buying power"],
    ] as const) {
      const error = await errorOf(orders.submitOrder({ ...order, ...patch }));
      expect({ patch, code: error.code, named: error.rawMessage.includes(field) }).toEqual({ patch, code, named: true });
    }
    expect((await errorOf(orders.getOrder({ accountId, key: { case: "orderId", value: "no-such-order" } }))).code).toBe(Code.NotFound);
    expect((await errorOf(accounts.createAccount({ accountId }))).code).toBe(Code.AlreadyExists);
    expect(await accounts.getAccount({ accountId })).toEqual(before);
    const { orders: listed } = await orders.listOrders({ accountId, status: OrderStatusFilter.ALL });
    expect(listed).toHaveLength(0);
  });

  test("StreamTradeUpdates through the balancer delivers the order's new and fill events", async () => {
    const { accounts, orders } = clients("grpc");
    const accountId = accountOnNode("streamer", "a");
    await accounts.createAccount({ accountId });
    await accounts.deposit({ accountId, amount: "10000" });
    const abort = new AbortController();
    const events: { event: string; orderId: string }[] = [];
    void (async () => {
      for await (const response of orders.streamTradeUpdates({ accountId }, { signal: abort.signal, timeoutMs: 0 })) {
        events.push({ event: response.update!.event, orderId: response.update!.order!.id });
      }
    })().catch(() => undefined);
    // The stream is live once it shows an order: resting probes (a $1 limit never fills) until
    // one does, however long the subscription takes to reach the node.
    for (let probe = 0; events.length === 0; probe++) {
      if (probe === STREAM_PROBES_MAX) throw new Error(`the stream showed none of ${probe} orders`);
      await orders.submitOrder({ accountId, symbol: "SPY", side: Side.BUY, type: OrderType.LIMIT, timeInForce: TimeInForce.GTC, qty: "1", limitPrice: "1" });
      await Bun.sleep(STREAM_PROBE_PAUSE_MS);
    }
    const submitted = await orders.submitOrder({ accountId, symbol: "SPY", side: Side.BUY, type: OrderType.MARKET, timeInForce: TimeInForce.IOC, qty: "1" });
    const targetId = submitted.order!.id;
    const target = () => events.filter((update) => update.orderId === targetId).map((update) => update.event);
    const deadline = Date.now() + FILL_WAIT_MS;
    while (!target().includes("fill") && Date.now() < deadline) await Bun.sleep(STREAM_PROBE_PAUSE_MS);
    abort.abort();
    expect(target()[0]).toBe("new");
    expect(target()).toContain("fill");
  });

  test("kill -9 of oms dev and a restart keep every acknowledged account, order, position and cash balance", async () => {
    const { accounts, orders } = clients("connect");
    const ids = [accountOnNode("survivor", "a"), accountOnNode("survivor", "b")];
    for (const accountId of ids) {
      await accounts.createAccount({ accountId });
      await accounts.deposit({ accountId, amount: "20000" });
      const bought = await orders.submitOrder({ accountId, symbol: "AAPL", side: Side.BUY, type: OrderType.MARKET, timeInForce: TimeInForce.DAY, qty: "5" });
      await waitForStatus(orders, accountId, bought.order!.id, OrderStatus.FILLED);
      await orders.submitOrder({ accountId, symbol: "AAPL", side: Side.BUY, type: OrderType.LIMIT, timeInForce: TimeInForce.GTC, qty: "3", limitPrice: "2" });
    }
    const snapshot = async () =>
      Promise.all(
        ids.map(async (accountId) => {
          const { account } = await accounts.getAccount({ accountId });
          const { positions } = await accounts.listPositions({ accountId });
          const { orders: all } = await orders.listOrders({ accountId, status: OrderStatusFilter.ALL });
          return {
            account: [account!.cash, account!.reserved, account!.buyingPower],
            positions: positions.map((p) => [p.symbol, p.qty, p.costBasis]),
            orders: all.map((o) => [o.id, o.status, o.filledQty, o.filledAvgPrice, o.limitPrice]),
          };
        }),
      );
    const before = await snapshot();
    await killDev(dev);
    dev = await startDev(dataDir, dev.port);
    expect(await snapshot()).toEqual(before);
  });
});
