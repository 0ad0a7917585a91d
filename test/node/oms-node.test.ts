import { describe, expect, test } from "bun:test";
import { Code } from "@connectrpc/connect";
import { toJsonString } from "@bufbuild/protobuf";
import { NodeResultSchema, type NodeResult } from "../../src/gen/oms/internal/v1/node_pb.ts";
import { OrderStatusFilter } from "../../src/gen/oms/v1/order_service_pb.ts";
import { OrderSchema, OrderStatus, OrderType, Side, TimeInForce } from "../../src/gen/oms/v1/trading_pb.ts";
import { CASH_DECIMALS, CASH_SCALE, parseDecimal } from "../../src/core/money.ts";
import { settle, startNodeHarness, type NodeHarness } from "./node-harness.ts";

const buy = (accountId: string, extra: Record<string, unknown> = {}) => ({
  case: "submitOrder" as const,
  value: { accountId, symbol: "AAPL", side: Side.BUY, type: OrderType.MARKET, timeInForce: TimeInForce.DAY, qty: "10", ...extra },
});

function value<C extends NonNullable<NodeResult["result"]["case"]>>(result: NodeResult, kase: C) {
  if (result.result.case !== kase) throw new Error(`expected ${kase}, got ${toJsonString(NodeResultSchema, result)}`);
  return result.result.value as Extract<NodeResult["result"], { case: C }>["value"];
}

function errorOf(result: NodeResult): { code: number; message: string } {
  if (result.result.case !== "error") throw new Error(`expected an error, got ${toJsonString(NodeResultSchema, result)}`);
  return result.result.value;
}

async function fundedAccount(h: NodeHarness, accountId: string, amount = "100000"): Promise<void> {
  value(await h.run({ case: "createAccount", value: { accountId } }), "createAccount");
  value(await h.run({ case: "deposit", value: { accountId, amount } }), "deposit");
}

/** Everything a client can see of an account that does not move with the market, as one string. */
async function visibleState(h: NodeHarness, accountId: string): Promise<string> {
  const account = value(await h.run({ case: "getAccount", value: { accountId } }), "getAccount").account!;
  const positions = value(await h.run({ case: "listPositions", value: { accountId } }), "listPositions").positions;
  const orders = value(await h.run({ case: "listOrders", value: { accountId, status: OrderStatusFilter.ALL, pageSize: 500 } }), "listOrders").orders;
  return JSON.stringify({
    account: [account.id, account.cash, account.reserved, account.buyingPower, account.createdAt?.seconds.toString()],
    positions: positions.map((p) => [p.symbol, p.qty, p.qtyAvailable, p.costBasis, p.avgEntryPrice]),
    orders: orders.map((o) => toJsonString(OrderSchema, o)),
  });
}

