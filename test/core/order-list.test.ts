// The hot list by age: orders leave it in any order (as they close), and it stays sorted by
// list position, searchable, and at most about twice its live orders long.
import { describe, expect, test } from "bun:test";
import type { Order } from "../../src/core/order.ts";
import {
  addOrder,
  HOLES_BEFORE_COMPACTION_MIN,
  hotOrderCount,
  hotOrdersBelow,
  oldestFirst,
  removeOrder,
  type OrderList,
} from "../../src/core/order-list.ts";

function newOrderList(): OrderList {
  return { hotOrders: [], evictedSlots: 0, ordersCreated: 0 };
}

function listOf(count: number): { list: OrderList; orders: Order[] } {
  const list = newOrderList();
  const orders = Array.from({ length: count }, (_, listPosition) => ({ id: `ord-${listPosition}`, listPosition }) as Order);
  for (const order of orders) addOrder(list, order);
  return { list, orders };
}

const all = () => true;

describe("the hot order list", () => {
  test("lists orders below a position newest first, and counts what it holds", () => {
    const { list } = listOf(10);
    expect(hotOrderCount(list)).toBe(10);
    expect(hotOrdersBelow(list, 10, 3, all).map((order) => order.listPosition)).toEqual([9, 8, 7]);
    expect(hotOrdersBelow(list, 4, 10, all).map((order) => order.listPosition)).toEqual([3, 2, 1, 0]);
    expect(hotOrdersBelow(list, 0, 10, all)).toEqual([]);
  });

  test("an order must come at the next list position", () => {
    const list = newOrderList();
    expect(() => addOrder(list, { id: "x", listPosition: 1 } as Order)).toThrow("invariant: order x has list position 1, the next is 0");
  });

  test("removed orders leave holes that listing steps over, and removing one twice is a bug", () => {
    const { list, orders } = listOf(10);
    for (const position of [8, 3, 4, 0]) removeOrder(list, orders[position]!);
    expect(hotOrderCount(list)).toBe(6);
    expect(hotOrdersBelow(list, 10, 10, all).map((order) => order.listPosition)).toEqual([9, 7, 6, 5, 2, 1]);
    expect(hotOrdersBelow(list, 5, 2, all).map((order) => order.listPosition)).toEqual([2, 1]);
    expect(() => removeOrder(list, orders[3]!)).toThrow("invariant: order ord-3 is not in the hot list");
    expect([...oldestFirst(list)].map((order) => order.id)).toEqual(["ord-1", "ord-2", "ord-5", "ord-6", "ord-7", "ord-9"]);
  });

  test("compacts once holes outnumber orders, so the list stays at most about twice its orders", () => {
    const total = 4 * HOLES_BEFORE_COMPACTION_MIN;
    const { list, orders } = listOf(total);
    // Remove every order but each fourth, in a scattered order (as orders close).
    const leaving = orders.filter((order) => order.listPosition % 4 !== 0).reverse();
    for (const order of leaving) {
      removeOrder(list, order);
      expect(list.hotOrders.length).toBeLessThanOrEqual(2 * hotOrderCount(list) + HOLES_BEFORE_COMPACTION_MIN);
    }
    expect(hotOrderCount(list)).toBe(total / 4);
    expect(list.hotOrders.length).toBeLessThan(total);
    expect(hotOrdersBelow(list, total, 3, all).map((order) => order.listPosition)).toEqual([total - 4, total - 8, total - 12]);
  });

  test("a filter skips orders but not the bound: it returns at most count", () => {
    const { list } = listOf(20);
    const even = (order: Order) => order.listPosition % 2 === 0;
    expect(hotOrdersBelow(list, 15, 3, even).map((order) => order.listPosition)).toEqual([14, 12, 10]);
  });
});
