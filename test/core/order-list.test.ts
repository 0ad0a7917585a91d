import { describe, expect, test } from "bun:test";
import type { Order } from "../../src/core/order.ts";
import { OrderList } from "../../src/core/order-list.ts";

/** Only identity matters to the list: a stand-in carrying its position as id. */
function made(position: number): Order {
  return { id: `ord-${position}` } as Order;
}

describe("an account's orders by age", () => {
  test("keeps every order at its creation position across chunk boundaries, and iterates oldest first", () => {
    const list = new OrderList();
    const orders = Array.from({ length: 2 * 1024 + 3 }, (_, position) => made(position));
    for (const order of orders) list.push(order);
    expect(list.length).toBe(orders.length);
    for (const position of [0, 1, 1023, 1024, 1025, 2047, 2048, orders.length - 1]) {
      expect(list.at(position)).toBe(orders[position]!);
    }
    expect([...list]).toEqual(orders);
  });

  test("has nothing outside 0..length-1", () => {
    const list = new OrderList();
    expect(list.at(0)).toBeUndefined();
    list.push(made(0));
    expect(list.at(-1)).toBeUndefined();
    expect(list.at(1)).toBeUndefined();
    expect(list.at(0.5)).toBeUndefined();
    expect(list.at(Number.NaN)).toBeUndefined();
    expect([...new OrderList()]).toEqual([]);
  });
});