describe("an OMS node", () => {
  test("a market buy is acknowledged NEW, then filled by the venue, and cash and position change by the fill exactly", async () => {
    const h = await startNodeHarness();
    await fundedAccount(h, "alice");
    const order = value(await h.run(buy("alice")), "submitOrder").order!;
    expect(order.status).toBe(OrderStatus.NEW);
    expect(h.venue.submits.map((o) => o.orderId)).toEqual([order.id]);
    for (let i = 0; i < 20; i++) {
      h.venue.inner.tick();
      await settle();
    }
    const filled = value(await h.run({ case: "getOrder", value: { accountId: "alice", key: { case: "orderId", value: order.id } } }), "getOrder").order!;
    expect(filled.status).toBe(OrderStatus.FILLED);
    expect(filled.filledQty).toBe("10");
    const account = value(await h.run({ case: "getAccount", value: { accountId: "alice" } }), "getAccount").account!;
    expect(account.reserved).toBe("0");
    expect(account.cash).toBe(account.buyingPower);
    // Cash fell by exactly what the venue's executions cost.
    let spent = 0n;
    for (const report of h.venue.reports) {
      if (report.execution.kind === "fill") spent += report.execution.qty * report.execution.price;
    }
    expect(spent).toBeGreaterThan(0n);
    const cash = parseDecimal(account.cash, CASH_DECIMALS, CASH_DECIMALS);
    expect(cash).toEqual({ ok: true, value: 100_000n * CASH_SCALE - spent });
    const positions = value(await h.run({ case: "listPositions", value: { accountId: "alice" } }), "listPositions").positions;
    expect(positions.map((p) => [p.symbol, p.qty, p.qtyAvailable])).toEqual([["AAPL", "10", "10"]]);
    await h.stop();
  });

  test("bad input gets INVALID_ARGUMENT naming the field and writes nothing to the log", async () => {
    const h = await startNodeHarness();
    await fundedAccount(h, "bob");
    const before = await Promise.all([0, 1, 2, 3].map((s) => h.log.endOffset(s)));
    const cases: [Record<string, unknown>, string][] = [
      [{ qty: "-5" }, "qty:"],
      [{ qty: "1e3" }, "qty:"],
      [{ qty: "abc" }, "qty:"],
      [{ qty: "1.5" }, "qty:"],
      [{ qty: "0" }, "qty:"],
      [{ symbol: "NOPE" }, "symbol:"],
      [{ side: 7 }, "side:"],
      [{ type: 9 }, "type:"],
      [{ timeInForce: TimeInForce.UNSPECIFIED }, "time_in_force:"],
      [{ type: OrderType.LIMIT, limitPrice: "190.123" }, "limit_price:"],
      [{ type: OrderType.LIMIT }, "limit_price:"],
      [{ limitPrice: "10" }, "limit_price:"],
      [{ clientOrderId: "x".repeat(129) }, "client_order_id:"],
    ];
    for (const [extra, field] of cases) {
      const error = errorOf(await h.run(buy("bob", extra)));
      expect({ extra, code: error.code, starts: error.message.startsWith(field) }).toEqual({ extra, code: Code.InvalidArgument, starts: true });
    }
    expect(errorOf(await h.run({ case: "deposit", value: { accountId: "bob", amount: "-1" } })).code).toBe(Code.InvalidArgument);
    expect(errorOf(await h.run({ case: "deposit", value: { accountId: "bob", amount: "1.001" } })).message).toStartWith("amount:");
    expect(errorOf(await h.run({ case: "getAccount", value: { accountId: "" } })).message).toStartWith("account_id:");
    const after = await Promise.all([0, 1, 2, 3].map((s) => h.log.endOffset(s)));
    expect(after).toEqual(before);
    await h.stop();
  });

  test("unknown accounts and orders are NOT_FOUND; a buy beyond buying power is FAILED_PRECONDITION and changes nothing", async () => {
    const h = await startNodeHarness();
    expect(errorOf(await h.run(buy("ghost"))).code).toBe(Code.NotFound);
    await fundedAccount(h, "carol", "1000");
    expect(errorOf(await h.run({ case: "getOrder", value: { accountId: "carol", key: { case: "orderId", value: "nope" } } })).code).toBe(Code.NotFound);
    expect(errorOf(await h.run({ case: "cancelOrder", value: { accountId: "carol", orderId: "nope" } })).code).toBe(Code.NotFound);
    const before = await visibleState(h, "carol");
    const refused = errorOf(await h.run(buy("carol", { qty: "100" })));
    expect(refused.code).toBe(Code.FailedPrecondition);
    expect(refused.message).toContain("buying power");
    const sell = errorOf(await h.run(buy("carol", { side: Side.SELL, qty: "1" })));
    expect(sell.code).toBe(Code.FailedPrecondition);
    expect(sell.message).toContain("insufficient qty available");
    expect(await visibleState(h, "carol")).toBe(before);
    expect(h.venue.submits).toHaveLength(0);
    await h.stop();
  });

  test("the same client_order_id with the same content returns the original order; with other content it is refused", async () => {
    const h = await startNodeHarness();
    await fundedAccount(h, "dave");
    const first = value(await h.run(buy("dave", { clientOrderId: "k1", type: OrderType.LIMIT, limitPrice: "1" })), "submitOrder").order!;
    const again = value(await h.run(buy("dave", { clientOrderId: "k1", type: OrderType.LIMIT, limitPrice: "1" })), "submitOrder").order!;
    expect(again.id).toBe(first.id);
    const different = errorOf(await h.run(buy("dave", { clientOrderId: "k1", type: OrderType.LIMIT, limitPrice: "2" })));
    expect(different.code).toBe(Code.AlreadyExists);
    expect(different.message).toStartWith("client_order_id:");
    expect(h.venue.submits).toHaveLength(1);
    const byKey = value(await h.run({ case: "getOrder", value: { accountId: "dave", key: { case: "clientOrderId", value: "k1" } } }), "getOrder").order!;
    expect(byKey.id).toBe(first.id);
    await h.stop();
  });

  test("an order submitted without a client_order_id is found by its order id as client_order_id; an order id that carries another is not", async () => {
    const h = await startNodeHarness();
    await fundedAccount(h, "gus");
    const plain = value(await h.run(buy("gus", { type: OrderType.LIMIT, limitPrice: "1" })), "submitOrder").order!;
    expect(plain.clientOrderId).toBe(plain.id);
    const keyed = value(await h.run(buy("gus", { clientOrderId: "k9", type: OrderType.LIMIT, limitPrice: "1" })), "submitOrder").order!;
    const byClientId = (clientOrderId: string) => h.run({ case: "getOrder", value: { accountId: "gus", key: { case: "clientOrderId", value: clientOrderId } } });
    expect(value(await byClientId(plain.id), "getOrder").order!.id).toBe(plain.id);
    expect(value(await byClientId("k9"), "getOrder").order!.id).toBe(keyed.id);
    const missing = errorOf(await byClientId(keyed.id));
    expect(missing.code).toBe(Code.NotFound);
    expect(missing.message).toStartWith("client_order_id:");
    // Resubmitting the plain order under its id as client_order_id returns it rather than a second order.
    const again = value(await h.run(buy("gus", { clientOrderId: plain.id, type: OrderType.LIMIT, limitPrice: "1" })), "submitOrder").order!;
    expect(again.id).toBe(plain.id);
    expect(h.venue.submits).toHaveLength(2);
    await h.stop();
  });

  test("cancel goes through PENDING_CANCEL to CANCELED and releases the hold; replace makes a new order and ends the old REPLACED", async () => {
    const h = await startNodeHarness();
    await fundedAccount(h, "erin", "10000");
    const resting = value(await h.run(buy("erin", { type: OrderType.LIMIT, limitPrice: "1", qty: "100", timeInForce: TimeInForce.GTC })), "submitOrder").order!;
    expect(value(await h.run({ case: "getAccount", value: { accountId: "erin" } }), "getAccount").account!.reserved).toBe("100");
    const replaced = value(await h.run({ case: "replaceOrder", value: { accountId: "erin", orderId: resting.id, limitPrice: "2" } }), "replaceOrder").order!;
    expect(replaced.id).not.toBe(resting.id);
    expect(replaced.replaces).toBe(resting.id);
    await settle();
    const old = value(await h.run({ case: "getOrder", value: { accountId: "erin", key: { case: "orderId", value: resting.id } } }), "getOrder").order!;
    expect(old.status).toBe(OrderStatus.REPLACED);
    expect(old.replacedBy).toBe(replaced.id);
    expect(value(await h.run({ case: "getAccount", value: { accountId: "erin" } }), "getAccount").account!.reserved).toBe("200");
    const canceling = value(await h.run({ case: "cancelOrder", value: { accountId: "erin", orderId: replaced.id } }), "cancelOrder").order!;
    expect(canceling.status).toBe(OrderStatus.PENDING_CANCEL);
    await settle();
    const canceled = value(await h.run({ case: "getOrder", value: { accountId: "erin", key: { case: "orderId", value: replaced.id } } }), "getOrder").order!;
    expect(canceled.status).toBe(OrderStatus.CANCELED);
    const account = value(await h.run({ case: "getAccount", value: { accountId: "erin" } }), "getAccount").account!;
    expect([account.cash, account.reserved, account.buyingPower]).toEqual(["10000", "0", "10000"]);
    expect(errorOf(await h.run({ case: "cancelOrder", value: { accountId: "erin", orderId: replaced.id } })).code).toBe(Code.FailedPrecondition);
    await h.stop();
  });

  test("a restart rebuilds the same state from the log (and from a snapshot plus the log) without sending anything to the venue again", async () => {
    for (const snapshotEvery of [1_000_000, 3]) {
      const h = await startNodeHarness(undefined, snapshotEvery);
      await fundedAccount(h, "frank");
      await fundedAccount(h, "gina");
      value(await h.run(buy("frank")), "submitOrder");
      const resting = value(await h.run(buy("gina", { type: OrderType.LIMIT, limitPrice: "1", qty: "50", timeInForce: TimeInForce.GTC })), "submitOrder").order!;
      for (let i = 0; i < 20; i++) {
        h.venue.inner.tick();
        await settle();
      }
      const before = [await visibleState(h, "frank"), await visibleState(h, "gina")];
      await h.stop();
      const again = await startNodeHarness(h.dir, snapshotEvery);
      expect([await visibleState(again, "frank"), await visibleState(again, "gina")]).toEqual(before);
      expect(again.venue.submits).toHaveLength(0);
      expect(again.venue.reconciled.map((o) => o.orderId)).toEqual([resting.id]);
      await again.stop();
    }
  });
});
