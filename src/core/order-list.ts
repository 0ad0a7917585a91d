// An account's orders in creation order, for newest-first listing and stable paging (a page
// token is a position in this list, and orders are never removed, so a position never moves).
// The Account holds these fields itself (it is an OrderList): adding an order then touches no
// object between the account and the array it pushes to, as the submit path's one array did.
import type { Order } from "./order.ts";

/**
 * Orders a chunk holds. Adding an order writes only to the newest chunk; a full chunk is never
 * written again, so once the collector has promoted it, it is not rescanned on every young
 * collection as one array of all the account's orders was (an account may hold millions).
 * 1024 pointers are 8 KiB: small to rescan, and the list of full chunks grows once per 1024.
 */
export const CHUNK_ORDERS = 1024;

export interface OrderList {
  /** Full chunks, oldest first, CHUNK_ORDERS orders each. */
  olderOrderChunks: Order[][];
  /** The chunk being filled: fewer than CHUNK_ORDERS orders. */
  newestOrders: Order[];
}

export function addOrder(list: OrderList, order: Order): void {
  list.newestOrders.push(order);
  if (list.newestOrders.length === CHUNK_ORDERS) {
    list.olderOrderChunks.push(list.newestOrders);
    list.newestOrders = [];
  }
}

export function orderCount(list: OrderList): number {
  return list.olderOrderChunks.length * CHUNK_ORDERS + list.newestOrders.length;
}

/** The order created position-th (from 0), or undefined outside 0..count-1. */
export function orderAt(list: OrderList, position: number): Order | undefined {
  if (!(position >= 0 && position < orderCount(list))) return undefined;
  const chunk = Math.floor(position / CHUNK_ORDERS);
  return (chunk < list.olderOrderChunks.length ? list.olderOrderChunks[chunk] : list.newestOrders)?.[position % CHUNK_ORDERS];
}

/**
 * The chunks oldest first, the newest (partly filled) last: for a loop over every order, two
 * array loops rather than a generator (a node walks every order at each snapshot and restart,
 * and resuming a generator per order made a restart's venue reconcile twice as slow).
 */
export function orderChunks(list: OrderList): readonly (readonly Order[])[] {
  return [...list.olderOrderChunks, list.newestOrders];
}

/** Every order oldest first, where a generator's cost does not matter. */
export function* oldestFirst(list: OrderList): Generator<Order> {
  for (const chunk of orderChunks(list)) yield* chunk;
}
