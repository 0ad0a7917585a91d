import { describe, expect, test } from "bun:test";
import type { Order } from "../../src/core/order.ts";
import { addOrder, oldestFirst, orderAt, orderCount, type OrderList } from "../../src/core/order-list.ts";

function newOrderList(): OrderList {
  return { olderOrderChunks: [], newestOrders: [] };
}

/** Only identity matters to the list: a stand-in carrying its position as id. */
function made(position: number): Order {
  return { id: `ord-${position}` } as Order;
}

describe("an account's orders by age", () => {
  test("keeps every order at its creation position across chunk boundaries, and iterates oldest first", () => {
    const list = newOrderList();
    const orders = Array.from({ length: 2 * 1024 + 3 }, (_, position) => made(position));
    for (const order of orders) addOrder(list, order);
    expect(orderCount(list)).toBe(orders.length);
    expect(list.olderOrderChunks.map((chunk) => chunk.length)).toEqual([1024, 1024]);
    expect(list.newestOrders).toHaveLength(3);
    for (const position of [0, 1, 1023, 1024, 1025, 2047, 2048, orders.length - 1]) {
      expect(orderAt(list, position)).toBe(orders[position]!);
    }
    expect([...oldestFirst(list)]).toEqual(orders);
  });

  test("starts a new chunk as one fills, so a full chunk is never written again", () => {
    const list = newOrderList();
    for (let position = 0; position < 1024; position++) addOrder(list, made(position));
    expect(list.olderOrderChunks).toHaveLength(1);
    expect(list.newestOrders).toEqual([]);
    expect(orderAt(list, 1023)?.id).toBe("ord-1023");
    expect(orderAt(list, 1024)).toBeUndefined();
  });

  test("has nothing outside 0..count-1", () => {
    const list = newOrderList();
    expect(orderAt(list, 0)).toBeUndefined();
    addOrder(list, made(0));
    expect(orderAt(list, -1)).toBeUndefined();
    expect(orderAt(list, 1)).toBeUndefined();
    expect(orderAt(list, 0.5)).toBeUndefined();
    expect(orderAt(list, Number.NaN)).toBeUndefined();
    expect([...oldestFirst(newOrderList())]).toEqual([]);
  });

  test("is plain data: a structured clone is an equal list", () => {
    const list = newOrderList();
    for (let position = 0; position < 1030; position++) addOrder(list, made(position));
    const copy = structuredClone(list);
    expect(copy).toEqual(list);
    expect(orderAt(copy, 1029)?.id).toBe("ord-1029");
  });
});
