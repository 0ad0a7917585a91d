// Closed orders past their retention leave the node's memory for the archive, and GetOrder and
// ListOrders still answer for them: paged newest first across memory and archive, filtered by
// status, and the same after a restart (replay, and a snapshot plus replay).
import { expect, test } from "bun:test";
import { toJsonString } from "@bufbuild/protobuf";
import { NodeResultSchema, type NodeResult } from "../../src/gen/oms/internal/v1/node_pb.ts";
import { OrderStatusFilter } from "../../src/gen/oms/v1/order_service_pb.ts";
import { OrderStatus, OrderType, Side, TimeInForce } from "../../src/gen/oms/v1/trading_pb.ts";
import { settle, startNodeHarness, type NodeHarness } from "./node-harness.ts";

const RETENTION = { keptMax: 3, keptMs: Number.MAX_SAFE_INTEGER };
const ACCOUNT = "hal";
const ORDERS = 12;

function value<C extends NonNullable<NodeResult["result"]["case"]>>(result: NodeResult, kase: C) {
  if (result.result.case !== kase) throw new Error(`expected ${kase}, got ${toJsonString(NodeResultSchema, result)}`);
  return result.result.value as Extract<NodeResult["result"], { case: C }>["value"];
}

const restingBuy = (clientOrderId: string) => ({
  case: "submitOrder" as const,
  value: { accountId: ACCOUNT, clientOrderId, symbol: "AAPL", side: Side.BUY, type: OrderType.LIMIT, limitPrice: "1", timeInForce: TimeInForce.GTC, qty: "1" },
});

/** Every page of a listing, the page size given, and the ids in the order they came. */
async function listAll(h: NodeHarness, status: OrderStatusFilter, pageSize: number): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let pageToken = "";
  let pages = 0;
  do {
    const page = value(await h.run({ case: "listOrders", value: { accountId: ACCOUNT, status, pageSize, pageToken } }), "listOrders");
    expect(page.orders.length).toBeLessThanOrEqual(pageSize);
    ids.push(...page.orders.map((order) => order.id));
    pageToken = page.nextPageToken;
    pages += 1;
  } while (pageToken !== "" && pages < 100);
  return { ids, pages };
}

/** Twelve resting buys; each fourth stays open, the rest are canceled: 9 closed, 3 of them kept in memory. */
async function tradeAndClose(h: NodeHarness): Promise<string[]> {
  value(await h.run({ case: "createAccount", value: { accountId: ACCOUNT } }), "createAccount");
  value(await h.run({ case: "deposit", value: { accountId: ACCOUNT, amount: "100000" } }), "deposit");
  const ids: string[] = [];
  for (let index = 0; index < ORDERS; index += 1) {
    const order = value(await h.run(restingBuy(`c-${index}`)), "submitOrder").order!;
    ids.push(order.id);
    if (index % 4 === 0) continue;
    value(await h.run({ case: "cancelOrder", value: { accountId: ACCOUNT, orderId: order.id } }), "cancelOrder");
    await settle();
  }
  return ids;
}

const isOpenIndex = (index: number) => index % 4 === 0;

