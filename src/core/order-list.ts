// An account's hot orders (open ones and the closed ones not yet evicted) in creation order,
// for newest-first listing and stable paging. Every order has a listPosition: its place among
// all the account's orders ever created, from 0. A page token is such a position, so it stays
// valid when orders below it leave the hot list (they are then listed from the archive).
// The Account holds these fields itself (it is an OrderList).
import type { Order } from "./order.ts";

/**
 * An evicted order leaves a hole (null) until the holes outnumber the orders: compaction is
 * then one pass over the list, paid for by the evictions that made the holes, so the list is
 * never more than twice its live orders (plus this many holes) long. 64 keeps a small
 * account from compacting on every other eviction.
 */
export const HOLES_BEFORE_COMPACTION_MIN = 64;

export interface OrderList {
  /** Hot orders by listPosition, ascending; null where an order was evicted. */
  hotOrders: (Order | null)[];
  /** How many of hotOrders are null. */
  evictedSlots: number;
  /** Orders ever created in the account: the next order's listPosition. */
  ordersCreated: number;
}

export function addOrder(list: OrderList, order: Order): void {
  if (order.listPosition !== list.ordersCreated) {
    throw new Error(`invariant: order ${order.id} has list position ${order.listPosition}, the next is ${list.ordersCreated}`);
  }
  list.hotOrders.push(order);
  list.ordersCreated += 1;
}

/** Takes the order out of the list; the caller has checked it is there. */
export function removeOrder(list: OrderList, order: Order): void {
  let index = indexBelow(list, order.listPosition);
  while (list.hotOrders[index] === null) index += 1;
  if (list.hotOrders[index] !== order) throw new Error(`invariant: order ${order.id} is not in the hot list`);
  list.hotOrders[index] = null;
  list.evictedSlots += 1;
  if (list.evictedSlots >= HOLES_BEFORE_COMPACTION_MIN && list.evictedSlots * 2 > list.hotOrders.length) {
    list.hotOrders = list.hotOrders.filter((kept) => kept !== null);
    list.evictedSlots = 0;
  }
}

export function hotOrderCount(list: OrderList): number {
  return list.hotOrders.length - list.evictedSlots;
}

/**
 * The index in hotOrders of the first slot whose order (or, for a hole, whose neighbours')
 * list position is at or above position: slots below it hold only orders below position.
 * A binary search that steps over holes to the nearest order on the left.
 */
export function indexBelow(list: OrderList, position: number): number {
  const slots = list.hotOrders;
  let low = 0;
  let high = slots.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    let probe = middle;
    while (probe >= low && slots[probe] === null) probe -= 1;
    if (probe < low) {
      low = middle + 1;
      continue;
    }
    if ((slots[probe] as Order).listPosition < position) low = middle + 1;
    else high = probe;
  }
  return low;
}

/** The hot orders below position, newest first, that keep() takes, at most count of them. */
export function hotOrdersBelow(list: OrderList, position: number, count: number, keep: (order: Order) => boolean): Order[] {
  const found: Order[] = [];
  for (let index = indexBelow(list, position) - 1; index >= 0 && found.length < count; index -= 1) {
    const order = list.hotOrders[index];
    if (order !== null && order !== undefined && keep(order)) found.push(order);
  }
  return found;
}

/** For a loop over every hot order oldest first; holes are null. */
export function hotOrderSlots(list: OrderList): readonly (Order | null)[] {
  return list.hotOrders;
}

/** Every hot order oldest first, where a generator's cost does not matter (tests, tools). */
export function* oldestFirst(list: OrderList): Generator<Order> {
  for (const order of list.hotOrders) if (order !== null) yield order;
}
