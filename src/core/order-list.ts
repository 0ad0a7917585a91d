// An account's orders in creation order, for newest-first listing and stable paging (a page
// token is a position in this list, and orders are never removed, so a position never moves).
// Plain data with functions, like the rest of the ledger, so a ledger stays a tree of plain
// objects, Maps and arrays (structuredClone and the snapshot codec see all of it).
import type { Order } from "./order.ts";

/**
 * Orders a chunk holds. Adding an order writes only to the newest chunk; a full chunk is never
 * written again, so once the collector has promoted it, it is not rescanned on every young
 * collection as one array of all the account's orders was (an account may hold millions).
 * 1024 pointers are 8 KiB: small to rescan, and the list of chunks grows once per 1024 orders.
 */
const CHUNK_ORDERS = 1024;

export interface OrderList {
  /** Every chunk but the last holds CHUNK_ORDERS orders. */
  chunks: Order[][];
  length: number;
}

export function newOrderList(): OrderList {
  return { chunks: [], length: 0 };
}

export function addOrder(list: OrderList, order: Order): void {
  if (list.length % CHUNK_ORDERS === 0) list.chunks.push([order]);
  else (list.chunks[list.chunks.length - 1] as Order[]).push(order);
  list.length += 1;
}

/** The order created position-th (from 0), or undefined outside 0..length-1. */
export function orderAt(list: OrderList, position: number): Order | undefined {
  if (!(position >= 0 && position < list.length)) return undefined;
  return list.chunks[Math.floor(position / CHUNK_ORDERS)]?.[position % CHUNK_ORDERS];
}

export function* oldestFirst(list: OrderList): Generator<Order> {
  for (const chunk of list.chunks) yield* chunk;
}