test("evicted orders are answered from the archive: by id, by client order id, and in pages across memory and archive", async () => {
  for (const snapshotEvery of [1_000_000, 5]) {
    const h = await startNodeHarness(undefined, snapshotEvery, RETENTION);
    const ids = await tradeAndClose(h);
    const closed = ids.filter((_, index) => !isOpenIndex(index));
    // Six closed orders have left memory; the newest three closed and every open one stay.
    expect(closed.filter((id) => h.node.peekOrder(ACCOUNT, id) === undefined)).toEqual(closed.slice(0, 6));
    expect(ids.filter((_, index) => isOpenIndex(index)).every((id) => h.node.peekOrder(ACCOUNT, id) !== undefined)).toBe(true);
    expect(await h.archive.size()).toBe(6);

    const oldest = value(await h.run({ case: "getOrder", value: { accountId: ACCOUNT, key: { case: "orderId", value: closed[0]! } } }), "getOrder").order!;
    expect([oldest.id, oldest.clientOrderId, oldest.status]).toEqual([closed[0]!, "c-1", OrderStatus.CANCELED]);
    const byClientId = value(await h.run({ case: "getOrder", value: { accountId: ACCOUNT, key: { case: "clientOrderId", value: "c-1" } } }), "getOrder").order!;
    expect(byClientId.id).toBe(closed[0]!);

    const newestFirst = [...ids].reverse();
    for (const pageSize of [1, 4, 5, 500]) expect((await listAll(h, OrderStatusFilter.ALL, pageSize)).ids).toEqual(newestFirst);
    expect((await listAll(h, OrderStatusFilter.CLOSED, 4)).ids).toEqual([...closed].reverse());
    const open = await listAll(h, OrderStatusFilter.OPEN, 2);
    expect(open.ids).toEqual(newestFirst.filter((id) => isOpenIndex(ids.indexOf(id))));
    expect(open.pages).toBe(2);
    const before = await listAll(h, OrderStatusFilter.ALL, 3);
    await h.stop();

    const again = await startNodeHarness(h.dir, snapshotEvery, RETENTION);
    expect(await listAll(again, OrderStatusFilter.ALL, 3)).toEqual(before);
    expect(closed.filter((id) => again.node.peekOrder(ACCOUNT, id) === undefined)).toEqual(closed.slice(0, 6));
    // Outside the window, a client order id makes a new order; inside it, the original is returned.
    const outside = value(await again.run(restingBuy("c-1")), "submitOrder").order!;
    expect(outside.id).not.toBe(closed[0]!);
    const inside = value(await again.run(restingBuy("c-4")), "submitOrder").order!;
    expect(inside.id).toBe(ids[4]!);
    const newest = value(await again.run({ case: "getOrder", value: { accountId: ACCOUNT, key: { case: "clientOrderId", value: "c-1" } } }), "getOrder").order!;
    expect(newest.id).toBe(outside.id);
    await again.stop();
  }
});

test("a page token the account never issued is refused, naming the field", async () => {
  const h = await startNodeHarness(undefined, 1_000_000, RETENTION);
  await tradeAndClose(h);
  const result = await h.run({ case: "listOrders", value: { accountId: ACCOUNT, status: OrderStatusFilter.ALL, pageToken: String(ORDERS + 1) } });
  expect(result.result.case).toBe("error");
  expect(result.result.case === "error" && result.result.value.message).toContain("page_token");
  await h.stop();
});

test("a shard's snapshot stays the same size while orders keep closing: it holds the hot ledger, not the history", async () => {
  const h = await startNodeHarness(undefined, 1_000_000, RETENTION);
  value(await h.run({ case: "createAccount", value: { accountId: ACCOUNT } }), "createAccount");
  value(await h.run({ case: "deposit", value: { accountId: ACCOUNT, amount: "100000" } }), "deposit");
  const shard = ACCOUNT.length % 4;
  const sizes: number[] = [];
  for (let round = 0; round < 4; round += 1) {
    for (let index = 0; index < 10; index += 1) {
      const order = value(await h.run(restingBuy(`r${round}-${index}`)), "submitOrder").order!;
      value(await h.run({ case: "cancelOrder", value: { accountId: ACCOUNT, orderId: order.id } }), "cancelOrder");
      await settle();
    }
    await h.node.snapshotAll();
    sizes.push((await h.snapshots.load(shard))!.state.byteLength);
  }
  // 40 orders closed, 10 a round; each snapshot holds the 3 kept closed orders. It may differ by
  // a few digits (list positions, counters) but never by the 10 orders a round closed.
  const orderBytes = sizes[0]! / 3;
  for (const size of sizes.slice(1)) expect(Math.abs(size - sizes[0]!)).toBeLessThan(orderBytes / 4);
  expect(await h.archive.size()).toBe(37);
  await h.stop();
});
